// The LSTM with its options, forward and backward side by side. Equations: lstm_general.h.
// The pointwise step runs on 16-lane vectors (kernels/vmath.h), compiled for AVX-512, AVX2 and
// the baseline; the products are library GEMMs.
#include "layers/lstm_general.h"

#include <algorithm>
#include <cstring>

#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "kernels/vmath.h"

#define LSTM_INLINE static inline __attribute__((always_inline))

namespace lstm {

static void zero(float* p, int64_t n) {
  if (n > 0) std::memset(p, 0, sizeof(float) * size_t(n));
}

// ---- the pointwise step, 16 units at a time (kernels/vmath.h) ---------------------------------

LSTM_VEC v16f vactivate(Activation act, v16f z) {
  switch (act) {
    case Activation::relu:
      return vmax(z, vsplat(0.0f));
    case Activation::sigmoid:
      return vsigmoid(z);
    case Activation::tanh:
      return vtanh(z);
    case Activation::hard_sigmoid:
      return vmin(vmax(z * (1.0f / 6.0f) + 0.5f, vsplat(0.0f)), vsplat(1.0f));
    default:
      return z;  // linear
  }
}
LSTM_VEC v16f vslope(Activation act, v16f y) {  // layers/activation.h, from the output
  switch (act) {
    case Activation::relu:
      return y > 0.0f ? vsplat(1.0f) : vsplat(0.0f);
    case Activation::sigmoid:
      return y * (1.0f - y);
    case Activation::tanh:
      return 1.0f - y * y;
    case Activation::hard_sigmoid:
      return (y > 0.0f) & (y < 1.0f) ? vsplat(1.0f / 6.0f) : vsplat(0.0f);
    default:
      return vsplat(1.0f);
  }
}
// Lanes j..j+n of p (n <= 16): the whole vector, or the tail of a row.
LSTM_VEC v16f ld(const float* p, int64_t n) {
  return n == kLanes ? vload(p) : vload_n(p, n);
}
LSTM_VEC void st(float* p, v16f v, int64_t n) {
  if (n == kLanes)
    vstore(p, v);
  else
    vstore_n(p, v, n);
}

// Rows 0..R of one step: pre-activations a (R, 4H) -> activations i, f, g, o in place, c (R, H),
// u = o * act(c) (R, H); peep (3, H) or null.
LSTM_INLINE void forward_rows(float* gates, const float* c_prev, float* c, float* u,
                              const float* peep, int64_t R, int64_t H, Activation act,
                              Activation ract) {
  for (int64_t b = 0; b < R; ++b) {
    float* a = gates + b * 4 * H;
    const float* cp = c_prev + b * H;
    for (int64_t j = 0; j < H; j += kLanes) {
      const int64_t n = std::min<int64_t>(kLanes, H - j);
      const v16f cpv = ld(cp + j, n);
      v16f ai = ld(a + j, n), af = ld(a + H + j, n), ag = ld(a + 2 * H + j, n),
           ao = ld(a + 3 * H + j, n);
      if (peep) ai += ld(peep + j, n) * cpv, af += ld(peep + H + j, n) * cpv;
      const v16f i = vactivate(ract, ai), f = vactivate(ract, af), g = vactivate(act, ag);
      const v16f ct = f * cpv + i * g;
      if (peep) ao += ld(peep + 2 * H + j, n) * ct;
      const v16f og = vactivate(ract, ao);
      st(a + j, i, n), st(a + H + j, f, n), st(a + 2 * H + j, g, n), st(a + 3 * H + j, og, n);
      st(c + b * H + j, ct, n);
      st(u + b * H + j, og * vactivate(act, ct), n);
    }
  }
}

// Its derivative: du (R, H) = ∂L/∂u, dc (R, H) ∂L/∂c_t in, ∂L/∂c_{t-1} out; writes da (R, 4H)
// and adds the peepholes' gradients into dpeep.
LSTM_INLINE void backward_rows(const float* gates, const float* c_prev, const float* c,
                               const float* du, const float* peep, float* da, float* dc,
                               float* dpeep, int64_t R, int64_t H, Activation act,
                               Activation ract) {
  for (int64_t b = 0; b < R; ++b) {
    const float *gt = gates + b * 4 * H, *cp = c_prev + b * H, *cb = c + b * H, *dub = du + b * H;
    float *dab = da + b * 4 * H, *dcb = dc + b * H;
    for (int64_t j = 0; j < H; j += kLanes) {
      const int64_t n = std::min<int64_t>(kLanes, H - j);
      const v16f i = ld(gt + j, n), f = ld(gt + H + j, n), g = ld(gt + 2 * H + j, n),
                 og = ld(gt + 3 * H + j, n);
      const v16f cpv = ld(cp + j, n), ct = ld(cb + j, n), duv = ld(dub + j, n);
      const v16f s = vactivate(act, ct);
      const v16f da_o = duv * s * vslope(ract, og);
      v16f dct = ld(dcb + j, n) + duv * og * vslope(act, s);
      if (peep) dct += da_o * ld(peep + 2 * H + j, n);
      const v16f da_i = dct * g * vslope(ract, i), da_f = dct * cpv * vslope(ract, f);
      const v16f da_g = dct * i * vslope(act, g);
      st(dab + j, da_i, n), st(dab + H + j, da_f, n), st(dab + 2 * H + j, da_g, n),
          st(dab + 3 * H + j, da_o, n);
      v16f dc_prev = dct * f;
      if (peep) {
        dc_prev += da_i * ld(peep + j, n) + da_f * ld(peep + H + j, n);
        st(dpeep + j, ld(dpeep + j, n) + da_i * cpv, n);
        st(dpeep + H + j, ld(dpeep + H + j, n) + da_f * cpv, n);
        st(dpeep + 2 * H + j, ld(dpeep + 2 * H + j, n) + da_o * ct, n);
      }
      st(dcb + j, dc_prev, n);
    }
  }
}

// Compiled for each instruction set; the one lstm_kernel_isa() names runs.
#define LSTM_GENERAL_KERNELS(suffix, target)                                                       \
  target static void forward_##suffix(float* gates, const float* c_prev, float* c, float* u,       \
                                      const float* peep, int64_t R, int64_t H, Activation act,     \
                                      Activation ract) {                                           \
    forward_rows(gates, c_prev, c, u, peep, R, H, act, ract);                                      \
  }                                                                                                \
  target static void backward_##suffix(                                                            \
      const float* gates, const float* c_prev, const float* c, const float* du, const float* peep, \
      float* da, float* dc, float* dpeep, int64_t R, int64_t H, Activation act, Activation ract) { \
    backward_rows(gates, c_prev, c, du, peep, da, dc, dpeep, R, H, act, ract);                     \
  }
