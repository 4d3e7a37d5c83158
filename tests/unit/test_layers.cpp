// The recurrent layer set's semantics, as Keras and PyTorch users expect them: padded batches
// act as packed sequences, Bidirectional equals its two directions run apart, dropout only in
// training, masks from Embedding(mask_zero) and Masking, streaming, configs and files that
// round-trip, and clear errors for configs and lengths that cannot work.
#include <gtest/gtest.h>

#include <cmath>

#include "lstm/cell.h"
#include "model/model_impl.h"
#include "test_util.h"

namespace lstm {
namespace {

using test::random_tensor;

// Sample n of x, its first L steps, as a batch of one: [1, L, F].
Tensor prefix(const Tensor& x, int64_t n, int64_t L) {
  const int64_t T = x.dim(1), F = x.rank() == 3 ? x.dim(2) : 1;
  Tensor out(x.rank() == 3 ? std::vector<int64_t>{1, L, F} : std::vector<int64_t>{1, L});
  std::copy(x.data() + n * T * F, x.data() + (n * T + L) * F, out.data());
  return out;
}

double max_diff(const float* a, const float* b, int64_t n) {
  double m = 0;
  for (int64_t k = 0; k < n; ++k) m = std::max(m, double(std::fabs(a[k] - b[k])));
  return m;
}

Sequential stacked(LayerConfig first, LayerConfig second, bool seq_out) {
  Sequential model({.seed = 12});
  model.add(first);
  model.add(second);
  if (seq_out) model.add(TimeDistributed(Dense(2)));
  else model.add(Dense(2));
  model.compile(Adam(), loss::mse);
  return model;
}

TEST(Layers, PaddedBatchEqualsEachSequenceAlone) {
  // What packed sequences promise: a padded row predicts what the row alone, unpadded, does;
  // the padding's values do not matter; recurrent outputs at padded steps are zero.
  const int64_t N = 5, T = 7, F = 3;
  const std::vector<int64_t> lengths = {7, 3, 5, 1, 6};
  for (bool seq_out : {false, true}) {
    for (LayerType kind : {LayerType::lstm, LayerType::gru, LayerType::simple_rnn}) {
      SCOPED_TRACE(std::string(layer_type_name(kind)) + (seq_out ? ", sequences out" : ""));
      auto make = [&](int units, bool seq, std::vector<int64_t> shape) {
        LayerConfig c = kind == LayerType::lstm ? LayerConfig(LSTM(units, {.return_sequences = seq}))
                        : kind == LayerType::gru ? LayerConfig(GRU(units, {.return_sequences = seq}))
                                                 : LayerConfig(SimpleRNN(units, {.return_sequences = seq}));
        c.input_shape = std::move(shape);
        return c;
      };
      Sequential model = stacked(Bidirectional(make(4, true, {})), make(3, seq_out, {}), seq_out);
      model.build({0, F});
      Tensor x = random_tensor({N, T, F}, 3);
      Tensor padded = model.predict(x, lengths, 2);
      for (int64_t n = 0; n < N; ++n)  // other padding values: the same predictions
        for (int64_t t = lengths[size_t(n)]; t < T; ++t)
          for (int64_t f = 0; f < F; ++f) x[(n * T + t) * F + f] = 100.0f;
      Tensor again = model.predict(x, lengths, 2);
      EXPECT_EQ(max_diff(padded.data(), again.data(), padded.size()), 0.0);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t L = lengths[size_t(n)];
        Tensor alone = model.predict(prefix(x, n, L));
        const int64_t width = seq_out ? L * 2 : 2, stride = seq_out ? T * 2 : 2;
        EXPECT_LE(max_diff(alone.data(), padded.data() + n * stride, width), 2e-6) << "sample " << n;
      }
    }
  }
  // A recurrent layer's own outputs at padded steps are zero.
  Sequential seq({.seed = 1});
  seq.add(GRU(3, {.return_sequences = true, .input_shape = {T, F}}));
  Tensor out = seq.predict(random_tensor({N, T, F}, 4), lengths);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = lengths[size_t(n)]; t < T; ++t)
      for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(out[(n * T + t) * 3 + j], 0.0f);
}

TEST(Layers, BidirectionalIsItsTwoDirections) {
  // concat/sum/mul/ave of a forward LSTM and a go_backwards LSTM (its outputs put back in time
  // order) with the same weights; none: both, as outputs [2, N, T, H].
  const int64_t N = 3, T = 5, F = 2, H = 4;
  Tensor x = random_tensor({N, T, F}, 8);
  for (MergeMode mode : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave, MergeMode::none}) {
    SCOPED_TRACE(merge_mode_name(mode));
    Sequential bi({.seed = 2});
    bi.add(Bidirectional(LSTM(H, {.return_sequences = true}), {.merge_mode = mode, .input_shape = {T, F}}));
    Sequential fwd, bwd;
    fwd.add(LSTM(H, {.return_sequences = true, .input_shape = {T, F}}));
    bwd.add(LSTM(H, {.return_sequences = true, .go_backwards = true, .input_shape = {T, F}}));
    std::vector<float> w = bi.get_weights();
    const size_t half = w.size() / 2;
    fwd.set_weights({w.begin(), w.begin() + long(half)});
    bwd.set_weights({w.begin() + long(half), w.end()});
    Tensor y = bi.predict(x), f = fwd.predict(x), b = bwd.predict(x);
    const int64_t W = mode == MergeMode::concat ? 2 * H : H;
    if (mode == MergeMode::none) ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, N, T, H}));
    else ASSERT_EQ(y.shape(), (std::vector<int64_t>{N, T, W}));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < H; ++j) {
          const float fv = f[(n * T + t) * H + j], bv = b[(n * T + (T - 1 - t)) * H + j];
          const float* out = y.data() + (n * T + t) * W;
          switch (mode) {
            case MergeMode::none:
              EXPECT_EQ(y[(n * T + t) * H + j], fv);                // output 0: forward
              EXPECT_EQ(y[((N + n) * T + t) * H + j], bv);          // output 1: backward
              break;
            case MergeMode::concat:
              EXPECT_EQ(out[j], fv);
              EXPECT_EQ(out[H + j], bv);
              break;
            case MergeMode::sum: EXPECT_FLOAT_EQ(out[j], fv + bv); break;
            case MergeMode::mul: EXPECT_FLOAT_EQ(out[j], fv * bv); break;
            case MergeMode::ave: EXPECT_FLOAT_EQ(out[j], 0.5f * (fv + bv)); break;
          }
        }
  }
}

