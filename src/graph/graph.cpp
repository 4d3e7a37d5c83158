// The functional API's front half: Input(), calling a layer on tensors, and the room registry.
#include "graph/graph.h"

#include "core/limits.h"
#include "lstm/error.h"
#include "lstm/tensor.h"
#include "model/model_impl.h"

namespace lstm {

// ---- the registry: src/graph/registry.def ------------------------------------------------------

#define LSTM_ROOM(room) const Room& room();
#include "graph/registry.def"
#undef LSTM_ROOM

const std::vector<const Room*>& all_rooms() {
  static const std::vector<const Room*> rooms = {
#define LSTM_ROOM(room) &room(),
#include "graph/registry.def"
#undef LSTM_ROOM
  };
  return rooms;
}

const Room& room_for(const LayerConfig& layer) {
  for (const Room* r : all_rooms())
    if (r->runs(layer)) return *r;
  std::string names;
  for (const Room* r : all_rooms()) names += std::string(names.empty() ? "" : ", ") + r->type();
  throw Error("unknown layer type \"" + layer.kind + "\" (the layer types are " + names + ")");
}

// ---- specs -------------------------------------------------------------------------------------

std::vector<int64_t> ValueSpec::shape() const {
  if (!image.empty()) {
    std::vector<int64_t> s = image;
    if (seq) s.insert(s.begin(), steps);
    return s;
  }
  if (!seq) return {F};
  if (ids) return {steps};
  return {steps, F};
}

std::string spec_string(const ValueSpec& s) {
  const std::string T = s.steps > 0 ? std::to_string(s.steps) : "T";
  if (!s.image.empty()) {
    std::string dims = s.seq ? "[N, " + T : "[N";
    for (int64_t d : s.image) dims += ", " + std::to_string(d);
    return dims + "]";
  }
  if (!s.seq) return "[N, " + std::to_string(s.F) + "]";
  if (s.ids) return "[N, " + T + "] (token ids)";
  return "[N, " + T + ", " + std::to_string(s.F) + "]";
}

const ValueSpec& spec_of(const SymbolicTensor& t) {
  return t.node()->outputs.at(size_t(t.index()));
}

std::vector<int64_t> SymbolicTensor::shape() const {
  if (!node_) return {};
  const GraphNode& n = *node_;
  if (n.is_input) return n.input_shape;
  return spec_of(*this).shape();
}

std::string SymbolicTensor::name() const {
  if (!node_) return "";
  if (node_->is_input) return node_->input_name;
  const std::string base = node_->layer.name.empty() ? node_->where : node_->layer.name;
  const std::string call = node_->call_number > 1 ? base + "@" + std::to_string(node_->call_number) : base;
  return index_ == 0 ? call : call + ":" + std::to_string(index_);
}

bool SymbolicTensor::masked() const { return node_ && spec_of(*this).mask_of != nullptr; }

SymbolicTensor layer_outputs_at(const std::vector<SymbolicTensor>& tensors, size_t k) {
  if (k >= tensors.size())
    throw Error("the layer call returned " + std::to_string(tensors.size()) + " tensor" +
                (tensors.size() == 1 ? "" : "s") + ", so there is no output " + std::to_string(k) +
                ": set return_state = true on the layer for its final states");
  return tensors[k];
}

SymbolicTensor layer_outputs_single(const std::vector<SymbolicTensor>& tensors) {
  if (tensors.size() != 1)
    throw Error("the layer call returned " + std::to_string(tensors.size()) +
                " tensors (its output, then its final states: return_state is set), not one: "
                "bind them, as in auto [seq, h, c] = lstm::LSTM(...)(x)");
  return tensors[0];
}

// ---- Input -------------------------------------------------------------------------------------

SymbolicTensor Input(std::vector<int64_t> shape, InputOptions options) {
  const std::string what = "Input(" + shape_string(shape) + ")";
  if (shape.empty() || shape.size() > 4)
    throw Error(what +
                ": give one sample's shape, {timesteps, features} for sequences "
                "(timesteps = lstm::kAnyLength for any length), {features} for vectors, "
                "{timesteps} for token ids, {height, width, channels} for an image or "
                "{timesteps, height, width, channels} for a video clip");
  const bool image = shape.size() >= 3;
  const bool has_steps = shape.size() == 2 || shape.size() == 4;
  for (size_t a = 0; a < shape.size(); ++a) {
    // {T, F}: T may be any (0); {T} token ids: T may be any too; features and image sizes never
    const bool steps = a == 0 && (has_steps || shape.size() == 1);
    const int64_t lo = steps ? 0 : 1, hi = steps ? limits::kTimeSteps : limits::kWidth;
    const char* names[] = {"height", "width", "channels"};
    const std::string axis = steps   ? "timesteps"
                             : image ? names[a - (has_steps ? 1 : 0)]
                                     : "features";
    if (shape[a] < lo || shape[a] > hi)
      throw Error(what + ": " + axis + " must be in " + std::to_string(lo) + ".." +
                  std::to_string(hi) + ", got " + std::to_string(shape[a]));
  }
  int64_t F = shape.back();
  if (image) {
    F = shape[shape.size() - 3] * shape[shape.size() - 2] * shape.back();  // each below 2^24
    if (F > limits::kWidth)
      throw Error(what + ": an image of " + std::to_string(F) + " values is more than the " +
                  std::to_string(limits::kWidth) + " a step may hold: make it smaller");
  }
  if (options.batch_size < 0)
    throw Error(what + ": batch_size must be a positive integer (or 0: any), got " +
                std::to_string(options.batch_size));
  if (options.lengths && shape.size() != 2 && shape.size() != 1 && shape.size() != 4)
    throw Error(what +
                ": lengths apply to sequences ({timesteps, features}), token ids "
                "({timesteps}) and clips ({timesteps, height, width, channels})");
  auto node = std::make_shared<GraphNode>();
  node->is_input = true;
  node->given_lengths = options.lengths;
  node->input_name = options.name;
  node->input_shape = shape;
  node->batch_size = options.batch_size;
  ValueSpec s;
  s.seq = has_steps;
  s.F = F;
  if (image) s.image.assign(shape.end() - 3, shape.end());
  if (s.seq) {
    s.steps = shape[0];
    if (s.steps == 0) s.time_of = node.get();
    if (options.lengths) s.mask_of = node.get();
  }
  node->outputs = {s};
  node->where = options.name.empty() ? what : "input '" + options.name + "'";
  return SymbolicTensor(node, 0);
}

// ---- calling a layer ---------------------------------------------------------------------------

std::vector<SymbolicTensor> LayerConfig::call(const std::vector<SymbolicTensor>& inputs,
                                              const std::vector<SymbolicTensor>& initial_state) const {
  return call_layer(*this, inputs, initial_state, "");
}

std::vector<SymbolicTensor> call_layer(const LayerConfig& layer, const std::vector<SymbolicTensor>& inputs,
                                       const std::vector<SymbolicTensor>& initial_state, const std::string& where) {
  if (!layer.identity) layer.identity = std::make_shared<LayerIdentity>();
  const Room& room = room_for(layer);
  auto node = std::make_shared<GraphNode>();
  node->layer = layer;
  node->room = &room;
  node->where = !where.empty() ? where
                : layer.name.empty() ? room.keras_class(layer)
                                     : "layer '" + layer.name + "' (" + room.type() + ")";
  Call call{node->layer, {}, {}, {}, node->where};
  if (inputs.empty()) throw Error(node->where + " was called on no tensors: give it its input");
  for (const auto* list : {&inputs, &initial_state})
    for (const SymbolicTensor& t : *list) {
      if (!t.defined())
        throw Error(node->where + " was called on an empty SymbolicTensor: pass tensors that "
                    "lstm::Input() or a layer call returned");
      const ValueSpec& spec = spec_of(t);
      if (!spec.image.empty() && !room.reads_images())
        throw Error(node->where + " takes sequences [N, T, F] or vectors [N, F], but got images " +
                    spec_string(spec) +
                    ": flatten each image first with lstm::Flatten(), or pool "
                    "it with lstm::GlobalAveragePooling2D()");
      (list == &inputs ? call.inputs : call.states).push_back(spec);
      if (list == &inputs) call.input_nodes.push_back(t.node().get());
    }
  node->outputs = room.infer(call);
  node->inputs = inputs;
  node->states = initial_state;
  for (GraphNode* in : call.input_nodes)
    if (in->is_input) (room.reads_ids() ? in->read_as_ids : in->read_as_values) = true;
  std::vector<SymbolicTensor> out;
  for (size_t k = 0; k < node->outputs.size(); ++k) out.emplace_back(node, int(k));
  return out;
}

SymbolicTensor LayerConfig::operator()(const SymbolicTensor& x) const {
  return layer_outputs_single(call({x}));
}

SymbolicTensor LayerConfig::operator()(const std::vector<SymbolicTensor>& inputs) const {
  return layer_outputs_single(call(inputs));
}

}  // namespace lstm

