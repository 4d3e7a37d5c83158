// Attention and AdditiveAttention (include/lstm/layers/attention.h): scores of each query step
// against each key step, softmax over the valid keys, the values weighted by it.
// Dimensions: B = batch, Tq = query steps, Tv = key/value steps, D = query/key width, Dv = value
// width. Time-major inputs (T, B, F): sample b's rows are strided by B·F, which the GEMMs take
// as their leading dimension.
//
// Forward, per sample:   S = scores(Q, K),  A = softmax(S) (padded keys: A = 0),  O = A·V,
//                        A = 0 (so O = 0) at padded query steps.
//   dot:       S = s·R, R = Q·Kᵀ (s = 1, or the learned scalar)
//   additive:  S[i, j] = Σ_d s_d·U[i, j, d], U = tanh(Q[i] + K[j])  (s = 1 without scale)
// Backward, with dO:
//   dA = dO·Vᵀ,  dV = Aᵀ·dO,  dS = A ⊙ (dA − rowsum(dA ⊙ A)), then
//   dot:       dQ = s·dS·K,  dK = s·dSᵀ·Q,  ds = Σ dS ⊙ R
//   additive:  G[i, j, d] = dS[i, j]·s_d·(1 − U²):  dQ[i] = Σ_j G,  dK[j] = Σ_i G,
//              ds_d = Σ_ij dS[i, j]·U[i, j, d]
#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "graph/graph.h"
#include "layers/init.h"
#include "lstm/error.h"
#include "lstm/layers/attention.h"

namespace lstm {

enum class Score { dot, additive };

class AttentionOp final : public Op {
 public:
  AttentionOp(Score score, bool use_scale, int64_t D) : score_(score), use_scale_(use_scale), D_(D) {}

  std::vector<ParamTensor> param_tensors() const override {
    if (!use_scale_) return {};
    return {{"scale", {score_ == Score::dot ? 1 : D_}, 0}};
  }
  void init(Rng& rng) override {
    if (!use_scale_) return;
    if (score_ == Score::dot) params_[0] = 1.0f;
    else init_glorot_uniform(params_, D_, D_, D_, rng);  // Keras: fans of a vector are its size
  }

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>, Workspace& ws) override {
    const int64_t B = pass.B, Tq = in[0].T, Tv = in[1].T;
    raw_ = ws.kept.take(B * Tq * Tv), a_ = ws.kept.take(B * Tq * Tv);
    u_ = score_ == Score::additive ? ws.kept.take(B * Tq * Tv * D_) : nullptr;
    planned_threads_ = num_threads();
    da_ = ws.grad.take(planned_threads_ * Tq * Tv);  // one (Tq, Tv) scratch per thread
  }

