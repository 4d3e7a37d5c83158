// Masking: a step whose features all equal mask_value is padding. The model finds each
// sequence's length in its input (the steps up to the last one that is not padding), and every
// layer downstream sees the mask; this layer passes the values through with the padded steps
// zeroed, as Keras's Masking does. Backward: the same for the gradient.
#include <cstring>

#include "graph/graph.h"
#include "layers/config_json.h"
#include "lstm/error.h"

namespace lstm {

class MaskingOp final : public Op {
 public:
  explicit MaskingOp(int64_t F) : F(F) {}

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    copy_valid(in[0], in[0].data, out[0].data, pass.B);
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    if (!dout[0]) {
      std::memset(din[0], 0, sizeof(float) * size_t(in[0].size(pass.B)));
      return;
    }
    copy_valid(in[0], dout[0], din[0], pass.B);
  }

  Stepping stepping() const override { return Stepping::own; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    std::memcpy(out[0], in[0], sizeof(float) * size_t(F));
  }

 private:
  // Row by row, so that it also holds for rows in any order (a graph's second mask).
  void copy_valid(const Value& v, const float* src, float* dst, int64_t B) const {
    for (int64_t t = 0; t < v.T; ++t)
      for (int64_t b = 0; b < B; ++b) {
        const int64_t at = (t * B + b) * F;
        if (!v.lengths || t < v.lengths[b]) std::memcpy(dst + at, src + at, sizeof(float) * size_t(F));
        else std::memset(dst + at, 0, sizeof(float) * size_t(F));
      }
  }
  const int64_t F;
};

class MaskingRoom final : public Room {
 public:
  const char* type() const override { return "masking"; }
  std::string keras_class(const LayerConfig&) const override { return "Masking"; }
  bool runs(const LayerConfig& c) const override { return c.kind.empty() && c.type == LayerType::masking; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor (and no initial_state), got " +
                  std::to_string(call.inputs.size()));
    const ValueSpec& x = call.inputs[0];
    GraphNode* src = call.input_nodes[0];
    if (!src->is_input || !x.seq)
      throw Error(call.where + " must be the first layer, on sequences [N, T, F]: it finds the "
                  "padding in the model's input (in a graph, call it on an lstm::Input of shape "
                  "{timesteps, features} directly), got " + spec_string(x));
    claim_padding(call, *src, GraphNode::Padding::value, call.layer.mask_value);
    ValueSpec y = x;
    y.mask_of = src;
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<MaskingOp>(call.inputs[0].F);
  }

  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", "masking"}, {"mask_value", json_float(c.mask_value)}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j, {"type", "mask_value"}, where);
    return Masking(float(json_number(j, "mask_value", 0.0, where)));
  }
};

const Room& masking_room() {
  static const MaskingRoom r;
  return r;
}

LayerConfig Masking(float mask_value, MaskingOptions options) {
  LayerConfig c;
  c.type = LayerType::masking;
  c.mask_value = mask_value;
  c.input_shape = std::move(options.input_shape);
  c.batch_size = options.batch_size;
  return c;
}

}  // namespace lstm
