// The LSTM with its options, forward and backward side by side. Equations: lstm_general.h.
#include "layers/lstm_general.h"

#include <cstring>

#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "layers/activation.h"

namespace lstm {

static void zero(float* p, int64_t n) {
  if (n > 0) std::memset(p, 0, sizeof(float) * size_t(n));
}

void lstm_general_forward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                          const float* mask, const float* x, LstmGeneralActivations& act) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P;
  const float* peep = w.peephole;
  // a = x·W_ihᵀ + b for every step at once, in the gate buffer
  for (int64_t r = 0; r < d.T * d.B; ++r) {
    if (w.bias) std::memcpy(act.gates + r * G, w.bias, sizeof(float) * size_t(G));
    else zero(act.gates + r * G, G);
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
    for (int64_t b = 0; b < n; ++b) {
      float* a = gates + b * G;
      const float* cp = c_prev + b * H;
      float *cb = c + b * H, *ub = u + b * H;
      for (int64_t j = 0; j < H; ++j) {
        const float i = activate(o.ract, a[j] + (peep ? peep[j] * cp[j] : 0.0f));
        const float f = activate(o.ract, a[H + j] + (peep ? peep[H + j] * cp[j] : 0.0f));
        const float g = activate(o.act, a[2 * H + j]);
        const float ct = f * cp[j] + i * g;
        const float og = activate(o.ract, a[3 * H + j] + (peep ? peep[2 * H + j] * ct : 0.0f));
        a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = og;
        cb[j] = ct;
        ub[j] = og * activate(o.act, ct);
      }
    }
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
    for (int64_t k = 0; k < n * P; ++k) dh[k] = work.carry[k] + (dh_seq ? dh_seq[t * BP + k] : 0.0f);
    zero(dh + n * P, (d.B - n) * P);
    const float* du = dh;
    if (w.w_hr) {
      gemm(false, false, n, H, P, 1.0f, dh, P, w.w_hr, H, 0.0f, work.du, H);
      du = work.du;
    }
    const float* gates = act.gates + t * d.B * G;
    const float *c_prev = act.c + t * BH, *c = act.c + (t + 1) * BH;
    float* da = work.da + t * d.B * G;
    for (int64_t b = 0; b < n; ++b) {
      const float *gt = gates + b * G, *cp = c_prev + b * H, *cb = c + b * H, *dub = du + b * H;
      float *dab = da + b * G, *dcb = work.dc + b * H;
      for (int64_t j = 0; j < H; ++j) {
        const float i = gt[j], f = gt[H + j], gg = gt[2 * H + j], og = gt[3 * H + j];
        const float s = activate(o.act, cb[j]);
        const float da_o = dub[j] * s * activation_slope(o.ract, og);
        const float dct = dcb[j] + dub[j] * og * activation_slope(o.act, s) +
                          (peep ? da_o * peep[2 * H + j] : 0.0f);
        const float da_i = dct * gg * activation_slope(o.ract, i);
        const float da_f = dct * cp[j] * activation_slope(o.ract, f);
        const float da_g = dct * i * activation_slope(o.act, gg);
        dab[j] = da_i, dab[H + j] = da_f, dab[2 * H + j] = da_g, dab[3 * H + j] = da_o;
        dcb[j] = dct * f + (peep ? da_i * peep[j] + da_f * peep[H + j] : 0.0f);
        if (peep) {
          g.peephole[j] += da_i * cp[j];
          g.peephole[H + j] += da_f * cp[j];
          g.peephole[2 * H + j] += da_o * cb[j];
        }
      }
    }
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