  // Threads for the loops over samples: each sample's products are small, so the samples are
  // what splits (each written by one thread; sums over samples taken in sample order after).
  // Never more than the plan made scratch for.
  int sample_threads(int64_t B, int64_t work) const {
    return int(std::min<int64_t>({B, threads_for_elements(work), planned_threads_}));
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const Value &q = in[0], &v = in[1], &k = in.size() > 2 ? in[2] : in[1];
    const int64_t B = pass.B, Tq = q.T, Tv = v.T, D = q.F, Dv = v.F;
#pragma omp parallel for num_threads(sample_threads(B, B * Tq * Tv * std::max(D, Dv))) schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      float *R = raw_ + b * Tq * Tv, *A = a_ + b * Tq * Tv;
      scores(q.data + b * D, B * D, k.data + b * k.F, B * k.F, Tq, Tv, D, R,
             score_ == Score::additive ? u_ + b * Tq * Tv * D : nullptr);
      const float s = score_ == Score::dot && use_scale_ ? params_[0] : 1.0f;
      const int64_t keys = v.lengths ? v.lengths[b] : Tv;
      for (int64_t i = 0; i < Tq; ++i) {
        const float* r = R + i * Tv;
        float* a = A + i * Tv;
        if (q.lengths && i >= q.lengths[b]) {
          std::memset(a, 0, sizeof(float) * size_t(Tv));
          continue;
        }
        if (keys == 0) {  // no key (all padding): nothing to attend to, O = 0
          std::memset(a, 0, sizeof(float) * size_t(Tv));
          continue;
        }
        float top = -INFINITY;
        for (int64_t j = 0; j < keys; ++j) top = std::max(top, s * r[j]);
        double sum = 0.0;
        for (int64_t j = 0; j < keys; ++j) sum += a[j] = std::exp(s * r[j] - top);
        for (int64_t j = 0; j < keys; ++j) a[j] = float(a[j] / sum);
        for (int64_t j = keys; j < Tv; ++j) a[j] = 0.0f;
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
    float *dq = din[0], *dv = din[1], *dk = own_key ? din[2] : din[1];
    // the key's gradient goes to its own tensor, or is added to the value's when it is the value
    const float beta_k = own_key || !dv ? 0.0f : 1.0f;
    const float* dO = dout[0];  // padded query steps: A is zero there, so they add nothing
    // ∂L/∂scale per sample, summed in sample order after the loop: (B, 1) dot, (B, D) additive
    const int64_t per = !use_scale_ ? 0 : score_ == Score::dot ? 1 : D;
    ds_.assign(size_t(B * per), 0.0);
#pragma omp parallel for num_threads(sample_threads(B, B * Tq * Tv * std::max(D, Dv))) schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const float *R = raw_ + b * Tq * Tv, *A = a_ + b * Tq * Tv;
      float* dS = da_ + int64_t(omp_get_thread_num()) * Tq * Tv;
      double* dsb = ds_.data() + b * per;
      gemm(false, true, Tq, Tv, Dv, 1.0f, dO + b * Dv, B * Dv, v.data + b * Dv, B * Dv, 0.0f, dS, Tv);
      if (dv) gemm(true, false, Tv, Dv, Tq, 1.0f, A, Tv, dO + b * Dv, B * Dv, 0.0f, dv + b * Dv, B * Dv);
      for (int64_t i = 0; i < Tq; ++i) {  // dA -> dS in place
        const float* a = A + i * Tv;
        float* d = dS + i * Tv;
        double dot = 0.0;
        for (int64_t j = 0; j < Tv; ++j) dot += double(d[j]) * a[j];
        for (int64_t j = 0; j < Tv; ++j) d[j] = a[j] * (d[j] - float(dot));
      }
      if (score_ == Score::dot) {
        const float s = use_scale_ ? params_[0] : 1.0f;
        for (int64_t i = 0; use_scale_ && i < Tq * Tv; ++i) dsb[0] += double(dS[i]) * R[i];
        if (dq) gemm(false, false, Tq, D, Tv, s, dS, Tv, k.data + b * k.F, B * k.F, 0.0f, dq + b * D, B * D);
        if (dk) gemm(true, false, Tv, D, Tq, s, dS, Tv, q.data + b * D, B * D, beta_k, dk + b * k.F, B * k.F);
        continue;
      }
      const float* U = u_ + b * Tq * Tv * D;
      float* dqb = dq ? dq + b * D : nullptr;
      float* dkb = dk ? dk + b * k.F : nullptr;
      for (int64_t i = 0; dqb && i < Tq; ++i) std::memset(dqb + i * B * D, 0, sizeof(float) * size_t(D));
      for (int64_t j = 0; dkb && beta_k == 0.0f && j < Tv; ++j)
        std::memset(dkb + j * B * k.F, 0, sizeof(float) * size_t(D));
      for (int64_t i = 0; i < Tq; ++i)
        for (int64_t j = 0; j < Tv; ++j) {
          const float g = dS[i * Tv + j];
          if (g == 0.0f) continue;  // padded keys and query steps
          const float* u = U + (i * Tv + j) * D;
          for (int64_t d = 0; d < D; ++d) {
            const float sd = use_scale_ ? params_[d] : 1.0f, gd = g * sd * (1.0f - u[d] * u[d]);
            if (dqb) dqb[i * B * D + d] += gd;
            if (dkb) dkb[j * B * k.F + d] += gd;
            if (use_scale_) dsb[d] += double(g) * u[d];
          }
        }
    }
    for (int64_t d = 0; d < per; ++d) {
      double sum = 0.0;
      for (int64_t b = 0; b < B; ++b) sum += ds_[size_t(b * per + d)];
      grads_[d] += float(sum);
    }
  }

