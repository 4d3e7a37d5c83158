// lstm::Model's insides: the graph as built (tensors between layers, the calls in order, the
// layers and their slices of the one parameter buffer), the batch in hand and the workspaces.
// src/graph/model.cpp runs it; Sequential (src/model/sequential.cpp) builds one as its chain.
//
// Dimensions: N = samples, B = batch, T = time steps (each input its own), F = features.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "graph/graph.h"
#include "layers/op.h"
#include "lstm/error.h"
#include "lstm/functional.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace lstm {

struct WeightSource;  // model/model_impl.h

// One tensor between layers: its spec, its batch buffer and gradient (in the workspace).
// The metadata key a model's inference precision is saved under when it is not fp32
// (set_precision before save); loading applies it (apply_saved_precision, an Error naming the
// key for a value that is not a precision).
inline constexpr const char* kPrecisionKey = "lstm.precision";
void apply_saved_precision(const std::map<std::string, std::string>& metadata,
                           const std::function<void(Precision)>& set);

struct Slot {
  ValueSpec spec;
  int input = -1;  // the model input it is, or -1
  int time_input = -1;  // a sequence that runs as many steps as this input's batch, or -1: its spec's
  float* data = nullptr;
  float* grad = nullptr;  // null for a model input (no gradient flows into data)
  bool written = false;  // grad holds this batch's gradient
  Value value;           // this batch's view
};

// One call of a layer.
struct Step {
  GraphNode* node;
  int layer;  // index into Model::Impl::layers
  std::unique_ptr<Op> op;
  std::vector<int> in, out;  // slot indices: inputs then initial states; outputs
};

// One layer (a shared one once): its name, config, and slice of the parameter buffer.
struct LayerSlot {
  std::string name;
  LayerConfig config;
  const Room* room = nullptr;
  int64_t offset = 0, count = 0;
  std::vector<ParamTensor> tensors;
  std::vector<int> steps;  // its calls
};

struct Model::Impl {
  ModelOptions options;
  const WeightSource* weight_source = nullptr;  // while loading: weights instead of init
  // Sequential's chain (src/model/sequential.cpp): layer i's tensors are "layers.<i>.<tensor>"
  // (the model file of format 1) and its messages say "layer <i> (<type>)".
  bool chain = false;
  // While building a chain: the weights of its first layers, which build copies (the layers
  // whose slice lies within them keep theirs; the others are initialised), and the parameter
  // limit (0: graph_param_limit).
  const std::vector<float>* kept_weights = nullptr;
  int64_t param_limit = 0;
  std::vector<GraphNode*> inputs;
  std::vector<std::shared_ptr<GraphNode>> keep;  // every node of the graph, alive
  std::vector<SymbolicTensor> outputs;
  std::vector<int> output_slots;
  std::vector<Slot> slots;
  std::vector<Step> steps;
  std::vector<LayerSlot> layers;
  std::vector<float> params, grads;
  Optimizer optimizer;
  std::vector<Loss> losses;
  std::vector<double> loss_weights;
  bool compiled = false;
  float compiled_learning_rate = 0.0f;  // compile()'s (set_learning_rate changes the other)
  // With stateful layers: the fixed batch size of every Input (each row's state goes on in the
  // same row of the next batch); 0 for any other model.
  int64_t stateful_batch = 0;
  std::map<std::string, std::string> metadata;  // saved with the model file
  std::vector<std::vector<MetricState>> metrics;  // per output: compile()'s metrics
  OptimizerState opt_state;
  Rng rng;
  Logs last_logs;

  // the batch in hand
  int64_t B = 0;
  std::vector<int64_t> rows;                       // (B) sample indices, in batch order
  std::vector<int64_t> input_T;                    // per input: its steps
  std::vector<std::vector<int64_t>> batch_lengths;  // per input: (B) or empty
  std::vector<int64_t> primary_active;              // (T) of the input that set the order
  int primary = -1;

  void build(const std::vector<SymbolicTensor>& ins, const std::vector<SymbolicTensor>& outs);
  // "<layer name>" (a graph) or "layers.<i>" (a chain): its tensors' names are this + "." + name.
  std::string tensor_prefix(size_t layer) const {
    return chain ? "layers." + std::to_string(layer) : layers[layer].name;
  }
  void bind_all();
  void fuse_token_inputs();  // once, after the steps and outputs are known
  // Which masked inputs a batch may run only to its longest sequence (trim_for_loss: every
  // output on their steps has their mask, so the padded steps count in no loss or metric;
  // trim_for_outputs: no output is on their steps, so predict's outputs are the same), and the
  // slots that then run as many steps as they do (Slot::time_input). Once, after the outputs.
  void find_trimmable_inputs();
  std::vector<char> trim_for_loss, trim_for_outputs;  // per input
  Precision precision = Precision::fp32;  // of inference: Model::set_precision
  void weights_changed() {
    for (Step& s : steps) s.op->weights_changed();
  }
  int input_index(const GraphNode* n) const {
    for (size_t k = 0; k < inputs.size(); ++k)
      if (inputs[k] == n) return int(k);
    return -1;
  }

  // The tensors as the rest of the model reads them: an image input or output given as
  // [N, T, H, W, C] or [N, H, W, C] is a view [N, T, H·W·C] / [N, H·W·C] of the same memory
  // (frames are contiguous in C order); every other tensor a view of itself. `outputs`: the
  // list is targets (one per output), else inputs.
  std::vector<Tensor> as_rows(const TensorList& x, bool outputs) const;
  // checks and masks for one call's data
  void check_x(const TensorList& x) const;
  void check_y(const TensorList& x, const TensorList& y) const;
  // Per input: its samples' lengths (empty: every sample runs all T steps), from its padding
  // and, for the Input made with {.lengths = true}, from `given` (which must agree with the
  // padding when both exist). Throws lstm::Error naming the sample and the fix.
  std::vector<std::vector<int64_t>> input_lengths(const TensorList& x, std::span<const int64_t> given = {}) const;
  int64_t out_steps(size_t k, const TensorList& x) const;
  // The targets of outputs trained with CTC, against their frames (the output's steps, or its
  // mask's lengths): labels, padding, and enough frames for each (loss_fn.h).
  void check_ctc_targets(const TensorList& x, const TensorList& y,
                         const std::vector<std::vector<int64_t>>& lengths) const;

  // Batch `idx` of x, time-major, into the input slots. With a trim, each masked input that
  // allows it (find_trimmable_inputs) runs only as many steps as the batch's longest sequence:
  // padding then costs little (and with bucketing, almost nothing).
  enum class Trim { none, for_loss, for_outputs };
  void gather(const TensorList& x, const std::vector<std::vector<int64_t>>& lengths,
              const int64_t* idx, int64_t B, Trim trim = Trim::none);
  void forward(bool training);

  // The working memory (layers/workspace.h): every slot's tensor and gradient, the targets,
  // and every call's buffers, planned for batches of up to plan_B rows with up to plan_T[k]
  // steps in input k, with the backward's (grad) or without.
  WorkspaceStorage memory;
  int64_t plan_B = 0;
  std::vector<int64_t> plan_T;
  bool plan_grad = false;
  // Per input: its steps in x (1 for vectors).
  std::vector<int64_t> steps_of(const TensorList& x) const;
  // A slot's steps when input k has input_T[k].
  int64_t slot_steps(const Slot& s, const std::vector<int64_t>& input_T) const;
  // Plans for batches up to B rows and input_T steps (with backward when grad), unless the
  // plan in hand already covers them; it only grows.
  void ensure_plan(int64_t B, const std::vector<int64_t>& input_T, bool grad);
  // Binds the plan in hand again (same shape and allocation: the same addresses).
  void bind_plan();
  // Runs every plan() for exactly this shape (ws measuring or binding); per_layer (when not
  // null) receives each layer's floats taken (kept, grad), then the model's own (the tensors
  // between layers, their gradients, the targets).
  void declare_memory(int64_t B, const std::vector<int64_t>& input_T, Workspace& ws,
                      std::vector<std::array<int64_t, 2>>* per_layer = nullptr);
  // declare_memory's per_layer for a training pass of this shape, the plan in hand unchanged.
  std::vector<std::array<int64_t, 2>> memory_by_layer(int64_t B, const std::vector<int64_t>& input_T);

  // Scratch of forward and backward, kept from batch to batch (no allocation once warm).
  std::vector<Value> in, out;
  std::vector<const float*> dout;
  std::vector<float*> din;
  std::vector<float*> scratch;      // per input of a call: a gradient to add (in the workspace)
  std::vector<int> add_to, claimed;  // slots that scratch goes to; slots written directly
  float* target = nullptr;           // one output's targets, time-major (in the workspace)
  std::vector<float> ctc_target;     // a CTC output's label rows (B, L), grown once
  // Streaming (step()): one step's features per slot, sized at the first call; the scratch of
  // by_forward ops' views and of own ops' pointers.
  std::vector<std::vector<float>> step_data;
  std::vector<int64_t> step_T;  // one step per input
  std::vector<const float*> step_in;
  std::vector<float*> step_out;
  double loss_and_backward(const TensorList& y, bool backward, std::vector<double>* per_output);
  // When not null, the backward also adds the gradient reaching each model input into
  // (*input_grads)[k], laid out as its slot (time-major), sized by the caller
  // (model_input_gradients).
  std::vector<std::vector<float>>* input_grads = nullptr;
  // predict() from the given initial states (null: zero or carried; one per direction, for
  // all N samples, shaped as zero_states) and, unless null, the states each sample ended in
  // into final_states (shaped so already).
  std::vector<Tensor> predict(const TensorList& x, std::span<const int64_t> given, int64_t batch_size,
                              const States* initial, States* final_states);
  double evaluate(const TensorList& x, const TensorList& y,
                  const std::vector<std::vector<int64_t>>& lengths, const int64_t* idx, int64_t n,
                  int64_t batch_size, std::vector<double>* per_output);
  // The same as sums over rows (not divided by n), of only the batches k with k % parts == part
  // (a rank's share in an MPI job; evaluate is part 0 of 1).
  double evaluate_sums(const TensorList& x, const TensorList& y,
                       const std::vector<std::vector<int64_t>>& lengths, const int64_t* idx, int64_t n,
                       int64_t batch_size, std::vector<double>* per_output, int part, int parts);
  // Every recurrent direction of every call, in the graph's order.
  std::vector<Recurrence*> directions() const {
    std::vector<Recurrence*> out;
    for (const Step& st : steps)
      for (Recurrence* r : st.op->directions()) out.push_back(r);
    return out;
  }
  // For a stateful model: batch_size is the fixed one and the n samples fill whole batches.
  void check_stateful(int64_t n, int64_t batch_size, const std::string& name, bool lengths = false) const {
    if (stateful_batch == 0) return;
    if (lengths)
      throw Error(name + " comes with per-sample lengths, but stateful layers carry each row's "
                  "state on from step T: give sequences that run all T steps");
    const std::string B = std::to_string(stateful_batch);
    if (batch_size != stateful_batch)
      throw Error("the model has stateful layers and runs batches of exactly " + B + " (its Inputs' "
                  "batch_size), not " + std::to_string(batch_size) + ": pass batch_size = " + B);
    if (n % stateful_batch != 0)
      throw Error(name + " has " + std::to_string(n) + " samples, not a multiple of the stateful "
                  "model's batch size " + B + ": each row's state goes on in the same row of the "
                  "next batch, so every batch must be full");
  }
  void reset_metrics() {
    for (auto& list : metrics)
      for (MetricState& m : list) m.reset();
  }
  // logs[prefix + metric] (one output) or logs[prefix + "<output>_" + metric]
  void add_all_metrics(const std::string& prefix, const std::vector<std::string>& names, Logs& logs) const {
    for (size_t k = 0; k < metrics.size(); ++k)
      add_metrics(metrics[k], prefix + (metrics.size() > 1 ? names[k] + "_" : ""), logs);
  }
};

}  // namespace lstm
