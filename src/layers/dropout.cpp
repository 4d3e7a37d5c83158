// Dropout (inverted): in training y = x * m / (1 - rate), m ~ Bernoulli(1 - rate) per value,
// drawn from the model's generator; otherwise y = x. Backward: dx = dy * m / (1 - rate).
#include <cstring>

#include "graph/graph.h"
#include "layers/config_json.h"
#include "lstm/error.h"

namespace lstm {

class DropoutOp final : public Op {
 public:
  DropoutOp(float rate, int64_t F) : rate_(rate), F(F) {}

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>, Workspace& ws) override {
    mask_ = rate_ > 0.0f ? ws.kept.take(in[0].size(pass.B)) : nullptr;
  }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t n = in[0].size(pass.B);
    const float* x = in[0].data;
    float* y = out[0].data;
    dropped_ = pass.training && rate_ > 0.0f;
    if (!dropped_) {
      std::memcpy(y, x, sizeof(float) * size_t(n));
      return;
    }
    const float keep = 1.0f - rate_, scale = 1.0f / keep;
    for (int64_t k = 0; k < n; ++k) {
      mask_[k] = pass.rng->uniform() < keep ? scale : 0.0f;
      y[k] = x[k] * mask_[k];
    }
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const int64_t n = in[0].size(pass.B);
    if (!dout[0]) {
      std::memset(din[0], 0, sizeof(float) * size_t(n));
      return;
    }
    for (int64_t k = 0; k < n; ++k) din[0][k] = dropped_ ? dout[0][k] * mask_[k] : dout[0][k];
  }

  Stepping stepping() const override { return Stepping::own; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    std::memcpy(out[0], in[0], sizeof(float) * size_t(F));
  }

 private:
  const float rate_;
  const int64_t F;
  bool dropped_ = false;     // the last forward drew a mask
  float* mask_ = nullptr;    // its m / (1 - rate)
};

class DropoutRoom final : public Room {
 public:
  const char* type() const override { return "dropout"; }
  std::string keras_class(const LayerConfig&) const override { return "Dropout"; }
  bool runs(const LayerConfig& c) const override { return c.kind.empty() && c.type == LayerType::dropout; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor (and no initial_state), got " +
                  std::to_string(call.inputs.size()));
    const float rate = call.layer.rate;
    if (!(rate >= 0.0f && rate < 1.0f))
      throw Error(call.where + ": rate must be in [0, 1), got " + std::to_string(rate));
    ValueSpec y = call.inputs[0];
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<DropoutOp>(call.layer.rate, call.inputs[0].F);
  }

  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", "dropout"}, {"rate", json_float(c.rate)}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j, {"type", "rate"}, where);
    if (!j.contains("rate")) throw Error(where + ": missing key \"rate\"");
    return Dropout(float(json_number(j, "rate", 0.0, where)));
  }
};

const Room& dropout_room() {
  static const DropoutRoom r;
  return r;
}

LayerConfig Dropout(float rate) {
  LayerConfig c;
  c.type = LayerType::dropout;
  c.rate = rate;
  return c;
}

}  // namespace lstm
