// lstm::Model: a graph of layer calls run as one model - the one parameter buffer, batches of
// several inputs, forward in the graph's order and backward in reverse, losses per output.
//
// Dimensions: N = samples, B = batch, T = time steps (each input its own), F = features.
// Data arrives batch-first; a batch is gathered time-major (T, B, F) per input.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iomanip>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "core/limits.h"
#include "core/threads.h"
#include "distributed/data_parallel.h"
#include "graph/graph.h"
#include "graph/graph_model.h"
#include "graph/model_impl.h"
#include "io/safetensors.h"
#include "layers/loss_fn.h"
#include "layers/recurrence.h"
#include "layers/seq_dims.h"
#include "lstm/error.h"
#include "lstm/functional.h"
#include "model/data_checks.h"
#include "model/model_impl.h"
#include "optim/optimizer.h"
#include "train/fit_loop.h"
#include "train/metrics.h"

namespace lstm {

namespace {

std::string snake(const std::string& keras_class) {
  std::string s;
  for (size_t i = 0; i < keras_class.size(); ++i) {
    const char c = keras_class[i];
    if (std::isupper(static_cast<unsigned char>(c))) {
      const bool boundary = i > 0 && (std::islower(static_cast<unsigned char>(keras_class[i - 1])) ||
                                      (i + 1 < keras_class.size() &&
                                       std::islower(static_cast<unsigned char>(keras_class[i + 1])) &&
                                       std::isupper(static_cast<unsigned char>(keras_class[i - 1]))));
      if (boundary) s += '_';
      s += char(std::tolower(static_cast<unsigned char>(c)));
    } else {
      s += c;
    }
  }
  return s;
}

}  // namespace

// ---- building --------------------------------------------------------------------------------

int64_t graph_param_limit = limits::kParams;

static std::string gigabytes(int64_t floats) {
  std::ostringstream s;
  s << std::setprecision(3) << double(floats) * 4.0 / 1e9 << " GB";
  return s.str();
}

void Model::Impl::build(const std::vector<SymbolicTensor>& ins, const std::vector<SymbolicTensor>& outs) {
  if (ins.empty()) throw Error("Model: give at least one input (lstm::Input(...))");
  if (outs.empty()) throw Error("Model: give at least one output (a layer call's result)");
  for (size_t k = 0; k < ins.size(); ++k) {
    if (!ins[k].defined() || !ins[k].node()->is_input)
      throw Error("Model: inputs[" + std::to_string(k) + "] is " +
                  (ins[k].defined() ? "the output of " + ins[k].node()->where : std::string("empty")) +
                  ", not an lstm::Input(): a model's inputs are the Inputs its layers read");
    for (size_t j = 0; j < k; ++j)
      if (ins[j].node() == ins[k].node())
        throw Error("Model: " + ins[k].node()->where + " is listed twice among the inputs");
    inputs.push_back(ins[k].node().get());
    keep.push_back(ins[k].node());
  }
  // Input names: given, else "input", "input_1", ...
  std::set<std::string> names;
  int unnamed = 0;
  for (GraphNode* in : inputs) {
    if (in->input_name.empty()) {
      do in->input_name = unnamed == 0 ? "input" : "input_" + std::to_string(unnamed), ++unnamed;
      while (names.count(in->input_name));
      in->where = "input '" + in->input_name + "'";
    }
    if (!names.insert(in->input_name).second)
      throw Error("Model: two inputs are named '" + in->input_name + "': give each a name of its own");
  }
  // Topological order: depth-first from the outputs, inputs before the calls that read them.
  std::map<const GraphNode*, int> state;  // 1 visiting, 2 done
  std::vector<GraphNode*> order;
  std::function<void(const SymbolicTensor&, const std::string&)> visit =
      [&](const SymbolicTensor& t, const std::string& path) {
        GraphNode* n = t.node().get();
        if (state[n] == 2) return;
        if (n->is_input) {
          if (input_index(n) < 0)
            throw Error("Model: " + path + " needs " + n->where + ", which is not among the model's "
                        "inputs: add it to the inputs");
          state[n] = 2;
          return;
        }
        state[n] = 1;
        keep.push_back(t.node());
        for (const auto* list : {&n->inputs, &n->states})
          for (const SymbolicTensor& s : *list) visit(s, n->where);
        state[n] = 2;
        order.push_back(n);
      };
  for (size_t k = 0; k < outs.size(); ++k) {
    if (!outs[k].defined()) throw Error("Model: outputs[" + std::to_string(k) + "] is empty");
    visit(outs[k], "outputs[" + std::to_string(k) + "]");
  }
  for (GraphNode* in : inputs)
    if (state[in] != 2)
      throw Error("Model: " + in->where + " is not connected to any output: remove it from the "
                  "inputs, or use it");
  if (int64_t(order.size()) > limits::kLayers)
    throw Error("Model: at most " + std::to_string(limits::kLayers) + " layer calls");
  for (GraphNode* in : inputs)
    if (in->input_shape.size() == 1 && in->input_shape[0] == 0 && !in->read_as_ids)
      throw Error("Model: " + in->where + " has shape {lstm::kAnyLength}, token ids of any length, "
                  "which only an Embedding reads: give vectors a number of features, {F}");
  for (GraphNode* in : inputs)
    if (in->read_as_ids && in->read_as_values)
      throw Error("Model: " + in->where + " is read both as token ids (by an Embedding) and as "
                  "numbers (by another layer): give each its own Input");
  // Layers: one per identity, named by the user or "<type>", "<type>_1", ...
  std::map<const LayerIdentity*, int> layer_of;
  std::map<std::string, int> taken;
  for (GraphNode* n : order) {
    const LayerIdentity* id = n->layer.identity.get();
    if (layer_of.count(id)) continue;
    layer_of[id] = int(layers.size());
    LayerSlot slot;
    slot.name = n->layer.name, slot.config = n->layer, slot.room = n->room;
    layers.push_back(std::move(slot));
  }
  for (LayerSlot& l : layers)
    if (!l.name.empty()) {
      if (names.count(l.name) || taken.count(l.name))
        throw Error("Model: two layers (or a layer and an input) are named '" + l.name +
                    "': names must be unique");
      taken[l.name] = 1;
    }
  std::map<std::string, int> counters;
  for (LayerSlot& l : layers) {
    if (!l.name.empty()) continue;
    const std::string base = snake(l.room->keras_class(l.config));
    do {
      const int k = counters[base]++;
      l.name = k == 0 ? base : base + "_" + std::to_string(k);
    } while (taken.count(l.name) || names.count(l.name));
    taken[l.name] = 1;
  }
  // Slots: every input, then every call's outputs.
  std::map<std::pair<const GraphNode*, int>, int> slot_of;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Slot s;
    s.spec = inputs[k]->outputs[0];
    if (inputs[k]->read_as_ids) {  // token ids: one per step, (T, B, 1)
      s.spec.seq = true, s.spec.ids = true, s.spec.F = 1, s.spec.steps = inputs[k]->input_shape[0];
      s.spec.time_of = s.spec.steps == 0 ? inputs[k] : nullptr;
    }
    s.input = int(k);
    slot_of[{inputs[k], 0}] = int(slots.size());
    slots.push_back(std::move(s));
  }
  std::map<const LayerIdentity*, int> calls_so_far;
  for (GraphNode* n : order) {
    const int layer = layer_of[n->layer.identity.get()];
    n->call_number = ++calls_so_far[n->layer.identity.get()];
    const std::string type = n->layer.kind.empty() ? layer_type_name(n->layer.type) : n->room->type();
    n->where = chain ? "layer " + std::to_string(layer) + " (" + type + ")"
                     : "layer '" + layers[size_t(layer)].name + "' (" + type + ")";
    if (n->layer.name.empty()) n->layer.name = layers[size_t(layer)].name;  // Keras: named once
    Step st{n, layer, nullptr, {}, {}};
    Call call{n->layer, {}, {}, {}, n->where};
    for (const auto* list : {&n->inputs, &n->states})
      for (const SymbolicTensor& t : *list) {
        const int s = slot_of.at({t.node().get(), t.index()});
        st.in.push_back(s);
        (list == &n->inputs ? call.inputs : call.states).push_back(slots[size_t(s)].spec);
        if (list == &n->inputs) call.input_nodes.push_back(t.node().get());
      }
    st.op = n->room->make(call);
    for (size_t k = 0; k < n->outputs.size(); ++k) {
      slot_of[{n, int(k)}] = int(slots.size());
      st.out.push_back(int(slots.size()));
      Slot s;
      s.spec = n->outputs[k];
      slots.push_back(std::move(s));
    }
    layers[size_t(layer)].steps.push_back(int(steps.size()));
    steps.push_back(std::move(st));
  }
  for (const Step& st : steps) {
    if (!st.node->layer.stateful) continue;
    for (const GraphNode* in : inputs) {
      if (in->batch_size <= 0 || (stateful_batch && in->batch_size != stateful_batch))
        throw Error(st.node->where + " is stateful, so the model needs one fixed batch size: each "
                    "row's state goes on in the same row of the next batch. Give every Input the "
                    "same batch_size (Keras: batch_shape); input '" + in->input_name + "' has " +
                    (in->batch_size > 0 ? std::to_string(in->batch_size) : std::string("none")));
      if (in->padding != GraphNode::Padding::none)
        throw Error(st.node->where + " is stateful, so every row runs all T steps, but input '" +
                    in->input_name + "' is padded (read by Embedding(mask_zero) or Masking), "
                    "which would reorder the rows: give unpadded sequences");
      stateful_batch = in->batch_size;
    }
  }
  for (const SymbolicTensor& t : outs) {
    const int s = slot_of.at({t.node().get(), t.index()});
    if (std::find(output_slots.begin(), output_slots.end(), s) != output_slots.end())
      throw Error("Model: " + t.name() + " is listed twice among the outputs");
    if (slots[size_t(s)].input >= 0)
      throw Error("Model: an output is the input " + t.name() + " itself: outputs are layer calls");
    output_slots.push_back(s);
  }
  outputs = outs;
  fuse_token_inputs();
  find_trimmable_inputs();
  // Parameters: layer after layer; each layer's tensors as its first call lists them.
  int64_t total = 0;
  for (size_t li = 0; li < layers.size(); ++li) {
    LayerSlot& l = layers[li];
    const Op& op = *steps[size_t(l.steps[0])].op;
    l.tensors = op.param_tensors();
    l.offset = total;
    l.count = op.param_count();
    // from a file: every tensor the layer needs is there with its shape before anything is
    // allocated (and before the limit, so a file's wrong shape is named as such), so a file
    // cannot make the model allocate more than it holds
    for (const ParamTensor& t : l.tensors) {
      if (!weight_source) break;
      const std::string name = tensor_prefix(li) + "." + t.name;
      auto found = weight_source->by_name.find(name);
      const char* described = chain ? "config" : "graph";  // what the file describes the model with
      if (found == weight_source->by_name.end())
        throw Error("'" + weight_source->path + "' lacks tensor '" + name + "' " + shape_string(t.shape) +
                    ", which " + steps[size_t(l.steps[0])].node->where + " of its " + described + " needs");
      if (found->second->shape != t.shape)
        throw Error("'" + weight_source->path + "': tensor '" + name + "' has shape " +
                    shape_string(found->second->shape) + " but the " + described + " says " +
                    shape_string(t.shape));
    }
    const int64_t limit = param_limit > 0 ? param_limit : graph_param_limit;
    if (l.count > limit - total)  // widths are at most 2^24, so count did not overflow
      throw Error(steps[size_t(l.steps[0])].node->where + " would bring the model to " +
                  std::to_string(total + l.count) + " parameters (" + gigabytes(total + l.count) +
                  "), more than the limit of " + std::to_string(limit) + " parameters (" +
                  gigabytes(limit) + "): use fewer units");
    total += l.count;
  }
  try {
    params.assign(size_t(total), 0.0f);
    bind_all();
  } catch (const std::bad_alloc&) {
    params = {}, grads = {};
    throw Error("Model: out of memory allocating the weights: " + std::to_string(total) +
                " parameters and their gradients, " + std::to_string(double(total) * 8.0 / 1e9) +
                " GB: use fewer units");
  }
  if (kept_weights) std::copy_n(kept_weights->begin(), std::min(kept_weights->size(), params.size()), params.begin());
  for (size_t li = 0; li < layers.size(); ++li) {
    const LayerSlot& l = layers[li];
    if (!weight_source) {
      if (!kept_weights || l.offset + l.count > int64_t(kept_weights->size()))
        steps[size_t(l.steps[0])].op->init(rng);
      continue;
    }
    for (const ParamTensor& t : l.tensors) {
      const NamedTensor& src = *weight_source->by_name.at(tensor_prefix(li) + "." + t.name);
      std::copy(src.data.begin(), src.data.end(), params.begin() + l.offset + t.offset);
    }
  }
  weights_changed();
}

