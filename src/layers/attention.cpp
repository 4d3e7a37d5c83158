// Attention (include/lstm/layers/attention.h): dot-product scores, softmax over the valid keys.
// Dimensions: B = batch, Tq = query steps, Tv = key/value steps, D = query/key width, Dv = value
// width. Time-major inputs (T, B, F): sample b's rows are strided by B·F, which the GEMMs take
// as their leading dimension.
//
// Forward, per sample:   R = Q·Kᵀ,  S = s·R,  A = softmax(S) (padded keys: A = 0),  O = A·V,
//                        O = 0 at padded query steps.
// Backward, with dO (padded query rows zero):
//   dA = dO·Vᵀ,  dV = Aᵀ·dO,  dS = A ⊙ (dA − rowsum(dA ⊙ A)),
//   dQ = s·dS·K,  dK = s·dSᵀ·Q,  ds = Σ dS ⊙ R.
#include <cmath>
#include <cstring>

#include "gemm/gemm.h"
#include "graph/graph.h"
#include "lstm/error.h"
#include "lstm/layers/attention.h"

namespace lstm {

class AttentionOp final : public Op {
 public:
  explicit AttentionOp(bool use_scale) : use_scale_(use_scale) {}

  std::vector<ParamTensor> param_tensors() const override {
    if (!use_scale_) return {};
    return {{"scale", {1}, 0}};
  }
  void init(Rng&) override {
    if (use_scale_) params_[0] = 1.0f;
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const Value &q = in[0], &v = in[1], &k = in.size() > 2 ? in[2] : in[1];
    const int64_t B = pass.B, Tq = q.T, Tv = v.T, D = q.F, Dv = v.F;
    const float s = use_scale_ ? params_[0] : 1.0f;
    grow(raw_, B * Tq * Tv), grow(a_, B * Tq * Tv);
    for (int64_t b = 0; b < B; ++b) {
      float *R = raw_.data() + b * Tq * Tv, *A = a_.data() + b * Tq * Tv;
      gemm(false, true, Tq, Tv, D, 1.0f, q.data + b * D, B * D, k.data + b * D, B * k.F, 0.0f, R, Tv);
      const int64_t keys = v.lengths ? v.lengths[b] : Tv;
      for (int64_t i = 0; i < Tq; ++i) {
        const float* r = R + i * Tv;
        float* a = A + i * Tv;
        float top = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) top = std::max(top, s * r[j]);
        double sum = 0.0;
        for (int64_t j = 0; j < keys; ++j) sum += a[j] = std::exp(s * r[j] - top);
        for (int64_t j = 0; j < keys; ++j) a[j] = float(a[j] / sum);
        for (int64_t j = keys; j < Tv; ++j) a[j] = 0.0f;
        if (q.lengths && i >= q.lengths[b]) std::memset(a, 0, sizeof(float) * size_t(Tv));
      }
      gemm(false, false, Tq, Dv, Tv, 1.0f, A, Tv, v.data + b * Dv, B * Dv, 0.0f, out[0].data + b * Dv, B * Dv);
    }
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    (void)out;
    const bool own_key = in.size() > 2;
    const Value &q = in[0], &v = in[1], &k = own_key ? in[2] : in[1];
    const int64_t B = pass.B, Tq = q.T, Tv = v.T, D = q.F, Dv = v.F;
    const float s = use_scale_ ? params_[0] : 1.0f;
    float *dq = din[0], *dv = din[1], *dk = own_key ? din[2] : din[1];
    const float* dO = dout[0];  // rows of padded query steps: A is zero there, so they add nothing
    grow(da_, Tq * Tv);
    double dscale = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const float *R = raw_.data() + b * Tq * Tv, *A = a_.data() + b * Tq * Tv;
      float* dA = da_.data();
      gemm(false, true, Tq, Tv, Dv, 1.0f, dO + b * Dv, B * Dv, v.data + b * Dv, B * Dv, 0.0f, dA, Tv);
      if (dv) gemm(true, false, Tv, Dv, Tq, 1.0f, A, Tv, dO + b * Dv, B * Dv, 0.0f, dv + b * Dv, B * Dv);
      for (int64_t i = 0; i < Tq; ++i) {  // dA -> dS in place
        const float* a = A + i * Tv;
        float* d = dA + i * Tv;
        double dot = 0.0;
        for (int64_t j = 0; j < Tv; ++j) dot += double(d[j]) * a[j];
        for (int64_t j = 0; j < Tv; ++j) d[j] = a[j] * (d[j] - float(dot));
        for (int64_t j = 0; use_scale_ && j < Tv; ++j) dscale += double(d[j]) * R[i * Tv + j];
      }
      if (dq) gemm(false, false, Tq, D, Tv, s, dA, Tv, k.data + b * k.F, B * k.F, 0.0f, dq + b * D, B * D);
      // the key's gradient: its own tensor, or added to the value's when the key is the value
      if (dk) gemm(true, false, Tv, D, Tq, s, dA, Tv, q.data + b * D, B * D, own_key || !dv ? 0.0f : 1.0f,
                   dk + b * k.F, B * k.F);
    }
    if (use_scale_) grads_[0] += float(dscale);
  }

 private:
  const bool use_scale_;
  std::vector<float> raw_, a_, da_;  // (B, Tq, Tv) Q·Kᵀ and A; (Tq, Tv) scratch
};

class AttentionRoom final : public Room {
 public:
  const char* type() const override { return "attention"; }
  std::string keras_class(const LayerConfig&) const override { return "Attention"; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    const std::vector<ValueSpec>& in = call.inputs;
    if (in.size() != 2 && in.size() != 3)
      throw Error(call.where + " takes [query, value] or [query, value, key], got " +
                  std::to_string(in.size()) + " tensors");
    if (!call.states.empty()) throw Error(call.where + " takes no initial_state");
    const ValueSpec &q = in[0], &v = in[1], &k = in.size() == 3 ? in[2] : in[1];
    for (size_t i = 0; i < in.size(); ++i)
      if (!in[i].seq)
        throw Error(call.where + ": " + (i == 0 ? "query" : i == 1 ? "value" : "key") + " is " +
                    spec_string(in[i]) + ", but attention runs over sequences [N, T, F]");
    if (q.F != k.F)
      throw Error(call.where + ": query " + spec_string(q) + " and " + (in.size() == 3 ? "key " : "value ") +
                  spec_string(k) + " must have the same last axis");
    if (in.size() == 3 && !k.same_time(v))
      throw Error(call.where + ": key " + spec_string(k) + " and value " + spec_string(v) +
                  " must have the same time steps");
    if (in.size() == 3 && k.mask_of != v.mask_of)
      throw Error(call.where + ": key and value carry different masks");
    ValueSpec y = q;
    y.F = v.F;
    return {y};
  }

  std::unique_ptr<Op> make(const Call& call) const override {
    const auto* o = std::any_cast<AttentionOptions>(&call.layer.options);
    return std::make_unique<AttentionOp>(o && o->use_scale);
  }
};

LayerConfig Attention(AttentionOptions options) {
  LayerConfig c;
  c.kind = "attention";
  c.options = options;
  return c;
}

const Room& attention_room() {
  static const AttentionRoom r;
  return r;
}

}  // namespace lstm
