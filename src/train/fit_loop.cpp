// run_fit: the training loop every model shares (fit_loop.h). Semantics follow Keras
// (include/lstm/model.h).
#include "train/fit_loop.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "core/threads.h"
#include "distributed/data_parallel.h"
#include "distributed/reduce.h"
#include "io/checkpoint.h"
#include "layers/recurrence.h"
#include "lstm/distributed.h"
#include "lstm/error.h"
#include "train/divergence.h"
#include "train/progress.h"

namespace lstm {

int History::epochs() const {
  auto it = history.find("loss");
  return it == history.end() ? 0 : int(it->second.size());
}

void check_fit_options(const FitOptions& o) {
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
  if (!o.validation_lengths.empty() && o.validation_x.empty())
    throw Error("validation_lengths were given without validation_x: they go with it");
}

std::vector<std::vector<float>> carried_h_of(const std::vector<Recurrence*>& directions) {
  std::vector<std::vector<float>> out;
  for (const Recurrence* r : directions) out.push_back(r->carried_h());
  return out;
}

std::vector<std::vector<float>> carried_c_of(const std::vector<Recurrence*>& directions) {
  std::vector<std::vector<float>> out;
  for (const Recurrence* r : directions) out.push_back(r->carried_c());
  return out;
}

void restore_carried_states(const std::vector<Recurrence*>& dirs, int64_t B,
                            std::vector<std::vector<float>> h, std::vector<std::vector<float>> c,
                            const std::string& path) {
  if (h.size() != dirs.size() || c.size() != dirs.size()) return;  // nothing was carried
  for (size_t k = 0; k < dirs.size() && !path.empty(); ++k) {
    const int64_t nh = int64_t(h[k].size()), nc = int64_t(c[k].size());
    const int64_t want_c = dirs[k]->has_cell_state() ? B * dirs[k]->H : 0;
    if ((nh != 0 && nh != B * dirs[k]->O) || (nc != 0 && nc != want_c) || (nh == 0 && nc != 0))
      throw Error("the checkpoint '" + path + "' holds a carried state of " + std::to_string(nh) +
                  " + " + std::to_string(nc) + " values for recurrent direction " +
                  std::to_string(k) + ", which carries " +
                  (B ? std::to_string(B * dirs[k]->O) + " + " + std::to_string(want_c)
                     : std::string("none (it is not stateful)")) +
                  ": the checkpoint is corrupt");
  }
  for (size_t k = 0; k < dirs.size(); ++k) dirs[k]->restore_carried_state(std::move(h[k]), std::move(c[k]));
}

// Puts the state of a checkpoint back: callbacks, carried states, weights, optimizer, random
// generator, learning rate and history. Everything is checked before the model changes.
static int resume_from(FitEngine& e, const FitOptions& options, History& history) {
  const std::string& path = options.checkpoint;
  const SafetensorsFile file = read_safetensors(path);
  require_training_state(file, path);
  std::vector<float> weights = e.weights_from_file(file, path);  // taken once all is checked
  TrainingState st = read_training_state(file, path, e.params().size(), e.directions());
  if (st.callback_states.size() != options.callbacks.size())
    throw Error("the checkpoint '" + path + "' was written with " +
                std::to_string(st.callback_states.size()) + " callbacks, this fit() has " +
                std::to_string(options.callbacks.size()) + ": resume with the same settings");
  for (size_t k = 0; k < options.callbacks.size(); ++k) {
    try {
      options.callbacks[k]->restore(st.callback_states[k], std::move(st.callback_weights[k]));
    } catch (const std::exception& ex) {
      throw Error("the checkpoint '" + path + "': callback " + std::to_string(k) +
                  "'s state is malformed (" + ex.what() + "): the checkpoint is corrupt");
    }
  }
  e.restore_carried(std::move(st.carried_h), std::move(st.carried_c), path);
  e.params() = std::move(weights);
  e.params_replaced();
  e.model().stop_training = st.stopped;
  e.rng().set_state(st.rng_state);
  e.optimizer_state() = std::move(st.optimizer);
  if (st.learning_rate > 0.0f && st.compiled_learning_rate == e.compiled_learning_rate())
    e.model().set_learning_rate(st.learning_rate);  // as a callback left it; a new compile()'s rate wins
  history.history = std::move(st.history);
  return st.epochs_done;
}

History run_fit(FitEngine& e, const FitOptions& options) {
  Trainable& model = e.model();
  History history;
  model.stop_training = false;
  // Under mpirun: data-parallel over the job's ranks (lstm/distributed.h); rank 0 prints and
  // writes files.
  if (distributed::launched_by_mpirun()) distributed::init();
  const bool parallel = distributed::active(), chief = distributed::rank() == 0;
  if (parallel) {  // ranks that disagree would all-reduce buffers of different sizes, or hang
    const double mine[5] = {double(e.params().size()), double(e.train_samples()),
                            double(options.batch_size), double(options.epochs),
                            e.has_validation() ? 1.0 : 0.0};
    double root[5];
    std::copy(mine, mine + 5, root);
    distributed::broadcast_from_root(root, 5);
    distributed::check_all_agree(
        std::equal(mine, mine + 5, root),
        "train what rank 0 trains (" + std::to_string(int64_t(root[0])) + " parameters, " +
            std::to_string(int64_t(root[1])) + " training samples, batches of " +
            std::to_string(int64_t(root[2])) + ", " + std::to_string(int64_t(root[3])) +
            " epochs): the same model, data and options on every rank");
  }
  std::vector<std::shared_ptr<Callback>> callbacks;
  for (const auto& cb : options.callbacks)
    if (chief || !cb->chief_only()) callbacks.push_back(cb);
  for (auto& cb : callbacks) cb->on_train_begin(model);
  int first_epoch = 0;
  const bool resuming = options.resume && std::filesystem::exists(options.checkpoint);
  if (parallel) distributed::check_all_agree(resuming, "resume from the checkpoint '" + options.checkpoint +
                                                           "' (put it where every rank can read it)");
  if (resuming) first_epoch = resume_from(e, options, history);
  const int64_t n_train = e.train_samples(), bs = options.batch_size;
  std::vector<int64_t> order(static_cast<size_t>(n_train));
  std::vector<int64_t> batch_starts(size_t((n_train + bs - 1) / bs));  // batch k starts at k·bs of order
  std::vector<std::vector<int64_t>> bucket_keys;
  if (options.bucket_by_length) {
    bucket_keys = e.bucket_keys();
    if (bucket_keys.empty())
      throw Error("fit: bucket_by_length groups sequences of similar length, but no input of this "
                  "model has a mask (Embedding(mask_zero), Masking or lengths): leave it off");
  }
  DivergenceGuard guard(e.optimizer(), e.first_loss(), e.max_abs_target());
  if (chief && options.verbose > 0 && !guard.target_warning().empty())
    std::fprintf(stderr, "%s\n", guard.target_warning().c_str());
  // The weights, optimizer state and carried states at the start of the epoch: what the model
  // keeps when training diverges (divergence.h).
  std::vector<float> epoch_params;
  OptimizerState epoch_opt;
  std::vector<std::vector<float>> epoch_h, epoch_c;
  auto diverged = [&](int epoch, int64_t batch, const std::string& what) {
    e.params() = epoch_params;
    e.optimizer_state() = epoch_opt;
    e.params_replaced();
    e.restore_carried(epoch_h, epoch_c, "");
    const bool saved = !options.checkpoint.empty() && (epoch > first_epoch || first_epoch > 0);
    throw TrainingDiverged(guard.message(epoch, batch, what, saved ? options.checkpoint : ""));
  };
  Progress progress(chief ? options.verbose : 0, options.epochs);
  // The team of threads, batch by batch: fewer when another process occupies cores (threads.h);
  // results do not depend on it. A batch's work: its rows, or with buckets its row-steps.
  ThreadGovernor governor;
  auto batch_work = [&](const int64_t* idx, int64_t B) {
    if (bucket_keys.empty()) return double(B);
    double steps = 0.0;
    for (int64_t k = 0; k < B; ++k)
      for (int64_t len : bucket_keys[size_t(idx[k])]) steps += double(len) + 1.0;
    return steps;
  };
  for (int epoch = first_epoch; epoch < options.epochs && !model.stop_training; ++epoch) {
    epoch_params = e.params();
    epoch_opt = e.optimizer_state();
    epoch_h = e.carried_h(), epoch_c = e.carried_c();
    // Each epoch shuffles 0..n-1 afresh (Fisher-Yates with the model's generator), so an epoch
    // depends only on the generator's state: what a checkpoint saves.
    std::iota(order.begin(), order.end(), 0);
    if (options.shuffle)
      for (int64_t k = n_train - 1; k > 0; --k)
        std::swap(order[size_t(k)], order[e.rng().below(uint32_t(k + 1))]);
    // Buckets: the shuffled samples sorted by length (ties stay shuffled), cut into batches,
    // and the batches taken in a shuffled order.
    std::iota(batch_starts.begin(), batch_starts.end(), 0);
    if (!bucket_keys.empty()) {
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return bucket_keys[size_t(a)] < bucket_keys[size_t(b)];
      });
      if (options.shuffle)
        for (int64_t k = int64_t(batch_starts.size()) - 1; k > 0; --k)
          std::swap(batch_starts[size_t(k)], batch_starts[e.rng().below(uint32_t(k + 1))]);
    }
    progress.epoch_begin(epoch, (n_train + bs - 1) / bs);
    e.epoch_begin();
    double loss_sum = 0.0;
    int64_t seen = 0;
    for (int64_t batch = 1; batch <= int64_t(batch_starts.size()); ++batch) {
      const int64_t start = batch_starts[size_t(batch - 1)] * bs;
      const int64_t B = std::min(bs, n_train - start);
      governor.batch_begin();
      const double batch_loss =
          parallel ? distributed::train_batch(e, order.data() + start, B,
                                              uint64_t(epoch) * batch_starts.size() + uint64_t(batch))
                   : e.train_batch(order.data() + start, B);
      std::vector<float>& params = e.params();
      const int64_t P = int64_t(params.size());
      // the update, then the checks of the batch (a broken one puts the epoch's start back)
      const StepCheck step = optimizer_step(e.optimizer(), e.optimizer_state(), params.data(), e.grads().data(), P);
      const std::string broken = guard.check_batch(batch_loss, step.grads_finite);
      if (!broken.empty()) diverged(epoch, batch, broken);
      loss_sum += batch_loss * double(B);
      if (!step.params_finite)
        diverged(epoch, batch, "the update made a weight NaN or Inf (finite but enormous gradients)");
      e.weights_changed();
      governor.batch_end(batch_work(order.data() + start, B));
      seen += B;
      progress.batch_end(batch, loss_sum / double(seen));
      for (auto& cb : callbacks) cb->on_batch_end(model, batch, loss_sum / double(seen));
      // (a stop on any rank - Ctrl-C reaches them at different batches - stops them all here)
      if (parallel) model.stop_training = distributed::any(model.stop_training);
      if (model.stop_training) break;  // a callback ended fit() mid-epoch (model.h)
    }
    if (model.stop_training && seen < n_train) {
      progress.stopped();
      break;
    }
    Logs logs;
    if (parallel) distributed::add_over_ranks(e.output_loss_sums(), e.metric_states());
    e.add_train_logs(logs, n_train);
    logs["loss"] = loss_sum / double(n_train);
    if (e.has_validation()) {
      FitEngine::Share share;  // under MPI each rank validates every N-th batch
      if (parallel) share = {distributed::rank(), distributed::size(), distributed::add_over_ranks};
      e.validate(logs, bs, share);
      if (!std::isfinite(logs["val_loss"]))
        diverged(epoch, (n_train + bs - 1) / bs, "the validation loss is " +
                                                     std::string(std::isnan(logs["val_loss"]) ? "NaN" : "Inf"));
    }
    for (auto& [key, value] : logs) history.history[key].push_back(value);
    progress.epoch_end(logs);
    for (auto& cb : callbacks) cb->on_epoch_end(model, epoch, logs);
    if (parallel) model.stop_training = distributed::any(model.stop_training);
    if (!options.checkpoint.empty() && chief) {
      TrainingState st{epoch + 1, model.stop_training, e.rng().state(), e.optimizer_state(),
                       history.history, {}, {}};
      st.learning_rate = e.optimizer().learning_rate;
      st.compiled_learning_rate = e.compiled_learning_rate();
      for (auto& cb : options.callbacks) {
        st.callback_states.push_back(cb->state());
        st.callback_weights.push_back(cb->state_weights());
      }
      st.carried_h = e.carried_h(), st.carried_c = e.carried_c();
      write_checkpoint(options.checkpoint, e.model_file(), st);
    }
  }
  for (auto& cb : callbacks) cb->on_train_end(model);
  return history;
}

}  // namespace lstm