void Model::Impl::bind_all() {
  grads.assign(params.size(), 0.0f);
  for (Step& s : steps) {
    const LayerSlot& l = layers[size_t(s.layer)];
    s.op->bind(params.data() + l.offset, grads.data() + l.offset);
  }
}

Model::Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, ModelOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->rng.reseed(options.seed);
  impl_->build(inputs, outputs);
}
Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Model build_model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
                  ModelOptions options, const WeightSource* source) {
  auto impl = std::make_unique<Model::Impl>();
  impl->options = options;
  impl->rng.reseed(options.seed);
  impl->weight_source = source;
  impl->build(inputs, outputs);
  impl->weight_source = nullptr;
  return Model(std::move(impl));
}

Model build_chain(const SymbolicTensor& input, const SymbolicTensor& output, ModelOptions options,
                  const Rng& rng, const WeightSource* source, const std::vector<float>* keep,
                  int64_t param_limit) {
  auto impl = std::make_unique<Model::Impl>();
  impl->options = options;
  impl->rng = rng;
  impl->chain = true;
  impl->kept_weights = keep;
  impl->param_limit = param_limit;
  impl->weight_source = source;
  impl->build({input}, {output});
  impl->weight_source = nullptr, impl->kept_weights = nullptr;
  return Model(std::move(impl));
}

// The graph of a built model as the file keeps it (docs/file-format.md): inputs, layers, the
// calls in their order, outputs.
nlohmann::json graph_to_json(const Model& model) {
  const Model::Impl& m = const_cast<Model&>(model).impl();
  nlohmann::json inputs = nlohmann::json::array(), layers = nlohmann::json::array(),
                 calls = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const GraphNode* in : m.inputs) {
    inputs.push_back({{"name", in->input_name}, {"shape", in->input_shape}, {"batch_size", in->batch_size}});
    if (in->given_lengths) inputs.back()["lengths"] = true;
  }
  for (const LayerSlot& l : m.layers) {
    LayerConfig c = l.config;
    c.input_shape.clear(), c.batch_size = 0;  // an Input's business in a graph
    layers.push_back({{"name", l.name}, {"config", layer_config_to_file(c)}});
  }
  // a tensor by where it comes from: {"input": k} or {"call": i, "output": k}
  std::map<int, nlohmann::json> ref;
  for (size_t k = 0; k < m.inputs.size(); ++k) ref[int(k)] = {{"input", k}};
  for (size_t i = 0; i < m.steps.size(); ++i)
    for (size_t k = 0; k < m.steps[i].out.size(); ++k) ref[m.steps[i].out[k]] = {{"call", i}, {"output", k}};
  for (const Step& st : m.steps) {
    nlohmann::json in = nlohmann::json::array(), states = nlohmann::json::array();
    const size_t data = st.node->inputs.size();
    for (size_t j = 0; j < st.in.size(); ++j) (j < data ? in : states).push_back(ref.at(st.in[j]));
    nlohmann::json call = {{"layer", st.layer}, {"inputs", in}};
    if (!states.empty()) call["initial_state"] = states;
    calls.push_back(call);
  }
  for (int s : m.output_slots) outputs.push_back(ref.at(s));
  return {{"name", m.options.name}, {"inputs", inputs}, {"layers", layers}, {"calls", calls},
          {"outputs", outputs}};
}

Model::Model(std::vector<SymbolicTensor> inputs, SymbolicTensor output, ModelOptions options)
    : Model(std::move(inputs), std::vector<SymbolicTensor>{std::move(output)}, options) {}
Model::Model(SymbolicTensor input, SymbolicTensor output, ModelOptions options)
    : Model(std::vector<SymbolicTensor>{std::move(input)}, std::vector<SymbolicTensor>{std::move(output)}, options) {}
Model::Model(SymbolicTensor input, std::vector<SymbolicTensor> outputs, ModelOptions options)
    : Model(std::vector<SymbolicTensor>{std::move(input)}, std::move(outputs), options) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

void Model::compile(const Optimizer& optimizer, const Loss& loss, CompileOptions options) {
  compile(optimizer, std::vector<Loss>(impl_->output_slots.size(), loss), std::move(options));
}

void Model::compile(const Optimizer& optimizer, std::vector<Loss> losses, CompileOptions options) {
  Impl& m = *impl_;
  const size_t n = m.output_slots.size();
  if (losses.size() != n)
    throw Error("compile: " + std::to_string(losses.size()) + " losses for " + std::to_string(n) +
                " outputs: give one loss, or one per output");
  if (!options.loss_weights.empty() && options.loss_weights.size() != n)
    throw Error("compile: " + std::to_string(options.loss_weights.size()) + " loss_weights for " +
                std::to_string(n) + " outputs: give one per output");
  for (double w : options.loss_weights)
    if (!std::isfinite(w) || w < 0.0)
      throw Error("compile: loss_weights must be finite and >= 0, got " + std::to_string(w));
  for (size_t k = 0; k < n; ++k) {
    const Slot& s = m.slots[size_t(m.output_slots[k])];
    loss_check_options(losses[k]);
    if (losses[k].kind == LossKind::scce && s.spec.F < 2)
      throw Error("compile: output " + m.outputs[k].name() + " has " + std::to_string(s.spec.F) +
                  " unit, but sparse categorical cross-entropy needs one unit per class (at least 2)");
    if (losses[k].kind == LossKind::ctc && (!s.spec.seq || s.spec.F < 2))
      throw Error("compile: output " + m.outputs[k].name() + " is " + spec_string(s.spec) +
                  ", but the CTC loss needs a sequence of logits over the blank and at least one label "
                  "([T, C], C >= 2): return_sequences = true on the last recurrent layer, then Dense(C)");
  }
  optimizer_check(optimizer);
  m.optimizer = optimizer;
  m.compiled_learning_rate = optimizer.learning_rate;
  m.losses = std::move(losses);
  m.loss_weights = options.loss_weights.empty() ? std::vector<double>(n, 1.0) : options.loss_weights;
  const std::vector<std::string> names = output_names();
  for (const auto& [name, list] : options.output_metrics)
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string known;
      for (const std::string& o : names) known += (known.empty() ? "" : ", ") + o;
      throw Error("compile: output_metrics names output '" + name + "', but the outputs are " + known);
    }
  m.metrics.clear();
  for (size_t k = 0; k < n; ++k) {
    std::vector<std::string> wanted = options.metrics;
    if (auto it = options.output_metrics.find(names[k]); it != options.output_metrics.end())
      wanted.insert(wanted.end(), it->second.begin(), it->second.end());
    m.metrics.push_back(metric_states(
        resolve_metrics(wanted, m.losses[k], m.slots[size_t(m.output_slots[k])].spec.F,
                        "compile (output " + names[k] + ")"),
        m.losses[k]));
  }
  m.compiled = true;
  m.opt_state = OptimizerState{};
  m.plan_B = 0, m.plan_T.clear(), m.plan_grad = false;  // the targets' widths follow the losses
}

// ---- data ------------------------------------------------------------------------------------

