// lstm/model.h - Sequential: the Keras workflow in C++.
//
//   lstm::Sequential model;
//   model.add(lstm::LSTM(50, {.input_shape = {timesteps, features}}));   // 50 LSTM units
//   model.add(lstm::Dense(1));                                            // output layer
//   model.compile(lstm::Adam(), lstm::loss::mse);
//   lstm::History history = model.fit(X_train, y_train, {.epochs = 50, .batch_size = 32});
//   lstm::Tensor y_pred = model.predict(X_test);          // [N, 1]
//   double test_loss = model.evaluate(X_test, y_test);
//   std::cout << model.summary();
//   model.save("model.safetensors");
//   lstm::Sequential again = lstm::Sequential::load("model.safetensors");
//
// Shapes: X is [N, T, F] (or [N, F] when the first layer is Dense); y is [N, out] when the last
// layer returns one vector per sequence, [N, T, out] when it returns sequences; sparse
// categorical targets drop the last axis ([N] or [N, T]) or keep it as 1.
//
// Weights live in one contiguous float buffer (get_weights / set_weights), in the order of the
// layers and, within a layer, in the order of the tensors of the file format
// (docs/file-format.md). The model is built, and its weights initialised from its seed, as soon
// as the input shape is known: at add() when the first layer has input_shape, else at the first
// fit/predict/evaluate. The same seed gives the same initial weights, the same shuffling and so
// the same training run (for a given thread count).
//
// fit() keeps Keras's semantics: it shuffles the training samples every epoch unless
// shuffle = false; the last batch may be smaller; validation_split holds out the last fraction
// of the samples, taken before any shuffling; validation_x/validation_y give validation data
// explicitly instead. The epoch loss is the mean over all training samples of the loss at the
// weights each batch saw (as Keras reports it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lstm/layers.h"
#include "lstm/loss.h"
#include "lstm/optim.h"
#include "lstm/tensor.h"

namespace lstm {

class Sequential;

// One row of memory_plan(): the working memory a layer takes for one training batch - what its
// forward keeps for backward (activations, gates, dropout masks) and what its backward adds
// (gradients of its tensors, dgates) - or, in the last row, "(tensors between layers)", the
// model's own: the tensors layers pass on, their gradients and the targets.
struct MemoryRow {
  std::string layer;  // "<name> (<Keras class>)"
  int64_t forward_bytes = 0, backward_bytes = 0;
};

// What fit() trains and what its callbacks see: a Sequential or a graph Model (lstm/functional.h).
// A callback reads and writes the weights, saves the model, lowers the learning rate, or sets
// stop_training to end fit() after the current epoch.
class Trainable {
 public:
  virtual ~Trainable() = default;
  virtual int64_t count_params() const = 0;
  virtual std::vector<float> get_weights() const = 0;
  virtual void set_weights(const std::vector<float>& weights) = 0;
  virtual void save(const std::string& path) const = 0;  // .safetensors, written atomically
  virtual std::string summary() const = 0;
  // The working memory of one training batch of `batch` samples of `steps` steps (inputs of a
  // fixed length keep theirs), as fit() plans it before its first batch: one allocation, the sum
  // of these rows. Not in it: the parameters, their gradients and the optimizer's state
  // (count_params() floats each, Adam two).
  virtual std::vector<MemoryRow> memory_plan(int64_t batch, int64_t steps) const = 0;
  virtual const Optimizer& optimizer() const = 0;
  // The learning rate from now on (ReduceLROnPlateau's); > 0.
  virtual void set_learning_rate(float learning_rate) = 0;

  bool stop_training = false;  // a callback sets this to end fit() after the current epoch

