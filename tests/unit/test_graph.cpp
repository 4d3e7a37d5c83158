// lstm::Model, the graph: a chain graph is a Sequential model; gradients of graphs with several
// inputs and outputs, shared layers, states as tensors and masks match central differences;
// graph errors name the layers and the fix.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/graph_model.h"
#include "graph/model_impl.h"
#include "graph_gradcheck.h"
#include "io/safetensors.h"
#include "model/model_impl.h"
#include "test_util.h"

namespace lstm {
namespace {

using test::expect_gradients;
using test::random_tensor;

// Right-padded sequences: sample n keeps its first lengths[n] steps, the rest is `pad`.
Tensor padded(Tensor x, const std::vector<int64_t>& lengths, float pad) {
  const int64_t N = x.dim(0), T = x.dim(1), F = x.dim(2);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = lengths[size_t(n)]; t < T; ++t)
      for (int64_t f = 0; f < F; ++f) x[(n * T + t) * F + f] = pad;
  return x;
}

TEST(Graph, ChainIsSequential) {
  Sequential seq;
  seq.add(LSTM(6, {.return_sequences = true, .input_shape = {5, 3}}));
  seq.add(GRU(4));
  seq.add(Dense(2));
  seq.compile(Adam(), loss::mse);
  auto in = Input({5, 3});
  auto out = Dense(2)(GRU(4)(LSTM(6, {.return_sequences = true})(in)));
  Model model(in, out);
  model.compile(Adam(), loss::mse);
  ASSERT_EQ(model.count_params(), seq.count_params());
  model.set_weights(seq.get_weights());
  const Tensor x = random_tensor({7, 5, 3}, 1), y = random_tensor({7, 2}, 2);
  const Tensor a = seq.predict(x), b = model.predict(x)[0];
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-6);
  EXPECT_NEAR(seq.evaluate(x, y), model.evaluate(x, y), 1e-6);
  // the same training run - the same shuffles, steps and weights (both drew their initial
  // weights from one seed in one order, so their generators agree)
  seq.fit(x, y, {.epochs = 3, .batch_size = 3, .verbose = 0});
  model.fit(x, y, {.epochs = 3, .batch_size = 3, .verbose = 0});
  const std::vector<float> ws = seq.get_weights(), wm = model.get_weights();
  for (size_t k = 0; k < ws.size(); ++k) EXPECT_NEAR(ws[k], wm[k], 1e-5);
  EXPECT_EQ(model.weights()[0].name, "lstm.weight_ih");
  EXPECT_EQ(model.weights().back().name, "dense.bias");
}

// Samples that are all padding (Keras: the output of the initial state): a recurrent layer
// returns h_0 for them, their sequences are zero, their gradient goes to h_0 (here the
// encoder's final state), attention over no key gives zero, and a batch with no valid step
// scores zero.
TEST(Graph, AllPaddingSamplesGiveTheInitialState) {
  auto src = Input({kAnyLength, 3}, {.name = "source"});
  auto tgt = Input({kAnyLength, 2}, {.name = "target"});
  auto src_m = Masking(0.0f)(src);
  auto tgt_m = Masking(0.0f)(tgt);
  auto [enc, h, c] = LSTM(4, {.return_sequences = true, .return_state = true})(src_m);
  auto dec = LSTM(4)(tgt_m, {h, c});  // an empty target row: the encoder's final state
  auto out1 = Dense(2)(dec);
  auto both = Bidirectional(GRU(3, {.return_sequences = true}))(src_m);
  auto out2 = TimeDistributed(Dense(2))(Attention()({both, both}));
  auto out3 = Dense(1, {.activation = Activation::tanh})(GRU(3)(src_m));
  Model model({src, tgt}, {out1, out2, out3});
  model.compile(SGD(), loss::mse);
  const std::vector<int64_t> ls = {5, 0, 4, 2}, lt = {2, 4, 0, 3};
  const Tensor xs = padded(random_tensor({4, 5, 3}, 3, 0.1f, 1.0f), ls, 0.0f);
  const Tensor xt = padded(random_tensor({4, 4, 2}, 4, 0.1f, 1.0f), lt, 0.0f);
  const Tensor y1 = random_tensor({4, 2}, 5), y2 = random_tensor({4, 5, 2}, 6), y3 = random_tensor({4, 1}, 7);
  expect_gradients(model, {xs, xt}, {y1, y2, y3});
  const std::vector<Tensor> p = model.predict({xs, xt});
  EXPECT_EQ(p[2].at({1, 0}), 0.0f);  // source row 1 is empty: tanh(w·0 + 0)
  EXPECT_NE(p[2].at({0, 0}), 0.0f);
  for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(p[1].at({1, t, 0}), 0.0f) << t;
  // Every row empty: finite, zero-loss outputs of the initial state.
  const Tensor none_s = padded(xs, {0, 0, 0, 0}, 0.0f), none_t = padded(xt, {0, 0, 0, 0}, 0.0f);
  std::vector<float> grads;
  const double loss = model_loss_and_gradient(model, {none_s, none_t}, {y1, y2, y3}, &grads);
  EXPECT_TRUE(std::isfinite(loss));
  for (float g : grads) ASSERT_TRUE(std::isfinite(g));
}

