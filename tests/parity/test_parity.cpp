// Live parity with PyTorch: outputs, loss, every parameter gradient and 10 optimizer steps, and
// initial and final states, max abs error <= 1e-5, against references that tests/parity/torch_reference.py computes at
// test time (in float64, from the same float32 weights and data). LSTM_PARITY_DIR names them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "io/file.h"
#include "io/model_file.h"
#include "io/safetensors.h"
#include "layers/loss_fn.h"
#include "lstm/lstm.h"
#include "model/model_impl.h"

namespace {

constexpr double kTol = 1e-5;

std::string dir() {
  const char* d = std::getenv("LSTM_PARITY_DIR");
  return d ? d : "";
}

std::vector<std::string> cases() {
  std::ifstream in(dir() + "/cases.txt");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

lstm::Loss loss_of(const std::string& name) {
  if (name == "mse") return lstm::loss::mse;
  if (name == "mae") return lstm::loss::mae;
  if (name == "scce_logits") return lstm::loss::sparse_categorical_crossentropy_from_logits;
  if (name == "bce_logits") return lstm::loss::binary_crossentropy_from_logits;
  if (name == "ctc") return lstm::loss::ctc;
  if (name.rfind("quantile_", 0) == 0) return lstm::loss_from_name(name);
  throw std::runtime_error("unknown loss " + name);
}

lstm::Optimizer optimizer_of(const nlohmann::json& m) {
  lstm::Optimizer o = lstm::optimizer_from_name(m["optimizer"].get<std::string>());
  o.learning_rate = m["lr"].get<float>();
  if (m.contains("epsilon")) o.epsilon = m["epsilon"].get<float>();
  if (m.contains("momentum")) o.momentum = m["momentum"].get<float>();
  if (m.contains("nesterov")) o.nesterov = m["nesterov"].get<bool>();
  if (m.contains("rho")) o.rho = m["rho"].get<float>();
  if (m.contains("weight_decay")) o.weight_decay = m["weight_decay"].get<float>();
  if (m.contains("clip_norm")) o.global_clipnorm = m["clip_norm"].get<float>();
  return o;
}

// max |a - b| over n values, with the index of the worst one
double max_abs_diff(const float* a, const std::vector<double>& b, size_t* worst = nullptr) {
  double m = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    double d = std::fabs(double(a[k]) - b[k]);
    if (!(d <= m)) m = d, worst ? *worst = k : 0;
  }
  return m;
}

std::vector<double> as_double(const lstm::Tensor& t) { return {t.data(), t.data() + t.size()}; }

// One reference case: its model (initial weights), batch and settings, compiled with its loss.
struct Case {
  std::string path;  // with a trailing '/'
  nlohmann::json meta;
  lstm::Sequential model;
  lstm::Tensor X, y;
  std::vector<int64_t> lengths;  // given explicitly (meta "lengths": "given"), else empty
  explicit Case(const std::string& name)
      : path(dir() + "/" + name + "/"),
        meta(nlohmann::json::parse(lstm::read_file(path + "meta.json", "meta"))),
        model(lstm::Sequential::load(path + "model.safetensors")),
        X(lstm::load_npy(path + "X.npy")),
        y(lstm::load_npy(path + "y.npy", /*allow_integers=*/true)) {
    model.compile(optimizer_of(meta), loss_of(meta["loss"]));
    if (meta.value("lengths", "none") == "given") {
      lstm::Tensor L = lstm::load_npy(path + "lengths.npy", /*allow_integers=*/true);
      for (int64_t n = 0; n < L.size(); ++n) lengths.push_back(int64_t(L[n]));
    }
  }
};

TEST(Parity, ReferenceWasGenerated) {
  ASSERT_FALSE(dir().empty()) << "set LSTM_PARITY_DIR (ctest does)";
  EXPECT_GE(cases().size(), 21u) << "torch_reference.py wrote too few cases to " << dir();
}

TEST(Parity, OutputsAndLoss) {
  for (const std::string& c : cases()) {
    SCOPED_TRACE(c);
    Case k(c);
    lstm::Tensor ref = lstm::load_npy(k.path + "pred.npy");
    lstm::Tensor pred = k.model.predict(k.X, k.lengths, 3);  // batches of 3: a partial batch
    ASSERT_EQ(pred.shape(), ref.shape());
    EXPECT_LE(max_abs_diff(pred.data(), as_double(ref)), kTol);
    EXPECT_NEAR(k.model.evaluate(k.X, k.y, k.lengths, 1000), lstm::load_npy(k.path + "loss.npy")[0],
                kTol);
  }
}

TEST(Parity, EveryParameterGradient) {
  for (const std::string& c : cases()) {
    SCOPED_TRACE(c);
    Case k(c);
    lstm::Sequential::Impl& m = k.model.impl();
    const int64_t B = k.X.dim(0), T = k.X.dim(1);
    std::vector<int64_t> idx(static_cast<size_t>(B));
    std::iota(idx.begin(), idx.end(), 0);
    m.gather_x(k.X, idx.data(), B, T, m.resolve_lengths(k.X, k.lengths, "X"));
    m.gather_y(k.y);
    m.forward();
    m.loss_and_backward(true);
    lstm::SafetensorsFile ref = lstm::read_safetensors(k.path + "grads.safetensors");
    std::map<std::string, const lstm::NamedTensor*> by_name;
    for (const auto& t : ref.tensors) by_name[t.name] = &t;
    int64_t offset = 0, checked = 0;
    for (size_t l = 0; l < m.layers.size(); ++l) {
      for (const lstm::ParamTensor& t : m.layers[l].tensors) {
        const std::string name = "layers." + std::to_string(l) + "." + t.name;
        ASSERT_TRUE(by_name.count(name)) << name;
        std::vector<double> r(by_name[name]->data.begin(), by_name[name]->data.end());
        size_t worst = 0;
        double err = max_abs_diff(m.grads().data() + offset + t.offset, r, &worst);
        EXPECT_LE(err, kTol) << name << " worst at " << worst;
        checked += t.size();
      }
      offset += m.layers[l].count;
    }
    EXPECT_EQ(checked, k.model.count_params());
  }
}

TEST(Parity, TenOptimizerStepsAndParameterCount) {
  for (const std::string& c : cases()) {
    SCOPED_TRACE(c);
    Case k(c);
    // PyTorch counts two bias vectors per LSTM (and RNN) layer where one (their sum) suffices;
    // the layer cases' script counts what lstm should have (torch_twin.py).
    const int64_t expected =
        k.meta.contains("params_lstm")
            ? k.meta["params_lstm"].get<int64_t>()
            : k.meta["params_torch"].get<int64_t>() -
                  4 * k.meta["hidden"].get<int64_t>() * k.meta["lstm_layers"].get<int64_t>();
    EXPECT_EQ(k.model.count_params(), expected);
    lstm::History h = k.model.fit(k.X, k.y, {.epochs = k.meta["steps"].get<int>(),
                                             .batch_size = k.meta["batch_size"].get<int>(),
                                             .shuffle = false, .verbose = 0,
                                             .lengths = k.lengths});
    std::vector<float> ref = lstm::Sequential::load(k.path + "trained.safetensors").get_weights();
    size_t worst = 0;
    EXPECT_LE(max_abs_diff(k.model.get_weights().data(), {ref.begin(), ref.end()}, &worst), kTol)
        << "worst at parameter " << worst;
    lstm::Tensor losses = lstm::load_npy(k.path + "steps_loss.npy");
    ASSERT_EQ(h.history["loss"].size(), size_t(losses.size()));
    for (int64_t k = 0; k < losses.size(); ++k) EXPECT_NEAR(h.history["loss"][size_t(k)], losses[k], kTol);
  }
}

TEST(Parity, InitialAndFinalStates) {
  // predict_with_state against PyTorch's (h_0, c_0) in and (h_n, c_n) out, on a padded batch.
  const std::string path = dir() + "/states/";
  const nlohmann::json meta = nlohmann::json::parse(lstm::read_file(path + "meta.json", "meta"));
  lstm::Sequential model = lstm::Sequential::load(path + "model.safetensors");
  const lstm::Tensor X = lstm::load_npy(path + "X.npy");
  const lstm::Tensor L = lstm::load_npy(path + "lengths.npy", /*allow_integers=*/true);
  const std::vector<int64_t> lengths(L.data(), L.data() + L.size());
  const int count = meta["states"].get<int>();
  auto exists = [](const std::string& p) { return std::ifstream(p).good(); };
  lstm::States initial;
  for (int k = 0; k < count; ++k) {
    const std::string c0 = path + "c0_" + std::to_string(k) + ".npy";
    initial.push_back({lstm::load_npy(path + "h0_" + std::to_string(k) + ".npy"),
                       exists(c0) ? lstm::load_npy(c0) : lstm::Tensor()});
  }
  const lstm::PredictionWithState got = model.predict_with_state(X, initial, lengths);
  EXPECT_LE(max_abs_diff(got.y.data(), as_double(lstm::load_npy(path + "pred.npy"))), kTol);
  ASSERT_EQ(got.states.size(), size_t(count));
  for (int k = 0; k < count; ++k) {
    SCOPED_TRACE("state " + std::to_string(k));
    EXPECT_LE(max_abs_diff(got.states[size_t(k)].h.data(),
                           as_double(lstm::load_npy(path + "hn_" + std::to_string(k) + ".npy"))), kTol);
    const std::string cn = path + "cn_" + std::to_string(k) + ".npy";
    EXPECT_EQ(exists(cn), !got.states[size_t(k)].c.empty());
    if (exists(cn)) {
      EXPECT_LE(max_abs_diff(got.states[size_t(k)].c.data(), as_double(lstm::load_npy(cn))), kTol);
    }
  }
}

TEST(Parity, NaNWeightsGiveNaNWhereverPyTorchDoes) {
  // One NaN weight: the outputs are NaN exactly where PyTorch's are (no activation clamps it
  // away: the fused LSTM kernels, the general LSTM with relu / hard_sigmoid, GRU, SimpleRNN
  // relu, Dense relu and sigmoid), and equal elsewhere.
  std::ifstream list(dir() + "/nan/cases.txt");
  int count = 0;
  for (std::string name; std::getline(list, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const std::string path = dir() + "/nan/" + name + "/";
    lstm::Sequential model = lstm::Sequential::load(path + "model.safetensors");
    EXPECT_THROW(lstm::Sequential::load(path + "poisoned.safetensors"), lstm::Error);  // refused
    const lstm::SafetensorsFile poisoned = lstm::read_safetensors(path + "poisoned.safetensors");
    std::vector<float> weights;
    for (const lstm::NamedTensor& t : lstm::model_to_safetensors(model).tensors)
      for (const lstm::NamedTensor& p : poisoned.tensors)
        if (p.name == t.name) weights.insert(weights.end(), p.data.begin(), p.data.end());
    ASSERT_EQ(weights.size(), size_t(model.count_params()));
    model.set_weights(weights);
    const lstm::Tensor got = model.predict(lstm::load_npy(path + "X.npy"));
    const std::vector<double> want = as_double(lstm::load_npy(path + "pred.npy"));
    ASSERT_EQ(size_t(got.size()), want.size());
    int nans = 0;
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(std::isnan(got[int64_t(k)]), std::isnan(want[k])) << "output " << k;
      if (!std::isnan(want[k])) {
        EXPECT_NEAR(got[int64_t(k)], want[k], kTol) << "output " << k;
      }
      nans += std::isnan(want[k]);
    }
    EXPECT_GT(nans, 0);  // the case tests something
    ++count;
  }
  EXPECT_EQ(count, 6);
}

}  // namespace

