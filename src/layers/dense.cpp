// Dense layer and activations, forward and backward side by side. Equations: dense.h.
#include "layers/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "kernels/pointwise.h"
#include "layers/activation.h"

namespace lstm {

void activation_forward(float* y, int64_t R, int64_t Out, Activation act) {
  const int64_t n = R * Out;
  switch (act) {  // one loop per activation, each with a constant act, so that it vectorises
    case Activation::linear: break;
    case Activation::relu: for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::relu, y[k]); break;
    case Activation::sigmoid:
    case Activation::tanh: activation_pointwise(y, n, act); break;  // 16 lanes (kernels/vmath.h)
    case Activation::hard_sigmoid:
      for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::hard_sigmoid, y[k]);
      break;
    case Activation::softmax: {
      auto softmax_row = [&](int64_t r) {
        float* row = y + r * Out;
        float mx = *std::max_element(row, row + Out);
        float sum = 0.0f;
        for (int64_t k = 0; k < Out; ++k) sum += (row[k] = std::exp(row[k] - mx));
        for (int64_t k = 0; k < Out; ++k) row[k] /= sum;
      };
      if (threads_for_elements(n) == 1) {  // a step, a small batch: no parallel region
        for (int64_t r = 0; r < R; ++r) softmax_row(r);
        break;
      }
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < R; ++r) softmax_row(r);
      break;
    }
  }
}

void activation_backward(const float* y, const float* dy, float* dz, int64_t R, int64_t Out,
                         Activation act) {
  const int64_t n = R * Out;
  // one loop per activation, each with a constant act, so that it vectorises
  auto slopes = [&]<Activation A>() {
#pragma omp parallel for num_threads(threads_for_elements(n)) schedule(static)
    for (int64_t k = 0; k < n; ++k) dz[k] = dy[k] * activation_slope(A, y[k]);
  };
  switch (act) {
    case Activation::linear: slopes.template operator()<Activation::linear>(); return;
    case Activation::relu: slopes.template operator()<Activation::relu>(); return;
    case Activation::sigmoid: slopes.template operator()<Activation::sigmoid>(); return;
    case Activation::tanh: slopes.template operator()<Activation::tanh>(); return;
    case Activation::hard_sigmoid: slopes.template operator()<Activation::hard_sigmoid>(); return;
    case Activation::softmax: break;
  }
  for (int64_t r = 0; r < R; ++r) {
    const float* yr = y + r * Out;
    const float* dyr = dy + r * Out;
    float dot = 0.0f;
    for (int64_t k = 0; k < Out; ++k) dot += dyr[k] * yr[k];
    for (int64_t k = 0; k < Out; ++k) dz[r * Out + k] = yr[k] * (dyr[k] - dot);
  }
}

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t R, int64_t In,
                   int64_t Out, Activation act) {
  if (b)
    for (int64_t r = 0; r < R; ++r) std::memcpy(y + r * Out, b, sizeof(float) * Out);
  gemm(false, true, R, Out, In, 1.0f, x, In, w, In, b ? 1.0f : 0.0f, y, Out);
  activation_forward(y, R, Out, act);
}

void dense_backward(const float* x, const float* w, const float* y, const float* dy, float* dz,
                    float* dw, float* db, float* dx, int64_t R, int64_t In, int64_t Out,
                    Activation act) {
  activation_backward(y, dy, dz, R, Out, act);
  gemm(true, false, Out, In, R, 1.0f, dz, Out, x, In, 1.0f, dw, In);
  if (db)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t k = 0; k < Out; ++k) db[k] += dz[r * Out + k];
  if (dx) gemm(false, false, R, In, Out, 1.0f, dz, Out, w, In, 0.0f, dx, In);
}

}  // namespace lstm

// ---- the Dense layer: its op, options and config ------------------------------------------------

#include "core/limits.h"
#include "graph/graph.h"
#include "layers/config_json.h"
#include "layers/init.h"
#include "lstm/error.h"

namespace lstm {

// Dense on vectors (B, In) or on every step of a sequence (T·B rows): weight (Out, In), bias
// (Out) unless use_bias is false, Keras's glorot_uniform kernel and zero bias.
class DenseOp final : public Op {
 public:
  DenseOp(int64_t in, int64_t out, Activation act, bool use_bias)
      : In(in), Out(out), act_(act), use_bias_(use_bias) {}

