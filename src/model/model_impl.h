// Sequential's insides: its layers and settings, and the chain (an lstm::Model) that runs them.
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
#include "graph/model_impl.h"
#include "layers/layer.h"
#include "lstm/model.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace lstm {

struct NamedTensor;  // io/safetensors.h

// Weights to build a model from instead of initialising it (Sequential::load, checkpoints):
// building checks every tensor a layer needs - name and shape - against these before it
// allocates anything, so a file cannot make the model allocate more than the file holds.
struct WeightSource {
  std::map<std::string, const NamedTensor*> by_name;
  std::string path;  // for messages
};

// A model config as parsed from JSON, before anything is built: the first layer carries the
// input_shape and batch_size. (Sequential::from_json builds it; load builds it from weights.)
std::vector<LayerConfig> layer_configs_from_json(const std::string& text);
// What one layer of the chain is, as the chain was built.
struct ChainLayer {
  LayerConfig config;
  int64_t in_features = 0, out_features = 0;
  bool out_seq = false;  // returns (T, B, out) rather than (B, out)
  std::vector<ParamTensor> tensors;  // in file order, offsets from the layer's first parameter
  int64_t offset = 0, count = 0;     // its slice of the parameter buffer
  bool can_step = true;
};

// Sequential is the chain case of lstm::Model: its layers, input shape and compile() settings
// (with their own checks and messages), and - once built - the graph Input -> layer 0 -> ...
// -> output that runs every batch (graph/model_impl.h). The chain's tensors are named as the
// model file of format 1 names them, "layers.<i>.<tensor>".
struct Sequential::Impl {
  SequentialOptions options;
  std::vector<LayerConfig> configs;
  std::vector<int64_t> input_shape;  // {T, F} (T = 0: any length), {T} token ids or {F}; empty until built
  std::vector<ChainLayer> layers;    // as built
  std::unique_ptr<Model> chain;      // the graph that runs; null until built
  // compile()'s settings (optimizer: with set_learning_rate's rate), given to the chain at
  // every build; the chain's optimizer state starts afresh then
  Optimizer optimizer;
  float compiled_learning_rate = 0.0f;  // compile()'s own
  Loss loss;
  std::vector<std::string> metric_names;  // resolved against the model when it is built
  bool compiled = false;
  Rng unbuilt_rng;  // draws the initial weights; once built the chain's generator goes on
  std::map<std::string, std::string> metadata;  // saved with the model file
  const WeightSource* weight_source = nullptr;  // while loading: weights instead of init
  int64_t max_params = limits::kParams;         // the fuzzers lower it
  Logs last_logs;                               // of the last evaluate()
  bool step_checked = false;                    // step() checked every layer can stream
  // The batch in hand (gather_x/gather_y): merge_mode none's targets as the chain takes them.
  Tensor y_pairs;
  const Tensor* y_in_hand = nullptr;

  bool built() const { return chain != nullptr; }
  Model::Impl& graph() const { return chain->impl(); }
  Rng& rng();
  std::vector<float>& params();
  std::vector<float>& grads();
  // An Embedding first: samples are token ids [T] (input_shape {T}), one "feature" per step.
  bool tokens() const { return !configs.empty() && configs[0].type == LayerType::embedding; }
  bool seq_input() const { return input_shape.size() == 2 || tokens(); }
  int64_t features() const { return tokens() ? 1 : input_shape.back(); }
  int64_t fixed_steps() const { return seq_input() && input_shape[0] > 0 ? input_shape[0] : 0; }
  int64_t out_width() const { return layers.back().out_features; }
  // 2 when the last layer is Bidirectional with merge_mode none (outputs [forward, backward],
  // laid out side by side in the chain's output, each out_width() / 2 wide), else 1.
  int64_t outputs() const {
    const LayerConfig& c = layers.back().config;
    return c.type == LayerType::bidirectional && c.merge_mode == MergeMode::none ? 2 : 1;
  }
  bool out_seq() const { return layers.back().out_seq; }
  // A model with stateful layers runs batches of exactly this size (the first layer's
  // batch_size); 0 for any other model.
  int64_t stateful_batch() const;
  // Every recurrent direction in layer order (a Bidirectional layer: forward, backward).
  std::vector<Recurrence*> directions() const;
  // For a stateful model: batch_size is its fixed one, the n samples fill whole batches, and
  // no lengths (every row's state goes on from step T). Throws lstm::Error naming the fix.
  void check_stateful(int64_t n, int64_t batch_size, bool lengths, const char* name) const;

  // add()'s checks of layer `index` (messages "layer <index> (<type>)").
  void check_add(const LayerConfig& layer, size_t index) const;
  // Builds the chain for input_shape from configs: each layer checked by its room
  // (its messages), its weights from weight_source when set, else those of `keep` (the
  // parameters of the layers before, when a layer is added to a built model) and initialised
  // for the rest. On error nothing changes.
  void build_chain(const std::vector<float>* keep);
  // The chain's loss, optimizer and metrics from compile()'s settings (its optimizer state
  // starts afresh).
  void compile_chain();
  // Every write to params() ends with this: layers drop what they derived from the weights.
  void weights_changed();

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
  // predict(), from the given initial states (null: zero or carried; shaped as zero_states)
  // and, unless null, into final_states (shaped so) the states each sample ended in.
  Tensor predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size,
                 const States* initial, States* final_states);
  // y as the chain takes it: itself, or for merge_mode none ([2, N, ..., W]) each sample's two
  // targets side by side ([N, ..., 2W], as the chain's output lies).
  const Tensor& chain_targets(const Tensor& y, Tensor& storage) const;

  // One batch by hand (the tests' gradient checks): samples idx[0..B) of x, sorted longest
  // first when lengths are given; the same rows' targets; forward (training: dropout draws its
  // masks) returning the last layer's output (T, B, E) or (B, E); the loss over valid steps
  // and, with backward, the gradients into grads() (zeroed first).
  void gather_x(const Tensor& x, const int64_t* idx, int64_t B, int64_t T,
                const std::vector<int64_t>& lengths = {});
  void gather_y(const Tensor& y);
  const float* forward(bool training = false);
  double loss_and_backward(bool backward);
};

// add() of every config, the model built once at the end when the first sets input_shape
// (loading a file, from_json).
void add_layers(Sequential& model, const std::vector<LayerConfig>& configs);

// Builds `model` for samples shaped like x's ([N, T, F] or [N, F]) unless it is built already;
// throws lstm::Error for any other rank.
void build_from(Sequential& model, const Tensor& x);

}  // namespace lstm
