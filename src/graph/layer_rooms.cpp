// The rooms of the layer types a Sequential model has always had - Dense, Dropout, Embedding,
// Masking - run in a graph through their layers/ code (one input, one output, as there).
#include <cstring>

#include "core/limits.h"
#include "graph/graph.h"
#include "lstm/error.h"
#include "model/model_impl.h"

namespace lstm {

// One call of a chain layer: the layers/ Layer on one tensor.
class LayerOp final : public Op {
 public:
  explicit LayerOp(std::unique_ptr<Layer> layer) : layer_(std::move(layer)) {}
  std::vector<ParamTensor> param_tensors() const override { return layer_->param_tensors(); }
  void bind(float* params, float* grads) override { layer_->bind(params, grads); }
  void init(Rng& rng) override { layer_->init(rng); }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    layer_->forward(in[0].data, out[0].data, pass.batch(in[0]));
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!dout[0]) {  // nothing flows back through this call
      if (din[0]) std::memset(din[0], 0, sizeof(float) * size_t(in[0].size(pass.B)));
      return;
    }
    layer_->backward(in[0].data, out[0].data, dout[0], din[0], pass.batch(in[0]));
  }
  void weights_changed() override { layer_->weights_changed(); }
  Stepping stepping() const override { return layer_->can_step() ? Stepping::own : Stepping::none; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    layer_->step(in[0], out[0]);
  }
  void reset_state() override { layer_->reset_state(); }

 private:
  std::unique_ptr<Layer> layer_;
};

static void one_input(const Call& call) {
  if (call.inputs.size() != 1)
    throw Error(call.where + " takes one input tensor, got " + std::to_string(call.inputs.size()));
  if (!call.states.empty())
    throw Error(call.where + " takes no initial_state: only recurrent layers do");
}

class ChainRoom final : public Room {
 public:
  ChainRoom(LayerType t, const char* name) : type_(t), name_(name) {}
  const char* type() const override { return name_; }
  std::string keras_class(const LayerConfig& c) const override {
    switch (type_) {
      case LayerType::dense: return c.time_distributed ? "TimeDistributed" : "Dense";
      case LayerType::embedding: return "Embedding";
      case LayerType::dropout: return "Dropout";
      default: return "Masking";
    }
  }
  bool runs(const LayerConfig& c) const override { return c.kind.empty() && c.type == type_; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    one_input(call);
    const LayerConfig& c = call.layer;
    const ValueSpec& x = call.inputs[0];
    GraphNode* src = call.input_nodes[0];
    ValueSpec y = x;
    switch (type_) {
      case LayerType::dense:
        if (c.units <= 0 || c.units > limits::kWidth)
          throw Error(call.where + ": units must be in 1.." + std::to_string(limits::kWidth) +
                      ", got " + std::to_string(c.units));
        if (c.time_distributed && !x.seq)
          throw Error(call.where + " needs a sequence input [N, T, F], got " + spec_string(x));
        y.F = c.units;
        break;
      case LayerType::dropout:
        if (!(c.rate >= 0.0f && c.rate < 1.0f))
          throw Error(call.where + ": rate must be in [0, 1), got " + std::to_string(c.rate));
        break;
      case LayerType::embedding: {
        if (!src->is_input || src->input_shape.size() != 1)
          throw Error(call.where + " reads token ids, so it takes a model Input of shape "
                      "{timesteps} directly (lstm::Input({lstm::kAnyLength})), got " +
                      spec_string(x));
        if (c.units <= 0 || c.units > limits::kWidth)
          throw Error(call.where + ": output_dim must be in 1.." + std::to_string(limits::kWidth));
        if (c.input_dim <= 0 || c.input_dim > limits::kWidth)
          throw Error(call.where + ": input_dim (the vocabulary size) must be in 1.." +
                      std::to_string(limits::kWidth) + ", got " + std::to_string(c.input_dim));
        claim_padding(call, *src, c.mask_zero ? GraphNode::Padding::zero_id : GraphNode::Padding::none, 0.0f);
        src->read_as_ids = true;
        y = ValueSpec{};
        y.seq = true, y.F = c.units, y.steps = src->input_shape[0];
        y.time_of = y.steps == 0 ? src : nullptr;
        y.mask_of = c.mask_zero || src->given_lengths ? src : nullptr;
        break;
      }
      case LayerType::masking:
        if (!src->is_input || !x.seq)
          throw Error(call.where + " finds the padding in the data, so it takes a model Input "
                      "of sequences {timesteps, features} directly, got " + spec_string(x));
        claim_padding(call, *src, GraphNode::Padding::value, c.mask_value);
        y.mask_of = src;
        break;
      default: break;
    }
    return {y};
  }

  std::unique_ptr<Op> make(const Call& call) const override {
    const ValueSpec& x = call.inputs[0];
    std::unique_ptr<Layer> layer;
    switch (type_) {
      case LayerType::dense: {
        LayerConfig c = call.layer;
        c.time_distributed = false;
        layer = make_layer(c, x.F, x.seq, 1);
        break;
      }
      case LayerType::dropout: layer = make_dropout(call.layer, x.F, x.seq); break;
      case LayerType::embedding: layer = make_embedding(call.layer); break;
      default: layer = make_masking(call.layer, x.F); break;
    }
    return std::make_unique<LayerOp>(std::move(layer));
  }

  bool reads(const std::string& t) const override {
    return t == name_ || (type_ == LayerType::dense && t == "time_distributed");
  }
  nlohmann::json to_json(const LayerConfig& c) const override { return layer_to_json(c); }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    return layer_from_json(j, where);
  }

 private:
  // One Input, one way to find its padding.
  static void claim_padding(const Call& call, GraphNode& input, GraphNode::Padding p, float value) {
    if (p == GraphNode::Padding::none) return;
    if (input.padding != GraphNode::Padding::none && (input.padding != p || input.pad_value != value))
      throw Error(call.where + ": " + input.where + " already has its padding found another way "
                  "(another Embedding(mask_zero) or Masking layer): read it with one of them");
    input.padding = p, input.pad_value = value;
  }

  LayerType type_;
  const char* name_;
};

const Room& dense_room() {
  static const ChainRoom r(LayerType::dense, "dense");
  return r;
}
const Room& dropout_room() {
  static const ChainRoom r(LayerType::dropout, "dropout");
  return r;
}
const Room& embedding_room() {
  static const ChainRoom r(LayerType::embedding, "embedding");
  return r;
}
const Room& masking_room() {
  static const ChainRoom r(LayerType::masking, "masking");
  return r;
}

}  // namespace lstm