// ---- configs in files ----------------------------------------------------------------------------

namespace lstm {

nlohmann::json Room::to_json(const LayerConfig&) const { return {{"type", type()}}; }

LayerConfig Room::from_json(const nlohmann::json& config, const std::string& where) const {
  for (auto it = config.begin(); it != config.end(); ++it)
    if (it.key() != "type")
      throw Error(where + ": unknown key \"" + it.key() + "\" (" + type() + " has no options)");
  LayerConfig c;
  c.kind = type();
  return c;
}

void claim_padding(const Call& call, GraphNode& input, GraphNode::Padding p, float value) {
  if (input.padding != GraphNode::Padding::none && (input.padding != p || input.pad_value != value))
    throw Error(call.where + ": " + input.where + " already has its padding found another way "
                "(another Embedding(mask_zero) or Masking layer): read it with one of them");
  input.padding = p, input.pad_value = value;
}

LayerConfig layer_config_from_file(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object() || !config.contains("type") || !config["type"].is_string())
    throw Error(where + " must be an object with a \"type\"");
  const std::string type = config["type"].get<std::string>();
  for (const Room* r : all_rooms())
    if (r->reads(type)) return r->from_json(config, where);
  std::string names;
  for (const Room* r : all_rooms()) names += std::string(names.empty() ? "" : ", ") + r->type();
  throw Error(where + ": unknown layer type \"" + type + "\" (the layer types are " + names +
              "; lstm, gru, simple_rnn and bidirectional are the recurrent room's)");
}

nlohmann::json layer_config_to_file(const LayerConfig& layer) {
  return room_for(layer).to_json(layer);
}

}  // namespace lstm