 protected:
  Trainable() = default;
  Trainable(Trainable&&) noexcept = default;
  Trainable& operator=(Trainable&&) noexcept = default;
};

// Per-epoch values: "loss", every metric of compile() under its name, and the same "val_"
// prefixed when there is validation data.
using Logs = std::map<std::string, double>;

// compile()'s options. metrics: reported next to the loss in History, on the progress line and
// to callbacks - "accuracy" (binary, categorical or sparse, as the loss implies),
// "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "mae", "mse",
// "rmse", "auc" (exact ROC AUC of one binary output); over valid steps only, as the loss.
// loss_weights: per output of a graph (lstm::Model), the weight of its loss; empty: all 1.
// output_metrics: per output of a graph, by output name (Model::output_names()), metrics for
// that output only, after `metrics` (which every output gets): {{"tags", {"accuracy"}}}.
struct CompileOptions {
  std::vector<std::string> metrics;
  std::vector<double> loss_weights;
  std::map<std::string, std::vector<std::string>> output_metrics;
};

struct History {
  std::map<std::string, std::vector<double>> history;  // history["loss"][epoch]
  int epochs() const;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Trainable& model) { (void)model; }
  virtual void on_epoch_end(Trainable& model, int epoch, const Logs& logs) {
    (void)model, (void)epoch, (void)logs;
  }
  // After each training batch (counting from 1 within the epoch), with the mean loss of the
  // epoch so far. Setting model.stop_training here ends fit() after this batch: the model keeps
  // the weights this batch gave, the epoch is not logged, validated or checkpointed (a resumed
  // fit redoes it from the last checkpoint), and on_train_end still runs.
  virtual void on_batch_end(Trainable& model, int64_t batch, double mean_loss) {
    (void)model, (void)batch, (void)mean_loss;
  }
  virtual void on_train_end(Trainable& model) { (void)model; }
  // Under MPI (lstm/distributed.h), whether only rank 0 runs it (callbacks that write files).
  virtual bool chief_only() const { return false; }
  // What a checkpoint keeps of the callback, so that a resumed fit() continues exactly.
  virtual std::string state() const { return ""; }
  virtual std::vector<float> state_weights() const { return {}; }
  virtual void restore(const std::string& state, std::vector<float> weights) {
    (void)state, (void)weights;
  }
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";  // "loss", "val_loss", or a metric ("val_accuracy", ...)
  double min_delta = 0.0;            // an improvement must beat the best by more than this
  int patience = 0;                  // epochs without improvement before stopping
  // Put back the weights of the best epoch when training ends (early or not).
  bool restore_best_weights = false;
  // "min", "max", or "auto": higher is better for accuracies and AUC, lower for the rest.
  std::string mode = "auto";
};

// Stops training once `monitor` has not improved for `patience` epochs.
class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(Trainable& model) override;
  void on_epoch_end(Trainable& model, int epoch, const Logs& logs) override;
  void on_train_end(Trainable& model) override;
  std::string state() const override;
  std::vector<float> state_weights() const override { return best_weights_; }
  void restore(const std::string& state, std::vector<float> weights) override;
  int stopped_epoch() const { return stopped_epoch_; }  // -1 when it did not stop training
  int best_epoch() const { return best_epoch_; }

 private:
  EarlyStoppingOptions options_;
  double best_ = 0;
  int best_epoch_ = -1, wait_ = 0, stopped_epoch_ = -1;
  std::vector<float> best_weights_;
};

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  bool save_best_only = false;
  std::string mode = "auto";  // as EarlyStoppingOptions::mode
};

// Saves the model after every epoch (or only when `monitor` improves) to `filepath`, where
// "{epoch}" is replaced by the 1-based epoch number. Files are written atomically.
class ModelCheckpoint : public Callback {
 public:
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});
  void on_epoch_end(Trainable& model, int epoch, const Logs& logs) override;
  bool chief_only() const override { return true; }
  std::string state() const override;
  void restore(const std::string& state, std::vector<float> weights) override;

 private:
  std::string filepath_;
  ModelCheckpointOptions options_;
  double best_ = 0;
  bool have_best_ = false;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  float factor = 0.1f;      // new rate = rate · factor, in (0, 1)
  int patience = 10;        // epochs without improvement before reducing
  double min_delta = 1e-4;  // an improvement must beat the best by more than this
  int cooldown = 0;         // epochs after a reduction before counting again
  float min_lr = 0.0f;      // never below this
  std::string mode = "auto";  // as EarlyStoppingOptions::mode
};