TEST(Layers, DropoutOnlyInTraining) {
  Sequential model({.seed = 3});
  model.add(Dropout(0.25f));
  model.build({4000});
  Tensor x = random_tensor({2, 4000}, 5, 1.0f, 2.0f);
  Tensor y = model.predict(x);  // inference: unchanged
  EXPECT_EQ(max_diff(x.data(), y.data(), x.size()), 0.0);
  Sequential::Impl& m = model.impl();
  const int64_t idx[] = {0, 1};
  m.gather_x(x, idx, 2, 1);
  const float* out = m.forward(/*training=*/true);
  int64_t zeros = 0;
  for (int64_t k = 0; k < x.size(); ++k) {
    if (out[k] == 0.0f) ++zeros;
    else EXPECT_FLOAT_EQ(out[k], x[k] / 0.75f);  // kept values scaled up (rows in order)
  }
  EXPECT_NEAR(double(zeros) / double(x.size()), 0.25, 0.02);
  Sequential bad;
  bad.add(Dropout(1.0f));
  EXPECT_ERROR_WITH(bad.build({3}), "rate must be in [0, 1)");
}

TEST(Layers, SpecAugmentMasksWholeBandsAndSpansOnlyInTraining) {
  // 3 stacked frames of 4 bands (F = 12, period 4); rows of 9, 5 and 0 valid steps.
  const int64_t T = 9, B = 3, F = 12, P = 4;
  Sequential model({.seed = 11});
  model.add(SpecAugment({.frequency_masks = 2, .frequency_width = 2, .time_masks = 2, .time_width = 3,
                         .period = int(P), .input_shape = {0, F}}));
  model.build({0, F});
  const Tensor x = random_tensor({B, T, F}, 6, 1.0f, 2.0f);  // no zeros of its own
  const Tensor same = model.predict(x);
  EXPECT_EQ(max_diff(x.data(), same.data(), x.size()), 0.0);  // inference: unchanged
  Sequential::Impl& m = model.impl();
  const int64_t idx[] = {0, 1, 2};
  const std::vector<int64_t> lengths = {9, 5, 0};
  int64_t masked_bands = 0, masked_steps = 0;
  for (int draw = 0; draw < 20; ++draw) {
    m.gather_x(x, idx, B, T, lengths);
    const float* out = m.forward(/*training=*/true);  // time-major (T, B, F)
    for (int64_t b = 0; b < B; ++b) {
      std::vector<bool> band(P, false), step(T, false);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < F; ++i) {
          const float y = out[(t * B + b) * F + i], v = x[(b * T + t) * F + i];
          if (y != 0.0f) {
            EXPECT_EQ(y, v);
          }
          // a zero is a masked band (every step, every stacked frame) or a masked step
          if (y == 0.0f) band[i % P] = band[i % P] || [&] {
              for (int64_t s = 0; s < T; ++s)
                for (int64_t j = i % P; j < F; j += P)
                  if (out[(s * B + b) * F + j] != 0.0f) return false;
              return true;
            }();
        }
      for (int64_t t = 0; t < T; ++t) {
        bool all = true;
        for (int64_t i = 0; i < F; ++i) all = all && out[(t * B + b) * F + i] == 0.0f;
        step[size_t(t)] = all;
      }
      int64_t bands = 0, steps = 0;
      for (bool v : band) bands += v;
      for (int64_t t = 0; t < T; ++t) steps += step[size_t(t)];
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < F; ++i)
          if (out[(t * B + b) * F + i] == 0.0f) {
            EXPECT_TRUE(band[i % P] || step[size_t(t)]);
          }
      if (bands < P) {
        EXPECT_LE(bands, 4);
      }  // 2 bands of at most 2
      if (bands < P) {
        EXPECT_LE(steps, 6);
      }  // 2 spans of at most 3
      for (int64_t t = lengths[size_t(b)]; t < T && bands < P; ++t) EXPECT_FALSE(step[size_t(t)]);  // spans in the valid steps
      masked_bands += bands, masked_steps += steps;
    }
  }
  EXPECT_GT(masked_bands, 20);  // it does mask, both ways
  EXPECT_GT(masked_steps, 20);
  Sequential streamed({.seed = 1});  // step() passes through
  streamed.add(SpecAugment({.input_shape = {0, 3}}));
  streamed.add(LSTM(2));
  streamed.build({0, 3});
  const Tensor one = random_tensor({1, 4, 3}, 2);
  const Tensor whole = streamed.predict(one);
  float y[2];
  for (int64_t t = 0; t < 4; ++t) streamed.step(one.data() + t * 3, y);
  EXPECT_LE(max_diff(y, whole.data(), 2), 2e-6);
  for (const auto& [bad, message] :
       std::vector<std::pair<SpecAugmentOptions, const char*>>{{{.period = 5}, "period must divide the features"},
                                                               {{.frequency_masks = 65}, "frequency_masks must be in 0..64"},
                                                               {{.time_masks = -1}, "time_masks must be in 0..64"}}) {
    Sequential b;
    SpecAugmentOptions o = bad;
    o.input_shape = {0, 12};
    EXPECT_ERROR_WITH(b.add(SpecAugment(o)), message);
  }
  Sequential vectors;
  vectors.add(Dense(4, {.input_shape = {3}}));
  EXPECT_ERROR_WITH(vectors.add(SpecAugment()), "masks sequences of features");
}

