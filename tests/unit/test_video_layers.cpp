// The image and clip layers of lstm/layers/conv.h in graphs: Conv2D, MaxPooling2D,
// GlobalAveragePooling2D, Flatten and ConvLSTM2D match central differences on images and clips
// (so do the input gradients that reach the layers before them); image data goes in and comes
// out as [N, (T,) H, W, C]; the errors name the layer and the fix; models with them save, load
// and round-trip their JSON config. PyTorch parity: tests/parity/test_graph_parity.cpp (video).
#include <gtest/gtest.h>

#include "graph_gradcheck.h"
#include "lstm/lstm.h"
#include "test_util.h"

namespace lstm {
namespace {

using test::expect_gradients;
using test::random_tensor;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#define EXPECT_ERROR(statement, text)                         \
  do {                                                        \
    const std::string message = error_of([&] { statement; }); \
    EXPECT_NE(message.find(text), std::string::npos)          \
        << "expected \"" << text << "\" in: " << message;     \
  } while (0)

TEST(ImageLayers, GradientsOnImages) {
  // strides, even kernels, "same" and "valid", a pool with strides of its own
  auto x = Input({7, 6, 2});
  auto c =
      Conv2D(3, {3, 2},
             {.strides = {2, 1}, .padding = ConvPadding::same, .activation = Activation::tanh})(x);
  auto p =
      MaxPooling2D({2, 2}, {.strides = {1, 1}, .padding = ConvPadding::same})(c);  // [N, 4, 6, 3]
  auto v = Conv2D(2, {2, 3}, {.activation = Activation::sigmoid})(p);              // [N, 3, 4, 2]
  EXPECT_EQ(p.shape(), (std::vector<int64_t>{4, 6, 3}));
  EXPECT_EQ(v.shape(), (std::vector<int64_t>{3, 4, 2}));
  Model model(x, {Dense(2)(Flatten()(v)), Dense(1)(GlobalAveragePooling2D()(p))});
  model.compile(SGD(), loss::mse);
  const Tensor xs = random_tensor({3, 7, 6, 2}, 1), y1 = random_tensor({3, 2}, 2),
               y2 = random_tensor({3, 1}, 3);
  expect_gradients(model, xs, {y1, y2});
}

TEST(ImageLayers, GradientsOnClipsIntoAnLSTM) {
  // per-frame features (TimeDistributed, or the layers on clips directly) into recurrent layers
  auto x = Input({3, 6, 5, 2});
  auto c =
      TimeDistributed(Conv2D(2, {3, 3}, {.activation = Activation::tanh}))(x);  // [N, 3, 4, 3, 2]
  auto p = MaxPooling2D({2, 1})(c);                                             // [N, 3, 2, 3, 2]
  auto f = TimeDistributed(Flatten())(p);                                       // [N, 3, 12]
  auto g = GlobalAveragePooling2D()(c);                                         // [N, 3, 2]
  EXPECT_EQ(f.shape(), (std::vector<int64_t>{3, 12}));
  EXPECT_EQ(g.shape(), (std::vector<int64_t>{3, 2}));
  Model model(x, {Dense(2)(LSTM(3)(f)), Dense(1)(GRU(2, {.return_sequences = true})(g))});
  model.compile(SGD(), loss::mse);
  const Tensor xs = random_tensor({2, 3, 6, 5, 2}, 4), y1 = random_tensor({2, 2}, 5),
               y2 = random_tensor({2, 3, 1}, 6);
  expect_gradients(model, xs, {y1, y2});
}

TEST(ConvLSTM2D, GradientsOfSequencesStatesAndOptions) {
  // A Conv2D before the ConvLSTM2D checks its input gradient; the states and the sequence each
  // feed a head; a second cell with strides, hard_sigmoid and no bias.
  auto x = Input({4, 6, 5, 2});
  auto pre = Conv2D(2, {1, 1})(x);
  auto [seq, h, c] = ConvLSTM2D(
      3, {3, 3},
      {.padding = ConvPadding::same, .return_sequences = true, .return_state = true})(pre);
  EXPECT_EQ(seq.shape(), (std::vector<int64_t>{4, 6, 5, 3}));
  EXPECT_EQ(h.shape(), (std::vector<int64_t>{6, 5, 3}));
  auto second = ConvLSTM2D(
      2, {2, 3},
      {.strides = {2, 1}, .recurrent_activation = Activation::hard_sigmoid, .use_bias = false})(
      seq);  // valid: [N, 3, 3, 2]
  EXPECT_EQ(second.shape(), (std::vector<int64_t>{3, 3, 2}));
  auto image_out = Conv2D(1, {1, 1})(seq);  // [N, 4, 6, 5, 1]
  Model model(x, {image_out, Dense(2)(Flatten()(second)), Dense(1)(GlobalAveragePooling2D()(c)),
                  Dense(1)(Flatten()(h))});
  model.compile(SGD(), loss::mse);
  // biases off their start (the forget block's one) so that the gates are away from 1/2
  std::vector<float> w = model.get_weights();
  Rng rng(7);
  for (float& v : w) v += rng.uniform(-0.2f, 0.2f);
  model.set_weights(w);
  const Tensor xs = random_tensor({2, 4, 6, 5, 2}, 8), y1 = random_tensor({2, 4, 6, 5, 1}, 9),
               y2 = random_tensor({2, 2}, 10), y3 = random_tensor({2, 1}, 11),
               y4 = random_tensor({2, 1}, 12);
  expect_gradients(model, xs, {y1, y2, y3, y4});
}

TEST(ConvLSTM2D, ParametersAreKerasTensorsWithItsInitialisation) {
  auto x = Input({2, 5, 5, 3});
  auto y = ConvLSTM2D(4, {3, 3}, {.padding = ConvPadding::same})(x);
  Model model(x, y);
  const std::vector<NamedWeight> names = model.weights();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].shape, (std::vector<int64_t>{3, 3, 3, 16}));
  EXPECT_EQ(names[1].shape, (std::vector<int64_t>{3, 3, 4, 16}));
  EXPECT_EQ(names[2].shape, (std::vector<int64_t>{16}));
  const std::vector<float> w = model.get_weights();
  for (int k = 0; k < 16; ++k)
    EXPECT_EQ(w[size_t(names[2].offset + k)], k >= 4 && k < 8 ? 1.0f : 0.0f) << k;
  // the recurrent kernel, a (3·3·4, 16) matrix, has orthonormal columns
  const int64_t rows = 36, cols = 16, at = names[1].offset;
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = a; b < cols; ++b) {
      double dot = 0;
      for (int64_t r = 0; r < rows; ++r)
        dot += double(w[size_t(at + r * cols + a)]) * w[size_t(at + r * cols + b)];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
}