LSTM_GENERAL_KERNELS(generic, )
#if LSTM_X86
LSTM_GENERAL_KERNELS(avx2, LSTM_AVX2)
LSTM_GENERAL_KERNELS(avx512, LSTM_AVX512)
#endif

static void pointwise_forward(float* gates, const float* c_prev, float* c, float* u,
                              const float* peep, int64_t R, int64_t H, Activation act,
                              Activation ract) {
#if LSTM_X86
  const char* isa = lstm_kernel_isa();  // "avx512", "avx2" or "generic"
  if (!std::strcmp(isa, "avx512"))
    return forward_avx512(gates, c_prev, c, u, peep, R, H, act, ract);
  if (!std::strcmp(isa, "avx2")) return forward_avx2(gates, c_prev, c, u, peep, R, H, act, ract);
#endif
  forward_generic(gates, c_prev, c, u, peep, R, H, act, ract);
}

static void pointwise_backward(const float* gates, const float* c_prev, const float* c,
                               const float* du, const float* peep, float* da, float* dc,
                               float* dpeep, int64_t R, int64_t H, Activation act,
                               Activation ract) {
#if LSTM_X86
  const char* isa = lstm_kernel_isa();
  if (!std::strcmp(isa, "avx512"))
    return backward_avx512(gates, c_prev, c, du, peep, da, dc, dpeep, R, H, act, ract);
  if (!std::strcmp(isa, "avx2"))
    return backward_avx2(gates, c_prev, c, du, peep, da, dc, dpeep, R, H, act, ract);
#endif
  backward_generic(gates, c_prev, c, du, peep, da, dc, dpeep, R, H, act, ract);
}

