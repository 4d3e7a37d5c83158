// LayerNormalization (include/lstm/layers/layer_normalization.h), over rows R = T·B (or B) of F.
// Forward:   x̂ = (x - μ)·r,  r = 1/sqrt(σ² + ε),  y = γ ⊙ x̂ + β
// Backward:  g = dy ⊙ γ,  dx = r·(g - mean(g) - x̂·mean(g ⊙ x̂)),
//            dγ += Σ_rows dy ⊙ x̂,  dβ += Σ_rows dy
#include <cmath>

#include "graph/graph.h"
#include "lstm/error.h"
#include "lstm/layers/layer_normalization.h"

namespace lstm {

class LayerNormOp final : public Op {
 public:
  LayerNormOp(int64_t F, float eps) : F_(F), eps_(eps) {}
  std::vector<ParamTensor> param_tensors() const override {
    return {{"gamma", {F_}, 0}, {"beta", {F_}, F_}};
  }
  void init(Rng&) override {
    for (int64_t k = 0; k < F_; ++k) params_[k] = 1.0f, params_[F_ + k] = 0.0f;
  }

  Stepping stepping() const override { return Stepping::by_forward; }  // row by row
  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>, Workspace& ws) override {
    const int64_t R = in[0].rows(pass.B);
    xhat_ = ws.kept.take(R * F_), rstd_ = ws.kept.take(R);
  }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t R = in[0].rows(pass.B), F = F_;
    const float *gamma = params_, *beta = params_ + F;
    for (int64_t r = 0; r < R; ++r) {
      const float* x = in[0].data + r * F;
      double mean = 0.0, var = 0.0;
      for (int64_t k = 0; k < F; ++k) mean += x[k];
      mean /= double(F);
      for (int64_t k = 0; k < F; ++k) var += (x[k] - mean) * (x[k] - mean);
      const float rs = float(1.0 / std::sqrt(var / double(F) + double(eps_)));
      float *xh = xhat_ + r * F, *y = out[0].data + r * F;
      for (int64_t k = 0; k < F; ++k) {
        xh[k] = float(x[k] - mean) * rs;
        y[k] = gamma[k] * xh[k] + beta[k];
      }
      rstd_[r] = rs;
    }
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    (void)out;
    const int64_t R = in[0].rows(pass.B), F = F_;
    const float* gamma = params_;
    float *dgamma = grads_, *dbeta = grads_ + F;
    for (int64_t r = 0; r < R; ++r) {
      const float *dy = dout[0] + r * F, *xh = xhat_ + r * F;
      double mg = 0.0, mgx = 0.0;
      for (int64_t k = 0; k < F; ++k) {
        const double g = double(dy[k]) * gamma[k];
        mg += g, mgx += g * xh[k];
        dgamma[k] += dy[k] * xh[k];
        dbeta[k] += dy[k];
      }
      mg /= double(F), mgx /= double(F);
      if (!din[0]) continue;
      float* dx = din[0] + r * F;
      const double rs = rstd_[r];
      for (int64_t k = 0; k < F; ++k)
        dx[k] = float(rs * (double(dy[k]) * gamma[k] - mg - xh[k] * mgx));
    }
  }

 private:
  const int64_t F_;
  const float eps_;
  float *xhat_ = nullptr, *rstd_ = nullptr;  // (R, F), (R)
};

class LayerNormRoom final : public Room {
 public:
  const char* type() const override { return "layer_normalization"; }
  std::string keras_class(const LayerConfig&) const override { return "LayerNormalization"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor");
    const auto* o = std::any_cast<LayerNormalizationOptions>(&call.layer.options);
    if (!o || !(o->epsilon > 0.0f) || !std::isfinite(o->epsilon))
      throw Error(call.where + ": epsilon must be a finite number > 0");
    ValueSpec y = call.inputs[0];
    y.ids = false;
    return {y};
  }
  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", type()}, {"epsilon", std::any_cast<LayerNormalizationOptions>(c.options).epsilon}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "type" && it.key() != "epsilon")
        throw Error(where + ": unknown key \"" + it.key() + "\" (allowed keys: type, epsilon)");
    if (j.contains("epsilon") && !j["epsilon"].is_number())
      throw Error(where + ": \"epsilon\" must be a number");
    return LayerNormalization({.epsilon = j.value("epsilon", 1e-3f)});
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<LayerNormOp>(call.inputs[0].F,
                                         std::any_cast<LayerNormalizationOptions>(call.layer.options).epsilon);
  }
};

LayerConfig LayerNormalization(LayerNormalizationOptions options) {
  LayerConfig c;
  c.kind = "layer_normalization";
  c.options = options;
  return c;
}

const Room& layer_normalization_room() {
  static const LayerNormRoom r;
  return r;
}

}  // namespace lstm