// Lowers the optimizer's learning rate when `monitor` stops improving (Keras's
// ReduceLROnPlateau). The rate in force is saved in training checkpoints, so a resumed fit goes
// on with it.
class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(Trainable& model) override;
  void on_epoch_end(Trainable& model, int epoch, const Logs& logs) override;
  std::string state() const override;
  void restore(const std::string& state, std::vector<float> weights) override;

 private:
  ReduceLROnPlateauOptions options_;
  double best_ = 0;
  bool have_best_ = false;
  int wait_ = 0, cooldown_left_ = 0;
};

struct CSVLoggerOptions {
  char separator = ',';
  bool append = false;  // keep the file's rows and add to them (as for a resumed fit)
};

// Writes one row per epoch to `filename`: "epoch" then every log in name order (Keras's
// CSVLogger), the whole file rewritten atomically after each epoch.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, CSVLoggerOptions options = {});
  void on_train_begin(Trainable& model) override;
  void on_epoch_end(Trainable& model, int epoch, const Logs& logs) override;
  bool chief_only() const override { return true; }

 private:
  std::string filename_;
  CSVLoggerOptions options_;
  std::string text_;  // the file so far
  std::vector<std::string> keys_;
};

struct FitOptions {
  int epochs = 1;
  int batch_size = 32;
  bool shuffle = true;
  double validation_split = 0.0;  // in [0, 1): the last fraction of the samples
  Tensor validation_x, validation_y;  // used when validation_split is 0
  std::vector<std::shared_ptr<Callback>> callbacks;
  // 0 silent; 1 a progress bar on a terminal, else one line per epoch; 2 one line per epoch
  // (Keras's) (stdout)
  int verbose = 1;
  // After every epoch, save weights, optimizer, random state, history, callback states and
  // stateful layers' carried states here (atomically). With resume, a fit() that finds this
  // file continues from it: a run that was killed and resumed ends with the same weights as one
  // that was not (same thread count).
  std::string checkpoint;
  bool resume = false;
  // Per-sample lengths of right-padded sequences (see predict), for x and for validation_x.
  std::vector<int64_t> lengths, validation_lengths;
  // Batches of sequences of similar length (bucketing): each epoch the shuffled samples are
  // sorted by their lengths (the masked inputs', in input order), cut into batches, and the
  // batches taken in a shuffled order. Every batch of padded sequences runs only as many steps
  // as its longest sequence where nothing can see the steps it drops (fit, evaluate and
  // predict do so with or without this), so with bucketing padding costs almost nothing.
  // Needs a mask (a model that has none is refused).
  bool bucket_by_length = false;
};

// The state of one direction of a recurrent layer for N sequences: h [N, P] (P = the units, or
// an LSTM's proj_size) and, for an LSTM, its cell state c [N, units]; c is empty for GRU and
// SimpleRNN. A model's states list every recurrent layer's directions in layer order (a
// Bidirectional layer gives two: forward, then backward).
struct RecurrentState {
  Tensor h, c;
};
using States = std::vector<RecurrentState>;

struct PredictionWithState {
  Tensor y;       // what predict() returns
  States states;  // the state each sequence ended in, at its last valid step
};

// One named weight tensor: "<layer name>.<tensor>" for a graph (e.g. "lstm.weight_ih"),
// "layers.<i>.<tensor>" for a Sequential model (docs/file-format.md), its shape and where it
// starts in get_weights().
struct NamedWeight {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0;
};

struct SequentialOptions {
  uint64_t seed = 42;
  std::string name = "sequential";
};

class Sequential : public Trainable {
 public:
  explicit Sequential(SequentialOptions options = {});
  ~Sequential();
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  Sequential(const Sequential&) = delete;  // use clone(): copies are explicit
  Sequential& operator=(const Sequential&) = delete;
  Sequential clone() const;  // same layers, same weights, same compile settings

  void add(const LayerConfig& layer);
  // Builds for samples of shape {T, F} ({F} for a Dense-first model); T <= 0 means any length.
  // Called by fit/predict/evaluate when needed.
  void build(const std::vector<int64_t>& input_shape);
  void compile(const Optimizer& optimizer, const Loss& loss, CompileOptions options = {});