TEST(Graph, GradientsOfStatesMasksAndSharedLayers) {
  // An encoder (Bidirectional, masked source) whose final states start a decoder (masked
  // target of other lengths, so the decoder's rows are in an order of their own), a Dense
  // shared by two outputs, and a second output from the encoder's state.
  auto src = Input({kAnyLength, 3}, {.name = "source"});
  auto tgt = Input({kAnyLength, 2}, {.name = "target"});
  auto src_m = Masking(0.0f)(src);
  auto tgt_m = Masking(0.0f)(tgt);
  auto [enc, hf, cf, hb, cb] = Bidirectional(LSTM(4, {.return_sequences = true, .return_state = true}))(src_m);
  (void)enc, (void)hb, (void)cb;
  auto dec = LSTM(4, {.return_sequences = true})(tgt_m, {hf, cf});
  auto head = Dense(3, {.activation = Activation::tanh});
  auto out1 = head(dec);
  auto [g_out, g_h] = GRU(3, {.return_state = true})(src_m);
  auto out2 = head(g_out);
  (void)g_h;
  Model model({src, tgt}, {out1, out2});
  model.compile(SGD(), loss::mse, {.loss_weights = {1.0, 0.5}});
  const std::vector<int64_t> ls = {5, 3, 4, 2}, lt = {2, 4, 3, 4};
  const Tensor xs = padded(random_tensor({4, 5, 3}, 3, 0.1f, 1.0f), ls, 0.0f);
  const Tensor xt = padded(random_tensor({4, 4, 2}, 4, 0.1f, 1.0f), lt, 0.0f);
  const Tensor y1 = random_tensor({4, 4, 3}, 5), y2 = random_tensor({4, 3}, 6);
  expect_gradients(model, {xs, xt}, {y1, y2});
  // At padded target steps the decoder's outputs are zero, so the head gives tanh(bias) = 0
  // (its bias starts at zero); at valid steps they are not.
  const std::vector<Tensor> p = model.predict({xs, xt});
  ASSERT_EQ(p[0].shape(), (std::vector<int64_t>{4, 4, 3}));
  EXPECT_EQ(p[1].shape(), (std::vector<int64_t>{4, 3}));
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t f = 0; f < 3; ++f) {
        if (t >= lt[size_t(n)]) EXPECT_EQ(p[0].at({n, t, f}), 0.0f) << n << ", " << t;
        else EXPECT_NE(p[0].at({n, t, f}), 0.0f) << n << ", " << t;
      }
  EXPECT_EQ(model.layers().size(), 6u);  // 2 masking, bidirectional, lstm, dense (shared), gru
  EXPECT_EQ(model.output_names(), (std::vector<std::string>{"dense", "dense@2"}));
  EXPECT_NE(model.summary().find("lstm (LSTM)"), std::string::npos) << model.summary();
}

TEST(Graph, InitialStateGradientsOfEachCell) {
  for (LayerConfig cell : std::vector<LayerConfig>{LSTM(3, {.return_sequences = true, .return_state = true}),
                                                   GRU(3, {.return_sequences = true, .return_state = true}),
                                                   GRU(3, {.return_sequences = true, .return_state = true,
                                                           .reset_after = false}),
                                                   SimpleRNN(3, {.return_sequences = true, .return_state = true}),
                                                   LSTM(3, {.return_sequences = true, .return_state = true,
                                                            .proj_size = 2, .use_peepholes = true})}) {
    SCOPED_TRACE(layer_type_name(cell.type) + std::string(cell.proj_size || !cell.reset_after ? " with options" : ""));
    auto a = Input({kAnyLength, 2});
    auto b = Input({kAnyLength, 2});
    std::vector<SymbolicTensor> first = cell.call({a});
    LayerConfig second = cell;
    second.identity.reset();  // a layer of its own
    second.return_state = false;
    std::vector<SymbolicTensor> states(first.begin() + 1, first.end());
    auto out = second.call({b}, states)[0];
    auto last = Dense(2)(Concatenate()({out, out}));
    Model model({a, b}, last);
    model.compile(SGD(), loss::mse);
    const Tensor xa = random_tensor({3, 4, 2}, 7), xb = random_tensor({3, 3, 2}, 8);
    expect_gradients(model, {xa, xb}, random_tensor({3, 3, 2}, 9));
  }
}

TEST(Graph, InputGradientsMatchCentralDifferences) {
  // Two inputs, one masked (padded steps get no gradient) and read by two layers (its gradients
  // add up), the other a vector; then the gradient reaching step 1 of a plain RNN against an
  // LSTM's, as lstm demo long-memory measures it.
  auto seq = Input({kAnyLength, 2});
  auto vec = Input({3});
  auto masked = Masking(0.0f)(seq);
  auto a = LSTM(3)(masked);
  auto b = SimpleRNN(2)(masked);
  auto out = Dense(2, {.activation = Activation::tanh})(Concatenate()({a, b, Dense(2)(vec)}));
  Model model({seq, vec}, out);
  model.compile(SGD(), loss::mse);
  const std::vector<int64_t> lengths = {4, 2, 3};
  Tensor xs = padded(random_tensor({3, 4, 2}, 40, 0.1f, 1.0f), lengths, 0.0f);
  Tensor xv = random_tensor({3, 3}, 41);
  const Tensor y = random_tensor({3, 2}, 42);
  double loss = 0;
  const std::vector<Tensor> g = model_input_gradients(model, {xs, xv}, {y}, &loss);
  ASSERT_EQ(g.size(), 2u);
  ASSERT_EQ(g[0].shape(), xs.shape());
  ASSERT_EQ(g[1].shape(), xv.shape());
  EXPECT_NEAR(loss, model_loss_and_gradient(model, {xs, xv}, {y}, nullptr), 1e-12);
  const double eps = 1e-2;
  for (int which = 0; which < 2; ++which) {
    Tensor& x = which ? xv : xs;
    for (int64_t k = 0; k < x.size(); ++k) {
      if (!which && x[k] == 0.0f) {  // padding: no gradient (and moving it would unmask the step)
        EXPECT_EQ(g[0][k], 0.0f) << "padded element " << k;
        continue;
      }
      const float keep = x[k];
      x[k] = keep + float(eps);
      const double up = model_loss_and_gradient(model, {xs, xv}, {y}, nullptr);
      x[k] = keep - float(eps);
      const double down = model_loss_and_gradient(model, {xs, xv}, {y}, nullptr);
      x[k] = keep;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(g[size_t(which)][k], numeric, 2e-3 + 3e-2 * std::abs(numeric))
          << "input " << which << " element " << k;
    }
  }
  // Token ids have no gradient: zeros, shaped as the ids.
  auto ids = Input({kAnyLength});
  auto emb_out = Dense(1)(LSTM(2)(Embedding(7, 3)(ids)));
  Model tokens(ids, emb_out);
  tokens.compile(SGD(), loss::mse);
  Tensor id_x({2, 5}, std::vector<float>{1, 2, 3, 4, 5, 6, 1, 2, 3, 4});
  const std::vector<Tensor> gt = model_input_gradients(tokens, {id_x}, {Tensor({2, 1})});
  ASSERT_EQ(gt[0].shape(), id_x.shape());
  for (int64_t k = 0; k < gt[0].size(); ++k) EXPECT_EQ(gt[0][k], 0.0f);
}