  std::vector<ParamTensor> param_tensors() const override {
    if (!use_bias_) return {{"weight", {Out, In}, 0}};
    return {{"weight", {Out, In}, 0}, {"bias", {Out}, Out * In}};
  }
  void init(Rng& rng) override {
    init_glorot_uniform(params_, Out * In, In, Out, rng);
    if (use_bias_) std::memset(params_ + Out * In, 0, sizeof(float) * size_t(Out));
  }

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>, Workspace& ws) override {
    dz_ = ws.grad.take(in[0].rows(pass.B) * Out);
  }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    dense_forward(in[0].data, params_, bias(), out[0].data, in[0].rows(pass.B), In, Out, act_);
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t R = in[0].rows(pass.B);
    if (!dout[0]) {  // nothing flows back through this call
      if (din[0]) std::memset(din[0], 0, sizeof(float) * size_t(R * In));
      return;
    }
    dense_backward(in[0].data, params_, out[0].data, dout[0], dz_, grads_, use_bias_ ? grads_ + Out * In : nullptr,
                   din[0], R, In, Out, act_);
  }

  Stepping stepping() const override { return Stepping::own; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    dense_forward(in[0], params_, bias(), out[0], 1, In, Out, act_);
  }

 private:
  const float* bias() const { return use_bias_ ? params_ + Out * In : nullptr; }
  const int64_t In, Out;
  const Activation act_;
  const bool use_bias_;
  float* dz_ = nullptr;  // (R, Out): ∂L/∂z before the activation
};

class DenseRoom final : public Room {
 public:
  const char* type() const override { return "dense"; }
  std::string keras_class(const LayerConfig& c) const override {
    return c.time_distributed ? "TimeDistributed" : "Dense";
  }
  bool runs(const LayerConfig& c) const override { return c.kind.empty() && c.type == LayerType::dense; }
  bool per_frame() const override { return true; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor (and no initial_state), got " +
                  std::to_string(call.inputs.size()));
    const LayerConfig& c = call.layer;
    const ValueSpec& x = call.inputs[0];
    if (c.units <= 0 || c.units > limits::kWidth)
      throw Error(call.where + ": units must be in 1.." + std::to_string(limits::kWidth) + ", got " +
                  std::to_string(c.units));
    if (c.time_distributed && !x.seq)
      throw Error(call.where + ": TimeDistributed needs a sequence input [N, T, F], got " +
                  spec_string(x) + ": set return_sequences = true on the recurrent layer before it");
    ValueSpec y = x;
    y.F = c.units;
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<DenseOp>(call.inputs[0].F, call.layer.units, call.layer.activation,
                                     call.layer.use_bias);
  }

  bool reads(const std::string& t) const override { return t == "dense" || t == "time_distributed"; }
  nlohmann::json to_json(const LayerConfig& c) const override {
    nlohmann::json j = {{"type", "dense"}, {"units", c.units}, {"activation", activation_name(c.activation)}};
    if (!c.use_bias) j["use_bias"] = false;  // written only when off: older files read the same
    if (c.time_distributed) return {{"type", "time_distributed"}, {"layer", j}};
    return j;
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    if (j["type"] == "time_distributed") {
      check_keys(j, {"type", "layer"}, where);
      if (!j.contains("layer")) throw Error(where + ": missing \"layer\", the layer it wraps");
      const LayerConfig inner = layer_config_from_file(j["layer"], where + ".layer");
      try {
        return TimeDistributed(inner);
      } catch (const Error& e) {
        throw Error(where + ": " + e.what());
      }
    }
    check_keys(j, {"type", "units", "activation", "use_bias"}, where);
    return Dense(json_units(j, "units", where),
                 {.activation = json_activation(j, "activation", Activation::linear, where),
                  .use_bias = json_bool(j, "use_bias", true, where)});
  }
};

const Room& dense_room() {
  static const DenseRoom r;
  return r;
}

LayerConfig Dense(int units, DenseOptions options) {
  LayerConfig c;
  c.type = LayerType::dense;
  c.units = units;
  c.activation = options.activation;
  c.use_bias = options.use_bias;
  c.input_shape = std::move(options.input_shape);
  return c;
}

LayerConfig TimeDistributed(const LayerConfig& layer) {
  if (!room_for(layer).per_frame())
    throw Error(
        "TimeDistributed wraps a Dense, Conv2D, MaxPooling2D, GlobalAveragePooling2D or Flatten "
        "layer, not " +
        (layer.kind.empty() ? std::string(layer_type_name(layer.type)) : layer.kind) +
        (layer.kind.empty() && is_recurrent(layer.type) ? ": recurrent layers already run over time"
                                                        : ""));
  LayerConfig c = layer;
  c.time_distributed = true;
  return c;
}

}  // namespace lstm
