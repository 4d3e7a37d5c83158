// The training loop, once for every kind of model: epochs, shuffling, batches, the optimizer
// step, divergence, validation, History, the progress line, callbacks, checkpoints and resume.
// Sequential::fit and Model::fit check their data, bind it to a FitEngine and call run_fit.
//
// An epoch depends only on the weights, the optimizer state, the random generator and the
// carried states at its start - what a checkpoint saves - so a fit killed at any point and
// resumed ends with the weights of one that was not (same thread count).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "io/safetensors.h"
#include "lstm/model.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace lstm {

struct TrainingState;  // io/checkpoint.h
class Recurrence;      // layers/recurrence.h

// One model bound to the data of one fit() call.
class FitEngine {
 public:
  virtual ~FitEngine() = default;
  virtual Trainable& model() = 0;  // what callbacks see

  // The one parameter buffer, its gradient mirror and what updates them.
  virtual std::vector<float>& params() = 0;
  virtual std::vector<float>& grads() = 0;
  virtual Optimizer& optimizer() = 0;
  virtual OptimizerState& optimizer_state() = 0;
  virtual float compiled_learning_rate() const = 0;
  virtual Rng& rng() = 0;
  virtual const Loss& first_loss() const = 0;  // for the divergence guard's messages
  virtual double max_abs_target() const = 0;
  // Every write to params() ends with this (layers drop what they derived from the weights);
  // params_replaced() also re-points layers after the buffer was assigned.
  virtual void weights_changed() = 0;
  virtual void params_replaced() = 0;

  // Training samples 0..train_samples() of the data; validation, when any, is the engine's.
  virtual int64_t train_samples() const = 0;
  virtual bool has_validation() const = 0;
  // Each training sample's lengths, one per masked input in input order (empty: the model has
  // no mask), which FitOptions::bucket_by_length sorts batches by.
  virtual std::vector<std::vector<int64_t>> bucket_keys() const { return {}; }
  // Resets the metrics and the epoch's per-output sums.
  virtual void epoch_begin() = 0;
  // Gathers samples idx[0..B), runs forward (training) and backward into grads(); returns the
  // batch's mean loss, adding to the metrics and per-output sums.
  virtual double train_batch(const int64_t* idx, int64_t B) = 0;
  // The epoch's running sums so far: the metrics' and each output's loss (summed over rows), which
  // the ranks of an MPI job add together before add_train_logs.
  virtual std::vector<MetricState*> metric_states() = 0;
  virtual std::vector<double>& output_loss_sums() = 0;
  // The epoch's logs beyond "loss": metrics and per-output losses (n_train samples).
  virtual void add_train_logs(Logs& logs, int64_t n_train) = 0;
  // Validation loss into logs["val_loss"], with the "val_" metrics; batches of batch_size, the
  // same ones however it is shared. `share` (an MPI job) runs only the batches k with
  // k % parts == part here, and its `add` sums the loss sums and the metrics' running sums over
  // the ranks before the logs are taken from them, so every rank logs the same values.
  struct Share {
    int part = 0, parts = 1;
    std::function<void(std::vector<double>& loss_sums, const std::vector<MetricState*>& metrics)> add;
  };
  virtual void validate(Logs& logs, int64_t batch_size, const Share& share) = 0;

  // Stateful layers' carried states, one pair per recurrent direction (empty: none).
  virtual std::vector<std::vector<float>> carried_h() const { return {}; }
  virtual std::vector<std::vector<float>> carried_c() const { return {}; }
  virtual size_t directions() const { return 0; }
  // Puts back carried states (from the start of an epoch, or a checkpoint's, which are checked
  // against the layers: `path` names it in messages, empty for the former).
  virtual void restore_carried(std::vector<std::vector<float>> h, std::vector<std::vector<float>> c,
                               const std::string& path) {
    (void)h, (void)c, (void)path;
  }

  // The model as a file (architecture, weights), for checkpoints; and back: the weights of a
  // checkpoint, after checking that its model is this one (throws lstm::Error naming the fix).
  virtual SafetensorsFile model_file() const = 0;
  virtual std::vector<float> weights_from_file(const SafetensorsFile& file, const std::string& path) = 0;
};

// The carried states of stateful recurrent directions (FitEngine's, for models that have them):
// one h and one c per direction, empty where a direction carries none.
std::vector<std::vector<float>> carried_h_of(const std::vector<Recurrence*>& directions);
std::vector<std::vector<float>> carried_c_of(const std::vector<Recurrence*>& directions);
// Puts them back; from a checkpoint (path not empty) each is first checked against its
// direction and the model's fixed batch size B (0: nothing is stateful).
void restore_carried_states(const std::vector<Recurrence*>& directions, int64_t B,
                            std::vector<std::vector<float>> h, std::vector<std::vector<float>> c,
                            const std::string& path);

// Runs options.epochs epochs (from a checkpoint's when resuming); returns the History.
History run_fit(FitEngine& engine, const FitOptions& options);

// The checks of FitOptions every model shares; throws lstm::Error naming the fix.
void check_fit_options(const FitOptions& options);

}  // namespace lstm