TEST(ImageLayers, ImagesInAndOut) {
  auto x = Input({3, 4, 4, 1}, {.name = "clips"});
  auto y = Conv2D(2, {3, 3}, {.padding = ConvPadding::same})(
      ConvLSTM2D(3, {3, 3}, {.padding = ConvPadding::same, .return_sequences = true})(x));
  Model model(x, y);
  model.compile(Adam(), loss::mse);
  const Tensor clips = random_tensor({5, 3, 4, 4, 1}, 30),
               target = random_tensor({5, 3, 4, 4, 2}, 31);
  const std::vector<Tensor> out = model.predict(clips);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{5, 3, 4, 4, 2}));
  // each frame's values joined is the same data
  const std::vector<Tensor> flat = model.predict(clips.reshaped({5, 3, 16}));
  EXPECT_EQ(flat[0].storage(), out[0].storage());
  const double before = model.evaluate(clips, target);
  EXPECT_NEAR(model.evaluate(clips.reshaped({5, 3, 16}), target.reshaped({5, 3, 32})), before,
              1e-12);
  model.fit(
      clips, target,
      {.epochs = 3, .batch_size = 2, .validation_x = clips, .validation_y = target, .verbose = 0});
  EXPECT_LT(model.evaluate(clips, target), before);
  EXPECT_ERROR(model.predict(random_tensor({5, 3, 4, 5, 1}, 32)),
               "has shape [5, 3, 4, 5, 1] but the model expects [N, 3, 4, 4, 1]");
  EXPECT_ERROR(model.fit(clips, random_tensor({5, 3, 4, 4, 1}, 33), {.verbose = 0}),
               "the target of output");
  EXPECT_NE(model.summary().find("(None, 3, 4, 4, 2)"), std::string::npos) << model.summary();
}

