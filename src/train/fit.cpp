// Sequential::fit - the training loop: the one place where data, model and optimizer meet.
// Semantics follow Keras (include/lstm/model.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "lstm/error.h"
#include "model/model_impl.h"

namespace lstm {

int History::epochs() const {
  auto it = history.find("loss");
  return it == history.end() ? 0 : int(it->second.size());
}

static void check_fit_options(const FitOptions& o) {
  if (o.epochs < 0) throw Error("epochs must be >= 0, got " + std::to_string(o.epochs));
  if (o.batch_size <= 0)
    throw Error("batch_size must be a positive integer, got " + std::to_string(o.batch_size));
  if (!(o.validation_split >= 0.0 && o.validation_split < 1.0))
    throw Error("validation_split must be in [0, 1), got " + std::to_string(o.validation_split));
  if (o.validation_split > 0.0 && !o.validation_x.empty())
    throw Error("give either validation_split or validation_x/validation_y, not both");
  if (o.validation_x.empty() != o.validation_y.empty())
    throw Error("validation data needs both validation_x and validation_y");
}

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  Impl& m = *impl_;
  if (!m.compiled) throw Error("fit() needs an optimizer and a loss: call compile() first");
  check_fit_options(options);
  if (!built()) {
    if (x.rank() == 3) build({x.dim(1), x.dim(2)});
    else if (x.rank() == 2) build({x.dim(1)});
  }
  const int64_t T = m.check_x(x, "X"), N = x.dim(0);
  m.check_y(x, y, "X", "y");

  // Keras: validation_split takes the last samples, before any shuffling.
  int64_t n_train = N;
  const Tensor* vx = nullptr;
  const Tensor* vy = nullptr;
  std::vector<int64_t> val_idx;
  if (options.validation_split > 0.0) {
    n_train = int64_t(std::floor(double(N) * (1.0 - options.validation_split)));
    if (n_train <= 0 || n_train >= N)
      throw Error("validation_split " + std::to_string(options.validation_split) + " of " +
                  std::to_string(N) + " samples leaves " + std::to_string(n_train) +
                  " for training and " + std::to_string(N - n_train) +
                  " for validation: both need at least one");
    vx = &x, vy = &y;
    for (int64_t k = n_train; k < N; ++k) val_idx.push_back(k);
  } else if (!options.validation_x.empty()) {
    m.check_x(options.validation_x, "validation_x");
    m.check_y(options.validation_x, options.validation_y, "validation_x", "validation_y");
    vx = &options.validation_x, vy = &options.validation_y;
    val_idx.resize(size_t(vx->dim(0)));
    std::iota(val_idx.begin(), val_idx.end(), 0);
  }

  History history;
  stop_training = false;
  for (auto& cb : options.callbacks) cb->on_train_begin(*this);
  std::vector<int64_t> order(static_cast<size_t>(n_train));
  std::iota(order.begin(), order.end(), 0);
  const int64_t bs = options.batch_size;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    if (options.shuffle)  // Fisher-Yates with the model's generator
      for (int64_t k = n_train - 1; k > 0; --k)
        std::swap(order[size_t(k)], order[m.rng.below(uint32_t(k + 1))]);
    double loss_sum = 0.0;
    for (int64_t start = 0; start < n_train; start += bs) {
      const int64_t B = std::min(bs, n_train - start);
      m.gather_x(x, order.data() + start, B, T);
      m.gather_y(y, order.data() + start, B, T);
      m.forward(T, B);
      loss_sum += m.loss_and_backward(T, B, true) * double(B);
      optimizer_step(m.optimizer, m.opt_state, m.params.data(), m.grads.data(),
                     int64_t(m.params.size()));
    }
    Logs logs;
    logs["loss"] = loss_sum / double(n_train);
    if (vx) logs["val_loss"] = m.evaluate(*vx, *vy, val_idx.data(), int64_t(val_idx.size()), bs);
    for (auto& [key, value] : logs) history.history[key].push_back(value);
    if (options.verbose > 0) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("Epoch %d/%d - %.2fs - loss: %.6g", epoch + 1, options.epochs, secs,
                  logs["loss"]);
      if (vx) std::printf(" - val_loss: %.6g", logs["val_loss"]);
      std::printf("\n");
      std::fflush(stdout);
    }
    for (auto& cb : options.callbacks) cb->on_epoch_end(*this, epoch, logs);
    if (stop_training) break;
  }
  for (auto& cb : options.callbacks) cb->on_train_end(*this);
  return history;
}

}  // namespace lstm
