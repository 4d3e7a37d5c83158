// PyTorch state_dicts in and out without PyTorch (src/io/torch_model.h, torch_file.h's writer):
// the written file read back exactly, every layer type through the name mapping and back bit for
// bit, both RNN biases folded, the architecture inferred, and each mismatch between a file and an
// architecture refused in the file's own names. tests/cli/test_interop_cli.py checks the same
// files against PyTorch itself.
#include <gtest/gtest.h>

#include <cstring>

#include "io/torch_model.h"
#include "lstm/error.h"
#include "lstm/layers.h"
#include "test_util.h"

namespace lstm {
namespace {

std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<TorchTensor> decoded(const std::vector<TorchTensor>& tensors, const std::string& config = "",
                                 std::string* config_back = nullptr) {
  return decode_torch_state_dict(as_bytes(encode_torch_state_dict(tensors, "m", config)), "m.pt", config_back);
}

TorchTensor random_torch(const std::string& name, std::vector<int64_t> shape, uint64_t seed) {
  const Tensor t = test::random_tensor(shape, seed);
  return {name, shape, t.storage(), "float32"};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The message of the lstm::Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TorchWriter, WhatItWritesReadsBackExactly) {
  const std::vector<TorchTensor> tensors = {random_torch("a.weight", {3, 4}, 1), random_torch("a.bias", {3}, 2),
                                            {"scalar", {}, {2.5f}, "float32"},
                                            random_torch("big", {70000}, 3)};  // sizes past BININT2
  std::string config;
  const std::vector<TorchTensor> back = decoded(tensors, "{\"x\": 1}", &config);
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t k = 0; k < back.size(); ++k) {
    EXPECT_EQ(back[k].name, tensors[k].name);
    EXPECT_EQ(back[k].shape, tensors[k].shape);
    EXPECT_EQ(back[k].dtype, "float32");
    EXPECT_TRUE(same_bits(back[k].data, tensors[k].data)) << back[k].name;
  }
  EXPECT_EQ(config, "{\"x\": 1}");
  decoded(tensors, "", &config);
  EXPECT_EQ(config, "");  // no entry, no config
  EXPECT_NE(error_of([] { encode_torch_state_dict({{"bad", {2, 3}, {1.0f}, "float32"}}, "m"); }).find("holds 6 values"),
            std::string::npos);
}

// Every layer type with weights, through the file and back.
Sequential every_layer_model() {
  Sequential m;
  m.add(Embedding(30, 6, {.mask_zero = true, .input_shape = {9}}));
  m.add(Bidirectional(LSTM(8, {.return_sequences = true, .proj_size = 5})));
  m.add(GRU(7, {.return_sequences = true}));
  m.add(Dropout(0.1f));
  m.add(SimpleRNN(6, {.activation = Activation::relu, .return_sequences = true}));
  m.add(TimeDistributed(Dense(4, {.activation = Activation::tanh})));
  m.add(LSTM(5, {.use_bias = false}));
  m.add(Dense(2, {.use_bias = false}));
  return m;
}

TEST(TorchModel, EveryLayerRoundTripsBitForBit) {
  Sequential m = every_layer_model();
  const std::vector<TorchTensor> tensors = torch_tensors_from(m);
  std::vector<std::string> names;
  for (const TorchTensor& t : tensors) names.push_back(t.name);
  // PyTorch's names, two biases where nn.LSTM has them (the second zero), none without use_bias
  EXPECT_EQ(names, (std::vector<std::string>{
                       "layers.0.embed.weight",
                       "layers.1.rnn.weight_ih_l0", "layers.1.rnn.weight_hh_l0", "layers.1.rnn.bias_ih_l0",
                       "layers.1.rnn.bias_hh_l0", "layers.1.rnn.weight_hr_l0",
                       "layers.1.rnn.weight_ih_l0_reverse", "layers.1.rnn.weight_hh_l0_reverse",
                       "layers.1.rnn.bias_ih_l0_reverse", "layers.1.rnn.bias_hh_l0_reverse",
                       "layers.1.rnn.weight_hr_l0_reverse",
                       "layers.2.rnn.weight_ih_l0", "layers.2.rnn.weight_hh_l0", "layers.2.rnn.bias_ih_l0",
                       "layers.2.rnn.bias_hh_l0",
                       "layers.4.rnn.weight_ih_l0", "layers.4.rnn.weight_hh_l0", "layers.4.rnn.bias_ih_l0",
                       "layers.4.rnn.bias_hh_l0",
                       "layers.5.linear.weight", "layers.5.linear.bias",
                       "layers.6.rnn.weight_ih_l0", "layers.6.rnn.weight_hh_l0",
                       "layers.7.linear.weight"}));
  std::string config;
  const std::vector<TorchTensor> back_tensors = decoded(tensors, m.to_json(), &config);
  Sequential back = sequential_from_torch(back_tensors, "", config, "m.pt");
  EXPECT_EQ(back.to_json(), m.to_json());
  EXPECT_TRUE(same_bits(back.get_weights(), m.get_weights()));
}

// nn.LSTM's two biases become lstm's one, their sum; GRU keeps both (b_hn is inside r * (...)).
TEST(TorchModel, BiasesFoldForLstmAndRnnNotGru) {
  const int64_t I = 3, H = 2;
  std::vector<TorchTensor> t = {random_torch("lstm.weight_ih_l0", {4 * H, I}, 1),
                                random_torch("lstm.weight_hh_l0", {4 * H, H}, 2),
                                random_torch("lstm.bias_ih_l0", {4 * H}, 3), random_torch("lstm.bias_hh_l0", {4 * H}, 4),
                                random_torch("gru.weight_ih_l0", {3 * H, H}, 5),
                                random_torch("gru.weight_hh_l0", {3 * H, H}, 6),
                                random_torch("gru.bias_ih_l0", {3 * H}, 7), random_torch("gru.bias_hh_l0", {3 * H}, 8)};
  std::vector<std::string> notes;
  Sequential m = sequential_from_torch(t, "", "", "f.pt", &notes);
  ASSERT_EQ(m.layers().size(), 2u);
  EXPECT_EQ(m.layers()[0].type, LayerType::lstm);
  EXPECT_TRUE(m.layers()[0].return_sequences);
  EXPECT_EQ(m.layers()[1].type, LayerType::gru);
  EXPECT_TRUE(m.layers()[1].return_sequences);  // the last RNN with no Linear after it: its sequence
  EXPECT_EQ(m.input_shape(), (std::vector<int64_t>{0, I}));  // any length
  const std::vector<float> w = m.get_weights();
  // lstm: weight_ih (24), weight_hh (16), bias (8); then gru's tensors as they are
  for (int64_t k = 0; k < 4 * H; ++k) EXPECT_EQ(w[size_t(40 + k)], t[2].data[size_t(k)] + t[3].data[size_t(k)]);
  const size_t gru = 48 + 12 + 12;
  for (int64_t k = 0; k < 3 * H; ++k) {
    EXPECT_EQ(w[gru + size_t(k)], t[6].data[size_t(k)]);
    EXPECT_EQ(w[gru + size_t(3 * H + k)], t[7].data[size_t(k)]);
  }
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("inferred"), std::string::npos);
}