TEST(Layers, MasksGiveLengths) {
  // Embedding(mask_zero): token 0 at the end is padding; Masking: steps equal to mask_value.
  Sequential tokens({.seed = 4});
  tokens.add(Embedding(10, 4, {.mask_zero = true, .input_shape = {0}}));
  tokens.add(LSTM(3));
  Tensor ids({2, 5});
  const float v[] = {3, 1, 4, 0, 0, 9, 2, 6, 5, 3};
  std::copy(v, v + 10, ids.data());
  const std::vector<int64_t> right = {3, 5}, wrong = {4, 5};
  Tensor masked = tokens.predict(ids), given = tokens.predict(ids, right);
  EXPECT_EQ(max_diff(masked.data(), given.data(), masked.size()), 0.0);
  EXPECT_LE(max_diff(masked.data(), tokens.predict(prefix(ids, 0, 3)).data(), 3), 2e-6);
  EXPECT_ERROR_WITH(tokens.predict(ids, wrong), "give lengths or padding that agree");
  ids[1] = 0;  // a hole before the last valid step
  EXPECT_ERROR_WITH(tokens.predict(ids), "right-padded");
  ids[1] = 1, ids[5] = 10;
  EXPECT_ERROR_WITH(tokens.predict(ids), "is not a token id");
  float bad_id = 10.0f, out[3];
  EXPECT_ERROR_WITH(tokens.step(&bad_id, out), "is not a token id");

  Sequential floats({.seed = 5});
  floats.add(Masking(-1.0f, {.input_shape = {4, 2}}));
  floats.add(GRU(3));
  Tensor x = random_tensor({2, 4, 2}, 6);
  for (int64_t k = 6; k < 8; ++k) x[k] = -1.0f;  // sample 0, step 3
  const std::vector<int64_t> lengths = {3, 4};
  EXPECT_EQ(max_diff(floats.predict(x).data(), floats.predict(x, lengths).data(), 6), 0.0);
  for (int64_t k = 0; k < 8; ++k) x[k] = -1.0f;
  // A sample that is all padding gives the output of the initial state (Keras): h_0 = 0.
  const Tensor empty_first = floats.predict(x);
  for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(empty_first[k], 0.0f) << k;
  EXPECT_NE(empty_first[3], 0.0f);
}

TEST(Layers, LengthsAreChecked) {
  Sequential model;
  model.add(LSTM(3, {.input_shape = {4, 2}}));
  Tensor x = random_tensor({2, 4, 2}, 1);
  using L = std::vector<int64_t>;
  EXPECT_ERROR_WITH(model.predict(x, L{4, 5}), "lengths[1] = 5 is out of range");
  EXPECT_ERROR_WITH(model.predict(x, L{0, 4}), "lengths[0] = 0 is out of range");
  EXPECT_ERROR_WITH(model.predict(x, L{4}), "one length per sample");
  Sequential dense;
  dense.add(Dense(2, {.input_shape = {3}}));
  EXPECT_ERROR_WITH(dense.predict(Tensor({2, 3}), L{1, 1}), "not sequences");
}

TEST(Layers, BadConfigsSayWhatToFix) {
  EXPECT_ERROR_WITH(Bidirectional(Dense(3)), "wraps a recurrent layer");
  EXPECT_ERROR_WITH(Bidirectional(LSTM(3, {.go_backwards = true})), "leave go_backwards unset");
  EXPECT_ERROR_WITH(TimeDistributed(LSTM(3)), "TimeDistributed wraps a Dense, Conv2D");
  auto build = [](std::vector<LayerConfig> layers, std::vector<int64_t> shape) {
    Sequential m;
    for (const LayerConfig& c : layers) m.add(c);
    m.build(shape);
  };
  EXPECT_ERROR_WITH(build({SimpleRNN(3, {.activation = Activation::sigmoid})}, {4, 2}),
                    "activation must be tanh or relu");
  EXPECT_ERROR_WITH(build({LSTM(3), Embedding(5, 2)}, {4, 2}), "must be the first layer");
  EXPECT_ERROR_WITH(build({Dense(3), Masking()}, {4, 2}), "must be the first layer");
  EXPECT_ERROR_WITH(build({Embedding(0, 2)}, {4}), "input_dim");
  EXPECT_ERROR_WITH(build({Embedding(5, 2)}, {4, 1}), "give {timesteps}");
  EXPECT_ERROR_WITH(build({Dense(2), TimeDistributed(Dense(2))}, {3}), "needs a sequence input");
  EXPECT_ERROR_WITH(build({GRU(3), GRU(2)}, {4, 2}), "set return_sequences = true");
  Sequential bi;
  bi.add(Bidirectional(GRU(2), {.input_shape = {3, 1}}));
  float in = 0, out[4];
  EXPECT_ERROR_WITH(bi.step(&in, out), "cannot run one step at a time");
}

TEST(Layers, StreamingMatchesPredict) {
  // step() over a sequence gives predict()'s outputs, for every recurrent kind and Embedding.
  const int64_t T = 6, F = 3;
  Tensor x = random_tensor({1, T, F}, 9);
  for (LayerConfig first : std::vector<LayerConfig>{GRU(5, {.return_sequences = true, .input_shape = {0, F}}),
                            SimpleRNN(5, {.activation = Activation::relu, .return_sequences = true,
                                          .input_shape = {0, F}}),
                            LSTM(5, {.return_sequences = true, .input_shape = {0, F}}),
                            LSTM(5, {.return_sequences = true, .activation = Activation::relu,
                                     .recurrent_activation = Activation::hard_sigmoid,
                                     .dropout = 0.3f, .recurrent_dropout = 0.3f, .proj_size = 2,
                                     .use_peepholes = true, .input_shape = {0, F}})}) {
    SCOPED_TRACE(std::string(layer_type_name(first.type)) + (first.proj_size ? " with options" : ""));
    Sequential model({.seed = 6});
    model.add(first);
    model.add(Dropout(0.5f));
    model.add(TimeDistributed(Dense(2)));
    Tensor whole = model.predict(x);
    model.reset_states();
    for (int64_t t = 0; t < T; ++t) {
      float y[2];
      model.step(x.data() + t * F, y);
      EXPECT_LE(max_diff(y, whole.data() + t * 2, 2), 2e-6) << "step " << t;
    }
  }
}