TEST(ImageLayers, ErrorsNameTheLayerAndTheFix) {
  auto img = Input({5, 5, 1});
  auto clip = Input({kAnyLength, 5, 5, 1});
  auto seq = Input({kAnyLength, 3});
  EXPECT_ERROR(Dense(2)(img), "flatten each image first with lstm::Flatten()");
  EXPECT_ERROR(LSTM(2)(clip), "but got images [N, T, 5, 5, 1]");
  EXPECT_ERROR(Conv2D(2, {3, 3})(seq),
               "takes images [N, H, W, C] or clips [N, T, H, W, C], but got [N, T, 3]");
  EXPECT_ERROR(Conv2D(2, {6, 3})(img), "does not fit in 5x5 images");
  EXPECT_ERROR(Conv2D(0, {3, 3})(img), "filters must be in 1..");
  EXPECT_ERROR(Conv2D(2, {3, 3}, {.activation = Activation::softmax})(img),
               "softmax is not an activation of Conv2D");
  EXPECT_ERROR(MaxPooling2D({2, 0})(img), "window sizes and strides must be in 1..");
  EXPECT_ERROR(ConvLSTM2D(2, {3, 3})(img),
               "reads clips [N, T, H, W, C], but got one image per sample");
  EXPECT_ERROR(Flatten()(clip), "TimeDistributed(Flatten())");
  EXPECT_ERROR(TimeDistributed(Conv2D(2, {3, 3}))(img),
               "TimeDistributed needs a sequence or clip [N, T, ...], got [N, 5, 5, 1]");
  EXPECT_ERROR(TimeDistributed(LSTM(3)), "recurrent layers already run over time");
  EXPECT_ERROR(Input({4, 0, 5, 1}), "height must be in 1..");
  EXPECT_ERROR(Input({1, 2, 3, 4, 5}), "{timesteps, height, width, channels} for a video clip");
  EXPECT_ERROR(Input({4096, 4096, 2}), "more than the 16777216 a step may hold");
}

TEST(ImageLayers, SaveLoadAndConfigRoundTrip) {
  test::TempDir dir;
  auto x = Input({3, 8, 8, 1}, {.name = "clips"});
  auto f = TimeDistributed(MaxPooling2D({2, 2}, {.strides = {2, 2}, .padding = ConvPadding::same}))(
      Conv2D(2, {3, 3}, {.activation = Activation::relu, .use_bias = false})(x));
  auto [seq, h, c] = ConvLSTM2D(3, {2, 2},
                                {.return_sequences = true,
                                 .return_state = true,
                                 .recurrent_activation = Activation::hard_sigmoid})(f);
  auto v = Dense(2)(LSTM(2)(TimeDistributed(Flatten())(seq)));
  auto u = Dense(1)(Concatenate()({GlobalAveragePooling2D()(h), Flatten()(c)}));
  Model model(x, {v, u});
  const Tensor clips = random_tensor({2, 3, 8, 8, 1}, 40);
  const std::string path = dir.file("video.safetensors");
  model.save(path);
  Model back = Model::load(path);
  EXPECT_EQ(back.summary(), model.summary());
  const std::vector<Tensor> a = model.predict(clips), b = back.predict(clips);
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].storage(), b[k].storage()) << k;
  Model again = Model::from_json(model.to_json(), {.seed = 3});
  EXPECT_EQ(again.to_json(), model.to_json());
  EXPECT_EQ(again.count_params(), model.count_params());
}

}  // namespace
}  // namespace lstm
