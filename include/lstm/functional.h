// lstm/functional.h - models as graphs of layers: Keras's functional API in C++.
//
//   auto enc_in = lstm::Input({lstm::kAnyLength, 32}, {.name = "source"});
//   auto [enc_seq, h, c] = lstm::LSTM(128, {.return_sequences = true, .return_state = true})(enc_in);
//   auto dec_in = lstm::Input({lstm::kAnyLength, 40}, {.name = "target_in"});
//   auto dec_seq = lstm::LSTM(128, {.return_sequences = true})(dec_in, {h, c});  // initial_state
//   auto ctx = lstm::Attention()({dec_seq, enc_seq});                            // Luong dot
//   auto out = lstm::Dense(40, {.activation = lstm::Activation::softmax})(
//       lstm::Concatenate()({dec_seq, ctx}));
//   lstm::Model model({enc_in, dec_in}, out);
//   model.compile(lstm::Adam(), lstm::loss::sparse_categorical_crossentropy);
//   model.fit({X_src, X_tgt_in}, y_tgt_out, {.epochs = 20, .batch_size = 64, .validation_split = 0.1});
//   std::vector<lstm::Tensor> y = model.predict({X_src, X_tgt_in});   // one per output
//
// Data: one Tensor per Input, in the order of the model's inputs, batch first as everywhere
// ([N, T, F] sequences, [N, F] vectors, [N, T] token ids), and one target per output. Inputs may
// have different lengths (a translator's source and target); each Input's padding, found by an
// Embedding(mask_zero) or Masking layer that reads it, is its mask, and every layer that keeps
// the time axis passes it on (Dense, Dropout, merges, a recurrent layer's return_sequences, an
// attention's query), so that a loss over a sequence output counts its valid steps only and an
// attention ignores padded keys.
//
// Weights: calling one layer object twice shares its weights. The model's weights are one
// buffer, layer after layer in the order of the graph (get_weights()), tensors named
// "<layer name>.<tensor>" (weights()).
//
// Training semantics are Sequential's (lstm/model.h): shuffling, validation_split (the last
// samples), epoch losses as Keras reports them. With several outputs the loss is
// Σ_k loss_weights[k] · loss_k(output k), and History also holds "<output>_loss" per output;
// compile()'s metrics are computed for every output ("<output>_<metric>" with several).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lstm/layers.h"
#include "lstm/loss.h"
#include "lstm/model.h"
#include "lstm/optim.h"
#include "lstm/symbolic.h"
#include "lstm/tensor.h"

namespace lstm {

// The tensors of a call, by position: model.fit({X_src, X_tgt}, y). It refers to the tensors
// given; it does not copy them.
class TensorList {
 public:
  TensorList(const Tensor& t) : items_{&t} {}  // NOLINT: one tensor is a list of one
  TensorList(std::initializer_list<std::reference_wrapper<const Tensor>> ts) {
    for (const Tensor& t : ts) items_.push_back(&t);
  }
  TensorList(const std::vector<Tensor>& ts) {  // NOLINT
    for (const Tensor& t : ts) items_.push_back(&t);
  }
  size_t size() const { return items_.size(); }
  const Tensor& operator[](size_t k) const { return *items_[k]; }

 private:
  std::vector<const Tensor*> items_;
};

struct ModelOptions {
  std::string name = "model";
  uint64_t seed = 42;  // initial weights, shuffling and dropout, as for Sequential
};

class Model : public Trainable {
 public:
  // Builds the graph from the layers that lead from `inputs` to `outputs`, and initialises its
  // weights. Throws lstm::Error naming the layers and the fix for an output that needs a tensor
  // not among the inputs, an input no output uses, or two layers with one name.
  Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs,
        ModelOptions options = {});
  Model(std::vector<SymbolicTensor> inputs, SymbolicTensor output, ModelOptions options = {});
  Model(SymbolicTensor input, SymbolicTensor output, ModelOptions options = {});
  Model(SymbolicTensor input, std::vector<SymbolicTensor> outputs, ModelOptions options = {});
  ~Model();
  Model(Model&&) noexcept;
  struct Impl;  // internal: src/graph/
  explicit Model(std::unique_ptr<Impl> impl);  // internal: src/graph/ (load)
  Model& operator=(Model&&) noexcept;

  // One loss for every output, or one per output.
  void compile(const Optimizer& optimizer, const Loss& loss, CompileOptions options = {});
  void compile(const Optimizer& optimizer, std::vector<Loss> losses, CompileOptions options = {});