TEST(Layers, ConfigAndFileRoundTrip) {
  test::TempDir dir;
  Sequential model({.seed = 7});
  model.add(Embedding(9, 4, {.mask_zero = true, .input_shape = {0}}));
  model.add(Bidirectional(LSTM(3, {.return_sequences = true}), {.merge_mode = MergeMode::ave}));
  model.add(Dropout(0.2f));
  model.add(SpecAugment({.frequency_masks = 1, .frequency_width = 2, .time_masks = 3, .time_width = 4}));
  model.add(GRU(3, {.return_sequences = true, .go_backwards = true}));
  model.add(SimpleRNN(2, {.activation = Activation::relu, .return_sequences = true}));
  model.add(LSTM(4, {.return_sequences = true, .activation = Activation::relu,
                     .recurrent_activation = Activation::hard_sigmoid, .use_bias = false,
                     .dropout = 0.1f, .recurrent_dropout = 0.2f, .proj_size = 2, .use_peepholes = true}));
  model.add(TimeDistributed(Dense(3, {.activation = Activation::softmax})));
  const std::string json = model.to_json();
  EXPECT_NE(json.find(R"("dropout":0.1,)"), std::string::npos) << json;  // as written, not 0.100000001
  EXPECT_EQ(Sequential::from_json(json).to_json(), json);
  model.save(dir.file("m.safetensors"));
  Sequential again = Sequential::load(dir.file("m.safetensors"));
  EXPECT_EQ(again.to_json(), json);
  Tensor ids({2, 4});
  const float v[] = {1, 2, 3, 0, 8, 7, 6, 5};
  std::copy(v, v + 8, ids.data());
  Tensor a = model.predict(ids), b = again.predict(ids);
  EXPECT_EQ(max_diff(a.data(), b.data(), a.size()), 0.0);
  EXPECT_NE(model.summary().find("Bidirectional"), std::string::npos);
  EXPECT_NE(model.summary().find("TimeDistributed"), std::string::npos);
  // merge_mode none: two outputs, so the last layer; Keras's null reads as none
  Sequential two({.seed = 8});
  two.add(Bidirectional(GRU(3), {.merge_mode = MergeMode::none, .input_shape = {4, 2}}));
  EXPECT_NE(two.summary().find("[(None, 3), (None, 3)]"), std::string::npos) << two.summary();
  EXPECT_EQ(Sequential::from_json(two.to_json()).to_json(), two.to_json());
  EXPECT_NE(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [{"type": "bidirectional",)"
                                  R"( "merge_mode": null, "layer": {"type": "gru", "units": 2}}]})")
                .to_json()
                .find(R"("merge_mode":"none")"),
            std::string::npos);
  EXPECT_ERROR_WITH(two.add(Dense(1)), "must be the last layer");
  two.compile(Adam(), loss::sparse_categorical_crossentropy);
  EXPECT_ERROR_WITH(two.fit(random_tensor({2, 4, 2}, 1), Tensor({2, 2, 1}), {.verbose = 0}),
                    "needs a loss of single values");
  two.compile(Adam(), loss::mse);
  EXPECT_ERROR_WITH(two.fit(random_tensor({2, 4, 2}, 1), Tensor({2, 3}), {.verbose = 0}),
                    "expects [2, 2, 3]: merge_mode none gives two outputs");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [)"
                                          R"({"type": "bidirectional", "merge_mode": "max",)"
                                          R"( "layer": {"type": "gru", "units": 2}}]})"),
                    "unknown merge_mode 'max'");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [)"
                                          R"({"type": "gru", "units": 2, "recurrent_dropout": 0.1}]})"),
                    "unknown key \"recurrent_dropout\"");
}

TEST(Layers, LstmDropoutHasOneMaskPerSequence) {
  // Keras: dropout zeroes the same input features at every step of a sequence. With one
  // feature, x = 1 everywhere and rate 0.5, each row in training sees either zeros or 2 (the
  // kept value scaled by 1/(1 - rate)) at every step, so its outputs are one of the two
  // sequences predict() gives for those inputs, never a mix.
  const int64_t N = 64, T = 5, H = 3;
  Sequential model({.seed = 9});
  model.add(LSTM(H, {.return_sequences = true, .dropout = 0.5f, .input_shape = {T, 1}}));
  Tensor ones({N, T, 1}), zeros({N, T, 1}), twos({N, T, 1});
  for (int64_t k = 0; k < N * T; ++k) ones[k] = 1.0f, twos[k] = 2.0f;
  const Tensor at_zero = model.predict(zeros), at_two = model.predict(twos);
  const Tensor inference = model.predict(ones);  // off at inference: x itself
  Sequential plain;
  plain.add(LSTM(H, {.return_sequences = true, .input_shape = {T, 1}}));
  plain.set_weights(model.get_weights());
  const Tensor expect = plain.predict(ones);
  EXPECT_EQ(max_diff(inference.data(), expect.data(), inference.size()), 0.0);
  Sequential::Impl& m = model.impl();
  std::vector<int64_t> idx(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) idx[size_t(n)] = n;
  m.gather_x(ones, idx.data(), N, T);
  const float* out = m.forward(/*training=*/true);  // (T, N, H)
  int64_t dropped = 0;
  for (int64_t n = 0; n < N; ++n) {
    double d0 = 0, d2 = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < H; ++j) {
        const float v = out[(t * N + n) * H + j];
        d0 = std::max(d0, double(std::fabs(v - at_zero[(n * T + t) * H + j])));
        d2 = std::max(d2, double(std::fabs(v - at_two[(n * T + t) * H + j])));
      }
    EXPECT_TRUE(d0 < 1e-6 || d2 < 1e-6) << "row " << n << " mixes dropped and kept steps";
    dropped += d0 < 1e-6;
  }
  EXPECT_GT(dropped, N / 5);
  EXPECT_LT(dropped, N - N / 5);
}