TEST(Graph, GradientsOfMerges) {
  auto a = Input({4, 2});  // one fixed length: the sequences line up step by step
  auto b = Input({4, 3});
  auto sa = LSTM(3, {.return_sequences = true})(a);
  auto sb = Dense(3, {.activation = Activation::tanh})(b);
  auto m1 = Multiply()({sa, sb, sa});  // one tensor twice: its gradients add up
  auto m2 = Average()({Add()({sa, sb}), m1});
  auto cat = Concatenate()({m2, sb, a});
  Model model({a, b}, Dense(2)(cat));
  model.compile(SGD(), loss::mse);
  const Tensor xa = random_tensor({3, 4, 2}, 10), xb = random_tensor({3, 4, 3}, 11);
  expect_gradients(model, {xa, xb}, random_tensor({3, 4, 2}, 12));
  try {
    Add()({sa, Dense(4)(sb)});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Add: input 0 is [N, 4, 3] and input 1 is [N, 4, 4]"),
              std::string::npos) << e.what();
  }
}

TEST(Graph, GradientsOfAttentionWithMasks) {
  // Attention and AdditiveAttention, query and value of different lengths and masks; the key its own tensor or the value.
  for (bool scale : {false, true})
    for (bool own_key : {false, true}) {
      SCOPED_TRACE(std::string(scale ? "scaled" : "plain") + (own_key ? ", own key" : ""));
      auto src = Input({kAnyLength, 3});
      auto tgt = Input({kAnyLength, 2});
      auto enc = LSTM(4, {.return_sequences = true})(Masking()(src));
      auto dec = LSTM(4, {.return_sequences = true})(Masking()(tgt));
      std::vector<SymbolicTensor> qvk = {dec, enc};
      if (own_key) qvk.push_back(Dense(4)(enc));
      auto ctx = Attention({.use_scale = scale})(qvk);
      auto add_ctx = AdditiveAttention({.use_scale = scale})(qvk);
      Model model({src, tgt}, Dense(2)(Concatenate()({dec, ctx, add_ctx})));
      model.compile(SGD(), loss::mse);
      if (scale) {  // move the scale off 1 so that its gradient is tested away from the start
        std::vector<float> w = model.get_weights();
        for (const NamedWeight& n : model.weights())
          if (n.name == "attention.scale") w[size_t(n.offset)] = 0.7f;
        model.set_weights(w);
      }
      const Tensor xs = padded(random_tensor({3, 5, 3}, 13, 0.1f, 1.0f), {3, 5, 2}, 0.0f);
      const Tensor xt = padded(random_tensor({3, 4, 2}, 14, 0.1f, 1.0f), {4, 2, 3}, 0.0f);
      expect_gradients(model, {xs, xt}, random_tensor({3, 4, 2}, 15));
      // padded keys get no weight: changing them changes nothing
      Tensor xs2 = xs;
      for (int64_t f = 0; f < 3; ++f) xs2.at({2, 3, f}) = 0.0f, xs2.at({0, 4, f}) = 0.0f;
      const Tensor p1 = model.predict({xs, xt})[0], p2 = model.predict({xs2, xt})[0];
      for (int64_t i = 0; i < p1.size(); ++i) EXPECT_EQ(p1[i], p2[i]);
    }
  auto q = Input({kAnyLength, 128});
  auto v = Input({kAnyLength, 64});
  try {
    Attention()({q, v});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Attention: query [N, T, 128] and value [N, T, 64] must "
                                         "have the same last axis"), std::string::npos) << e.what();
  }
}

TEST(Graph, DivergenceLeavesTheEpochsStartingWeights) {
  auto in = Input({4, 2});
  Model model(in, Dense(1)(LSTM(3)(in)));
  model.compile(SGD({.learning_rate = 1e30}), loss::mse);
  const Tensor x = random_tensor({8, 4, 2}, 16), y = random_tensor({8, 1}, 17, 10.0f, 20.0f);
  const std::vector<float> before = model.get_weights();
  EXPECT_THROW(model.fit(x, y, {.epochs = 2, .batch_size = 2, .verbose = 0}), TrainingDiverged);
  EXPECT_EQ(model.get_weights(), before);
}

TEST(Graph, TokenIdsWithMaskZero) {
  // Token ids of any length, padded with 0, next to a second input of vectors.
  auto ids = Input({kAnyLength}, {.name = "ids"});
  auto extra = Input({2}, {.name = "extra"});
  auto seq = LSTM(3)(Embedding(6, 4, {.mask_zero = true})(ids));
  Model model({ids, extra}, Dense(2)(Concatenate()({seq, Dense(3)(extra)})));
  model.compile(SGD(), loss::mse);
  const Tensor x({3, 4}, std::vector<float>{1, 5, 2, 0, 3, 0, 0, 0, 4, 4, 1, 2});
  const Tensor e = random_tensor({3, 2}, 18), y = random_tensor({3, 2}, 19);
  expect_gradients(model, {x, e}, y);
  // the padding is not seen: a sample's prediction is that of its unpadded sequence
  const Tensor x1({1, 1}, std::vector<float>{3});
  const Tensor e1({1, 2}, std::vector<float>{e[2], e[3]});
  const Tensor all = model.predict({x, e})[0], one = model.predict({x1, e1})[0];
  EXPECT_NEAR(all.at({1, 0}), one.at({0, 0}), 1e-6);
  EXPECT_NEAR(all.at({1, 1}), one.at({0, 1}), 1e-6);
  try {
    auto v = Input({kAnyLength});
    Model bad(v, Dense(1)(v));
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("which only an Embedding reads"), std::string::npos) << err.what();
  }
  try {  // one Input read as token ids by an Embedding and as numbers by a Dense
    auto v = Input({3});
    Model bad(v, Concatenate()({LSTM(2)(Embedding(9, 2)(v)), Dense(2)(v)}));
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("is read both as token ids (by an Embedding) and as numbers"),
              std::string::npos) << err.what();
  }
}

TEST(Graph, RepeatVectorEncoderDecoder) {
  // The classic encoder-decoder: the encoder's last output at every step of the decoder.
  auto x = Input({kAnyLength, 2});
  auto h = LSTM(3)(Masking()(x));
  auto y = Dense(2)(LSTM(3, {.return_sequences = true})(RepeatVector(4)(h)));
  Model model(x, y);
  model.compile(SGD(), loss::mse);
  EXPECT_EQ(spec_of(y).steps, 4);
  const Tensor xs = padded(random_tensor({3, 5, 2}, 20, 0.1f, 1.0f), {5, 2, 3}, 0.0f);
  expect_gradients(model, xs, random_tensor({3, 4, 2}, 21));
  try {
    RepeatVector(3)(LSTM(3, {.return_sequences = true})(x));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("repeats one vector per sample"), std::string::npos) << e.what();
  }
}

