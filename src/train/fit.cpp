// Sequential::fit - the training loop: the one place where data, model and optimizer meet.
// Semantics follow Keras (include/lstm/model.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "io/checkpoint.h"
#include "layers/recurrence.h"
#include "lstm/error.h"
#include "model/model_impl.h"
#include "train/divergence.h"
#include "train/progress.h"

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
  if (o.resume && o.checkpoint.empty()) throw Error("resume needs a checkpoint path to resume from");
}

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  Impl& m = *impl_;
  if (!m.compiled) throw Error("fit() needs an optimizer and a loss: call compile() first");
  check_fit_options(options);
  build_from(*this, x);
  const int64_t T = m.check_x(x, "X"), N = x.dim(0);
  m.check_y(x, y, "X", "y");
  const std::vector<int64_t> lengths = m.resolve_lengths(x, options.lengths, "X");
  if (!options.validation_lengths.empty() && options.validation_x.empty())
    throw Error("validation_lengths were given without validation_x: they go with it");

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

  History history;
  stop_training = false;
  // Streaming state belongs to the weights before training; a stateful layer's carried state
  // goes on into training, as in Keras (reset_states() first for a fresh start).
  for (auto& layer : m.layers) layer->reset_state();
  for (auto& cb : options.callbacks) cb->on_train_begin(*this);
  int first_epoch = 0;
  if (options.resume && std::filesystem::exists(options.checkpoint)) {
    TrainingState st = read_checkpoint(options.checkpoint, *this);
    if (st.callback_states.size() != options.callbacks.size())
      throw Error("the checkpoint '" + options.checkpoint + "' was written with " +
                  std::to_string(st.callback_states.size()) + " callbacks, this fit() has " +
                  std::to_string(options.callbacks.size()) + ": resume with the same settings");
    first_epoch = st.epochs_done;
    stop_training = st.stopped;
    m.rng.set_state(st.rng_state);
    m.opt_state = std::move(st.optimizer);
    if (st.learning_rate > 0.0f && st.compiled_learning_rate == m.compiled_learning_rate)
      set_learning_rate(st.learning_rate);  // as a callback left it; a new compile()'s rate wins
    history.history = std::move(st.history);
    for (size_t k = 0; k < options.callbacks.size(); ++k) {
      try {
        options.callbacks[k]->restore(st.callback_states[k], std::move(st.callback_weights[k]));
      } catch (const std::exception& e) {
        throw Error("the checkpoint '" + options.checkpoint + "': callback " + std::to_string(k) +
                    "'s state is malformed (" + e.what() + "): the checkpoint is corrupt");
      }
    }
    std::vector<Recurrence*> dirs = m.directions();
    const int64_t B = m.stateful_batch();  // 0: no layer carries a state
    for (size_t k = 0; k < dirs.size(); ++k) {  // stateful layers go on from where they were
      const int64_t h = int64_t(st.carried_h[k].size()), c = int64_t(st.carried_c[k].size());
      const int64_t want_c = dirs[k]->has_cell_state() ? B * dirs[k]->H : 0;
      if ((h != 0 && h != B * dirs[k]->O) || (c != 0 && c != want_c) || (h == 0 && c != 0))
        throw Error("the checkpoint '" + options.checkpoint + "' holds a carried state of " +
                    std::to_string(h) + " + " + std::to_string(c) + " values for recurrent "
                    "direction " + std::to_string(k) + ", which carries " +
                    (B ? std::to_string(B * dirs[k]->O) + " + " + std::to_string(want_c)
                       : std::string("none (it is not stateful)")) +
                    ": the checkpoint is corrupt");
      dirs[k]->restore_carried_state(std::move(st.carried_h[k]), std::move(st.carried_c[k]));
    }
  }
  std::vector<int64_t> order(static_cast<size_t>(n_train));
  const int64_t bs = options.batch_size;
  double max_abs_y = 0.0;
  for (int64_t k = 0; k < y.size(); ++k) max_abs_y = std::max(max_abs_y, std::fabs(double(y[k])));
  DivergenceGuard guard(m.optimizer, m.loss, max_abs_y);
  if (options.verbose > 0 && !guard.target_warning().empty())
    std::fprintf(stderr, "%s\n", guard.target_warning().c_str());
  // The weights, optimizer state and stateful layers' carried states at the start of the
  // epoch: what the model keeps when training diverges (divergence.h).
  std::vector<float> epoch_params;
  OptimizerState epoch_opt;
  std::vector<std::vector<float>> epoch_h, epoch_c;
  const std::vector<Recurrence*> directions = m.directions();
  auto diverged = [&](int epoch, int64_t batch, const std::string& what) {
    m.params = epoch_params;
    m.opt_state = epoch_opt;
    m.bind_all();
    for (size_t k = 0; k < directions.size(); ++k)
      directions[k]->restore_carried_state(epoch_h[k], epoch_c[k]);
    const bool saved = !options.checkpoint.empty() && (epoch > first_epoch || first_epoch > 0);
    throw TrainingDiverged(guard.message(epoch, batch, what, saved ? options.checkpoint : ""));
  };
  Progress progress(options.verbose, options.epochs);
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    epoch_params = m.params;
    epoch_opt = m.opt_state;
    epoch_h.clear(), epoch_c.clear();
    for (Recurrence* r : directions) epoch_h.push_back(r->carried_h()), epoch_c.push_back(r->carried_c());
    // Each epoch shuffles 0..n-1 afresh (Fisher-Yates with the model's generator), so an epoch
    // depends only on the generator's state: what a checkpoint saves.
    std::iota(order.begin(), order.end(), 0);
    if (options.shuffle)
      for (int64_t k = n_train - 1; k > 0; --k)
        std::swap(order[size_t(k)], order[m.rng.below(uint32_t(k + 1))]);
    progress.epoch_begin(epoch, (n_train + bs - 1) / bs);
    m.reset_metrics();
    double loss_sum = 0.0;
    for (int64_t start = 0, batch = 1; start < n_train; start += bs, ++batch) {
      const int64_t B = std::min(bs, n_train - start);
      m.gather_x(x, order.data() + start, B, T, lengths);
      m.gather_y(y);
      m.forward(/*training=*/true);
      const double batch_loss = m.loss_and_backward(true);
      const int64_t P = int64_t(m.params.size());
      const std::string broken = guard.check_batch(batch_loss, all_finite(m.grads.data(), P));
      if (!broken.empty()) diverged(epoch, batch, broken);
      loss_sum += batch_loss * double(B);
      optimizer_step(m.optimizer, m.opt_state, m.params.data(), m.grads.data(), P);
      if (!all_finite(m.params.data(), P))
        diverged(epoch, batch, "the update made a weight NaN or Inf (finite but enormous gradients)");
      m.weights_changed();
      progress.batch_end(batch, loss_sum / double(start + B));
    }
    Logs logs;
    logs["loss"] = loss_sum / double(n_train);
    add_metrics(m.metrics, "", logs);
    if (vx) {
      m.reset_metrics();
      logs["val_loss"] = m.evaluate(*vx, *vy, val_lengths, val_idx.data(), int64_t(val_idx.size()), bs);
      add_metrics(m.metrics, "val_", logs);
      if (!std::isfinite(logs["val_loss"]))
        diverged(epoch, (n_train + bs - 1) / bs, "the validation loss is " +
                                                     std::string(std::isnan(logs["val_loss"]) ? "NaN" : "Inf"));
    }
    for (auto& [key, value] : logs) history.history[key].push_back(value);
    progress.epoch_end(logs);
    for (auto& cb : options.callbacks) cb->on_epoch_end(*this, epoch, logs);
    if (!options.checkpoint.empty()) {
      TrainingState st{epoch + 1, stop_training, m.rng.state(), m.opt_state, history.history, {}, {}};
      st.learning_rate = m.optimizer.learning_rate;
      st.compiled_learning_rate = m.compiled_learning_rate;
      for (auto& cb : options.callbacks) {
        st.callback_states.push_back(cb->state());
        st.callback_weights.push_back(cb->state_weights());
      }
      for (Recurrence* r : m.directions())
        st.carried_h.push_back(r->carried_h()), st.carried_c.push_back(r->carried_c());
      write_checkpoint(options.checkpoint, *this, st);
    }
  }
  for (auto& cb : options.callbacks) cb->on_train_end(*this);
  return history;
}

}  // namespace lstm