TEST(Layers, LstmRecurrentDropoutOnlyInTrainingOnTheState) {
  // recurrent_dropout acts on h_{t-1}: with h_0 = 0 the first step is untouched, later steps
  // change in training and not at all in predict().
  const int64_t N = 8, T = 4, F = 2, H = 6;
  Sequential model({.seed = 10});
  model.add(LSTM(H, {.return_sequences = true, .recurrent_dropout = 0.5f, .input_shape = {T, F}}));
  Sequential plain;
  plain.add(LSTM(H, {.return_sequences = true, .input_shape = {T, F}}));
  plain.set_weights(model.get_weights());
  Tensor x = random_tensor({N, T, F}, 11);
  const Tensor inference = model.predict(x), expect = plain.predict(x);
  EXPECT_LE(max_diff(inference.data(), expect.data(), inference.size()), 2e-6);
  Sequential::Impl& m = model.impl();
  std::vector<int64_t> idx(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) idx[size_t(n)] = n;
  m.gather_x(x, idx.data(), N, T);
  const float* out = m.forward(/*training=*/true);  // (T, N, H)
  double first = 0, later = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t j = 0; j < H; ++j) {
        const double d = std::fabs(out[(t * N + n) * H + j] - expect[(n * T + t) * H + j]);
        (t == 0 ? first : later) = std::max(t == 0 ? first : later, d);
      }
  EXPECT_LE(first, 2e-6);
  EXPECT_GT(later, 1e-3);
}

TEST(Layers, LstmOptionsShapesAndErrors) {
  // proj_size: h_t (and the layer's output) is P wide; tensors weight_hr [P, H], weight_hh
  // [4H, P], weight_peephole [3, H]; no bias tensor without use_bias.
  const int64_t T = 4, F = 3, H = 5, P = 2;
  Sequential model;
  model.add(LSTM(H, {.use_bias = false, .proj_size = P, .use_peepholes = true, .input_shape = {T, F}}));
  EXPECT_EQ(model.count_params(), 4 * H * F + 4 * H * P + P * H + 3 * H);
  EXPECT_EQ(model.predict(random_tensor({2, T, F}, 1)).shape(), (std::vector<int64_t>{2, P}));
  Sequential bi;
  bi.add(Bidirectional(LSTM(H, {.proj_size = P}), {.input_shape = {T, F}}));
  EXPECT_EQ(bi.predict(random_tensor({2, T, F}, 1)).shape(), (std::vector<int64_t>{2, 2 * P}));
  auto build = [](LayerConfig c) {
    Sequential m;
    m.add(c);
    m.build({4, 2});
  };
  EXPECT_ERROR_WITH(build(LSTM(4, {.proj_size = 4})), "proj_size must be in 1..3");
  EXPECT_ERROR_WITH(build(LSTM(4, {.proj_size = -1})), "proj_size must be in 1..3");
  EXPECT_ERROR_WITH(build(LSTM(4, {.dropout = 1.0f})), "dropout must be in [0, 1)");
  EXPECT_ERROR_WITH(build(LSTM(4, {.recurrent_dropout = -0.1f})), "recurrent_dropout must be in [0, 1)");
  EXPECT_ERROR_WITH(build(LSTM(4, {.activation = Activation::softmax})), "not an elementwise activation");
  LayerConfig gru = GRU(3);
  gru.recurrent_dropout = 0.2f;
  EXPECT_ERROR_WITH(build(gru), "are LSTM options");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [)"
                                          R"({"type": "lstm", "units": 4, "proj_size": 4}]})"),
                    "\"proj_size\" must be in 1..3");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [)"
                                          R"({"type": "lstm", "units": 4, "recurrent_activation": "hard_tanh"}]})"),
                    "unknown activation 'hard_tanh'");
}

// Rows of x [N, T, F] one after the other in time: [N/2, 2T, F], sample n continued by n + N/2.
Tensor joined(const Tensor& x) {
  const int64_t N = x.dim(0), T = x.dim(1), F = x.dim(2), half = N / 2;
  Tensor out({half, 2 * T, F});
  for (int64_t n = 0; n < half; ++n) {
    std::copy(x.data() + n * T * F, x.data() + (n + 1) * T * F, out.data() + n * 2 * T * F);
    std::copy(x.data() + (n + half) * T * F, x.data() + (n + half + 1) * T * F,
              out.data() + (n * 2 + 1) * T * F);
  }
  return out;
}

TEST(Layers, StatefulCarriesStateToTheNextBatch) {
  // Keras: row b of a batch starts from the state row b of the batch before ended in, across
  // batches of one predict() and across calls, until reset_states(). A stateful model over two
  // batches of 2 equals a plain one over the sequences joined in time.
  const int64_t N = 4, T = 3, F = 2, B = 2;
  Tensor x = random_tensor({N, T, F}, 12);
  for (LayerConfig layer : std::vector<LayerConfig>{LSTM(4, {.return_sequences = true}), GRU(4, {.return_sequences = true}),
                            SimpleRNN(4, {.return_sequences = true}),
                            LSTM(4, {.return_sequences = true, .proj_size = 2, .use_peepholes = true})}) {
    SCOPED_TRACE(std::string(layer_type_name(layer.type)) + (layer.proj_size ? " with options" : ""));
    Sequential plain({.seed = 13});
    layer.input_shape = {0, F};
    plain.add(layer);
    plain.add(TimeDistributed(Dense(1)));
    layer.stateful = true;
    layer.batch_size = B;
    Sequential stateful({.seed = 13});
    stateful.add(layer);
    stateful.add(TimeDistributed(Dense(1)));
    stateful.set_weights(plain.get_weights());
    const Tensor whole = plain.predict(joined(x));  // [2, 2T, 1]
    const Tensor parts = stateful.predict(x, B);    // [4, T, 1]: rows 2, 3 go on from rows 0, 1
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = n % B, step = (n / B) * T + t;
        EXPECT_NEAR(parts[n * T + t], whole[row * 2 * T + step], 2e-6) << "sample " << n << " step " << t;
      }
    const Tensor again = stateful.predict(x, B);  // goes on from where the last call ended
    EXPECT_GT(max_diff(again.data(), parts.data(), parts.size()), 1e-4);
    stateful.reset_states();
    const Tensor fresh = stateful.predict(x, B);
    EXPECT_EQ(max_diff(fresh.data(), parts.data(), parts.size()), 0.0);
  }
  // Bidirectional: each direction carries its own state.
  Sequential bi;
  bi.add(Bidirectional(LSTM(3, {.stateful = true}), {.input_shape = {T, F}, .batch_size = B}));
  const Tensor first = bi.predict(x, B), second = bi.predict(x, B);
  EXPECT_GT(max_diff(first.data(), second.data(), first.size()), 1e-4);
  bi.reset_states();
  const Tensor third = bi.predict(x, B);
  EXPECT_EQ(max_diff(first.data(), third.data(), first.size()), 0.0);
}

TEST(Layers, StatefulResumesWithItsCarriedState) {
  // A training checkpoint holds the carried states: 2 epochs, then a resumed run to 4, ends with
  // the weights of 4 epochs in one go (without the states it would restart from zero).
  const int64_t N = 8, T = 3, F = 2, B = 4;
  Tensor x = random_tensor({N, T, F}, 23), y = random_tensor({N, 1}, 24);
  auto make = [&] {
    Sequential m({.seed = 25});
    m.add(LSTM(4, {.return_sequences = true, .stateful = true, .input_shape = {T, F}, .batch_size = B}));
    m.add(Bidirectional(GRU(2, {.stateful = true})));
    m.add(Dense(1));
    m.compile(Adam({.learning_rate = 0.01f}), loss::mse);
    return m;
  };
  test::TempDir dir;
  Sequential whole = make(), part = make(), resumed = make();
  whole.fit(x, y, {.epochs = 4, .batch_size = B, .shuffle = false, .verbose = 0});
  part.fit(x, y, {.epochs = 2, .batch_size = B, .shuffle = false, .verbose = 0,
                  .checkpoint = dir.file("c.safetensors")});
  resumed.fit(x, y, {.epochs = 4, .batch_size = B, .shuffle = false, .verbose = 0,
                     .checkpoint = dir.file("c.safetensors"), .resume = true});
  const std::vector<float> a = whole.get_weights(), b = resumed.get_weights();
  EXPECT_EQ(max_diff(a.data(), b.data(), int64_t(a.size())), 0.0);
}

TEST(Layers, StatefulTrainsAndSaysWhatItNeeds) {
  const int64_t N = 8, T = 4, F = 2, B = 4;
  Tensor x = random_tensor({N, T, F}, 14), y = random_tensor({N, 1}, 15);
  Sequential model({.seed = 16});
  model.add(LSTM(5, {.stateful = true, .input_shape = {T, F}, .batch_size = B}));
  model.add(Dense(1));
  model.compile(Adam({.learning_rate = 0.01f}), loss::mse);
  EXPECT_NE(model.summary().find("(4, 5)"), std::string::npos) << model.summary();
  const std::string json = model.to_json();
  EXPECT_NE(json.find(R"("batch_size":4)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("stateful":true)"), std::string::npos) << json;
  EXPECT_EQ(Sequential::from_json(json).to_json(), json);
  History h = model.fit(x, y, {.epochs = 30, .batch_size = B, .shuffle = false, .verbose = 0});
  EXPECT_LT(h.history["loss"].back(), h.history["loss"].front());
  EXPECT_ERROR_WITH(model.predict(x), "runs batches of exactly 4");
  EXPECT_ERROR_WITH(model.predict(random_tensor({6, T, F}, 1), B), "not a multiple of the stateful");
  EXPECT_ERROR_WITH(model.predict(x, std::vector<int64_t>(8, 2), B), "stateful layers carry");
  EXPECT_ERROR_WITH(model.fit(x, y, {.batch_size = 2, .verbose = 0}), "pass batch_size = 4");
  Sequential unsized;
  EXPECT_ERROR_WITH(unsized.add(GRU(3, {.stateful = true, .input_shape = {T, F}})),
                    "needs a fixed batch size");
  Sequential bi;
  EXPECT_ERROR_WITH(bi.add(Bidirectional(LSTM(3, {.stateful = true}), {.input_shape = {T, F}})),
                    "needs a fixed batch size");
  Sequential second;
  second.add(LSTM(3, {.return_sequences = true, .input_shape = {T, F}}));
  EXPECT_ERROR_WITH(second.add(LSTM(3, {.batch_size = 4})), "only the first layer");
}

// Steps [from, to) of every sample of x [N, T, F].
Tensor steps(const Tensor& x, int64_t from, int64_t to) {
  const int64_t N = x.dim(0), T = x.dim(1), F = x.dim(2);
  Tensor out({N, to - from, F});
  for (int64_t n = 0; n < N; ++n)
    std::copy(x.data() + (n * T + from) * F, x.data() + (n * T + to) * F, out.data() + n * (to - from) * F);
  return out;
}