TEST(Graph, LayerNormalizationGradients) {
  // A residual block normalised, on sequences and on vectors; gamma and beta moved off their
  // start so that their gradients are tested in general.
  auto x = Input({4, 3});
  auto s = LSTM(3, {.return_sequences = true})(x);
  auto n1 = LayerNormalization()(Add()({x, s}));
  auto n2 = LayerNormalization({.epsilon = 1e-2f})(LSTM(5)(n1));
  Model model(x, {Dense(2)(n1), Dense(1)(n2)});
  model.compile(SGD(), loss::mse);
  std::vector<float> w = model.get_weights();
  Rng rng(22);
  for (const NamedWeight& n : model.weights())
    if (n.name.find("layer_normalization") == 0)
      for (int64_t k = 0; k < n.shape[0]; ++k) w[size_t(n.offset + k)] += rng.uniform(-0.3f, 0.3f);
  model.set_weights(w);
  const Tensor xs = random_tensor({3, 4, 3}, 23), y1 = random_tensor({3, 4, 2}, 24),
               y2 = random_tensor({3, 1}, 25);
  expect_gradients(model, xs, {y1, y2});
}

// A graph with every layer type, named and shared, two inputs and two outputs.
Model every_layer_type() {
  auto ids = Input({kAnyLength}, {.name = "ids"});
  auto seq = Input({kAnyLength, 3}, {.name = "seq"});
  auto enc = Bidirectional(GRU(4, {.return_sequences = true, .return_state = true}))(
      Embedding(9, 5, {.mask_zero = true})(ids));
  auto dec = LSTM(8, {.return_sequences = true})(
      Dropout(0.1f)(Masking()(seq)), {Concatenate()({enc.at(1), enc.at(2)}),
                                      Concatenate()({Add()({enc.at(1), enc.at(2)}), enc.at(1)})});
  auto ctx = Attention({.use_scale = true})({dec, enc.at(0)});
  auto ctx2 = AdditiveAttention()({dec, enc.at(0)});
  auto shared = Dense(4, {.activation = Activation::tanh});
  shared.name = "shared";
  auto norm = LayerNormalization()(Average()({shared(ctx), shared(ctx2), Multiply()({shared(dec), shared(dec)})}));
  auto out1 = TimeDistributed(Dense(3))(norm);
  auto out2 = Dense(1)(LSTM(2)(RepeatVector(3)(SimpleRNN(3)(norm))));
  return Model({ids, seq}, {out1, out2});
}

TEST(Graph, SaveAndLoad) {
  test::TempDir dir;
  Model model = every_layer_type();
  const Tensor ids({2, 4}, std::vector<float>{1, 2, 3, 0, 4, 0, 0, 0});
  const Tensor seq = padded(random_tensor({2, 5, 3}, 50, 0.1f, 1.0f), {5, 3}, 0.0f);
  const std::string path = dir.file("graph.safetensors");
  model.save(path);
  Model back = Model::load(path);
  EXPECT_EQ(back.get_weights(), model.get_weights());
  EXPECT_EQ(back.summary(), model.summary());
  EXPECT_EQ(back.input_names(), model.input_names());
  const std::vector<Tensor> a = model.predict({ids, seq}), b = back.predict({ids, seq});
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].storage(), b[k].storage()) << k;
  try {
    Sequential::load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("load it with lstm::Model::load"), std::string::npos) << e.what();
  }
}