std::vector<Tensor> Model::Impl::as_rows(const TensorList& x, bool for_outputs) const {
  std::vector<Tensor> views;
  for (size_t k = 0; k < x.size(); ++k) {
    const Tensor& t = x[k];
    if (t.size() == 0) {  // an unset tensor (validation_x) or one with a zero axis: as it is
      views.push_back(t.rank() == 0 ? Tensor() : Tensor::view(t.shape(), nullptr));
      continue;
    }
    float* data = const_cast<float*>(t.data());  // read only: the views are the caller's data
    const size_t n = for_outputs ? output_slots.size() : inputs.size();
    const ValueSpec* s =
        k < n ? &slots[size_t(for_outputs ? output_slots[k] : int(k))].spec : nullptr;
    const int64_t rank = s && s->seq ? 5 : 4;
    if (s && !s->image.empty() && t.rank() == rank &&
        std::equal(s->image.begin(), s->image.end(), t.shape().end() - 3)) {
      std::vector<int64_t> shape(t.shape().begin(), t.shape().end() - 3);
      shape.push_back(s->F);
      views.push_back(Tensor::view(shape, data));
    } else {
      views.push_back(Tensor::view(t.shape(), data));
    }
  }
  return views;
}

void Model::Impl::check_x(const TensorList& x) const {
  if (x.size() != inputs.size()) {
    std::string list;
    for (const GraphNode* in : inputs) list += (list.empty() ? "" : ", ") + in->input_name;
    throw Error("the model has " + std::to_string(inputs.size()) + " input" +
                (inputs.size() == 1 ? "" : "s") + " (" + list + ") but " + std::to_string(x.size()) +
                " tensor" + (x.size() == 1 ? " was" : "s were") + " given: one per input, in that order");
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    const GraphNode& in = *inputs[k];
    const Tensor& t = x[k];
    const Slot& s = slots[k];
    const std::string name = "input '" + in.input_name + "'";
    const std::string want = spec_string(s.spec);
    const int rank = s.spec.ids || !s.spec.seq ? 2 : 3;
    if (t.rank() != rank || (!s.spec.ids && t.dim(-1) != s.spec.F))
      throw Error(name + " has shape " + t.shape_string() + " but the model expects " + want);
    if (s.spec.seq && s.spec.steps > 0 && t.dim(1) != s.spec.steps)
      throw Error(name + " has shape " + t.shape_string() + " but the model expects " + want);
    if (s.spec.seq && t.dim(1) == 0) throw Error(name + ": sequences need at least one time step");
    if (t.dim(0) == 0) throw Error(name + " has no samples");
    if (t.dim(0) != x[0].dim(0))
      throw Error(name + " has " + std::to_string(t.dim(0)) + " samples but input '" +
                  inputs[0]->input_name + "' has " + std::to_string(x[0].dim(0)) +
                  ": every input needs one entry per sample");
    check_finite(t, name);
  }
  // token ids: integers below every Embedding's vocabulary that reads them
  for (const Step& st : steps) {
    if (st.node->layer.type != LayerType::embedding || !st.node->layer.kind.empty()) continue;
    const int k = slots[size_t(st.in[0])].input;
    const Tensor& t = x[size_t(k)];
    const int64_t V = st.node->layer.input_dim;
    for (int64_t i = 0; i < t.size(); ++i)
      if (t[i] < 0.0f || t[i] >= float(V) || t[i] != std::floor(t[i]))
        throw Error("input '" + inputs[size_t(k)]->input_name + "'[" + std::to_string(i / t.dim(1)) +
                    ", " + std::to_string(i % t.dim(1)) + "] = " + std::to_string(t[i]) +
                    " is not a token id: " + st.node->where + " takes integers 0.." +
                    std::to_string(V - 1));
  }
}

int64_t Model::Impl::out_steps(size_t k, const TensorList& x) const {
  const ValueSpec& s = slots[size_t(output_slots[k])].spec;
  if (!s.seq) return 1;
  if (s.steps > 0) return s.steps;
  return x[size_t(input_index(s.time_of))].dim(1);
}

void Model::Impl::check_y(const TensorList& x, const TensorList& y) const {
  if (y.size() != output_slots.size())
    throw Error("the model has " + std::to_string(output_slots.size()) + " output" +
                (output_slots.size() == 1 ? "" : "s") + " but " + std::to_string(y.size()) +
                " target tensor" + (y.size() == 1 ? " was" : "s were") + " given: one per output");
  const int64_t N = x[0].dim(0);
  for (size_t k = 0; k < output_slots.size(); ++k) {
    const ValueSpec& s = slots[size_t(output_slots[k])].spec;
    if (losses[k].kind == LossKind::ctc) {  // label sequences: [N, L], checked with the lengths
      if (y[k].rank() != 2 || y[k].dim(0) != N)
        throw Error("the target of output " + outputs[k].name() + " has shape " + y[k].shape_string() +
                    " but the CTC loss takes label sequences [N, L] (N = " + std::to_string(N) +
                    "): label ids 1.." + std::to_string(s.F - 1) + ", each row right-padded with 0");
      check_finite(y[k], "the target of output " + outputs[k].name());
      continue;
    }
    const int64_t W = loss_target_width(losses[k], s.F);
    std::vector<int64_t> want = {N, out_steps(k, x), W};
    if (!s.seq) want.erase(want.begin() + 1);
    std::vector<int64_t> also = want;
    if (W == 1) also.pop_back();
    const std::string name = "the target of output " + outputs[k].name();
    if (y[k].shape() != want && y[k].shape() != also)
      throw Error(name + " has shape " + y[k].shape_string() + " but the output is " +
                  spec_string(s) + ", so it needs " + shape_string(want));
    check_finite(y[k], name);
    loss_check_targets(losses[k], y[k].data(), y[k].size(), s.F, name.c_str());
  }
}

void Model::Impl::check_ctc_targets(const TensorList& x, const TensorList& y,
                                    const std::vector<std::vector<int64_t>>& lengths) const {
  for (size_t k = 0; k < output_slots.size(); ++k) {
    if (losses[k].kind != LossKind::ctc) continue;
    const ValueSpec& s = slots[size_t(output_slots[k])].spec;
    const int m = s.mask_of ? input_index(s.mask_of) : -1;
    const std::vector<int64_t>* L = m >= 0 && !lengths[size_t(m)].empty() ? &lengths[size_t(m)] : nullptr;
    const int64_t steps = out_steps(k, x);
    const std::string name = "the target of output " + outputs[k].name();
    ctc_check_targets(y[k].data(), y[k].dim(0), y[k].dim(1), s.F,
                      [&](int64_t n) { return L ? (*L)[size_t(n)] : steps; }, name.c_str());
  }
}

std::vector<std::vector<int64_t>> Model::Impl::input_lengths(const TensorList& x,
                                                            std::span<const int64_t> given) const {
  std::vector<std::vector<int64_t>> out(inputs.size());
  int flagged = -1;
  for (size_t k = 0; k < inputs.size(); ++k)
    if (inputs[k]->given_lengths) {
      if (flagged >= 0 && !given.empty())
        throw Error("inputs '" + inputs[size_t(flagged)]->input_name + "' and '" + inputs[k]->input_name +
                    "' both take lengths, so one list of lengths is ambiguous: pad them and read them "
                    "with Masking or Embedding(mask_zero) instead");
      flagged = int(k);
    }
  if (!given.empty() && flagged < 0)
    throw Error("lengths were given, but no input takes them: make the sequence input with "
                "lstm::Input(shape, {.lengths = true}), or pad and read it with Masking");
  for (size_t k = 0; k < inputs.size(); ++k) {
    const GraphNode& in = *inputs[k];
    const Tensor& t = x[k];
    const std::string name = "input '" + in.input_name + "'";
    if (in.padding == GraphNode::Padding::zero_id) {
      const int64_t T = t.dim(1);
      out[k] = lengths_from_padding(t.dim(0), T, [&](int64_t n, int64_t s) { return t[n * T + s] == 0.0f; },
                                    name.c_str(), "token 0, with mask_zero");
    } else if (in.padding == GraphNode::Padding::value) {
      const int64_t T = t.dim(1), F = t.dim(2);
      out[k] = lengths_from_padding(t.dim(0), T, [&](int64_t n, int64_t s) {
        for (int64_t f = 0; f < F; ++f)
          if (t[(n * T + s) * F + f] != in.pad_value) return false;
        return true;
      }, name.c_str(), "every feature " + std::to_string(in.pad_value) + ", Masking");
    }
  }
  if (flagged >= 0 && !given.empty()) {
    const Tensor& t = x[size_t(flagged)];
    const std::string name = "input '" + inputs[size_t(flagged)]->input_name + "'";
    const int64_t N = t.dim(0), T = t.dim(1);
    if (int64_t(given.size()) != N)
      throw Error("lengths has " + std::to_string(given.size()) + " entries but " + name + " has " +
                  std::to_string(N) + " samples: give one length per sample");
    std::vector<int64_t>& found = out[size_t(flagged)];
    for (int64_t n = 0; n < N; ++n) {
      const int64_t L = given[size_t(n)];
      if (L < 1 || L > T)
        throw Error("lengths[" + std::to_string(n) + "] = " + std::to_string(L) + " is out of range: " +
                    name + " has " + std::to_string(T) + " steps, so a length must be in 1.." + std::to_string(T));
      if (!found.empty() && found[size_t(n)] != L)
        throw Error("lengths[" + std::to_string(n) + "] = " + std::to_string(L) + " but the padding of " +
                    name + " says " + std::to_string(found[size_t(n)]) +
                    ": give lengths or padding that agree, or only one of them");
    }
    found.assign(given.begin(), given.end());
  }
  return out;
}

// ---- batches ---------------------------------------------------------------------------------