TEST(Layers, InitialAndFinalStatesContinueSequences) {
  // return_state / initial_state: the states after the first half of the sequences, given as
  // the initial state of the second half, give what the whole sequences give.
  const int64_t N = 5, T = 8, F = 3, half = 3;
  Tensor x = random_tensor({N, T, F}, 17);
  for (bool options : {false, true}) {
    SCOPED_TRACE(options ? "LSTM with projection and peepholes, GRU" : "LSTM, SimpleRNN");
    Sequential model({.seed = 18});
    if (options) {
      model.add(LSTM(6, {.return_sequences = true, .proj_size = 4, .use_peepholes = true, .input_shape = {0, F}}));
      model.add(GRU(3, {.return_sequences = true}));
    } else {
      model.add(LSTM(6, {.return_sequences = true, .input_shape = {0, F}}));
      model.add(SimpleRNN(3, {.return_sequences = true}));
    }
    const PredictionWithState whole = model.predict_with_state(x);
    ASSERT_EQ(whole.states.size(), 2u);
    EXPECT_EQ(whole.states[0].h.shape(), (std::vector<int64_t>{N, options ? 4 : 6}));
    EXPECT_EQ(whole.states[0].c.shape(), (std::vector<int64_t>{N, 6}));
    EXPECT_TRUE(whole.states[1].c.empty());
    for (int64_t n = 0; n < N; ++n)  // h_n is the last output
      for (int64_t j = 0; j < 3; ++j)
        EXPECT_EQ(whole.states[1].h[n * 3 + j], whole.y[(n * T + T - 1) * 3 + j]);
    const PredictionWithState first = model.predict_with_state(steps(x, 0, half), {}, {}, 2);
    const PredictionWithState rest = model.predict_with_state(steps(x, half, T), first.states, {}, 2);
    const Tensor expect = steps(whole.y, half, T);
    EXPECT_LE(max_diff(rest.y.data(), expect.data(), expect.size()), 2e-6);
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_LE(max_diff(rest.states[k].h.data(), whole.states[k].h.data(), whole.states[k].h.size()), 2e-6);
      EXPECT_LE(max_diff(rest.states[k].c.data(), whole.states[k].c.data(), whole.states[k].c.size()), 2e-6);
    }
    // the given state is for that call only: the next predict starts from zero again
    const Tensor after = model.predict(x);
    EXPECT_EQ(max_diff(after.data(), whole.y.data(), after.size()), 0.0);
  }
  // With lengths: the state at each sequence's last valid step (PyTorch's h_n, c_n).
  Sequential bi({.seed = 19});
  bi.add(Bidirectional(LSTM(4), {.input_shape = {0, F}}));
  const std::vector<int64_t> lengths = {8, 3, 5, 1, 6};
  const PredictionWithState padded = bi.predict_with_state(x, {}, lengths);
  ASSERT_EQ(padded.states.size(), 2u);  // forward, backward
  for (int64_t n = 0; n < N; ++n) {
    const PredictionWithState alone = bi.predict_with_state(prefix(x, n, lengths[size_t(n)]));
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_LE(max_diff(alone.states[k].h.data(), padded.states[k].h.data() + n * 4, 4), 2e-6);
      EXPECT_LE(max_diff(alone.states[k].c.data(), padded.states[k].c.data() + n * 4, 4), 2e-6);
    }
  }
  States wrong = bi.zero_states(N);
  wrong.pop_back();
  EXPECT_ERROR_WITH(bi.predict_with_state(x, wrong), "has 1 states, but the model has 2");
  wrong = bi.zero_states(N + 1);
  EXPECT_ERROR_WITH(bi.predict_with_state(x, wrong), "initial_state[0].h has shape [6, 4]");
}

TEST(Layers, LstmCellStepsLikeTheLayer) {
  // A cell taken from a model's LSTM layer, stepped over the sequence, gives the layer's
  // outputs; the backward direction of a Bidirectional layer, stepped from the end, its half.
  const int64_t N = 3, T = 5, F = 2;
  Tensor x = random_tensor({N, T, F}, 20);
  auto step_x = [&](int64_t t) {  // x_t [N, F]
    Tensor xt({N, F});
    for (int64_t n = 0; n < N; ++n) std::copy(x.data() + (n * T + t) * F, x.data() + (n * T + t + 1) * F, xt.data() + n * F);
    return xt;
  };
  for (LayerConfig layer : std::vector<LayerConfig>{LSTM(4, {.return_sequences = true}),
                            LSTM(4, {.return_sequences = true, .recurrent_activation = Activation::hard_sigmoid,
                                     .use_bias = false, .proj_size = 3, .use_peepholes = true})}) {
    SCOPED_TRACE(layer.proj_size ? "with options" : "the seed's cell");
    Sequential model({.seed = 21});
    layer.input_shape = {T, F};
    model.add(layer);
    const Tensor y = model.predict(x);
    const LSTMCell cell = LSTMCell::from_model(model, 0);
    const int64_t P = cell.output_size();
    RecurrentState s = cell.zero_state(N);
    for (int64_t t = 0; t < T; ++t) {
      s = cell.step(step_x(t), s);
      for (int64_t n = 0; n < N; ++n)
        EXPECT_LE(max_diff(s.h.data() + n * P, y.data() + (n * T + t) * P, P), 2e-6) << "step " << t;
    }
  }
  Sequential bi({.seed = 22});
  bi.add(Bidirectional(LSTM(3, {.return_sequences = true}), {.input_shape = {T, F}}));
  const Tensor y = bi.predict(x);  // [N, T, 6]: forward, backward
  const LSTMCell back = LSTMCell::from_model(bi, 0, /*backward=*/true);
  RecurrentState s = back.zero_state(N);
  for (int64_t t = T - 1; t >= 0; --t) {
    s = back.step(step_x(t), s);
    for (int64_t n = 0; n < N; ++n)
      EXPECT_LE(max_diff(s.h.data() + n * 3, y.data() + (n * T + t) * 6 + 3, 3), 2e-6) << "step " << t;
  }
  // A cell of its own: Keras's initialisation, named weights, clear errors.
  LSTMCell cell(2, 5, {.proj_size = 2, .use_peepholes = true});
  EXPECT_EQ(cell.weight_names(), (std::vector<std::string>{"weight_ih", "weight_hh", "bias", "weight_hr",
                                                           "weight_peephole"}));
  EXPECT_EQ(cell.weight("weight_hh").shape(), (std::vector<int64_t>{20, 2}));
  EXPECT_EQ(cell.weight("bias")[5], 1.0f);  // unit forget bias
  EXPECT_ERROR_WITH(cell.weight("kernel"), "no weight named 'kernel'");
  EXPECT_ERROR_WITH(cell.set_weight("bias", Tensor({3})), "bias has shape [20], not [3]");
  EXPECT_ERROR_WITH(cell.step(Tensor({1, 3}), cell.zero_state(1)), "takes [batch, 2]");
  EXPECT_ERROR_WITH(cell.step(Tensor({2, 2}), cell.zero_state(1)), "start from zero_state(2)");
  EXPECT_ERROR_WITH(LSTMCell(2, 3, {.proj_size = 3}), "proj_size must be in 1..2");
  Sequential gru;
  gru.add(GRU(2, {.input_shape = {T, F}}));
  EXPECT_ERROR_WITH(LSTMCell::from_model(gru, 0), "is gru, not an LSTM");
  EXPECT_ERROR_WITH(LSTMCell::from_model(gru, 1), "out of range");
}