 private:
  // R (Tq, Tv) = the raw scores of one sample: Q·Kᵀ, or Σ_d s_d·U with U (Tq, Tv, D) kept.
  void scores(const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t Tq, int64_t Tv,
              int64_t D, float* R, float* U) const {
    if (score_ == Score::dot) return gemm(false, true, Tq, Tv, D, 1.0f, q, ldq, k, ldk, 0.0f, R, Tv);
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tv; ++j) {
        float* u = U + (i * Tv + j) * D;
        float sum = 0.0f;
        for (int64_t d = 0; d < D; ++d) {
          u[d] = std::tanh(q[i * ldq + d] + k[j * ldk + d]);
          sum += (use_scale_ ? params_[d] : 1.0f) * u[d];
        }
        R[i * Tv + j] = sum;
      }
  }

  const Score score_;
  const bool use_scale_;
  const int64_t D_;
  float *raw_ = nullptr, *a_ = nullptr, *u_ = nullptr, *da_ = nullptr;  // (B, Tq, Tv) scores and A; (B, Tq, Tv, D) U; (Tq, Tv)
  std::vector<double> ds_;               // (B, 1) or (B, D): ∂L/∂scale per sample, in double
  int64_t planned_threads_ = 1;          // the threads da_ holds scratch for
};

class AttentionRoom final : public Room {
 public:
  AttentionRoom(Score score, const char* type, const char* keras) : score_(score), type_(type), keras_(keras) {}
  const char* type() const override { return type_; }
  std::string keras_class(const LayerConfig&) const override { return keras_; }

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

  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", type_}, {"use_scale", use_scale(c)}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "type" && it.key() != "use_scale")
        throw Error(where + ": unknown key \"" + it.key() + "\" (allowed keys: type, use_scale)");
    const bool fallback = score_ == Score::additive;
    if (j.contains("use_scale") && !j["use_scale"].is_boolean())
      throw Error(where + ": \"use_scale\" must be true or false");
    const bool scale = j.value("use_scale", fallback);
    return score_ == Score::dot ? Attention({.use_scale = scale}) : AdditiveAttention({.use_scale = scale});
  }

  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<AttentionOp>(score_, use_scale(call.layer), call.inputs[0].F);
  }

 private:
  static bool use_scale(const LayerConfig& c) {
    bool scale = false;
    if (const auto* o = std::any_cast<AttentionOptions>(&c.options)) scale = o->use_scale;
    if (const auto* o = std::any_cast<AdditiveAttentionOptions>(&c.options)) scale = o->use_scale;
    return scale;
  }

  const Score score_;
  const char *type_, *keras_;
};

LayerConfig Attention(AttentionOptions options) {
  LayerConfig c;
  c.kind = "attention";
  c.options = options;
  return c;
}

LayerConfig AdditiveAttention(AdditiveAttentionOptions options) {
  LayerConfig c;
  c.kind = "additive_attention";
  c.options = options;
  return c;
}

const Room& attention_room() {
  static const AttentionRoom r(Score::dot, "attention", "Attention");
  return r;
}
const Room& additive_attention_room() {
  static const AttentionRoom r(Score::additive, "additive_attention", "AdditiveAttention");
  return r;
}

}  // namespace lstm
