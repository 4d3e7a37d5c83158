// The graph a model is made of, as the functional API builds it: nodes (an Input, or one call
// of a layer on tensors), the specs of the tensors between them, and the rooms - one per layer
// type - that check a call, say what it returns and make its Op.
//
// Rooms are listed in src/graph/registry.def; a new layer type is its own files plus one line
// there (docs/architecture.md).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/op.h"
#include "lstm/layers.h"
#include "lstm/symbolic.h"

namespace lstm {

struct LayerIdentity {};

// One tensor of the graph, per sample.
struct ValueSpec {
  bool seq = false;  // a sequence (T, F) per sample, else a vector (F)
  int64_t F = 0;
  int64_t steps = 0;  // seq: a fixed T, or 0: as many as time_of's
  const GraphNode* time_of = nullptr;  // seq with steps 0: the Input whose T it has
  const GraphNode* mask_of = nullptr;  // the Input whose per-sample lengths apply, or null
  bool ids = false;                    // token ids, one per step (an Input an Embedding reads)
  // {H, W, C} when each step (or the vector) is an image, channels last, F = H·W·C; else empty.
  // Time-major, a step's B frames are then B images of H·W·C floats each (NHWC).
  std::vector<int64_t> image;
  // One sample's shape for messages and SymbolicTensor::shape(): {T, F}, {F}, {T, H, W, C} or
  // {H, W, C}.
  std::vector<int64_t> shape() const;
  bool same_time(const ValueSpec& o) const {
    return seq && o.seq && steps == o.steps && time_of == o.time_of;
  }
};
// "[N, T, 64]", "[N, 30, 64]", "[N, 64]", "[N, 10, 28, 28, 1]"
std::string spec_string(const ValueSpec& s);

class Room;

struct GraphNode {
  // An Input:
  bool is_input = false;
  std::string input_name;
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;
  bool given_lengths = false;  // InputOptions::lengths: the caller gives per-sample lengths
  // How an Embedding(mask_zero) or a Masking layer reading this Input finds its padding.
  enum class Padding { none, zero_id, value } padding = Padding::none;
  float pad_value = 0.0f;
  bool read_as_ids = false;      // an Embedding reads it (token ids)
  bool read_as_values = false;   // another layer reads it as numbers
  // A call of a layer:
  LayerConfig layer;
  const Room* room = nullptr;
  std::vector<SymbolicTensor> inputs;  // the data inputs
  std::vector<SymbolicTensor> states;  // a recurrent layer's initial states
  std::vector<ValueSpec> outputs;
  std::string where;  // "layer 'lstm_1' (lstm)" once named; the type before
  int call_number = 1;  // the how-manieth call of its layer (a shared layer's second: 2)
};

const ValueSpec& spec_of(const SymbolicTensor& t);

// A call as a room sees it: the layer, its inputs' and initial states' specs, and the nodes
// that made them (an Embedding or Masking checks that it reads an Input).
struct Call {
  const LayerConfig& layer;
  std::vector<ValueSpec> inputs;
  std::vector<ValueSpec> states;
  std::vector<GraphNode*> input_nodes;
  std::string where;  // for messages: "Attention" or "layer 'attention_1' (attention)"
};

// One layer type.
class Room {
 public:
  virtual ~Room() = default;
  virtual const char* type() const = 0;  // the config's name: "attention"
  virtual std::string keras_class(const LayerConfig& layer) const = 0;  // "Attention"
  // Whether this room runs `layer`: its kind, or for the types of the LayerType enum, its type.
  virtual bool runs(const LayerConfig& layer) const { return layer.kind == type(); }
  // Checks the call - number and shapes of inputs, the options - and returns the specs of its
  // outputs. Throws lstm::Error naming the layer, the shapes and the fix.
  virtual std::vector<ValueSpec> infer(const Call& call) const = 0;
  virtual std::unique_ptr<Op> make(const Call& call) const = 0;
  // Whether the layer reads its inputs as token ids (integers stored as floats, Embedding)
  // rather than as values: an Input that only such layers read is checked for ids.
  virtual bool reads_ids() const { return false; }
  // Whether the layer takes images ([N, T, H, W, C] or [N, H, W, C]): a layer that does not is
  // refused them at its call, with the fix (Flatten or GlobalAveragePooling2D first).
  virtual bool reads_images() const { return false; }
  // Whether lstm::TimeDistributed may wrap the layer (Dense and the per-frame image layers:
  // the layer then reads sequences and runs on every step alone).
  virtual bool per_frame() const { return false; }
  // Whether a Sequential model may hold the layer: one tensor in, one out, no states (Keras
  // allows more in Sequential; each joins once it is tested there).
  virtual bool chains() const { return false; }
  // Whether a model file's config of type `type` is this room's to read.
  virtual bool reads(const std::string& type) const { return type == this->type(); }
  // The layer's config in a model file ({"type": ..., its options}) and back; from_json
  // throws lstm::Error starting with `where` for an unknown key or a value out of range.
  // The defaults are those of a type without options.
  virtual nlohmann::json to_json(const LayerConfig& layer) const;
  virtual LayerConfig from_json(const nlohmann::json& config, const std::string& where) const;
};

// An Embedding(mask_zero) or a Masking layer reading `input`: how its padding is found. One
// Input, one way; throws lstm::Error naming the call otherwise.
void claim_padding(const Call& call, GraphNode& input, GraphNode::Padding padding, float value);

// The room whose config type is `type` ("attention", or a Sequential type name such as "lstm"
// or "time_distributed"), with the config read by it; throws lstm::Error for an unknown type.
LayerConfig layer_config_from_file(const nlohmann::json& config, const std::string& where);
nlohmann::json layer_config_to_file(const LayerConfig& layer);

// LayerConfig::call with the name its messages give the call: "" for the default (the Keras
// class, or "layer '<name>' (<type>)"); Sequential's chain gives "layer <i> (<type>)".
std::vector<SymbolicTensor> call_layer(const LayerConfig& layer, const std::vector<SymbolicTensor>& inputs,
                                       const std::vector<SymbolicTensor>& initial_state, const std::string& where);

// The room that runs `layer`; throws lstm::Error for an unknown kind.
const Room& room_for(const LayerConfig& layer);
// Every room, in registry order.
const std::vector<const Room*>& all_rooms();

}  // namespace lstm
