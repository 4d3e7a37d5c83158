// The use-case rows of `lstm bench --fit` (bench.h): whole training steps and whole predict
// calls of the models the CLI's jobs build, on data already in memory. A training step is what
// fit() does per batch: gather, forward, loss, backward, gradient clipping where the job clips,
// the optimizer update and the loop's bookkeeping. scripts/bench_fit_torch.py builds the same
// models in PyTorch and times the same steps (zero_grad, forward, loss, backward, clip, step).
#include <algorithm>

#include "bench/bench.h"
#include "core/rng.h"
#include "core/threads.h"
#include "lstm/error.h"
#include "lstm/lstm.h"

namespace lstm {

namespace {

constexpr int64_t kBatchesPerFit = 8;  // each timed fit() call trains on this many batches

struct UseCase {
  BenchShape shape;  // I = input width (vocabulary for token models), H = units
  bool tokens;       // inputs are token ids (N, T), not features (N, T, I)
  bool every_step;   // targets at every step (N, T), not one per sequence (N, 1)
  // The LSTM's work alone, timed as the suite's rows (bench.h "train": forward and backward of
  // the layer, no embedding, head, loss or update): its input width, and for masked texts the
  // layer as a model runs it on lengths 1..T (variant "padded"), T chosen for the same mean.
  BenchShape lstm_work;
  std::function<Sequential()> build;
  std::function<void(Tensor& x, Tensor& y, Rng& rng)> fill;  // x, y of N = 8·B samples
};

// LSTM(units) over (T, I) -> Dense(1) on its last step, Adam, MSE: the seed's model.
Sequential last_step_regressor(int units, int64_t T, int64_t I) {
  Sequential m({.seed = 1});
  m.add(LSTM(units, {.input_shape = {T, I}}));
  m.add(Dense(1));
  m.compile(Adam(), loss::mse);
  return m;
}

// Windows of T steps from a random series, the seed's model with 50 units.
UseCase forecaster() {
  return {{"fit-forecaster", 1, 50, 1, 32, 30, "", "fit"}, false, false,
          {"fit-forecaster-lstm", 1, 50, 1, 32, 30, "train", ""},
          [] { return last_step_regressor(50, 30, 1); },
          [](Tensor& x, Tensor& y, Rng& rng) {
            for (int64_t k = 0; k < x.size(); ++k) x[k] = rng.uniform(-1, 1);
            for (int64_t k = 0; k < y.size(); ++k) y[k] = rng.uniform(-1, 1);
          }};
}

// The adding problem (Hochreiter & Schmidhuber 1997): T = 100 steps of (value, marker).
UseCase adding() {
  return {{"fit-adding", 2, 64, 1, 64, 100, "", "fit"}, false, false,
          {"fit-adding-lstm", 2, 64, 1, 64, 100, "train", ""},
          [] { return last_step_regressor(64, 100, 2); },
          [](Tensor& x, Tensor& y, Rng& rng) {
            const int64_t N = x.dim(0), T = x.dim(1);
            for (int64_t n = 0; n < N; ++n) {
              const int64_t a = rng.below(uint32_t(T / 2)), b = T / 2 + rng.below(uint32_t(T / 2));
              for (int64_t t = 0; t < T; ++t) {
                x[(n * T + t) * 2] = rng.uniform(0, 1);
                x[(n * T + t) * 2 + 1] = t == a || t == b ? 1.0f : 0.0f;
              }
              y[n] = x[(n * T + a) * 2] + x[(n * T + b) * 2];
            }
          }};
}

// `lstm classify train`'s model with its defaults: Embedding(V, 32, mask_zero) over 100 word
// slots -> LSTM(64) -> Dense(1, sigmoid), binary cross-entropy, Adam(0.005). Texts of 5 to 40
// words (the shipped sentences average about 13), right-padded with 0.
UseCase sentiment() {
  return {{"fit-sentiment", 5000, 64, 1, 32, 100, "", "fit"}, true, false,
          {"fit-sentiment-lstm", 32, 64, 1, 32, 44, "train", "padded"},  // mean length 22.5, as 5..40
          [] {
            Sequential m({.seed = 1});
            m.add(Embedding(5000, 32, {.mask_zero = true, .input_shape = {100}}));
            m.add(LSTM(64));
            m.add(Dense(1, {.activation = Activation::sigmoid}));
            m.compile(Adam({.learning_rate = 0.005f}), loss::binary_crossentropy);
            return m;
          },
          [](Tensor& x, Tensor& y, Rng& rng) {
            const int64_t N = x.dim(0), T = x.dim(1);
            for (int64_t n = 0; n < N; ++n) {
              const int64_t len = 5 + rng.below(36);
              for (int64_t t = 0; t < T; ++t) x[n * T + t] = t < len ? float(1 + rng.below(4999)) : 0.0f;
              y[n] = float(rng.below(2));
            }
          }};
}

// `lstm text train`'s model with its defaults on an 81-character vocabulary (the SOTU corpus):
// Embedding(81, 64) -> LSTM(256) -> TimeDistributed(Dense(81, softmax)), sparse categorical
// cross-entropy at every step, Adam(0.002) with global clipnorm 5; windows of 100.
UseCase charlm() {
  return {{"fit-charlm", 81, 256, 1, 32, 100, "", "fit"}, true, true,
          {"fit-charlm-lstm", 64, 256, 1, 32, 100, "train", ""},
          [] {
            Sequential m({.seed = 1});
            m.add(Embedding(81, 64, {.input_shape = {100}}));
            m.add(LSTM(256, {.return_sequences = true}));
            m.add(TimeDistributed(Dense(81, {.activation = Activation::softmax})));
            m.compile(Adam({.learning_rate = 0.002f, .global_clipnorm = 5.0f}),
                      loss::sparse_categorical_crossentropy);
            return m;
          },
          [](Tensor& x, Tensor& y, Rng& rng) {
            for (int64_t k = 0; k < x.size(); ++k) x[k] = float(rng.below(81));
            for (int64_t k = 0; k < y.size(); ++k) y[k] = float(rng.below(81));
          }};
}

std::vector<UseCase> use_cases() { return {forecaster(), adding(), sentiment(), charlm()}; }

Tensor inputs_of(const UseCase& u, int64_t N) {
  return u.tokens ? Tensor({N, u.shape.T}) : Tensor({N, u.shape.T, u.shape.I});
}

Tensor targets_of(const UseCase& u, int64_t N) {
  return u.every_step ? Tensor({N, u.shape.T}) : Tensor({N, 1});
}

}  // namespace

std::vector<std::string> fit_bench_names() {
  std::vector<std::string> names;
  for (const UseCase& u : use_cases()) names.push_back(u.shape.name);
  return names;
}

std::vector<BenchResult> run_fit_bench(const std::string& only, int threads, double seconds, int windows) {
  std::vector<BenchResult> out;
  for (const UseCase& u : use_cases()) {
    if (!only.empty() && only != u.shape.name) continue;
    set_num_threads(threads);
    pin_team(threads);  // the governor keeps every thread asked for: this measures them
    const BenchShape& s = u.shape;
    const int64_t N = kBatchesPerFit * s.B;
    Rng rng(7);
    Tensor x = inputs_of(u, N), y = targets_of(u, N);
    u.fill(x, y, rng);
    Sequential model = u.build();
    const FitOptions options{.epochs = 1, .batch_size = int(s.B), .verbose = 0};
    const double fits = bench_rate([&] { model.fit(x, y, options); }, seconds, windows);
    BenchShape train = s;
    train.name += "-train", train.mode = "train";
    const double step_ns = 1e9 / (fits * double(kBatchesPerFit));
    out.push_back({train, threads, fits * double(N), "seq/s", step_ns / double(s.T), 0.0});
    Tensor one = inputs_of(u, s.B);  // the first batch
    std::copy(x.data(), x.data() + one.size(), one.data());
    const double predicts = bench_rate([&] { (void)model.predict(one, int(s.B)); }, seconds, windows);
    BenchShape infer = s;
    infer.name += "-predict", infer.mode = "predict";
    out.push_back({infer, threads, predicts * double(s.B), "seq/s", 1e9 / predicts / double(s.T), 0.0});
    pin_team(0);
    out.push_back(run_bench(u.lstm_work, threads, seconds, windows));
    set_num_threads(0);
  }
  if (out.empty() && !only.empty()) throw Error("bench --fit: no use case named '" + only + "'");
  return out;
}

}  // namespace lstm
