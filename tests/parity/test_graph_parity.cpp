// Live parity of graph models (lstm::Model) with PyTorch: outputs, loss, every parameter
// gradient and 10 Adam steps within 1e-5, against tests/parity/graph_reference.py's float64
// computation from the same float32 weights and data (LSTM_GRAPH_PARITY_DIR names it). The
// graphs here and there are the same, layer for layer, under the same names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "graph/graph_model.h"
#include "io/safetensors.h"
#include "lstm/lstm.h"
#include "lstm/seq2seq.h"

namespace lstm {
namespace {

constexpr double kTol = 1e-5;

std::string dir(const std::string& name) {
  const char* d = std::getenv("LSTM_GRAPH_PARITY_DIR");
  return std::string(d ? d : "") + "/" + name + "/";
}

std::map<std::string, NamedTensor> by_name(const std::string& path) {
  std::map<std::string, NamedTensor> out;
  for (NamedTensor& t : read_safetensors(path).tensors) out[t.name] = std::move(t);
  return out;
}

// Every weight of the model from the reference file, by name and shape.
void load_weights(Model& model, const std::string& path) {
  const auto ref = by_name(path);
  std::vector<float> w = model.get_weights();
  ASSERT_EQ(ref.size(), model.weights().size()) << "the two graphs hold different tensors";
  for (const NamedWeight& n : model.weights()) {
    auto it = ref.find(n.name);
    ASSERT_NE(it, ref.end()) << "the reference lacks " << n.name;
    ASSERT_EQ(it->second.shape, n.shape) << n.name;
    std::copy(it->second.data.begin(), it->second.data.end(), w.begin() + n.offset);
  }
  model.set_weights(w);
}

// max |model's - reference| over every named tensor of `values` (the model's buffer layout)
void expect_tensors(const Model& model, const std::vector<float>& values, const std::string& path,
                    const char* what) {
  const auto ref = by_name(path);
  for (const NamedWeight& n : model.weights()) {
    const NamedTensor& r = ref.at(n.name);
    double worst = 0;
    for (size_t k = 0; k < r.data.size(); ++k)
      worst = std::max(worst, std::fabs(double(values[size_t(n.offset) + k]) - double(r.data[k])));
    EXPECT_LE(worst, kTol) << what << " of " << n.name;
  }
}

void expect_near(const Tensor& a, const Tensor& b, const char* what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  double worst = 0;
  for (int64_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(double(a[k]) - double(b[k])));
  EXPECT_LE(worst, kTol) << what;
}

// Compares one case: predictions, loss, gradients, and the weights after 10 full-batch steps.
void check_case(Model& model, const std::string& name, const std::vector<Loss>& losses,
                CompileOptions options) {
  const std::string d = dir(name);
  load_weights(model, d + "weights.safetensors");
  std::vector<Tensor> x, y, pred;
  for (size_t k = 0; k < model.input_names().size(); ++k)
    x.push_back(load_npy(d + "x" + std::to_string(k) + ".npy"));
  for (size_t k = 0; k < model.output_names().size(); ++k) {
    y.push_back(load_npy(d + "y" + std::to_string(k) + ".npy"));
    pred.push_back(load_npy(d + "pred" + std::to_string(k) + ".npy"));
  }
  model.compile(Adam({.learning_rate = 0.01f, .epsilon = 1e-7f}), losses, std::move(options));
  const std::vector<Tensor> got = model.predict(x);
  for (size_t k = 0; k < got.size(); ++k) expect_near(got[k], pred[k], ("output " + std::to_string(k)).c_str());
  std::vector<float> grads;
  const double loss = model_loss_and_gradient(model, x, y, &grads);
  EXPECT_NEAR(loss, load_npy(d + "loss.npy")[0], kTol);
  expect_tensors(model, grads, d + "grads.safetensors", "gradient");
  model.fit(x, y, {.epochs = 10, .batch_size = int(x[0].dim(0)), .shuffle = false, .verbose = 0});
  expect_tensors(model, model.get_weights(), d + "trained.safetensors", "weight after 10 Adam steps");
}

TEST(GraphParity, TranslatorWithBidirectionalEncoderAttentionAndMasks) {
  auto src = Input({kAnyLength}, {.name = "source"});
  auto tgt = Input({kAnyLength}, {.name = "target_in"});
  auto src_embedding = Embedding(7, 4, {.mask_zero = true});
  src_embedding.name = "src_embedding";
  auto tgt_embedding = Embedding(6, 4, {.mask_zero = true});
  tgt_embedding.name = "tgt_embedding";
  auto encoder = Bidirectional(LSTM(5, {.return_sequences = true, .return_state = true}));
  encoder.name = "encoder";
  auto [enc, h_fwd, c_fwd, h_bwd, c_bwd] = encoder(src_embedding(src));
  auto decoder = LSTM(10, {.return_sequences = true});
  decoder.name = "decoder";
  auto dec = decoder(tgt_embedding(tgt), {Concatenate()({h_fwd, h_bwd}), Concatenate()({c_fwd, c_bwd})});
  auto ctx = Attention()({dec, enc});
  auto head = Dense(6, {.activation = Activation::softmax});
  head.name = "head";
  Model model({src, tgt}, head(Concatenate()({dec, ctx})));
  check_case(model, "translator", {loss::sparse_categorical_crossentropy}, {});
}

// lstm::seq2seq_model as graph_reference.py's SEQ2SEQ_CASES: every attention kind, stacked and
// bidirectional encoders, label smoothing, on padded batches of both sides.
struct Seq2seqCase {
  const char* name;
  AttentionKind attention;
  int layers;
  bool bidirectional;
  float smoothing;
};
class Seq2seqParity : public ::testing::TestWithParam<Seq2seqCase> {};

TEST_P(Seq2seqParity, OutputsLossGradientsAndAdamSteps) {
  const Seq2seqCase& c = GetParam();
  Model model = seq2seq_model({.source_vocabulary = 7, .target_vocabulary = 6, .embedding = 4, .units = 6,
                               .layers = c.layers, .bidirectional = c.bidirectional, .attention = c.attention});
  check_case(model, c.name, {{LossKind::scce, true, c.smoothing}}, {});
}

INSTANTIATE_TEST_SUITE_P(EveryAttention, Seq2seqParity,
                         ::testing::Values(Seq2seqCase{"seq2seq_none", AttentionKind::none, 1, false, 0.0f},
                                           Seq2seqCase{"seq2seq_dot", AttentionKind::dot, 2, false, 0.0f},
                                           Seq2seqCase{"seq2seq_general", AttentionKind::general, 1, true, 0.1f},
                                           Seq2seqCase{"seq2seq_additive", AttentionKind::additive, 2, true, 0.1f}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GraphParity, TwoInputsTwoOutputsWeighted) {
  auto seqs = Input({kAnyLength, 3}, {.name = "sequences"});
  auto vecs = Input({4}, {.name = "vectors"});
  auto masked = Masking(0.0f)(seqs);
  auto seq_lstm = LSTM(4, {.return_sequences = true});
  seq_lstm.name = "seq_lstm";
  auto head1 = Dense(2);
  head1.name = "head1";
  auto summary_gru = GRU(4);
  summary_gru.name = "summary_gru";
  auto side = Dense(4, {.activation = Activation::tanh});
  side.name = "side";
  auto head2 = Dense(1);
  head2.name = "head2";
  auto out1 = head1(seq_lstm(masked));
  auto out2 = head2(Add()({summary_gru(masked), side(vecs)}));
  Model model({seqs, vecs}, {out1, out2});
  check_case(model, "two_heads", {loss::mse, loss::mse}, {.loss_weights = {1.0, 0.5}});
}

// Clips through per-frame convolution and pooling into a ConvLSTM2D, an image head on its
// sequence and a vector head on its final states (graph_reference.py's Video, written out there).
TEST(GraphParity, ConvLSTMOnClipsWithImageAndVectorHeads) {
  auto clips = Input({4, 8, 6, 2}, {.name = "clips"});
  auto conv = Conv2D(3, {3, 3}, {.padding = ConvPadding::same, .activation = Activation::tanh});
  conv.name = "conv";
  auto convlstm = ConvLSTM2D(4, {2, 2}, {.return_sequences = true, .return_state = true});
  convlstm.name = "convlstm";
  auto frame_head = Conv2D(1, {1, 1}, {.activation = Activation::sigmoid});
  frame_head.name = "frame_head";
  auto vec_head = Dense(2);
  vec_head.name = "vec_head";
  auto [seq, h, c] = convlstm(MaxPooling2D({2, 2})(conv(clips)));
  auto out1 = frame_head(seq);
  auto out2 = vec_head(Concatenate()({Flatten()(h), GlobalAveragePooling2D()(c)}));
  Model model(clips, {out1, out2});
  EXPECT_EQ(out1.shape(), (std::vector<int64_t>{4, 3, 2, 1}));
  check_case(model, "video", {loss::mse, loss::mse}, {});
}

}  // namespace
}  // namespace lstm
