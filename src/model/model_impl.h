// Sequential's insides: the stack of built layers, the one parameter buffer and its gradient
// mirror, the optimizer state, the random generator and the batch workspace.
//
// Dimensions: N = samples, T = time steps, B = batch, F = input features, E = output width.
// Data arrives batch-first ([N, T, F], Keras's layout); a batch is gathered time-major
// (T, B, F) so that each step's rows are contiguous for the recurrent product.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/limits.h"
#include "core/rng.h"
#include "layers/layer.h"
#include "lstm/model.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace lstm {

struct NamedTensor;  // io/safetensors.h

// Weights to build a model from instead of initialising it (Sequential::load, checkpoints):
// append_layer checks every tensor a layer needs - name and shape - against these before it
// allocates anything, so a file cannot make the model allocate more than the file holds.
struct WeightSource {
  std::map<std::string, const NamedTensor*> by_name;
  std::string path;  // for messages
};

// A model config as parsed from JSON, before anything is built: the first layer carries the
// input_shape and batch_size. (Sequential::from_json builds it; load builds it from weights.)
std::vector<LayerConfig> layer_configs_from_json(const std::string& text);
// One layer of the types Sequential has always had, as its config JSON entry and back
// ({"type": "lstm", "units": 50, ...}; docs/file-format.md). from_json throws lstm::Error
// starting with `where`.
nlohmann::json layer_to_json(const LayerConfig& layer);
LayerConfig layer_from_json(const nlohmann::json& entry, const std::string& where);

struct Sequential::Impl {
  SequentialOptions options;
  std::vector<LayerConfig> configs;
  std::vector<int64_t> input_shape;  // {T, F} (T <= 0: any length) or {F}; empty until built
  std::vector<std::unique_ptr<Layer>> layers;
  std::vector<float> params;  // every weight of every layer, in file order
  std::vector<float> grads;   // same layout as params
  Optimizer optimizer;
  Loss loss;
  float compiled_learning_rate = 0.0f;    // compile()'s (set_learning_rate changes the other)
  std::vector<std::string> metric_names;  // compile()'s, resolved against the model when run
  std::vector<MetricState> metrics;       // accumulating over the batches since the last reset
  Logs last_logs;                          // of the last evaluate()
  bool compiled = false;
  OptimizerState opt_state;
  Rng rng;
  std::map<std::string, std::string> metadata;  // saved with the model file
  const WeightSource* weight_source = nullptr;   // while loading: weights instead of init
  int64_t max_params = limits::kParams;          // the fuzzers lower it

  // The batch in hand: its shape, lengths and rows (set by gather_x).
  Batch batch;
  std::vector<int64_t> batch_rows;     // (B) sample indices, longest first when lengths are given
  std::vector<int64_t> batch_lengths;  // (B) their lengths, or empty
  std::vector<int64_t> batch_active;   // (T) rows with length > t, or empty
  // Workspace, grown to the largest batch seen, never shrunk.
  std::vector<float> x_batch;                 // (T, B, F) or (B, F)
  std::vector<float> y_batch;                 // (T, B, E') or (B, E'), E' = target width
  std::vector<std::vector<float>> acts;       // per layer: its output
  std::vector<std::vector<float>> grad_acts;  // per layer: ∂L/∂(its output)
  std::vector<std::vector<float>> step_out;   // per layer: its output in step()

  bool built() const { return !layers.empty(); }
  // An Embedding first: samples are token ids [T] (input_shape {T}), one "feature" per step.
  bool token_input = false;  // set by build()
  bool tokens() const { return token_input; }
  bool seq_input() const { return input_shape.size() == 2 || tokens(); }
  int64_t features() const { return tokens() ? 1 : input_shape.back(); }
  int64_t fixed_steps() const { return seq_input() && input_shape[0] > 0 ? input_shape[0] : 0; }
  int64_t out_width() const { return layers.back()->out_features; }
  // 2 when the last layer is Bidirectional with merge_mode none (outputs [forward, backward],
  // laid out side by side in the last layer's output, each out_width() / 2 wide), else 1.
  int64_t outputs() const {
    const LayerConfig& c = layers.back()->config;
    return c.type == LayerType::bidirectional && c.merge_mode == MergeMode::none ? 2 : 1;
  }
  // A model with stateful layers runs batches of exactly this size (the first layer's
  // batch_size); 0 for any other model.
  int64_t stateful_batch() const;
  // Every recurrent direction in layer order (a Bidirectional layer: forward, backward).
  std::vector<Recurrence*> directions() const {
    std::vector<Recurrence*> out;
    for (const auto& layer : layers)
      for (Recurrence* r : layer->directions()) out.push_back(r);
    return out;
  }
  // For a stateful model: batch_size is its fixed one, the n samples fill whole batches, and
  // no lengths (every row's state goes on from step T). Throws lstm::Error naming the fix.
  void check_stateful(int64_t n, int64_t batch_size, bool lengths, const char* name) const;
  bool out_seq() const { return layers.back()->out_seq; }

  // Builds one more layer: its weights from weight_source when set, else initialised.
  void append_layer(const LayerConfig& config);
  void bind_all();                               // re-point layers after the buffers moved
  // Every write to params ends with this: layers drop what they derived from the weights.
  void weights_changed() {
    for (auto& layer : layers) layer->weights_changed();
  }

  // Boundary checks with messages that name the fix; T of x, for sequence models.
  int64_t check_x(const Tensor& x, const char* name) const;
  void check_y(const Tensor& x, const Tensor& y, const char* xname, const char* yname) const;
  std::vector<int64_t> output_shape(int64_t N, int64_t T) const;

  // The sequences' lengths for x: `given` (empty: none), or read off x by a first
  // Embedding(mask_zero) or Masking layer (then `given`, if any, must agree). Empty when every
  // sequence runs all T steps. Throws lstm::Error naming the sample for a length out of 1..T or
  // padding that is not at the end.
  std::vector<int64_t> resolve_lengths(const Tensor& x, const std::vector<int64_t>& given,
                                       const char* name) const;
  // Makes samples idx[0..B) of x the batch: sorted longest first when `lengths` (per sample of
  // x) is not empty, copied into x_batch time-major; gather_y copies the same rows' targets.
  void gather_x(const Tensor& x, const int64_t* idx, int64_t B, int64_t T,
                const std::vector<int64_t>& lengths = {});
  void gather_y(const Tensor& y);
  // Forward through every layer on x_batch; returns the last layer's output. training: dropout
  // draws its masks.
  const float* forward(bool training = false);
  // Loss of the last forward against y_batch (over valid steps only, with lengths); with
  // backward = true, also backpropagates into grads (zeroed first).
  double loss_and_backward(bool backward);
  // predict(), from the given initial states (null: zero or carried) and, unless null, into
  // final (shaped as zero_states(N)) the states each sample ended in.
  Tensor predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size,
                 const States* initial, States* final_states);
  // The metrics of compile() for this (built) model, their sums reset.
  void reset_metrics();
  // Mean loss over samples idx[0..n) of (x, y), in batches; the metrics accumulate over them.
  double evaluate(const Tensor& x, const Tensor& y, const std::vector<int64_t>& lengths,
                  const int64_t* idx, int64_t n, int64_t batch_size);
};

// Builds `model` for samples shaped like x's ([N, T, F] or [N, F]) unless it is built already;
// throws lstm::Error for any other rank.
void build_from(Sequential& model, const Tensor& x);

}  // namespace lstm