void Model::Impl::gather(const TensorList& x, const std::vector<std::vector<int64_t>>& lengths,
                         const int64_t* idx, int64_t batch, Trim trim) {
  B = batch;
  rows.assign(idx, idx + B);
  primary = -1;
  for (size_t k = 0; k < inputs.size() && primary < 0; ++k)
    if (!lengths[k].empty()) primary = int(k);
  if (primary >= 0) {  // longest first by the first mask: its rows running at step t are a prefix
    const std::vector<int64_t>& L = lengths[size_t(primary)];
    std::stable_sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return L[size_t(a)] > L[size_t(b)]; });
  }
  input_T = steps_of(x);
  for (size_t k = 0; trim != Trim::none && k < inputs.size(); ++k) {
    if (lengths[k].empty() || !(trim == Trim::for_loss ? trim_for_loss[k] : trim_for_outputs[k])) continue;
    int64_t longest = 1;
    for (int64_t b = 0; b < B; ++b) longest = std::max(longest, lengths[k][size_t(rows[size_t(b)])]);
    input_T[k] = longest;
  }
  ensure_plan(B, input_T, false);
  batch_lengths.assign(inputs.size(), {});
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = x[k];
    Slot& s = slots[k];
    const int64_t T = input_T[k], W = s.spec.F, stride = s.spec.seq ? t.dim(1) : 1;  // x's own steps
    for (int64_t b = 0; b < B; ++b)
      for (int64_t step = 0; step < T; ++step)
        std::memcpy(s.data + (step * B + b) * W, t.data() + (rows[size_t(b)] * stride + step) * W,
                    sizeof(float) * size_t(W));
    if (!lengths[k].empty())
      for (int64_t r : rows) batch_lengths[k].push_back(lengths[k][size_t(r)]);
  }
  if (primary >= 0) primary_active = rows_running(batch_lengths[size_t(primary)], input_T[size_t(primary)]);
  // every slot's view: its steps and its mask
  for (Slot& s : slots) {
    Value& v = s.value;
    v.seq = s.spec.seq, v.F = s.spec.F;
    v.T = slot_steps(s, input_T);
    v.lengths = nullptr, v.active = nullptr;
    if (s.spec.mask_of) {
      const int k = input_index(s.spec.mask_of);
      if (!batch_lengths[size_t(k)].empty()) {
        v.lengths = batch_lengths[size_t(k)].data();
        if (k == primary) v.active = primary_active.data();
      }
    }
    v.data = s.data;
  }
}

// A batch of a masked input may stop at its longest sequence when nothing can see the steps it
// drops. An input of any length: when every output on its steps has its mask (for the loss),
// or no output is on its steps (for predict). An input of a fixed length (Embedding(mask_zero)
// over input_shape {100}, the seed's way) also needs every sequence computed from it to be on
// its steps with its mask and to meet no other sequence, so that each can run fewer steps; a
// layer that drops the mask, makes steps of its own (RepeatVector) or joins another input's
// sequence (Concatenate, Attention) keeps the whole length.
void Model::Impl::find_trimmable_inputs() {
  trim_for_loss.assign(inputs.size(), 0), trim_for_outputs.assign(inputs.size(), 0);
  for (size_t k = 0; k < inputs.size(); ++k) {
    const GraphNode* in = inputs[k];
    if (!slots[k].spec.seq || (in->padding == GraphNode::Padding::none && !in->given_lengths)) continue;
    const int64_t fixed = slots[k].spec.steps;
    std::vector<char> from(slots.size(), 0);  // computed from input k
    from[k] = 1;
    bool follows = true;  // fixed: every sequence computed from it is on its steps, masked
    for (const Step& st : steps) {
      bool reads = false, meets = false;  // meets: a sequence from elsewhere
      for (int s : st.in) {
        reads = reads || from[size_t(s)];
        meets = meets || (!from[size_t(s)] && slots[size_t(s)].spec.seq);
      }
      if (!reads) continue;
      if (meets) follows = false;
      for (int s : st.out) {
        from[size_t(s)] = 1;
        const ValueSpec& o = slots[size_t(s)].spec;
        if (o.seq && (o.mask_of != in || o.steps != fixed)) follows = false;
      }
    }
    if (fixed > 0 && !follows) continue;
    bool masked = true, none = true;
    for (int o : output_slots) {
      const ValueSpec& out = slots[size_t(o)].spec;
      const bool on_its_steps = out.seq && (fixed > 0 ? from[size_t(o)] != 0 : out.steps == 0 && out.time_of == in);
      if (on_its_steps) none = false;
      if (on_its_steps && out.mask_of != in) masked = false;
    }
    trim_for_loss[k] = masked, trim_for_outputs[k] = none;
    if (fixed > 0)
      for (size_t s = 0; s < slots.size(); ++s)
        if (from[s] && slots[s].spec.seq) slots[s].time_input = int(k);
  }
}

// Token fusion (layers/token_input.h): an Embedding without mask_zero whose output is read by
// the first input of one call only, and is not a model output, hands that call its ids and
// table when the call can take them (the seed's LSTM reading forward, without input dropout).
void Model::Impl::fuse_token_inputs() {
  for (Step& embedding : steps) {
    TokenInput* tokens = embedding.op->token_output();
    if (!tokens || embedding.out.size() != 1) continue;
    const int s = embedding.out[0];
    if (std::find(output_slots.begin(), output_slots.end(), s) != output_slots.end()) continue;
    Step* reader = nullptr;
    int reads = 0;
    for (Step& st : steps)
      for (size_t j = 0; j < st.in.size(); ++j)
        if (st.in[j] == s) ++reads, reader = j == 0 ? &st : nullptr;
    if (reads == 1 && reader && reader->op->read_tokens(*tokens)) tokens->taken = true;
  }
}

// ---- memory: one plan for every buffer of a pass (layers/workspace.h) ------------------------

std::vector<int64_t> Model::Impl::steps_of(const TensorList& x) const {
  std::vector<int64_t> T(inputs.size(), 1);
  for (size_t k = 0; k < inputs.size(); ++k)
    if (slots[k].spec.seq) T[k] = x[k].dim(1);
  return T;
}

int64_t Model::Impl::slot_steps(const Slot& s, const std::vector<int64_t>& input_T) const {
  if (!s.spec.seq) return 1;
  if (s.time_input >= 0) return input_T[size_t(s.time_input)];
  return s.spec.steps > 0 ? s.spec.steps : input_T[size_t(input_index(s.spec.time_of))];
}

void Model::Impl::declare_memory(int64_t B, const std::vector<int64_t>& input_T, Workspace& ws,
                                 std::vector<std::array<int64_t, 2>>* per_layer) {
  // What a plan tells an op of masks (op.h): lengths where a tensor may have them, active
  // where they then always come sorted (the mask of the first input that can have one).
  static const int64_t may_be_masked = 0;
  int first_masked = -1;
  for (size_t k = 0; k < inputs.size() && first_masked < 0; ++k)
    if (inputs[k]->given_lengths || inputs[k]->padding != GraphNode::Padding::none) first_masked = int(k);
  std::vector<Value> shape(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    Slot& s = slots[i];
    Value& v = shape[i];
    v.seq = s.spec.seq, v.F = s.spec.F, v.T = slot_steps(s, input_T);
    const int k = s.spec.mask_of ? input_index(s.spec.mask_of) : -1;
    if (k >= 0 && (inputs[size_t(k)]->given_lengths || inputs[size_t(k)]->padding != GraphNode::Padding::none)) {
      v.lengths = &may_be_masked;
      if (k == first_masked) v.active = &may_be_masked;
    }
    s.data = ws.kept.take(v.size(B));
    s.grad = s.input < 0 ? ws.grad.take(v.size(B)) : nullptr;
  }
  // a call's j-th input gradient to add: as large as any call's j-th input
  std::vector<int64_t> scratch_size;
  for (const Step& st : steps)
    for (size_t j = 0; j < st.in.size(); ++j) {
      if (scratch_size.size() <= j) scratch_size.push_back(0);
      scratch_size[j] = std::max(scratch_size[j], shape[size_t(st.in[j])].size(B));
    }
  scratch.assign(scratch_size.size(), nullptr);
  for (size_t j = 0; j < scratch_size.size(); ++j) scratch[j] = ws.grad.take(scratch_size[j]);
  int64_t target_size = 0;
  for (size_t k = 0; k < output_slots.size(); ++k) {
    const Value& v = shape[size_t(output_slots[k])];
    target_size = std::max(target_size, v.rows(B) * loss_target_width(losses.empty() ? loss::mse : losses[k], v.F));
  }
  target = ws.kept.take(target_size);
  if (per_layer) {
    per_layer->assign(layers.size() + 1, {0, 0});
    per_layer->back() = {ws.kept.floats(), ws.grad.floats()};
  }
  const Pass pass{B, true, nullptr};
  for (Step& st : steps) {
    in.clear(), out.clear();
    for (int s : st.in) in.push_back(shape[size_t(s)]);
    for (int s : st.out) out.push_back(shape[size_t(s)]);
    const int64_t kept0 = ws.kept.floats(), grad0 = ws.grad.floats();
    st.op->plan(pass, in, out, ws);
    if (!per_layer) continue;
    (*per_layer)[size_t(st.layer)][0] += ws.kept.floats() - kept0;
    (*per_layer)[size_t(st.layer)][1] += ws.grad.floats() - grad0;
  }
}

void Model::Impl::ensure_plan(int64_t B, const std::vector<int64_t>& input_T, bool grad) {
  bool covered = B <= plan_B && (!grad || plan_grad) && plan_T.size() == input_T.size();
  for (size_t k = 0; covered && k < input_T.size(); ++k) covered = input_T[k] <= plan_T[k];
  if (covered) return;
  // the union of the two shapes, so that a plan never shrinks under a later, smaller batch
  const int64_t new_B = std::max(plan_B, B);
  std::vector<int64_t> new_T(input_T.size(), 0);
  for (size_t k = 0; k < input_T.size(); ++k)
    new_T[k] = std::max(k < plan_T.size() ? plan_T[k] : 0, input_T[k]);
  const bool new_grad = plan_grad || grad;
  try {
    memory.plan([&](Workspace& ws) { declare_memory(new_B, new_T, ws); }, new_grad);
  } catch (...) {  // too large: the plan in hand stays (measuring left null pointers behind)
    bind_plan();
    throw;
  }
  plan_B = new_B, plan_T = std::move(new_T), plan_grad = new_grad;
  for (Slot& s : slots) s.value.data = s.data;
}

