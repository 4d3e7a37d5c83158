// RepeatVector (include/lstm/layers/repeat_vector.h): x (B, F) -> y (n, B, F), y[t] = x.
// Backward: dx = Σ_t dy[t].
#include <cstring>

#include "core/json.h"
#include "core/limits.h"
#include "graph/graph.h"
#include "lstm/error.h"
#include "lstm/layers/repeat_vector.h"

namespace lstm {

class RepeatVectorOp final : public Op {
 public:
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t n = in[0].size(pass.B);
    for (int64_t t = 0; t < out[0].T; ++t)
      std::memcpy(out[0].data + t * n, in[0].data, sizeof(float) * size_t(n));
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const int64_t n = in[0].size(pass.B);
    std::memcpy(din[0], dout[0], sizeof(float) * size_t(n));
    for (int64_t t = 1; t < out[0].T; ++t)
      for (int64_t k = 0; k < n; ++k) din[0][k] += dout[0][t * n + k];
  }
};

class RepeatVectorRoom final : public Room {
 public:
  const char* type() const override { return "repeat_vector"; }
  std::string keras_class(const LayerConfig&) const override { return "RepeatVector"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor");
    const ValueSpec& x = call.inputs[0];
    if (x.seq)
      throw Error(call.where + " repeats one vector per sample, [N, F], but got " + spec_string(x) +
                  ": give it a recurrent layer's last output (return_sequences = false)");
    const int64_t* given = std::any_cast<int64_t>(&call.layer.options);
    const int64_t n = given ? *given : 0;
    if (n < 1 || n > limits::kTimeSteps)
      throw Error(call.where + ": n must be in 1.." + std::to_string(limits::kTimeSteps) + ", got " +
                  std::to_string(n));
    ValueSpec y;
    y.seq = true, y.F = x.F, y.steps = n;
    return {y};
  }
  std::unique_ptr<Op> make(const Call&) const override { return std::make_unique<RepeatVectorOp>(); }
  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", type()}, {"n", std::any_cast<int64_t>(c.options)}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "type" && it.key() != "n")
        throw Error(where + ": unknown key \"" + it.key() + "\" (allowed keys: type, n)");
    if (!j.contains("n")) throw Error(where + ": missing key \"n\", the steps to repeat");
    return RepeatVector(json_integer(j["n"], 1, limits::kTimeSteps, where + ": \"n\""));
  }
};

LayerConfig RepeatVector(int64_t n) {
  LayerConfig c;
  c.kind = "repeat_vector";
  c.options = n;
  return c;
}

const Room& repeat_vector_room() {
  static const RepeatVectorRoom r;
  return r;
}

}  // namespace lstm