  // Stops with lstm::TrainingDiverged at the first batch whose loss is NaN, Inf, beyond float
  // range or a million times the first batch's, or whose gradients or updated weights are not
  // finite; the model then holds the weights (and stateful layers the states) it had at the
  // start of that epoch, and a checkpoint, if any, was last written at the end of the one before.
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  Tensor predict(const Tensor& x, int batch_size = 32);
  double evaluate(const Tensor& x, const Tensor& y, int batch_size = 32);
  // Right-padded sequences of different lengths: lengths[n] = the valid steps of sample n
  // (1..T). Recurrent layers then act as on PyTorch's packed sequences (lstm/layers.h);
  // outputs of recurrent layers at padded steps are zero, and a loss over sequence outputs
  // counts valid steps only. A first Embedding(mask_zero) or Masking layer finds the lengths
  // from the padding itself.
  // (A span, so that predict(x, {8}) stays batch size 8: pass lengths as a vector.)
  Tensor predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size = 32);
  double evaluate(const Tensor& x, const Tensor& y, std::span<const int64_t> lengths,
                  int batch_size = 32);
  // The last evaluate()'s loss and metrics: {"loss": ..., "accuracy": ...}.
  Logs last_logs() const;

  // Keras's initial_state and return_state (PyTorch's (h_0, c_0) and (h_n, c_n)): predict
  // from the given initial states (empty: zero; an empty c: zero) and return the state every
  // recurrent layer ended in. Feeding one call's states to the next continues the sequences:
  //   auto first = model.predict_with_state(x_part1);
  //   auto rest = model.predict_with_state(x_part2, first.states);  // as if x_part1 + x_part2
  PredictionWithState predict_with_state(const Tensor& x, const States& initial_state = {},
                                         std::span<const int64_t> lengths = {},
                                         int batch_size = 32);
  // The states' shapes, for N sequences (zeros).
  States zero_states(int64_t N) const;

  // Streaming, for real-time use: one time step of one sequence per call. x_t holds the F
  // features of this step, y_t receives the last layer's units. Every LSTM layer's h and c
  // persist from call to call until reset_states() (or load/build/fit, which start afresh).
  // After the first call, step(const float*, float*) allocates nothing, takes no lock and
  // makes no system call, so it can run on an audio thread.
  //   model.reset_states();
  //   for (float sample : audio) model.step(&sample, &out);
  void step(const float* x_t, float* y_t);
  Tensor step(const Tensor& x_t);  // x_t [F] -> y_t [units]; allocates the result
  // Clears the streaming state and the state stateful layers carry from batch to batch.
  void reset_states();
  // Inference in the given precision (see Precision) from the next predict/evaluate/step on,
  // until changed; fit() still trains in fp32. The model must be built (or loaded). bf16 needs
  // at least one LSTM layer with the seed's cell (Error otherwise); returns how many run it.
  int set_precision(Precision p);
  Precision precision() const;

  std::string summary() const override;
  std::vector<MemoryRow> memory_plan(int64_t batch, int64_t steps) const override;
  void save(const std::string& path) const override;  // .safetensors, written atomically
  static Sequential load(const std::string& path);

  // The architecture as JSON (the schema of `lstm train --config`), and back.
  std::string to_json() const;
  static Sequential from_json(const std::string& json, SequentialOptions options = {});

  bool built() const;
  int64_t count_params() const override;
  std::vector<float> get_weights() const override;
  void set_weights(const std::vector<float>& weights) override;
  // The tensors of get_weights(), in order, as the model file names them; empty until built.
  std::vector<NamedWeight> weights() const;
  const std::vector<LayerConfig>& layers() const;
  const std::vector<int64_t>& input_shape() const;
  // One sample's output shape (Keras's output_shape without the batch axis): [E], or [T, E]
  // when the model returns sequences (T = 0: as many steps as the input), with a leading 2
  // for Bidirectional merge_mode none. Empty until built.
  std::vector<int64_t> output_shape() const;
  const Optimizer& optimizer() const override;
  void set_learning_rate(float learning_rate) override;  // > 0
  const Loss& loss() const;
  void set_seed(uint64_t seed);

  // Extra string metadata saved with the model (the forecasting setup uses "lstm.forecast",
  // the training history "lstm.history"). Keys "lstm.config" and "lstm.format_version" are
  // the file's own.
  std::map<std::string, std::string>& metadata();
  const std::map<std::string, std::string>& metadata() const;

  struct Impl;  // internal: src/model/
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstm
