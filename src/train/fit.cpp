// Sequential::fit: its data checks and validation split, and the engine that binds the chain
// to the one training loop (fit_loop.h).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/model_file.h"
#include "layers/recurrence.h"
#include "lstm/error.h"
#include "model/model_impl.h"
#include "train/fit_loop.h"

namespace lstm {

namespace {

class SequentialEngine final : public FitEngine {
 public:
  SequentialEngine(Sequential& model, const Tensor& x, const Tensor& y, int64_t T,
                   const std::vector<int64_t>& lengths, int64_t n_train, const Tensor* vx,
                   const Tensor* vy, std::vector<int64_t> val_idx, std::vector<int64_t> val_lengths)
      : model_(model), m_(model.impl()), x_(x), y_(y), T_(T), lengths_(lengths), n_train_(n_train),
        vx_(vx), vy_(vy), val_idx_(std::move(val_idx)), val_lengths_(std::move(val_lengths)) {
    for (int64_t k = 0; k < y.size(); ++k) max_abs_y_ = std::max(max_abs_y_, std::fabs(double(y[k])));
  }

  Trainable& model() override { return model_; }
  std::vector<float>& params() override { return m_.params; }
  std::vector<float>& grads() override { return m_.grads; }
  Optimizer& optimizer() override { return m_.optimizer; }
  OptimizerState& optimizer_state() override { return m_.opt_state; }
  float compiled_learning_rate() const override { return m_.compiled_learning_rate; }
  Rng& rng() override { return m_.rng; }
  const Loss& first_loss() const override { return m_.loss; }
  double max_abs_target() const override { return max_abs_y_; }
  void weights_changed() override { m_.weights_changed(); }
  void params_replaced() override {
    m_.bind_all();
    m_.weights_changed();
  }

  int64_t train_samples() const override { return n_train_; }
  bool has_validation() const override { return vx_ != nullptr; }
  void epoch_begin() override { m_.reset_metrics(); }
  double train_batch(const int64_t* idx, int64_t B) override {
    m_.gather_x(x_, idx, B, T_, lengths_);
    m_.gather_y(y_);
    m_.forward(/*training=*/true);
    return m_.loss_and_backward(true);
  }
  void add_train_logs(Logs& logs, int64_t) override { add_metrics(m_.metrics, "", logs); }
  void validate(Logs& logs, int64_t batch_size) override {
    m_.reset_metrics();
    logs["val_loss"] = m_.evaluate(*vx_, *vy_, val_lengths_, val_idx_.data(), int64_t(val_idx_.size()), batch_size);
    add_metrics(m_.metrics, "val_", logs);
  }

  std::vector<std::vector<float>> carried_h() const override { return carried_h_of(m_.directions()); }
  std::vector<std::vector<float>> carried_c() const override { return carried_c_of(m_.directions()); }
  size_t directions() const override { return m_.directions().size(); }
  void restore_carried(std::vector<std::vector<float>> h, std::vector<std::vector<float>> c,
                       const std::string& path) override {
    restore_carried_states(m_.directions(), m_.stateful_batch(), std::move(h), std::move(c), path);
  }

  SafetensorsFile model_file() const override { return model_to_safetensors(model_); }
  std::vector<float> weights_from_file(const SafetensorsFile& file, const std::string& path) override {
    Sequential saved = model_from_safetensors(file, path);
    if (saved.to_json() != model_.to_json())
      throw Error("the checkpoint '" + path + "' is of a different model (" + saved.to_json() +
                  ") than this run's (" + model_.to_json() + "): delete it or point --checkpoint "
                  "elsewhere");
    return saved.get_weights();
  }

 private:
  Sequential& model_;
  Sequential::Impl& m_;
  const Tensor& x_;
  const Tensor& y_;
  int64_t T_;
  const std::vector<int64_t>& lengths_;
  int64_t n_train_;
  const Tensor* vx_;
  const Tensor* vy_;
  std::vector<int64_t> val_idx_, val_lengths_;
  double max_abs_y_ = 0.0;
};

}  // namespace

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  Impl& m = *impl_;
  if (!m.compiled) throw Error("fit() needs an optimizer and a loss: call compile() first");
  check_fit_options(options);
  build_from(*this, x);
  const int64_t T = m.check_x(x, "X"), N = x.dim(0);
  m.check_y(x, y, "X", "y");
  const std::vector<int64_t> lengths = m.resolve_lengths(x, options.lengths, "X");

  // Keras: validation_split takes the last samples, before any shuffling.
  int64_t n_train = N;
  const Tensor* vx = nullptr;
  const Tensor* vy = nullptr;
  std::vector<int64_t> val_idx, val_lengths;
  if (options.validation_split > 0.0) {
    n_train = int64_t(std::floor(double(N) * (1.0 - options.validation_split)));
    if (n_train <= 0 || n_train >= N)
      throw Error("validation_split " + std::to_string(options.validation_split) + " of " +
                  std::to_string(N) + " samples leaves " + std::to_string(n_train) +
                  " for training and " + std::to_string(N - n_train) +
                  " for validation: both need at least one");
    vx = &x, vy = &y;
    val_lengths = lengths;
    for (int64_t k = n_train; k < N; ++k) val_idx.push_back(k);
  } else if (!options.validation_x.empty()) {
    m.check_x(options.validation_x, "validation_x");
    m.check_y(options.validation_x, options.validation_y, "validation_x", "validation_y");
    vx = &options.validation_x, vy = &options.validation_y;
    val_lengths = m.resolve_lengths(*vx, options.validation_lengths, "validation_x");
    val_idx.resize(size_t(vx->dim(0)));
    std::iota(val_idx.begin(), val_idx.end(), 0);
  }

  m.check_stateful(n_train, options.batch_size, !lengths.empty(), "the training data");
  if (vx)
    m.check_stateful(int64_t(val_idx.size()), options.batch_size, !val_lengths.empty(),
                     "the validation data");

  // Streaming state belongs to the weights before training; a stateful layer's carried state
  // goes on into training, as in Keras (reset_states() first for a fresh start).
  for (auto& layer : m.layers) layer->reset_state();
  SequentialEngine engine(*this, x, y, T, lengths, n_train, vx, vy, std::move(val_idx),
                          std::move(val_lengths));
  return run_fit(engine, options);
}

}  // namespace lstm