void Model::Impl::bind_plan() {
  if (plan_B == 0) return;  // nothing planned: the pointers stay null
  memory.plan([&](Workspace& ws) { declare_memory(plan_B, plan_T, ws); }, plan_grad);
  for (Slot& s : slots) s.value.data = s.data;
}

std::vector<std::array<int64_t, 2>> Model::Impl::memory_by_layer(int64_t B, const std::vector<int64_t>& input_T) {
  std::vector<std::array<int64_t, 2>> out;
  Workspace measure;
  try {
    declare_memory(B, input_T, measure, &out);
  } catch (...) {
    bind_plan();
    throw;
  }
  bind_plan();  // measuring left null pointers behind: the plan in hand, at the same addresses
  return out;
}

void Model::Impl::forward(bool training) {
  Pass pass{B, training, &rng};
  for (Step& st : steps) {
    in.clear(), out.clear();
    for (int s : st.in) in.push_back(slots[size_t(s)].value);
    for (int s : st.out) out.push_back(slots[size_t(s)].value);
    st.op->forward(pass, in, out);
  }
}

// The mean loss of output value v against targets (steps, B, W), over valid steps only when v
// has a mask; dpred (when not null) = ∂(mean)/∂v.
static double output_loss(const Loss& loss, const Value& v, int64_t B, const float* target,
                          float* dpred, std::vector<MetricState>& metrics) {
  const int64_t E = v.F, W = loss_target_width(loss, E);
  if (!v.seq || !v.lengths) {
    for (MetricState& m : metrics) m.update(v.data, target, v.rows(B), E);
    return loss_forward_backward(loss, v.data, target, v.rows(B), E, dpred);
  }
  int64_t valid = 0;
  for (int64_t b = 0; b < B; ++b) valid += v.lengths[b];
  if (dpred) std::memset(dpred, 0, sizeof(float) * size_t(v.size(B)));
  if (valid == 0) return 0.0;  // every row all padding: no step to score
  double value = 0.0;
  const float share = float(1.0 / double(valid));
  for (int64_t t = 0; t < v.T; ++t) {
    if (v.active) {  // rows sorted: the valid ones are a prefix
      const int64_t n = v.active[t], row = t * B;
      if (n == 0) continue;
      float* d = dpred ? dpred + row * E : nullptr;
      value += loss_forward_backward(loss, v.data + row * E, target + row * W, n, E, d) * double(n) / double(valid);
      for (MetricState& m : metrics) m.update(v.data + row * E, target + row * W, n, E);
      for (int64_t k = 0; d && k < n * E; ++k) d[k] *= float(double(n) / double(valid));
      continue;
    }
    for (int64_t b = 0; b < B; ++b) {
      if (t >= v.lengths[b]) continue;
      const int64_t row = t * B + b;
      float* d = dpred ? dpred + row * E : nullptr;
      value += loss_forward_backward(loss, v.data + row * E, target + row * W, 1, E, d) / double(valid);
      for (MetricState& m : metrics) m.update(v.data + row * E, target + row * W, 1, E);
      for (int64_t k = 0; d && k < E; ++k) d[k] *= share;
    }
  }
  return value;
}

double Model::Impl::loss_and_backward(const TensorList& y, bool backward, std::vector<double>* per_output) {
  double total = 0.0;
  // the gradients' arena, when the plan in hand has none yet (what forward kept stays put)
  if (backward) ensure_plan(B, input_T, true);
  for (Slot& s : slots) s.written = false;
  for (size_t k = 0; k < output_slots.size(); ++k) {
    Slot& s = slots[size_t(output_slots[k])];
    const Value& v = s.value;
    if (losses[k].kind == LossKind::ctc) {  // whole label sequences, per sample
      const int64_t L = y[k].dim(1);
      if (int64_t(ctc_target.size()) < B * L) ctc_target.resize(size_t(B * L));
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(ctc_target.data() + b * L, y[k].data() + rows[size_t(b)] * L, sizeof(float) * size_t(L));
      float* d = backward ? s.grad : nullptr;
      const double value = ctc_batch_loss(v.data, v.T, B, v.F, v.lengths, ctc_target.data(), L, d);
      if (per_output) (*per_output)[k] += value * double(B);
      total += loss_weights[k] * value;
      if (d && loss_weights[k] != 1.0)
        for (int64_t i = 0; i < v.size(B); ++i) d[i] *= float(loss_weights[k]);
      s.written = backward;
      continue;
    }
    const int64_t W = loss_target_width(losses[k], v.F), steps_k = v.seq ? v.T : 1;
    const int64_t y_steps = v.seq ? y[k].dim(1) : 1;  // more than steps_k in a trimmed batch
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < steps_k; ++t)
        std::memcpy(target + (t * B + b) * W, y[k].data() + (rows[size_t(b)] * y_steps + t) * W,
                    sizeof(float) * size_t(W));
    float* d = backward ? s.grad : nullptr;
    const double value = output_loss(losses[k], v, B, target, d, metrics[k]);
    if (per_output) (*per_output)[k] += value * double(B);
    total += loss_weights[k] * value;
    if (d && loss_weights[k] != 1.0)
      for (int64_t i = 0; i < v.size(B); ++i) d[i] *= float(loss_weights[k]);
    s.written = backward;
  }
  if (!backward) return total;
  std::fill(grads.begin(), grads.end(), 0.0f);
  Pass pass{B, true, &rng};
  for (size_t i = steps.size(); i-- > 0;) {
    Step& st = steps[i];
    dout.clear();
    bool any = false;
    for (int s : st.out) {
      dout.push_back(slots[size_t(s)].written ? slots[size_t(s)].grad : nullptr);
      any = any || dout.back();
    }
    if (!any) continue;  // nothing reaches a loss through this call
    in.clear(), out.clear(), din.clear(), claimed.clear();
    for (int s : st.in) in.push_back(slots[size_t(s)].value);
    for (int s : st.out) out.push_back(slots[size_t(s)].value);
    add_to.assign(st.in.size(), -1);
    for (size_t j = 0; j < st.in.size(); ++j) {
      Slot& s = slots[size_t(st.in[j])];
      if (s.input >= 0) {  // a model input: no gradient needed, unless asked for
        if (input_grads) {
          std::fill(scratch[j], scratch[j] + s.value.size(B), 0.0f);  // an op may write none
          din.push_back(scratch[j]);
        } else {
          din.push_back(nullptr);
        }
        continue;
      }
      if (!s.written && std::find(claimed.begin(), claimed.end(), st.in[j]) == claimed.end()) {
        din.push_back(s.grad);
        claimed.push_back(st.in[j]);
      } else {
        din.push_back(scratch[j]);
        add_to[j] = st.in[j];
      }
    }
    st.op->backward(pass, in, out, dout, din);
    for (int s : claimed) slots[size_t(s)].written = true;
    for (size_t j = 0; j < st.in.size(); ++j) {
      const Slot& in_slot = slots[size_t(st.in[j])];
      if (input_grads && in_slot.input >= 0) {
        std::vector<float>& g = (*input_grads)[size_t(in_slot.input)];
        for (int64_t k = 0; k < in_slot.value.size(B); ++k) g[size_t(k)] += scratch[j][k];
      }
      if (add_to[j] < 0) continue;
      Slot& s = slots[size_t(add_to[j])];
      const int64_t n = s.value.size(B);
      for (int64_t k = 0; k < n; ++k) s.grad[k] += scratch[j][k];
    }
  }
  return total;
}

double Model::Impl::evaluate(const TensorList& x, const TensorList& y,
                             const std::vector<std::vector<int64_t>>& lengths, const int64_t* idx,
                             int64_t n, int64_t batch_size, std::vector<double>* per_output) {
  const double total = evaluate_sums(x, y, lengths, idx, n, batch_size, per_output, 0, 1);
  if (per_output)
    for (double& v : *per_output) v /= double(n);
  return total / double(n);
}

double Model::Impl::evaluate_sums(const TensorList& x, const TensorList& y,
                                  const std::vector<std::vector<int64_t>>& lengths, const int64_t* idx,
                                  int64_t n, int64_t batch_size, std::vector<double>* per_output, int part,
                                  int parts) {
  double total = 0.0;
  ThreadGovernor governor;  // fewer threads while other processes occupy cores (threads.h)
  for (int64_t start = batch_size * part; start < n; start += batch_size * parts) {
    const int64_t b = std::min(batch_size, n - start);
    governor.batch_begin();
    gather(x, lengths, idx + start, b, Trim::for_loss);
    forward(false);
    total += loss_and_backward(y, false, per_output) * double(b);
    governor.batch_end(double(b));
  }
  return total;
}

// ---- fit, predict, evaluate ------------------------------------------------------------------

static void check_batch_size(int64_t batch_size) {
  if (batch_size <= 0)
    throw Error("batch_size must be a positive integer, got " + std::to_string(batch_size));
}

namespace {

// The graph bound to the data of one fit() call, for the one training loop (train/fit_loop.h).
class GraphEngine final : public FitEngine {
 public:
  GraphEngine(Model& model, const FitOwner* owner, const TensorList& x, const TensorList& y, int64_t n_train,
              const TensorList* vx, const TensorList* vy, std::vector<int64_t> val_idx,
              std::vector<std::vector<int64_t>> lengths, std::vector<std::vector<int64_t>> val_lengths)
      : model_(model), owner_(owner), m_(model.impl()), x_(x), y_(y), lengths_(std::move(lengths)),
        val_lengths_(std::move(val_lengths)), n_train_(n_train), vx_(vx), vy_(vy),
        val_idx_(std::move(val_idx)), names_(model.output_names()) {
    for (size_t k = 0; k < y.size(); ++k)
      for (int64_t i = 0; i < y[k].size(); ++i) max_abs_y_ = std::max(max_abs_y_, std::fabs(double(y[k][i])));
  }

  Trainable& model() override { return owner_ ? *owner_->model : model_; }
  std::vector<float>& params() override { return m_.params; }
  std::vector<float>& grads() override { return m_.grads; }
  Optimizer& optimizer() override { return m_.optimizer; }
  OptimizerState& optimizer_state() override { return m_.opt_state; }
  float compiled_learning_rate() const override { return m_.compiled_learning_rate; }
  Rng& rng() override { return m_.rng; }
  const Loss& first_loss() const override { return m_.losses[0]; }
  double max_abs_target() const override { return max_abs_y_; }
  void weights_changed() override { m_.weights_changed(); }
  void params_replaced() override {
    m_.bind_all();
    m_.weights_changed();
  }

  int64_t train_samples() const override { return n_train_; }
  bool has_validation() const override { return vx_ != nullptr; }
  void epoch_begin() override {
    m_.reset_metrics();
    per_.assign(m_.output_slots.size(), 0.0);
  }
  std::vector<std::vector<int64_t>> bucket_keys() const override {
    std::vector<std::vector<int64_t>> keys(static_cast<size_t>(n_train_));
    for (const std::vector<int64_t>& L : lengths_)
      for (int64_t n = 0; !L.empty() && n < n_train_; ++n) keys[size_t(n)].push_back(L[size_t(n)]);
    return keys.empty() || keys[0].empty() ? std::vector<std::vector<int64_t>>{} : keys;
  }
  double train_batch(const int64_t* idx, int64_t B) override {
    m_.gather(x_, lengths_, idx, B, Model::Impl::Trim::for_loss);
    m_.forward(true);
    return m_.loss_and_backward(y_, true, &per_);
  }
  std::vector<MetricState*> metric_states() override {
    std::vector<MetricState*> out;
    for (auto& list : m_.metrics)
      for (MetricState& m : list) out.push_back(&m);
    return out;
  }
  std::vector<double>& output_loss_sums() override { return per_; }
  void add_train_logs(Logs& logs, int64_t n_train) override {
    for (size_t k = 0; per_.size() > 1 && k < per_.size(); ++k)
      logs[names_[k] + "_loss"] = per_[k] / double(n_train);
    m_.add_all_metrics("", names_, logs);
  }
  void validate(Logs& logs, int64_t batch_size, const Share& share) override {
    const int64_t n = int64_t(val_idx_.size());
    std::vector<double> per(m_.output_slots.size(), 0.0);
    m_.reset_metrics();
    std::vector<double> sums = {0.0};
    std::exception_ptr failure;  // shared: every rank must reach the addition, failed or not
    try {
      sums[0] = m_.evaluate_sums(*vx_, *vy_, val_lengths_, val_idx_.data(), n, batch_size, &per, share.part,
                                 share.parts);
    } catch (...) {
      if (!share.add) throw;
      failure = std::current_exception();
    }
    sums.insert(sums.end(), per.begin(), per.end());
    if (share.add) {
      sums.push_back(failure ? 1.0 : 0.0);
      share.add(sums, metric_states());
      if (failure) std::rethrow_exception(failure);
      if (sums.back() > 0.0)
        throw Error("another rank failed in a validation batch (its own error says why); every rank stops");
      sums.pop_back();
    }
    logs["val_loss"] = sums[0] / double(n);
    m_.add_all_metrics("val_", names_, logs);
    for (size_t k = 0; per.size() > 1 && k < per.size(); ++k) logs["val_" + names_[k] + "_loss"] = sums[k + 1] / double(n);
  }

  std::vector<std::vector<float>> carried_h() const override { return carried_h_of(m_.directions()); }
  std::vector<std::vector<float>> carried_c() const override { return carried_c_of(m_.directions()); }
  size_t directions() const override { return m_.directions().size(); }
  void restore_carried(std::vector<std::vector<float>> h, std::vector<std::vector<float>> c,
                       const std::string& path) override {
    restore_carried_states(m_.directions(), m_.stateful_batch, std::move(h), std::move(c), path);
  }

  SafetensorsFile model_file() const override {
    return owner_ ? owner_->file() : graph_model_to_safetensors(model_);
  }
  std::vector<float> weights_from_file(const SafetensorsFile& file, const std::string& path) override {
    if (owner_) return owner_->weights_from_file(file, path);
    Model saved = graph_model_from_safetensors(file, path);
    const std::string mine = graph_to_json(model_).dump(), theirs = graph_to_json(saved).dump();
    if (mine != theirs)
      throw Error("the checkpoint '" + path + "' is of a different model (" + theirs +
                  ") than this run's (" + mine + "): delete it or point --checkpoint elsewhere");
    return saved.get_weights();
  }

 private:
  Model& model_;
  const FitOwner* owner_;
  Model::Impl& m_;
  const TensorList& x_;
  const TensorList& y_;
  std::vector<std::vector<int64_t>> lengths_, val_lengths_;
  int64_t n_train_;
  const TensorList* vx_;
  const TensorList* vy_;
  std::vector<int64_t> val_idx_;
  std::vector<std::string> names_;
  std::vector<double> per_;  // the epoch's loss sums per output
  double max_abs_y_ = 0.0;
};

}  // namespace

History Model::fit(const TensorList& x, const TensorList& y, const FitOptions& o) {
  return fit_graph(*this, x, y, o, nullptr);
}

History fit_graph(Model& model, const TensorList& x_given, const TensorList& y_given,
                  const FitOptions& o, const FitOwner* owner) {
  Model::Impl& m = model.impl();
  if (!m.compiled) throw Error("fit() needs an optimizer and a loss: call compile() first");
  check_fit_options(o);
  std::vector<std::vector<int64_t>> lengths;
  const std::vector<Tensor> x_rows = m.as_rows(x_given, false), y_rows = m.as_rows(y_given, true);
  const std::vector<Tensor> vx_rows = m.as_rows(TensorList(o.validation_x), false);
  const std::vector<Tensor> vy_rows = m.as_rows(TensorList(o.validation_y), true);
  const TensorList x(x_rows), y(y_rows), val_x(vx_rows[0]), val_y(vy_rows[0]);
  distributed::check_shared([&] {  // in an MPI job each rank checks its share of the rows
    m.check_x(x);
    m.check_y(x, y);
    lengths = m.input_lengths(x, o.lengths);
    m.check_ctc_targets(x, y, lengths);
    if (o.validation_split == 0.0 && !o.validation_x.empty() && m.inputs.size() == 1 &&
        m.output_slots.size() == 1) {
      m.check_x(val_x);
      m.check_y(val_x, val_y);
    }
  });
  std::vector<std::vector<int64_t>> val_lengths;
  const int64_t N = x[0].dim(0);
  int64_t n_train = N;
  std::vector<int64_t> val_idx;
  const TensorList* vx = nullptr;
  const TensorList* vy = nullptr;
  if (o.validation_split > 0.0) {
    n_train = int64_t(std::floor(double(N) * (1.0 - o.validation_split)));
    if (n_train <= 0 || n_train >= N)
      throw Error("validation_split " + std::to_string(o.validation_split) + " of " + std::to_string(N) +
                  " samples leaves " + std::to_string(n_train) + " for training and " +
                  std::to_string(N - n_train) + " for validation: both need at least one");
    for (int64_t k = n_train; k < N; ++k) val_idx.push_back(k);
    vx = &x, vy = &y;
    val_lengths = lengths;
  } else if (!o.validation_x.empty()) {
    if (m.inputs.size() != 1 || m.output_slots.size() != 1)
      throw Error("validation_x/validation_y are one tensor each, but the model has " +
                  std::to_string(m.inputs.size()) + " inputs and " +
                  std::to_string(m.output_slots.size()) + " outputs: use validation_split");
    val_lengths = m.input_lengths(val_x, o.validation_lengths);
    m.check_ctc_targets(val_x, val_y, val_lengths);
    val_idx.resize(size_t(o.validation_x.dim(0)));
    std::iota(val_idx.begin(), val_idx.end(), 0);
    vx = &val_x, vy = &val_y;
  }
  m.check_stateful(n_train, o.batch_size, "the training data", !o.lengths.empty());
  if (vx) m.check_stateful(int64_t(val_idx.size()), o.batch_size, "the validation data",
                           !o.lengths.empty() || !o.validation_lengths.empty());
  for (Step& st : m.steps) st.op->reset_state();  // streaming state belongs to the old weights
  // Every buffer of every batch, training and validation, planned before the first one.
  std::vector<int64_t> T = m.steps_of(x);
  if (vx)
    for (size_t k = 0; k < T.size(); ++k) T[k] = std::max(T[k], m.steps_of(*vx)[k]);
  const int64_t rows = std::max<int64_t>(n_train, vx ? int64_t(val_idx.size()) : 0);
  m.ensure_plan(std::min<int64_t>(o.batch_size, rows), T, true);
  GraphEngine engine(model, owner, x, y, n_train, vx, vy, std::move(val_idx), lengths, std::move(val_lengths));
  return run_fit(engine, o);
}

std::vector<Tensor> Model::predict(const TensorList& x, int batch_size) { return predict(x, {}, batch_size); }

std::vector<Tensor> Model::predict(const TensorList& x, std::span<const int64_t> given, int batch_size) {
  check_batch_size(batch_size);
  return impl_->predict(x, given, batch_size, nullptr, nullptr);
}

// Rows rows[0..B) of states (one per direction, [N, O] and [N, H]) to or from the directions.
static void copy_state_rows(const std::vector<int64_t>& rows, const Recurrence& r, const RecurrentState& s,
                            std::vector<float>& h, std::vector<float>& c) {
  const int64_t B = int64_t(rows.size());
  h.resize(size_t(B * r.O)), c.resize(size_t(B * r.H));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = rows[size_t(b)];
    std::copy(s.h.data() + n * r.O, s.h.data() + (n + 1) * r.O, h.data() + b * r.O);
    if (!s.c.empty()) std::copy(s.c.data() + n * r.H, s.c.data() + (n + 1) * r.H, c.data() + b * r.H);
  }
}

std::vector<Tensor> Model::Impl::predict(const TensorList& x_given, std::span<const int64_t> given,
                                         int64_t batch_size, const States* initial,
                                         States* final_states) {
  const std::vector<Tensor> x_rows = as_rows(x_given, false);
  const TensorList x(x_rows);
  check_x(x);
  check_stateful(x[0].dim(0), batch_size, "the input", !given.empty());
  const std::vector<std::vector<int64_t>> lengths = input_lengths(x, given);
  const int64_t N = x[0].dim(0);
  std::vector<Tensor> out;
  for (size_t k = 0; k < output_slots.size(); ++k) {
    const ValueSpec& s = slots[size_t(output_slots[k])].spec;
    out.emplace_back(s.seq ? std::vector<int64_t>{N, out_steps(k, x), s.F} : std::vector<int64_t>{N, s.F});
  }
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> h, c;  // one direction's state rows, in batch order
  ThreadGovernor governor;  // fewer threads while other processes occupy cores (threads.h)
  for (int64_t start = 0; start < N; start += batch_size) {
    const int64_t b_size = std::min<int64_t>(batch_size, N - start);
    governor.batch_begin();
    gather(x, lengths, order.data() + start, b_size, Trim::for_outputs);
    if (initial) {
      size_t k = 0;
      for (Step& st : steps)
        for (Recurrence* r : st.op->directions()) {
          const RecurrentState& s = (*initial)[k++];
          copy_state_rows(rows, *r, s, h, c);
          r->set_initial_state(h.data(), s.c.empty() ? nullptr : c.data(), B);
        }
    }
    forward(false);
    for (size_t k = 0; k < output_slots.size(); ++k) {
      const Value& v = slots[size_t(output_slots[k])].value;
      const int64_t steps_k = v.seq ? v.T : 1;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < steps_k; ++t)
          std::memcpy(out[k].data() + (rows[size_t(b)] * steps_k + t) * v.F, v.data + (t * B + b) * v.F,
                      sizeof(float) * size_t(v.F));
    }
    governor.batch_end(double(b_size));
    if (!final_states) continue;
    size_t k = 0;
    const Pass pass{B, false, &rng};
    for (Step& st : steps)
      for (Recurrence* r : st.op->directions()) {
        RecurrentState& s = (*final_states)[k++];
        h.resize(size_t(B * r->O)), c.resize(size_t(B * r->H));
        r->final_state(pass.batch(slots[size_t(st.in[0])].value), h.data(), s.c.empty() ? nullptr : c.data());
        for (int64_t b = 0; b < B; ++b) {
          const int64_t n = rows[size_t(b)];
          std::copy(h.data() + b * r->O, h.data() + (b + 1) * r->O, s.h.data() + n * r->O);
          if (!s.c.empty()) std::copy(c.data() + b * r->H, c.data() + (b + 1) * r->H, s.c.data() + n * r->H);
        }
      }
  }
  for (size_t k = 0; k < output_slots.size(); ++k) {  // image outputs as images
    const ValueSpec& s = slots[size_t(output_slots[k])].spec;
    if (s.image.empty()) continue;
    std::vector<int64_t> shape(out[k].shape().begin(), out[k].shape().end() - 1);
    shape.insert(shape.end(), s.image.begin(), s.image.end());
    out[k] = Tensor(shape, std::move(out[k].storage()));
  }
  return out;
}

double Model::evaluate(const TensorList& x, const TensorList& y, int batch_size) {
  return evaluate(x, y, {}, batch_size);
}

double Model::evaluate(const TensorList& x_given, const TensorList& y_given,
                       std::span<const int64_t> given, int batch_size) {
  Impl& m = *impl_;
  if (!m.compiled) throw Error("evaluate() needs a loss: call compile(optimizer, loss) first");
  const std::vector<Tensor> x_rows = m.as_rows(x_given, false), y_rows = m.as_rows(y_given, true);
  const TensorList x(x_rows), y(y_rows);
  check_batch_size(batch_size);
  m.check_x(x);
  m.check_y(x, y);
  m.check_stateful(x[0].dim(0), batch_size, "the input", !given.empty());
  const std::vector<std::vector<int64_t>> lengths = m.input_lengths(x, given);
  m.check_ctc_targets(x, y, lengths);
  std::vector<int64_t> order(static_cast<size_t>(x[0].dim(0)));
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> per(m.output_slots.size(), 0.0);
  m.reset_metrics();
  const double total = m.evaluate(x, y, lengths, order.data(), int64_t(order.size()), batch_size, &per);
  const std::vector<std::string> names = output_names();
  m.last_logs = {{"loss", total}};
  for (size_t k = 0; per.size() > 1 && k < per.size(); ++k) m.last_logs[names[k] + "_loss"] = per[k];
  m.add_all_metrics("", names, m.last_logs);
  return total;
}

Logs Model::last_logs() const { return impl_->last_logs; }

// ---- weights, names, summary -----------------------------------------------------------------

int64_t Model::count_params() const { return int64_t(impl_->params.size()); }
std::vector<float> Model::get_weights() const { return impl_->params; }
void Model::set_weights(const std::vector<float>& w) {
  if (w.size() != impl_->params.size())
    throw Error("set_weights got " + std::to_string(w.size()) + " values but the model has " +
                std::to_string(impl_->params.size()) + " parameters");
  impl_->params = w;
  impl_->bind_all();
  impl_->weights_changed();
}
void Model::set_seed(uint64_t seed) { impl_->rng.reseed(seed); }
void Model::reset_states() {
  for (Step& st : impl_->steps) st.op->reset_carried_state(), st.op->reset_state();
}

Precision precision_from_string(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "int8") return Precision::int8;
  throw Error("precision '" + name + "' is not one of fp32, bf16, int8");
}
const char* precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : p == Precision::int8 ? "int8" : "fp32";
}

int Model::set_precision(Precision p) {
  int running = 0;
  for (Step& st : impl_->steps)
    for (Recurrence* r : st.op->directions()) running += r->set_precision(p) && p != Precision::fp32;
  if (p != Precision::fp32 && running == 0) {
    for (Step& st : impl_->steps)
      for (Recurrence* r : st.op->directions()) r->set_precision(Precision::fp32);
    throw Error(std::string("precision ") + precision_name(p) + " needs an LSTM layer with the seed's "
                "cell (no peepholes, projection, recurrent dropout or other activations); this model "
                "has none, so it runs in fp32");
  }
  impl_->precision = p;
  if (p == Precision::fp32) impl_->metadata.erase(kPrecisionKey);  // saved with the model
  else impl_->metadata[kPrecisionKey] = precision_name(p);
  return running;
}

void apply_saved_precision(const std::map<std::string, std::string>& metadata,
                           const std::function<void(Precision)>& set) {
  auto it = metadata.find(kPrecisionKey);
  if (it == metadata.end()) return;
  try {
    set(precision_from_string(it->second));
  } catch (const Error& e) {
    throw Error(std::string("its \"") + kPrecisionKey + "\" metadata: " + e.what());
  }
}
Precision Model::precision() const { return impl_->precision; }

// ---- streaming -------------------------------------------------------------------------------

void Model::step(std::span<const float* const> x_t, std::span<float* const> y_t) {
  Impl& m = *impl_;
  if (x_t.size() != m.inputs.size() || y_t.size() != m.output_slots.size())
    throw Error("step() takes one pointer per input (" + std::to_string(m.inputs.size()) +
                ") and one per output (" + std::to_string(m.output_slots.size()) + "), got " +
                std::to_string(x_t.size()) + " and " + std::to_string(y_t.size()));
  if (m.step_data.size() != m.slots.size()) {  // the first call: check every call, size the slots
    for (const Step& st : m.steps)
      if (st.op->stepping() == Op::Stepping::none)
        throw Error(st.node->where + " needs whole sequences (Bidirectional, go_backwards, attention, "
                    "RepeatVector, or a recurrent call given its initial_state), so the "
                    "model cannot run one step at a time: use predict() on whole sequences");
    m.step_data.resize(m.slots.size());
    for (size_t s = 0; s < m.slots.size(); ++s) m.step_data[s].assign(size_t(m.slots[s].spec.F), 0.0f);
    m.step_T.assign(m.inputs.size(), 1);
  }
  m.ensure_plan(1, m.step_T, false);  // by_forward ops run forward at T = B = 1
  for (size_t k = 0; k < m.inputs.size(); ++k)
    std::memcpy(m.step_data[k].data(), x_t[k], sizeof(float) * m.step_data[k].size());
  const Pass pass{1, false, &m.rng};
  for (Step& st : m.steps) {
    if (st.op->stepping() == Op::Stepping::own) {
      m.step_in.clear(), m.step_out.clear();
      for (int s : st.in) m.step_in.push_back(m.step_data[size_t(s)].data());
      for (int s : st.out) m.step_out.push_back(m.step_data[size_t(s)].data());
      st.op->step(m.step_in, m.step_out);
      continue;
    }
    m.in.clear(), m.out.clear();
    auto view = [&](int s) {
      Value v;
      v.data = m.step_data[size_t(s)].data(), v.seq = m.slots[size_t(s)].spec.seq, v.T = 1;
      v.F = m.slots[size_t(s)].spec.F;
      return v;
    };
    for (int s : st.in) m.in.push_back(view(s));
    for (int s : st.out) m.out.push_back(view(s));
    st.op->forward(pass, m.in, m.out);
  }
  for (size_t k = 0; k < m.output_slots.size(); ++k) {
    const std::vector<float>& v = m.step_data[size_t(m.output_slots[k])];
    std::memcpy(y_t[k], v.data(), sizeof(float) * v.size());
  }
}

std::vector<Tensor> Model::step(const TensorList& x_t) {
  Impl& m = *impl_;
  if (x_t.size() != m.inputs.size())
    throw Error("step() takes one tensor per input (" + std::to_string(m.inputs.size()) + "), got " +
                std::to_string(x_t.size()));
  std::vector<const float*> in;
  for (size_t k = 0; k < m.inputs.size(); ++k) {
    const int64_t F = m.slots[k].spec.F;
    const std::string name = "input '" + m.inputs[k]->input_name + "'";
    if (x_t[k].size() != F)
      throw Error("step(): " + name + " takes " + (m.slots[k].spec.ids ? std::string("one token id") :
                  "the " + std::to_string(F) + " features") + " of one time step, got " + x_t[k].shape_string());
    check_finite(x_t[k], name);
    in.push_back(x_t[k].data());
  }
  std::vector<Tensor> out;
  std::vector<float*> ptrs;
  for (int s : m.output_slots) out.emplace_back(std::vector<int64_t>{m.slots[size_t(s)].spec.F});
  for (Tensor& t : out) ptrs.push_back(t.data());
  step(in, ptrs);
  return out;
}
const Optimizer& Model::optimizer() const { return impl_->optimizer; }
void Model::set_learning_rate(float learning_rate) {
  impl_->optimizer = with_learning_rate(impl_->optimizer, learning_rate);
}
std::map<std::string, std::string>& Model::metadata() { return impl_->metadata; }
const std::map<std::string, std::string>& Model::metadata() const { return impl_->metadata; }

std::vector<NamedWeight> Model::weights() const {
  std::vector<NamedWeight> out;
  for (size_t li = 0; li < impl_->layers.size(); ++li) {
    const LayerSlot& l = impl_->layers[li];
    for (const ParamTensor& t : l.tensors)
      out.push_back({impl_->tensor_prefix(li) + "." + t.name, t.shape, l.offset + t.offset});
  }
  return out;
}

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> out;
  for (const GraphNode* in : impl_->inputs) out.push_back(in->input_name);
  return out;
}

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> out;
  for (const SymbolicTensor& t : impl_->outputs) {
    std::string name = t.name();
    if (std::find(out.begin(), out.end(), name) != out.end())  // a shared layer's second call
      name += "@" + std::to_string(out.size());
    out.push_back(name);
  }
  return out;
}

std::vector<LayerConfig> Model::layers() const {
  std::vector<LayerConfig> out;
  for (const LayerSlot& l : impl_->layers) {
    out.push_back(l.config);
    out.back().name = l.name;
  }
  return out;
}

std::string Model::summary() const {
  const Impl& m = *impl_;
  auto with_commas = [](int64_t n) {
    std::string s = std::to_string(n);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
    return s;
  };
  auto shape = [](const ValueSpec& s, int64_t batch) {
    const std::string N = batch > 0 ? std::to_string(batch) : "None";
    const std::string T = s.steps > 0 ? std::to_string(s.steps) : "None";
    if (!s.image.empty()) {
      std::string dims = s.seq ? "(" + N + ", " + T : "(" + N;
      for (int64_t d : s.image) dims += ", " + std::to_string(d);
      return dims + ")";
    }
    if (!s.seq) return "(" + N + ", " + std::to_string(s.F) + ")";
    if (s.ids) return "(" + N + ", " + T + ")";
    return "(" + N + ", " + T + ", " + std::to_string(s.F) + ")";
  };
  // one row per input and per layer; "Connected to" lists what each call reads
  std::vector<std::array<std::string, 4>> rows;
  for (size_t k = 0; k < m.inputs.size(); ++k)  // slot k is input k, as the model reads it
    rows.push_back({m.inputs[k]->input_name + " (InputLayer)", shape(m.slots[k].spec, m.inputs[k]->batch_size),
                    "0", "-"});
  for (const LayerSlot& l : m.layers) {
    const Step& first = m.steps[size_t(l.steps[0])];
    std::string outs;
    for (int s : first.out) outs += (outs.empty() ? "" : ", ") + shape(m.slots[size_t(s)].spec, 0);
    if (first.out.size() > 1) outs = "[" + outs + "]";
    std::string from;
    for (int st : l.steps) {
      const GraphNode& n = *m.steps[size_t(st)].node;
      for (const auto* list : {&n.inputs, &n.states})
        for (const SymbolicTensor& t : *list) from += (from.empty() ? "" : ", ") + t.name();
    }
    rows.push_back({l.name + " (" + l.room->keras_class(l.config) + ")", outs, with_commas(l.count), from});
  }
  size_t w0 = 28, w1 = 26, w2 = 10;
  for (const auto& r : rows) w0 = std::max(w0, r[0].size() + 1), w1 = std::max(w1, r[1].size() + 1);
  std::ostringstream s;
  const size_t width = w0 + w1 + w2 + 30;
  const std::string rule(width, '_'), thick(width, '=');
  s << "Model: \"" << m.options.name << "\"\n" << rule << "\n" << std::left << " " << std::setw(int(w0))
    << "Layer (type)" << std::setw(int(w1)) << "Output Shape" << std::setw(int(w2)) << "Param #"
    << "Connected to\n" << thick << "\n";
  for (const auto& r : rows)
    s << " " << std::setw(int(w0)) << r[0] << std::setw(int(w1)) << r[1] << std::setw(int(w2)) << r[2]
      << r[3] << "\n";
  s << thick << "\nTotal params: " << with_commas(count_params()) << "\nTrainable params: "
    << with_commas(count_params()) << "\nNon-trainable params: 0\n" << rule << "\n";
  return s.str();
}

std::vector<MemoryRow> Model::memory_plan(int64_t batch, int64_t steps) const {
  Impl& m = *impl_;
  if (batch < 1 || steps < 1 || batch > limits::kPlanShape || steps > limits::kPlanShape)
    throw Error("memory_plan: batch and steps must be in 1.." + std::to_string(limits::kPlanShape) + ", got " +
                std::to_string(batch) + " and " + std::to_string(steps));
  std::vector<int64_t> T(m.inputs.size(), 1);
  for (size_t k = 0; k < m.inputs.size(); ++k)
    if (m.slots[k].spec.seq) T[k] = m.slots[k].spec.steps > 0 ? m.slots[k].spec.steps : steps;
  const std::vector<std::array<int64_t, 2>> floats = m.memory_by_layer(batch, T);
  std::vector<MemoryRow> rows;
  const auto bytes = [](int64_t n) { return n * int64_t(sizeof(float)); };
  for (size_t l = 0; l < m.layers.size(); ++l)
    rows.push_back({m.layers[l].name + " (" + m.layers[l].room->keras_class(m.layers[l].config) + ")",
                    bytes(floats[l][0]), bytes(floats[l][1])});
  rows.push_back({"(tensors between layers)", bytes(floats.back()[0]), bytes(floats.back()[1])});
  return rows;
}

}  // namespace lstm

namespace lstm {

namespace {

// The whole of (x, y) checked as fit checks it and gathered as one batch in sample order, then
// run forward without dropout (model_loss_and_gradient, model_input_gradients); it keeps the
// tensors as the model reads them (views of the data) alive for the backward.
struct WholeBatch {
  std::vector<Tensor> x, y;
  int64_t N = 0;
};
WholeBatch forward_whole(Model::Impl& m, const TensorList& x_given, const TensorList& y_given,
                         const char* who) {
  if (!m.compiled) throw Error(std::string(who) + ": compile() first");
  WholeBatch batch{m.as_rows(x_given, false), m.as_rows(y_given, true)};
  const TensorList x(batch.x), y(batch.y);
  m.check_x(x);
  m.check_y(x, y);
  const auto lengths = m.input_lengths(x);
  m.check_ctc_targets(x, y, lengths);
  batch.N = x[0].dim(0);
  std::vector<int64_t> order(static_cast<size_t>(batch.N));
  std::iota(order.begin(), order.end(), 0);
  m.gather(x, lengths, order.data(), batch.N);
  m.forward(false);
  return batch;
}

}  // namespace

double model_loss_and_gradient(Model& model, const TensorList& x_given, const TensorList& y_given,
                               std::vector<float>* grads) {
  Model::Impl& m = model.impl();
  const WholeBatch batch = forward_whole(m, x_given, y_given, "model_loss_and_gradient");
  const double loss = m.loss_and_backward(TensorList(batch.y), grads != nullptr, nullptr);
  if (grads) *grads = m.grads;
  return loss;
}

std::vector<Tensor> model_input_gradients(Model& model, const TensorList& x_given,
                                          const TensorList& y_given, double* loss) {
  Model::Impl& m = model.impl();
  const WholeBatch batch = forward_whole(m, x_given, y_given, "model_input_gradients");
  const int64_t N = batch.N;
  const TensorList x(batch.x), y(batch.y);
  std::vector<std::vector<float>> slot_grads(m.inputs.size());
  for (size_t k = 0; k < slot_grads.size(); ++k)
    slot_grads[k].assign(size_t(m.slots[k].value.size(N)), 0.0f);
  m.input_grads = &slot_grads;
  double value = 0.0;
  try {
    value = m.loss_and_backward(y, true, nullptr);
  } catch (...) {
    m.input_grads = nullptr;
    throw;
  }
  m.input_grads = nullptr;
  if (loss) *loss = value;
  // time-major batch rows (in the gathered order) -> [N, (T,) F] in sample order
  std::vector<Tensor> out;
  for (size_t k = 0; k < slot_grads.size(); ++k) {
    const Value& v = m.slots[k].value;
    const int64_t T = v.seq ? v.T : 1, F = v.F, x_steps = v.seq ? x[k].dim(1) : 1;
    Tensor g(x[k].shape());  // token ids [N, T]: F = 1
    for (int64_t b = 0; b < N; ++b)
      for (int64_t t = 0; t < T; ++t)
        std::copy_n(slot_grads[k].data() + (t * N + b) * F, F,
                    g.data() + (m.rows[size_t(b)] * x_steps + t) * F);
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace lstm