namespace {

// CTC alone (lstm/ctc.h) against torch.nn.functional.ctc_loss, per sequence: the loss
// (reduction 'none') and the gradient of their sum with respect to the logits.
TEST(CtcParity, LossAndGradientPerSequence) {
  std::ifstream list(dir() + "/ctc/cases.txt");
  int count = 0, infinite = 0;
  for (std::string name; std::getline(list, name);) {
    if (name.empty()) continue;
    SCOPED_TRACE(name);
    const std::string path = dir() + "/ctc/" + name + "/";
    const lstm::Tensor z = lstm::load_npy(path + "logits.npy");
    const lstm::Tensor frames = lstm::load_npy(path + "frames.npy", true);
    const lstm::Tensor targets = lstm::load_npy(path + "targets.npy", true);
    std::vector<double> want_loss;  // float64, as text: a float32 array would round 1208.62 by 6e-5
    std::ifstream losses(path + "loss.txt");
    for (std::string v; losses >> v;) want_loss.push_back(std::strtod(v.c_str(), nullptr));
    ASSERT_EQ(int64_t(want_loss.size()), z.dim(1));
    std::vector<double> want_grad = as_double(lstm::load_npy(path + "grad.npy"));
    const int64_t T = z.dim(0), B = z.dim(1), C = z.dim(2), L = targets.dim(1);
    std::vector<float> grad(size_t(z.size()), 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int> labels;
      for (int64_t i = 0; i < L && targets[b * L + i] != 0.0f; ++i) labels.push_back(int(targets[b * L + i]));
      const double loss = lstm::ctc_loss(z.data() + b * C, int64_t(frames[b]), C, B * C, labels,
                                         grad.data() + b * C);
      if (std::isinf(want_loss[size_t(b)])) {
        EXPECT_TRUE(std::isinf(loss) && loss > 0) << "sample " << b;
        ++infinite;
      } else {
        EXPECT_NEAR(loss, want_loss[size_t(b)], kTol) << "sample " << b;
      }
    }
    size_t worst = 0;
    EXPECT_LE(max_abs_diff(grad.data(), want_grad, &worst), kTol) << "at flat index " << worst;
    // the batch form fit() uses: the mean, and the gradient of the mean (impossible rows aside)
    if (name != "impossible") {
      std::vector<int64_t> lengths;
      for (int64_t b = 0; b < B; ++b) lengths.push_back(int64_t(frames[b]));
      std::vector<float> mean_grad(size_t(z.size()));
      double sum = 0;
      for (double v : want_loss) sum += v;
      EXPECT_NEAR(lstm::ctc_batch_loss(z.data(), T, B, C, lengths.data(), targets.data(), L, mean_grad.data()),
                  sum / double(B), kTol);
      for (double& g : want_grad) g /= double(B);
      EXPECT_LE(max_abs_diff(mean_grad.data(), want_grad), kTol);
    }
    ++count;
  }
  EXPECT_EQ(count, 7);
  EXPECT_EQ(infinite, 1);
}

}  // namespace