TEST(LSTMCellTrace, GatesAndStatesOfTheModelsOwnForwardPass) {
  // The trace's h is the model's own output at every step, and its gates and states satisfy the
  // seed's equations: c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t), each gate in its range.
  const int64_t T = 7, F = 3, H = 5;
  Sequential model({.seed = 31});
  model.add(LSTM(H, {.return_sequences = true, .input_shape = {T, F}}));
  const Tensor x = random_tensor({1, T, F}, 32, -1.0f, 1.0f);
  const Tensor y = model.predict(x);
  const LSTMCell cell = LSTMCell::from_model(model, 0);
  const LSTMCell::Trace tr =
      cell.trace(Tensor({T, F}, std::vector<float>(x.data(), x.data() + T * F)));
  ASSERT_EQ(tr.i.shape(), (std::vector<int64_t>{T, H}));
  ASSERT_EQ(tr.h.shape(), (std::vector<int64_t>{T, H}));
  EXPECT_LE(max_diff(tr.h.data(), y.data(), T * H), 2e-6);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t u = 0; u < H; ++u) {
      const int64_t k = t * H + u;
      const float c_before = t ? tr.c[k - H] : 0.0f;
      EXPECT_NEAR(tr.c[k], tr.f[k] * c_before + tr.i[k] * tr.g[k], 1e-6) << "step " << t;
      EXPECT_NEAR(tr.h[k], tr.o[k] * std::tanh(tr.c[k]), 1e-6) << "step " << t;
      for (float gate : {tr.i[k], tr.f[k], tr.o[k]}) EXPECT_TRUE(gate > 0.0f && gate < 1.0f);
      EXPECT_TRUE(tr.g[k] > -1.0f && tr.g[k] < 1.0f);
    }
  // From a given state: the second half of a sequence goes on from the first's last state.
  const LSTMCell::Trace first =
      cell.trace(Tensor({3, F}, std::vector<float>(x.data(), x.data() + 3 * F)));
  const RecurrentState mid{
      Tensor({1, H}, std::vector<float>(first.h.data() + 2 * H, first.h.data() + 3 * H)),
      Tensor({1, H}, std::vector<float>(first.c.data() + 2 * H, first.c.data() + 3 * H))};
  const LSTMCell::Trace rest =
      cell.trace(Tensor({T - 3, F}, std::vector<float>(x.data() + 3 * F, x.data() + T * F)), mid);
  EXPECT_LE(max_diff(rest.c.data(), tr.c.data() + 3 * H, (T - 3) * H), 1e-6);
  EXPECT_ERROR_WITH(cell.trace(Tensor({1, T, F})), "traces one sequence [steps, 3]");
  EXPECT_ERROR_WITH(cell.trace(Tensor({T, F}), cell.zero_state(2)), "one sequence needs h [1, 5]");
}

TEST(Layers, TrainsWithLengths) {
  // fit() with lengths learns (a running sum of the first feature), and the loss of sequence
  // outputs counts valid steps only: changing targets at padded steps changes nothing.
  const int64_t N = 32, T = 6, F = 2;
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n < N; ++n) lengths.push_back(1 + n % T);
  Tensor x = random_tensor({N, T, F}, 10), y({N, T, 1});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) y[n * T + t] = (t ? y[n * T + t - 1] : 0.0f) + x[(n * T + t) * F];
  Sequential model({.seed = 8});
  model.add(Bidirectional(GRU(4, {.return_sequences = true}), {.input_shape = {T, F}}));
  model.add(Dense(1));
  model.compile(Adam(), loss::mse);
  const double before = model.evaluate(x, y, lengths);
  Tensor y2 = y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = lengths[size_t(n)]; t < T; ++t) y2[n * T + t] = 50.0f;
  EXPECT_EQ(model.evaluate(x, y2, lengths), before);
  model.compile(Adam({.learning_rate = 0.01f}), loss::mse);
  History h = model.fit(x, y, {.epochs = 40, .batch_size = 8, .verbose = 0, .lengths = lengths});
  EXPECT_LT(h.history["loss"].back(), 0.3 * h.history["loss"].front());
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// An Embedding feeding an LSTM is fused into its input projection (layers/token_input.h) in
// passes without a mask; a pass with lengths (all T here) runs the two apart. Both must train
// alike, and the fused pass (whose gradient sums by token over threads' columns) must not
// depend on the thread count.
TEST(TokenInput, FusedEmbeddingTrainsAsTheUnfusedPairDoes) {
  const int64_t N = 16, T = 20, V = 11;
  Tensor X({N, T}), y({N, T});
  Rng rng(5);
  for (int64_t k = 0; k < X.size(); ++k) X[k] = float(rng.below(uint32_t(V))), y[k] = float(rng.below(uint32_t(V)));
  auto train = [&](int threads, bool with_lengths) {
    set_num_threads(threads);
    Sequential m({.seed = 9});
    m.add(Embedding(V, 8, {.input_shape = {0}}));
    m.add(LSTM(64, {.return_sequences = true}));  // T·B·4H = 81,920: the threaded gather/scatter
    m.add(TimeDistributed(Dense(int(V))));
    m.compile(Adam({.learning_rate = 0.01f}), loss::sparse_categorical_crossentropy_from_logits);
    FitOptions o{.epochs = 3, .batch_size = N, .shuffle = false, .verbose = 0};
    if (with_lengths) o.lengths.assign(size_t(N), T);
    m.fit(X, y, o);
    set_num_threads(0);
    return m.get_weights();
  };
  const std::vector<float> fused = train(1, false), fused2 = train(2, false), apart = train(1, true);
  EXPECT_EQ(fused, fused2);  // bit for bit
  ASSERT_EQ(fused.size(), apart.size());
  EXPECT_LE(max_diff(fused.data(), apart.data(), int64_t(fused.size())), 1e-5);
  const std::vector<float> start = [&] {
    Sequential m({.seed = 9});
    m.add(Embedding(V, 8, {.input_shape = {0}}));
    m.add(LSTM(64, {.return_sequences = true}));
    m.add(TimeDistributed(Dense(int(V))));
    m.build({0});
    return m.get_weights();
  }();
  EXPECT_GT(max_diff(fused.data(), start.data(), V * 8), 1e-3);  // the Embedding itself learned
}

}  // namespace
}  // namespace lstm