TEST(TorchModel, InfersStackedBidirectionalProjectionAndHead) {
  // nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3) then nn.Linear(6, 2)
  std::vector<TorchTensor> t;
  for (int l = 0; l < 2; ++l)
    for (std::string rev : {"", "_reverse"}) {
      const std::string s = "_l" + std::to_string(l) + rev;
      t.push_back(random_torch("rnn.weight_ih" + s, {24, l == 0 ? 4 : 6}, 10 + uint64_t(t.size())));
      t.push_back(random_torch("rnn.weight_hh" + s, {24, 3}, 10 + uint64_t(t.size())));
      t.push_back(random_torch("rnn.bias_ih" + s, {24}, 10 + uint64_t(t.size())));
      t.push_back(random_torch("rnn.bias_hh" + s, {24}, 10 + uint64_t(t.size())));
      t.push_back(random_torch("rnn.weight_hr" + s, {3, 6}, 10 + uint64_t(t.size())));
    }
  t.push_back(random_torch("fc.weight", {2, 6}, 90));
  t.push_back(random_torch("fc.bias", {2}, 91));
  Sequential m = sequential_from_torch(t, "", "", "f.pt");
  ASSERT_EQ(m.layers().size(), 3u);
  for (int k = 0; k < 2; ++k) {
    ASSERT_EQ(m.layers()[size_t(k)].type, LayerType::bidirectional);
    const LayerConfig& inner = m.layers()[size_t(k)].wrapped.at(0);
    EXPECT_EQ(inner.units, 6);
    EXPECT_EQ(inner.proj_size, 3);
    EXPECT_EQ(inner.return_sequences, k == 0);  // the last one hands h_n to the Linear
  }
  EXPECT_EQ(m.layers()[2].type, LayerType::dense);
  EXPECT_EQ(m.output_shape(), (std::vector<int64_t>{2}));
  // and back out under the Twin's names, the same weights
  std::string config;
  Sequential back = sequential_from_torch(decoded(torch_tensors_from(m), m.to_json(), &config), "", config, "b.pt");
  EXPECT_TRUE(same_bits(back.get_weights(), m.get_weights()));
}