void lstm_general_forward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                          const float* mask, const float* x, LstmGeneralActivations& act) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P;
  const float* peep = w.peephole;
  // a = x·W_ihᵀ + b for every step at once, in the gate buffer
  for (int64_t r = 0; r < d.T * d.B; ++r) {
    if (w.bias)
      std::memcpy(act.gates + r * G, w.bias, sizeof(float) * size_t(G));
    else
      zero(act.gates + r * G, G);
  }
  gemm(false, true, d.T * d.B, G, d.I, 1.0f, x, d.I, w.w_ih, d.I, 1.0f, act.gates, G);
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t n = d.rows_at(t);
    const float* h_prev = act.h + t * BP;
    if (act.h_in) {  // recurrent dropout: h̃ = h_{t-1} * m
      float* hin = act.h_in + t * BP;
      for (int64_t k = 0; k < n * P; ++k) hin[k] = h_prev[k] * mask[k];
      zero(hin + n * P, (d.B - n) * P);
      h_prev = hin;
    }
    float* gates = act.gates + t * d.B * G;
    gemm(false, true, n, G, P, 1.0f, h_prev, P, w.w_hh, P, 1.0f, gates, G);
    const float* c_prev = act.c + t * BH;
    float* c = act.c + (t + 1) * BH;
    float* u = act.u ? act.u + t * BH : act.h + (t + 1) * BP;  // P = H without a projection
    pointwise_forward(gates, c_prev, c, u, peep, n, H, o.act, o.ract);
    zero(c + n * H, (d.B - n) * H);  // ended rows
    zero(u + n * H, (d.B - n) * H);
    if (act.u) {  // h_t = u_t·W_hrᵀ
      float* h = act.h + (t + 1) * BP;
      gemm(false, true, n, P, H, 1.0f, u, H, w.w_hr, H, 0.0f, h, P);
      zero(h + n * P, (d.B - n) * P);
    }
  }
}

void lstm_general_backward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                           const float* mask, const float* x, const LstmGeneralActivations& act,
                           const float* dh_seq, const float* dh_last, LstmGeneralWork& work,
                           LstmGeneralGrads& g, float* dx, float* dh0, float* dc0) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P, rows = d.T * d.B;
  const float* peep = w.peephole;
  for (int64_t k = 0; k < BP; ++k) work.carry[k] = dh_last ? dh_last[k] : 0.0f;
  zero(work.dc, BH);
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t n = d.rows_at(t);
    float* dh = work.dh + t * BP;  // ∂L/∂h_t: from step t+1 and from the output
    for (int64_t k = 0; k < n * P; ++k)
      dh[k] = work.carry[k] + (dh_seq ? dh_seq[t * BP + k] : 0.0f);
    zero(dh + n * P, (d.B - n) * P);
    const float* du = dh;
    if (w.w_hr) {
      gemm(false, false, n, H, P, 1.0f, dh, P, w.w_hr, H, 0.0f, work.du, H);
      du = work.du;
    }
    const float* gates = act.gates + t * d.B * G;
    const float *c_prev = act.c + t * BH, *c = act.c + (t + 1) * BH;
    float* da = work.da + t * d.B * G;
    pointwise_backward(gates, c_prev, c, du, peep, da, work.dc, g.peephole, n, H, o.act, o.ract);
    zero(da + n * G, (d.B - n) * G);  // ended rows
    // dh_{t-1} = (da·W_hh) * m; rows that have not started yet keep their zero carry
    gemm(false, false, n, P, G, 1.0f, da, G, w.w_hh, P, 0.0f, work.carry, P);
    if (mask)
      for (int64_t k = 0; k < n * P; ++k) work.carry[k] *= mask[k];
  }
  if (dh0) std::memcpy(dh0, work.carry, sizeof(float) * size_t(BP));
  if (dc0) std::memcpy(dc0, work.dc, sizeof(float) * size_t(BH));
  gemm(true, false, G, d.I, rows, 1.0f, work.da, G, x, d.I, 1.0f, g.w_ih, d.I);
  gemm(true, false, G, P, rows, 1.0f, work.da, G, act.h_in ? act.h_in : act.h, P, 1.0f, g.w_hh, P);
  if (g.bias) lstm_sum_rows(work.da, rows, G, g.bias);
  if (g.w_hr) gemm(true, false, P, H, rows, 1.0f, work.dh, P, act.u, H, 1.0f, g.w_hr, H);
  if (dx) gemm(false, false, rows, d.I, G, 1.0f, work.da, G, w.w_ih, d.I, 0.0f, dx, d.I);
}

}  // namespace lstm