  // FitOptions as for Sequential: epochs, batch_size, shuffle, validation_split (or
  // validation_x/validation_y for a model of one input and one output), verbose, callbacks,
  // checkpoint and resume (a fit killed at any point and resumed ends with the weights of one
  // that was not). Lengths come from the masks (Embedding(mask_zero), Masking) and, for an
  // Input made with {.lengths = true}, from `lengths` (and `validation_lengths`).
  History fit(const TensorList& x, const TensorList& y, const FitOptions& options = {});
  std::vector<Tensor> predict(const TensorList& x, int batch_size = 32);
  // The total loss (Σ_k loss_weights[k] · loss_k), mean over the samples.
  double evaluate(const TensorList& x, const TensorList& y, int batch_size = 32);
  // With per-sample lengths (1..T) for the Input made with {.lengths = true} (PyTorch's packed
  // sequences; fit takes them as FitOptions::lengths). A span: pass lengths as a vector.
  std::vector<Tensor> predict(const TensorList& x, std::span<const int64_t> lengths, int batch_size = 32);
  double evaluate(const TensorList& x, const TensorList& y, std::span<const int64_t> lengths,
                  int batch_size = 32);
  // The last evaluate()'s loss, metrics and (several outputs) per-output losses: "loss",
  // "accuracy" or "<output>_accuracy", "<output>_loss".
  Logs last_logs() const;

  std::string summary() const override;
  std::vector<MemoryRow> memory_plan(int64_t batch, int64_t steps) const override;
  // The model as one .safetensors file (written atomically): its graph - inputs, layers with
  // their configs, the calls in order, outputs - in the metadata "lstm.graph", its weights as
  // tensors "<layer name>.<tensor>" (docs/file-format.md). load() checks every tensor against
  // the graph before it allocates anything; a file that fails to load leaves nothing behind.
  void save(const std::string& path) const override;
  static Model load(const std::string& path);
  // The graph as a config a person writes, inputs and layers named (the schema of
  // `lstm train --config` for graphs, docs/file-format.md), and back; from_json initialises
  // the weights from options.seed. Errors name the entry and the fix.
  std::string to_json() const;
  static Model from_json(const std::string& json, ModelOptions options = {});
  int64_t count_params() const override;
  std::vector<float> get_weights() const override;
  void set_weights(const std::vector<float>& weights) override;
  std::vector<NamedWeight> weights() const;
  std::vector<std::string> input_names() const;
  // The outputs' names: "dense" (a layer's output), "lstm:1" (a layer's second output: an
  // LSTM's h with return_state), "dense@2" (the second call of a shared layer).
  std::vector<std::string> output_names() const;
  // The layers in the order of the graph (a shared layer once), with their names.
  std::vector<LayerConfig> layers() const;
  void set_seed(uint64_t seed);
  // Stateful recurrent layers (LayerConfig::stateful; every Input then has one batch_size and
  // no padding) carry each row's final state into the same row of the next batch, in fit,
  // predict and evaluate, until reset_states(); training checkpoints keep the carried states.
  void reset_states();
  // Inference precision, as Sequential::set_precision (model.h): returns the LSTM layers that
  // run bf16; Error when none can.
  int set_precision(Precision p);
  Precision precision() const;

  // Streaming, for real-time use: one time step of one sequence per call. x_t[k] holds input
  // k's features at this step (one value for token ids; a vector input's features), y_t[k]
  // receives output k's features at this step (a recurrent layer's vector output is its state
  // after this step, as if the sequence ended here). Recurrent layers' states persist from call
  // to call until reset_states(); a call with return_state gives the states after this step.
  // After the first call, allocates nothing. Layers that need whole sequences (Bidirectional,
  // go_backwards, attention, RepeatVector, recurrent calls given initial_state) refuse, naming
  // themselves.
  void step(std::span<const float* const> x_t, std::span<float* const> y_t);
  std::vector<Tensor> step(const TensorList& x_t);  // checked; allocates the results
  const Optimizer& optimizer() const override;
  void set_learning_rate(float learning_rate) override;  // > 0
  // Extra string metadata saved with the model ("lstm.history": the CLI's training history).
  // Keys "lstm.graph" and "lstm.format_version" are the file's own.
  std::map<std::string, std::string>& metadata();
  const std::map<std::string, std::string>& metadata() const;

  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstm
