// The cells' pointwise parts on vectors, for each instruction set. Equations: pointwise.h and
// the cells' headers.
#include "kernels/pointwise.h"

#include <algorithm>
#include <cstring>

#include "kernels/lstm_step.h"
#include "kernels/vmath.h"

#define LSTM_INLINE static inline __attribute__((always_inline))

namespace lstm {

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
      return ((y > 0.0f) & (y < 1.0f)) ? vsplat(1.0f / 6.0f) : vsplat(0.0f);
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
LSTM_INLINE void lstm_forward_rows(float* gates, const float* c_prev, float* c, float* u,
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
LSTM_INLINE void lstm_backward_rows(const float* gates, const float* c_prev, const float* c,
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

LSTM_INLINE void activation_rows(float* y, int64_t count, Activation act) {
  for (int64_t k = 0; k < count; k += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, count - k);
    st(y + k, vactivate(act, ld(y + k, n)), n);
  }
}

// Compiled for each instruction set; the one lstm_kernel_isa() names runs.
namespace {
struct Pointwise {
  void (*lstm_forward)(float*, const float*, float*, float*, const float*, int64_t, int64_t,
                       Activation, Activation);
  void (*lstm_backward)(const float*, const float*, const float*, const float*, const float*,
                        float*, float*, float*, int64_t, int64_t, Activation, Activation);
  void (*activation)(float*, int64_t, Activation);
};
}  // namespace

#define LSTM_POINTWISE(suffix, target)                                                          \
  target static void lstm_forward_##suffix(float* g, const float* cp, float* c, float* u,       \
                                           const float* p, int64_t R, int64_t H, Activation a,  \
                                           Activation ra) {                                     \
    lstm_forward_rows(g, cp, c, u, p, R, H, a, ra);                                             \
  }                                                                                             \
  target static void lstm_backward_##suffix(const float* g, const float* cp, const float* c,    \
                                            const float* du, const float* p, float* da,         \
                                            float* dc, float* dp, int64_t R, int64_t H,         \
                                            Activation a, Activation ra) {                      \
    lstm_backward_rows(g, cp, c, du, p, da, dc, dp, R, H, a, ra);                               \
  }                                                                                             \
  target static void activation_##suffix(float* y, int64_t n, Activation a) {                   \
    activation_rows(y, n, a);                                                                   \
  }                                                                                             \
  const Pointwise k##suffix{lstm_forward_##suffix, lstm_backward_##suffix, activation_##suffix};
LSTM_POINTWISE(generic, )
#if LSTM_X86
LSTM_POINTWISE(avx2, LSTM_AVX2)
LSTM_POINTWISE(avx512, LSTM_AVX512)
#endif

static const Pointwise& kernels() {
#if LSTM_X86
  const char* isa = lstm_kernel_isa();  // "avx512", "avx2" or "generic"
  if (!std::strcmp(isa, "avx512")) return kavx512;
  if (!std::strcmp(isa, "avx2")) return kavx2;
#endif
  return kgeneric;
}

void lstm_pointwise_forward(float* gates, const float* c_prev, float* c, float* u, const float* peep,
                            int64_t R, int64_t H, Activation act, Activation ract) {
  kernels().lstm_forward(gates, c_prev, c, u, peep, R, H, act, ract);
}

void lstm_pointwise_backward(const float* gates, const float* c_prev, const float* c,
                             const float* du, const float* peep, float* da, float* dc,
                             float* dpeep, int64_t R, int64_t H, Activation act, Activation ract) {
  kernels().lstm_backward(gates, c_prev, c, du, peep, da, dc, dpeep, R, H, act, ract);
}

void activation_pointwise(float* y, int64_t n, Activation act) { kernels().activation(y, n, act); }

}  // namespace lstm