TEST(Graph, BadFilesNameTheProblemAndBuildNothing) {
  test::TempDir dir;
  Model model = every_layer_type();
  const std::string good = dir.file("graph.safetensors");
  model.save(good);
  auto variant = [&](auto edit, const std::string& part) {
    SafetensorsFile f = read_safetensors(good);
    nlohmann::json g = nlohmann::json::parse(f.metadata["lstm.graph"]);
    edit(g, f);
    f.metadata["lstm.graph"] = g.dump();
    const std::string path = dir.file("bad.safetensors");
    write_safetensors(path, f);
    try {
      Model::load(path);
      ADD_FAILURE() << "loaded; expected " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  variant([](nlohmann::json& g, SafetensorsFile&) { g["layers"][0]["config"]["type"] = "conv9d"; },
          "unknown layer type \"conv9d\"");
  variant([](nlohmann::json& g, SafetensorsFile&) { g["calls"][0]["inputs"][0] = {{"call", 5}, {"output", 0}}; },
          "calls[0]: an input: \"call\" (an earlier call)");
  variant([](nlohmann::json& g, SafetensorsFile& f) { (void)g, f.tensors.erase(f.tensors.begin()); },
          "lacks tensor '");
  variant([](nlohmann::json& g, SafetensorsFile& f) {
    (void)g;
    f.tensors.push_back({"stray.weight", {2}, {1.0f, 2.0f}});
  }, "holds tensor 'stray.weight', which its graph has no place for");
  variant([](nlohmann::json& g, SafetensorsFile&) {
    for (auto& l : g["layers"])
      if (l["name"] == "shared") l["config"]["units"] = 1 << 20;
  },
          "has shape");  // a huge layer is refused by the tensors' shapes, not allocated
  variant([](nlohmann::json& g, SafetensorsFile&) { g["outputs"] = nlohmann::json::array(); },
          "at least one output");
}

TEST(Graph, ErrorsNameTheLayersAndTheFix) {
  auto a = Input({kAnyLength, 3}, {.name = "a"});
  auto b = Input({kAnyLength, 3}, {.name = "b"});
  auto y = Dense(1)(LSTM(4)(a));
  try {
    Model m({a, b}, y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 'b' is not connected to any output"), std::string::npos) << e.what();
  }
  try {
    Model m(b, y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs input 'a', which is not among the model's inputs"),
              std::string::npos) << e.what();
  }
  try {
    auto h = Dense(5)(LSTM(4)(a));
    LSTM(4)(b, {h, h});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("initial_state[0] (h) is [N, 5] but the layer's state is [N, 4]"),
              std::string::npos) << e.what();
  }
  try {
    auto d1 = Dense(2);
    d1.name = "head";
    auto d2 = Dense(2);
    d2.name = "head";
    Model m(a, {d1(LSTM(2)(a)), d2(LSTM(2)(a))});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("named 'head'"), std::string::npos) << e.what();
  }
  try {
    Sequential seq;
    seq.add(Attention());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("runs in graphs only"), std::string::npos) << e.what();
  }
  Model m(a, y);
  m.compile(Adam(), loss::mse);
  try {
    const Tensor x1 = random_tensor({2, 3, 3}, 1), x2 = random_tensor({2, 3, 3}, 1);
    m.fit({x1, x2}, random_tensor({2, 1}, 2));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model has 1 input (a) but 2 tensors were given"),
              std::string::npos) << e.what();
  }
  try {
    auto [seq, h, c] = LSTM(4, {.return_sequences = true})(a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set return_state = true"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// A two-input, two-output graph with dropout (so that the random state matters on resume).
Model two_heads(uint64_t seed) {
  auto a = Input({kAnyLength, 3}, {.name = "a"});
  auto b = Input({4}, {.name = "b"});
  auto [seq, h, c] = LSTM(5, {.return_sequences = true, .return_state = true})(Dropout(0.2f)(a));
  auto tags = Dense(2, {.activation = Activation::softmax})(seq);
  auto score = Dense(1)(Concatenate()({h, Dense(3)(b)}));
  Model m({a, b}, {tags, score}, {.seed = seed});
  m.compile(Adam({.learning_rate = 0.02f}), {loss::sparse_categorical_crossentropy, loss::mse},
            {.loss_weights = {1.0, 0.5}});
  return m;
}

struct TwoHeadsData {
  Tensor a = random_tensor({10, 6, 3}, 70), b = random_tensor({10, 4}, 71);
  Tensor tags{{10, 6}}, score = random_tensor({10, 1}, 72);
  TwoHeadsData() {
    for (int64_t k = 0; k < tags.size(); ++k) tags[k] = float(k % 2);
  }
};

TEST(GraphFit, ResumedFitEndsWithTheUninterruptedWeights) {
  test::TempDir dir;
  TwoHeadsData d;
  auto options = [&](int epochs, const std::string& checkpoint, bool resume) {
    FitOptions o{.epochs = epochs, .batch_size = 4, .validation_split = 0.2, .verbose = 0};
    o.callbacks = {std::make_shared<EarlyStopping>(EarlyStoppingOptions{
                       .monitor = "val_loss", .patience = 50, .restore_best_weights = true}),
                   std::make_shared<ReduceLROnPlateau>(ReduceLROnPlateauOptions{.monitor = "loss", .patience = 1})};
    o.checkpoint = checkpoint, o.resume = resume;
    return o;
  };
  Model whole = two_heads(5);
  const History hw = whole.fit({d.a, d.b}, {d.tags, d.score}, options(5, "", false));
  const std::string ckpt = dir.file("ckpt.safetensors");
  Model first = two_heads(5);
  first.fit({d.a, d.b}, {d.tags, d.score}, options(2, ckpt, false));  // "killed" after epoch 2
  Model resumed = two_heads(5);  // a new process: the same construction, then resume
  const History hr = resumed.fit({d.a, d.b}, {d.tags, d.score}, options(5, ckpt, true));
  EXPECT_EQ(resumed.get_weights(), whole.get_weights());
  EXPECT_EQ(hr.history, hw.history);
  EXPECT_EQ(resumed.optimizer().learning_rate, whole.optimizer().learning_rate);
  EXPECT_TRUE(hw.history.count("val_" + whole.output_names()[1] + "_loss")) << "per-output validation losses";
  // a checkpoint loads as a model (its training state is not read)
  EXPECT_EQ(Model::load(ckpt).get_weights().size(), whole.get_weights().size());
  // a checkpoint of another graph is refused before anything changes
  Model other = two_heads(5);
  other.compile(Adam(), {loss::sparse_categorical_crossentropy, loss::mse});
  auto x = Input({kAnyLength, 3}, {.name = "a"});
  Model different(x, Dense(1)(LSTM(2)(x)));
  different.compile(Adam(), loss::mse);
  const std::vector<float> before = different.get_weights();
  try {
    different.fit(d.a, d.score, {.epochs = 3, .verbose = 0, .checkpoint = ckpt, .resume = true});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is of a different model"), std::string::npos) << e.what();
  }
  EXPECT_EQ(different.get_weights(), before);
}

TEST(GraphFit, CallbacksSeeTheGraph) {
  test::TempDir dir;
  TwoHeadsData d;
  Model m = two_heads(6);
  auto stop = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "loss", .min_delta = 1e9});
  const std::string saved = dir.file("epoch{epoch}.safetensors");
  const History h = m.fit({d.a, d.b}, {d.tags, d.score},
                          {.epochs = 10, .batch_size = 5,
                           .callbacks = {stop, std::make_shared<ModelCheckpoint>(
                                                   saved, ModelCheckpointOptions{.monitor = "loss"})},
                           .verbose = 0});
  EXPECT_EQ(h.epochs(), 2);  // no epoch improves by 1e9: stopped after patience 0
  EXPECT_EQ(stop->stopped_epoch(), 1);
  Model back = Model::load(dir.file("epoch2.safetensors"));
  EXPECT_EQ(back.get_weights(), m.get_weights());
  // validation_x/validation_y for a model of one input and one output
  auto x = Input({kAnyLength, 3}, {.name = "x"});
  Model one(x, Dense(1)(LSTM(3)(x)));
  one.compile(Adam(), loss::mse, {.metrics = {"mae"}});
  const History v = one.fit(d.a, d.score, {.epochs = 2, .validation_x = d.a, .validation_y = d.score, .verbose = 0});
  EXPECT_EQ(v.history.at("val_mae").size(), 2u);
  EXPECT_THROW(m.fit({d.a, d.b}, {d.tags, d.score}, {.validation_x = d.a, .validation_y = d.score, .verbose = 0}), Error);
}

TEST(GraphConfig, NamedConfigBuildsTheSameModelAndRoundTrips) {
  const std::string config = R"({
    "name": "translator",
    "inputs": [{"name": "source", "shape": [null, 3]}, {"name": "target_in", "shape": [null, 4]}],
    "layers": [
      {"name": "encoder", "type": "bidirectional", "merge_mode": "concat", "return_state": true,
       "layer": {"type": "lstm", "units": 4, "return_sequences": true},
       "inputs": ["source"]},
      {"name": "h", "type": "concatenate", "inputs": ["encoder:1", "encoder:3"]},
      {"name": "c", "type": "concatenate", "inputs": ["encoder:2", "encoder:4"]},
      {"name": "decoder", "type": "lstm", "units": 8, "return_sequences": true,
       "inputs": ["target_in"], "initial_state": ["h", "c"]},
      {"name": "attention", "type": "attention", "inputs": ["decoder", "encoder"]},
      {"name": "joined", "type": "concatenate", "inputs": ["decoder", "attention"]},
      {"name": "proj", "type": "dense", "units": 4, "activation": "tanh", "inputs": ["joined"]},
      {"name": "proj@2", "call": "proj", "inputs": ["decoder"]},
      {"name": "sum", "type": "add", "inputs": ["proj", "proj@2"]}
    ],
    "outputs": ["sum"]
  })";
  Model m = Model::from_json(config, {.seed = 3});
  EXPECT_EQ(m.input_names(), (std::vector<std::string>{"source", "target_in"}));
  Model again = Model::from_json(m.to_json(), {.seed = 3});
  EXPECT_EQ(again.to_json(), m.to_json());
  EXPECT_EQ(again.get_weights(), m.get_weights());
  EXPECT_EQ(again.summary(), m.summary());
  // the same graph through the functional API, with the same seed: the same weights
  auto src = Input({kAnyLength, 3}, {.name = "source"});
  auto tgt = Input({kAnyLength, 4}, {.name = "target_in"});
  LayerConfig enc = Bidirectional(LSTM(4, {.return_sequences = true, .return_state = true}));
  enc.name = "encoder";
  auto e = enc.call({src});
  LayerConfig dec = LSTM(8, {.return_sequences = true});
  dec.name = "decoder";
  auto seq = dec.call({tgt}, {Concatenate()({e[1], e[3]}), Concatenate()({e[2], e[4]})})[0];
  LayerConfig proj = Dense(4, {.activation = Activation::tanh});
  proj.name = "proj";
  auto out = Add()({proj(Concatenate()({seq, Attention()({seq, e[0]})})), proj(seq)});
  Model api({src, tgt}, out, {.seed = 3});
  EXPECT_EQ(api.get_weights(), m.get_weights());
}

TEST(GraphConfig, ErrorsNameTheEntryAndTheFix) {
  auto error_of = [](const std::string& text) {
    try {
      Model::from_json(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string in = R"("inputs": [{"name": "x", "shape": [null, 2]}])";
  EXPECT_NE(error_of("{" + in + R"(, "layers": [{"name": "d", "type": "dense", "units": 1, "inputs": ["y"]}], "outputs": ["d"]})")
                .find("\"y\" names no input or earlier layer (known: x)"),
            std::string::npos);
  EXPECT_NE(error_of("{" + in + R"(, "layers": [{"name": "x", "type": "dense", "units": 1, "inputs": ["x"]}], "outputs": ["x"]})")
                .find("the name \"x\" is taken"),
            std::string::npos);
  EXPECT_NE(error_of("{" + in + R"(, "layers": [{"name": "d", "type": "dense", "units": 1, "inputs": ["x"]},
               {"name": "e", "call": "d", "units": 2, "inputs": ["x"]}], "outputs": ["e"]})")
                .find("shares its layer's config"),
            std::string::npos);
  EXPECT_NE(error_of("{" + in + R"(, "layers": [{"name": "d", "type": "dense", "units": 1, "inputs": ["x"]},
               {"name": "a", "type": "attention", "inputs": ["d", "x"]}], "outputs": ["a"]})")
                .find("must have the same last axis"),
            std::string::npos);
  EXPECT_NE(error_of("{" + in + R"(, "layers": [], "outputs": ["x"], "extra": 1})").find("unknown key \"extra\""),
            std::string::npos);
  EXPECT_NE(error_of("{" + in + R"(, "layers": [{"name": "l", "type": "lstm", "units": 2, "inputs": ["x"]}], "outputs": ["l:1"]})")
                .find("output"),
            std::string::npos);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

TEST(GraphStateful, CarriesEachRowsStateAsSequentialDoes) {
  Sequential seq;
  seq.add(LSTM(4, {.return_sequences = true, .stateful = true, .input_shape = {3, 2}, .batch_size = 2}));
  seq.add(GRU(3, {.stateful = true}));
  seq.add(Dense(1));
  auto x = Input({3, 2}, {.name = "x", .batch_size = 2});
  Model graph(x, Dense(1)(GRU(3, {.stateful = true})(LSTM(4, {.return_sequences = true, .stateful = true})(x))));
  graph.set_weights(seq.get_weights());
  const Tensor a = random_tensor({4, 3, 2}, 80), b = random_tensor({4, 3, 2}, 81);
  for (const Tensor* t : {&a, &b, &a}) {  // each call goes on from the last one's states
    const Tensor s = seq.predict(*t, 2), g = graph.predict(*t, 2)[0];
    EXPECT_EQ(s.storage(), g.storage());
  }
  seq.reset_states(), graph.reset_states();
  EXPECT_EQ(seq.predict(b, 2).storage(), graph.predict(b, 2)[0].storage());
  // training carries states too, the same way
  seq.compile(Adam(), loss::mse), graph.compile(Adam(), loss::mse);
  const Tensor y = random_tensor({4, 1}, 82);
  seq.fit(a, y, {.epochs = 3, .batch_size = 2, .shuffle = false, .verbose = 0});
  graph.fit(a, y, {.epochs = 3, .batch_size = 2, .shuffle = false, .verbose = 0});
  EXPECT_EQ(seq.get_weights(), graph.get_weights());
}

TEST(GraphStateful, ResumeKeepsTheCarriedStates) {
  test::TempDir dir;
  auto make = [] {
    auto x = Input({kAnyLength, 2}, {.name = "x", .batch_size = 2});
    Model m(x, Dense(1)(LSTM(3, {.stateful = true})(x)), {.seed = 4});
    m.compile(Adam({.learning_rate = 0.05f}), loss::mse);
    return m;
  };
  const Tensor x = random_tensor({6, 4, 2}, 83), y = random_tensor({6, 1}, 84);
  const std::string ckpt = dir.file("ckpt.safetensors");
  Model whole = make();
  whole.fit(x, y, {.epochs = 4, .batch_size = 2, .shuffle = false, .verbose = 0});
  Model part = make();
  part.fit(x, y, {.epochs = 2, .batch_size = 2, .shuffle = false, .verbose = 0, .checkpoint = ckpt});
  Model resumed = make();
  resumed.fit(x, y, {.epochs = 4, .batch_size = 2, .shuffle = false, .verbose = 0, .checkpoint = ckpt, .resume = true});
  EXPECT_EQ(resumed.get_weights(), whole.get_weights());
  EXPECT_EQ(resumed.predict(x, 2)[0].storage(), whole.predict(x, 2)[0].storage()) << "the same carried states";
}

TEST(GraphStateful, ErrorsNameTheFix) {
  auto error_of = [](auto make) {
    try {
      make();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of([] {
              auto x = Input({3, 2}, {.name = "x"});
              Model m(x, LSTM(2, {.stateful = true})(x));
            }).find("Give every Input the same batch_size"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              auto x = Input({3, 2}, {.name = "x", .batch_size = 2});
              Model m(x, LSTM(2, {.stateful = true})(Masking()(x)));
            }).find("takes sequences without padding"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              auto x = Input({3, 2}, {.name = "x", .batch_size = 2});
              auto h = Input({2}, {.name = "h", .batch_size = 2});
              Model m({x, h}, GRU(2, {.stateful = true})(x, {h}));
            }).find("takes no initial_state"),
            std::string::npos);
  auto x = Input({3, 2}, {.name = "x", .batch_size = 2});
  Model m(x, LSTM(2, {.stateful = true})(x));
  const Tensor five = random_tensor({5, 3, 2}, 85), four = random_tensor({4, 3, 2}, 86);
  EXPECT_NE(error_of([&] { m.predict(five, 2); }).find("not a multiple of the stateful model's batch size 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { m.predict(four, 4); }).find("pass batch_size = 2"), std::string::npos);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

TEST(Graph, BidirectionalMergeNoneGivesTwoOutputs) {
  Sequential seq;
  seq.add(Bidirectional(LSTM(3, {.return_sequences = true}), {.merge_mode = MergeMode::none, .input_shape = {4, 2}}));
  auto x = Input({kAnyLength, 2}, {.name = "x"});
  LayerConfig bi = Bidirectional(LSTM(3, {.return_sequences = true, .return_state = true}),
                                 {.merge_mode = MergeMode::none});
  const std::vector<SymbolicTensor> outs = bi.call({x});
  ASSERT_EQ(outs.size(), 6u);  // forward, backward, then h and c of each direction
  EXPECT_EQ(outs[1].shape(), (std::vector<int64_t>{kAnyLength, 3}));
  Model graph(x, {outs[0], outs[1]});
  graph.set_weights(seq.get_weights());
  const Tensor in = random_tensor({5, 4, 2}, 90);
  const Tensor both = seq.predict(in);  // [2, N, T, 3]: forward, then backward
  const std::vector<Tensor> two = graph.predict(in);
  ASSERT_EQ(two.size(), 2u);
  for (int k = 0; k < 2; ++k)
    EXPECT_EQ(std::vector<float>(both.storage().begin() + k * 60, both.storage().begin() + (k + 1) * 60),
              two[size_t(k)].storage());
  // gradients through both halves, one with a state on top
  Model head(x, {Dense(2)(outs[1]), Dense(1)(Concatenate()({outs[0], outs[1]})), Dense(1)(outs[4])});
  head.compile(Adam(), loss::mse);
  const Tensor y0 = random_tensor({5, 4, 2}, 91), y1 = random_tensor({5, 4, 1}, 92), y2 = random_tensor({5, 1}, 93);
  expect_gradients(head, in, {y0, y1, y2});
  test::TempDir dir;
  head.save(dir.file("head.safetensors"));
  Model back = Model::load(dir.file("head.safetensors"));
  const std::vector<Tensor> a = head.predict(in), b = back.predict(in);
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].storage(), b[k].storage());
  EXPECT_EQ(Model::from_json(head.to_json()).summary(), head.summary());
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

TEST(GraphLengths, GivenLengthsActAsSequentialsPackedSequences) {
  Sequential seq;
  seq.add(Bidirectional(GRU(3, {.return_sequences = true}), {.input_shape = {0, 2}}));
  seq.add(LSTM(4, {.return_sequences = true}));
  seq.add(TimeDistributed(Dense(1)));
  auto x = Input({kAnyLength, 2}, {.name = "x", .lengths = true});
  auto out = TimeDistributed(Dense(1))(LSTM(4, {.return_sequences = true})(
      Bidirectional(GRU(3, {.return_sequences = true}))(x)));
  Model graph(x, out);
  graph.set_weights(seq.get_weights());
  const Tensor in = random_tensor({7, 5, 2}, 95), y = random_tensor({7, 5, 1}, 96);
  const std::vector<int64_t> lengths = {5, 2, 4, 1, 5, 3, 2};
  EXPECT_EQ(seq.predict(in, lengths).storage(), graph.predict(in, lengths)[0].storage());
  seq.compile(Adam(), loss::mse), graph.compile(Adam(), loss::mse);
  EXPECT_DOUBLE_EQ(seq.evaluate(in, y, lengths), graph.evaluate(in, y, lengths));
  const FitOptions fit{.epochs = 2, .batch_size = 3, .validation_split = 0.3, .verbose = 0, .lengths = lengths};
  const History hs = seq.fit(in, y, fit), hg = graph.fit(in, y, fit);
  EXPECT_EQ(seq.get_weights(), graph.get_weights());
  EXPECT_EQ(hs.history.at("val_loss"), hg.history.at("val_loss"));
  // the file keeps the flag; a model without such an input refuses lengths, naming the fix
  EXPECT_NE(graph.to_json().find("\"lengths\":true"), std::string::npos);
  EXPECT_EQ(Model::from_json(graph.to_json()).to_json(), graph.to_json());
  auto plain = Input({kAnyLength, 2}, {.name = "plain"});
  Model other(plain, LSTM(2)(plain));
  try {
    other.predict(in, lengths);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("{.lengths = true}"), std::string::npos) << e.what();
  }
  try {
    graph.predict(in, std::vector<int64_t>{5, 2, 6, 1, 5, 3, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lengths[2] = 6 is out of range"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// A batch of padded sequences runs only to its longest one (Model::Impl::gather's trim), on
// inputs of a fixed length too (the seed's Embedding over input_shape {12}): the same loss,
// gradients and outputs as over the whole length; and inputs whose steps other sequences meet
// unmasked keep the whole length.
struct BatchRun {
  int64_t steps;  // the input's steps in the batch
  double loss;
  std::vector<float> grads, outputs;  // outputs: the first output, rows in sample order
};

BatchRun run_batch(Model::Impl& m, const TensorList& x, const TensorList& y, Model::Impl::Trim trim) {
  const std::vector<std::vector<int64_t>> lengths = m.input_lengths(x, {});
  std::vector<int64_t> order(size_t(x[0].dim(0)));
  std::iota(order.begin(), order.end(), 0);
  m.gather(x, lengths, order.data(), int64_t(order.size()), trim);
  m.forward(false);
  BatchRun r{m.input_T[0], m.loss_and_backward(y, true, nullptr), m.grads, {}};
  const Value& v = m.slots[size_t(m.output_slots[0])].value;
  r.outputs.resize(size_t(m.B * v.F * (v.seq ? v.T : 1)));
  for (int64_t b = 0; b < m.B; ++b)
    for (int64_t t = 0; t < (v.seq ? v.T : 1); ++t)
      for (int64_t f = 0; f < v.F; ++f)
        r.outputs[size_t((m.rows[size_t(b)] * (v.seq ? v.T : 1) + t) * v.F + f)] = v.data[(t * m.B + b) * v.F + f];
  return r;
}

void expect_same(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-6) << what << "[" << k << "]";
}

TEST(GraphTrim, PaddedBatchesStopAtTheirLongestSequence) {
  Tensor x({6, 12});  // texts of 2..7 tokens, right-padded with 0
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t t = 0; t < 2 + n; ++t) x[n * 12 + t] = float(1 + (n * 7 + t * 3) % 19);
  const Tensor y({6, 1}, std::vector<float>{0, 1, 2, 1, 0, 2});
  Sequential model({.seed = 3});
  model.add(Embedding(20, 6, {.mask_zero = true, .input_shape = {12}}));
  model.add(LSTM(5, {.return_sequences = true}));
  model.add(Dropout(0.0f));
  model.add(LSTM(4));
  model.add(Dense(3, {.activation = Activation::softmax}));
  model.compile(Adam(), loss::sparse_categorical_crossentropy);
  model.predict(x);  // built
  Model::Impl& m = model.impl().graph();
  EXPECT_TRUE(m.trim_for_loss[0]);
  EXPECT_TRUE(m.trim_for_outputs[0]);
  const BatchRun whole = run_batch(m, {x}, {y}, Model::Impl::Trim::none);
  const BatchRun trimmed = run_batch(m, {x}, {y}, Model::Impl::Trim::for_loss);
  EXPECT_EQ(whole.steps, 12);
  EXPECT_EQ(trimmed.steps, 7);
  EXPECT_NEAR(trimmed.loss, whole.loss, 1e-6);
  expect_same(trimmed.grads, whole.grads, "gradient");
  expect_same(trimmed.outputs, whole.outputs, "output");
  expect_same(model.predict(x).storage(), whole.outputs, "predict");
}

TEST(GraphTrim, SequenceOutputsOnThePaddedStepsTrimForTheLossOnly) {
  Tensor x({4, 10});
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t t = 0; t < 3 + n; ++t) x[n * 10 + t] = float(1 + (n + t) % 8);
  Tensor y({4, 10});
  for (int64_t k = 0; k < y.size(); ++k) y[k] = float(k % 3);
  Sequential model({.seed = 5});
  model.add(Embedding(9, 4, {.mask_zero = true, .input_shape = {10}}));
  model.add(LSTM(6, {.return_sequences = true}));
  model.add(TimeDistributed(Dense(3, {.activation = Activation::softmax})));
  model.compile(Adam(), loss::sparse_categorical_crossentropy);
  model.predict(x);
  Model::Impl& m = model.impl().graph();
  EXPECT_TRUE(m.trim_for_loss[0]);
  EXPECT_FALSE(m.trim_for_outputs[0]);  // predict returns all 10 steps as the whole length gives them
  const BatchRun whole = run_batch(m, {x}, {y}, Model::Impl::Trim::none);
  const BatchRun trimmed = run_batch(m, {x}, {y}, Model::Impl::Trim::for_loss);
  EXPECT_EQ(trimmed.steps, 6);
  EXPECT_NEAR(trimmed.loss, whole.loss, 1e-6);
  expect_same(trimmed.grads, whole.grads, "gradient");
  EXPECT_EQ(run_batch(m, {x}, {y}, Model::Impl::Trim::for_outputs).steps, 10);
}

TEST(GraphTrim, StepsMetUnmaskedKeepTheWholeLength) {
  // Attention from a second input's 8 steps (no mask) into the padded texts' 8 steps: its
  // output is on the second input's steps, so the texts cannot run fewer.
  auto ids = Input({8}, {.name = "ids"});
  auto seq = Input({8, 2}, {.name = "seq"});
  auto enc = LSTM(4, {.return_sequences = true})(Embedding(9, 3, {.mask_zero = true})(ids));
  auto dec = LSTM(4, {.return_sequences = true})(seq);
  Model model({ids, seq}, Dense(1)(LSTM(3)(Attention()({dec, enc}))));
  model.compile(SGD(), loss::mse);
  Model::Impl& m = model.impl();
  EXPECT_FALSE(m.trim_for_loss[0]);
  EXPECT_FALSE(m.trim_for_outputs[0]);
  Tensor x({3, 8});
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t t = 0; t < 2 + n; ++t) x[n * 8 + t] = float(1 + (n + 2 * t) % 8);
  const Tensor s = random_tensor({3, 8, 2}, 31), y = random_tensor({3, 1}, 32);
  model.predict({x, s});  // planned
  const BatchRun whole = run_batch(m, {x, s}, {y}, Model::Impl::Trim::none);
  const BatchRun asked = run_batch(m, {x, s}, {y}, Model::Impl::Trim::for_loss);
  EXPECT_EQ(asked.steps, 8);
  EXPECT_EQ(asked.loss, whole.loss);
  // a second input's sequence joined to the padded texts' (the mask is the texts'): whole
  auto words = Input({8}, {.name = "words"});
  auto feats = Input({8, 2}, {.name = "feats"});
  auto joined = Concatenate()({Embedding(9, 3, {.mask_zero = true})(words), LSTM(2, {.return_sequences = true})(feats)});
  Model both({words, feats}, Dense(1)(LSTM(3)(joined)));
  both.compile(SGD(), loss::mse);
  EXPECT_FALSE(both.impl().trim_for_loss[0]);
  both.predict({x, s});
  EXPECT_EQ(run_batch(both.impl(), {x, s}, {y}, Model::Impl::Trim::for_loss).steps, 8);
  // the same with inputs of any length: the texts' steps reach no output, so both trim
  auto ids2 = Input({kAnyLength}, {.name = "ids"});
  auto seq2 = Input({kAnyLength, 2}, {.name = "seq"});
  auto enc2 = LSTM(4, {.return_sequences = true})(Embedding(9, 3, {.mask_zero = true})(ids2));
  Model any({ids2, seq2}, TimeDistributed(Dense(1))(Attention()({LSTM(4, {.return_sequences = true})(seq2), enc2})));
  any.compile(SGD(), loss::mse);
  EXPECT_TRUE(any.impl().trim_for_loss[0]);
  EXPECT_TRUE(any.impl().trim_for_outputs[0]);
}

}  // namespace
}  // namespace lstm