TEST(TorchModel, MismatchesAreNamedInTheFilesOwnNames) {
  const std::vector<TorchTensor> good = {random_torch("lstm.weight_ih_l0", {8, 3}, 1),
                                         random_torch("lstm.weight_hh_l0", {8, 2}, 2),
                                         random_torch("lstm.bias_ih_l0", {8}, 3), random_torch("lstm.bias_hh_l0", {8}, 4),
                                         random_torch("head.weight", {1, 2}, 5), random_torch("head.bias", {1}, 6)};
  EXPECT_NO_THROW(sequential_from_torch(good, "", "", "f.pt"));
  auto without = [&](const std::string& name) {
    std::vector<TorchTensor> t;
    for (const TorchTensor& x : good)
      if (x.name != name) t.push_back(x);
    return t;
  };
  auto expect = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message << "\n  should name: " << part;
  };
  // a module this converter does not know
  std::vector<TorchTensor> extra = good;
  extra.push_back(random_torch("norm.running_mean", {2}, 7));
  expect(error_of([&] { sequential_from_torch(extra, "", "", "f.pt"); }), "'norm.running_mean'");
  // a bias missing
  expect(error_of([&] { sequential_from_torch(without("lstm.bias_hh_l0"), "", "", "f.pt"); }), "bias_hh");
  // the architecture given disagrees in width: named with the file's tensor
  const std::string wide = R"({"input_shape": [null, 3], "layers": [{"type": "lstm", "units": 3}, {"type": "dense", "units": 1}]})";
  const std::string narrow = error_of([&] { sequential_from_torch(good, wide, "", "f.pt"); });
  expect(narrow, "has shape [8, 3] but the config says [12, 3]");
  expect(narrow, "the file's 'lstm.weight_ih_l0'");
  // in layer count
  const std::string one = R"({"layers": [{"type": "lstm", "units": 2}]})";
  expect(error_of([&] { sequential_from_torch(good, one, "", "f.pt"); }), "2 weighted module(s)");
  // in type: an RNN module where the architecture has a Dense
  const std::string swapped = R"({"layers": [{"type": "dense", "units": 8}, {"type": "dense", "units": 1}]})";
  expect(error_of([&] { sequential_from_torch(good, swapped, "", "f.pt"); }), "is an RNN layer");
  // a tensor with no place: proj_size the architecture lacks
  std::vector<TorchTensor> proj = good;
  proj.insert(proj.begin() + 4, random_torch("lstm.weight_hr_l0", {2, 2}, 8));
  const std::string plain = R"({"layers": [{"type": "lstm", "units": 2}, {"type": "dense", "units": 1}]})";
  expect(error_of([&] { sequential_from_torch(proj, plain, "", "f.pt"); }), "weight_hr has no place");
  // NaN weights: refused, named
  std::vector<TorchTensor> nan = good;
  nan[0].data[5] = std::nanf("");
  expect(error_of([&] { sequential_from_torch(nan, "", "", "f.pt"); }), "NaN at flat index 5");
  // inference that would guess: two Linear layers (their activation), a GRU without bias
  std::vector<TorchTensor> two = good;
  two.push_back(random_torch("out.weight", {1, 1}, 9));
  expect(error_of([&] { sequential_from_torch(two, "", "", "f.pt"); }), "give the architecture with --config");
  const std::vector<TorchTensor> gru = {random_torch("g.weight_ih_l0", {6, 3}, 1), random_torch("g.weight_hh_l0", {6, 2}, 2)};
  expect(error_of([&] { sequential_from_torch(gru, "", "", "f.pt"); }), "without biases");
  // a square weight-only module before an RNN: an Embedding or a Linear without bias?
  const std::vector<TorchTensor> square = {random_torch("w.weight", {3, 3}, 1), good[0], good[1], good[2], good[3]};
  expect(error_of([&] { sequential_from_torch(square, "", "", "f.pt"); }), "could be an nn.Embedding");
}

TEST(TorchModel, LayersWithoutATorchTwinAreRefusedOnExport) {
  Sequential peep;
  peep.add(LSTM(4, {.use_peepholes = true, .input_shape = {5, 2}}));
  EXPECT_NE(error_of([&] { torch_tensors_from(peep); }).find("no nn.LSTM counterpart"), std::string::npos);
  Sequential hard;
  hard.add(LSTM(4, {.recurrent_activation = Activation::hard_sigmoid, .input_shape = {5, 2}}));
  EXPECT_NE(error_of([&] { torch_tensors_from(hard); }).find("no nn.LSTM counterpart"), std::string::npos);
}

}  // namespace
}  // namespace lstm
