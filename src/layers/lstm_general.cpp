// The LSTM with its options, forward and backward side by side. Equations: lstm_general.h.
// The pointwise step runs on 16-lane vectors (kernels/pointwise.h); the products are library
// GEMMs.
#include "layers/lstm_general.h"

#include <cstring>

#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "kernels/pointwise.h"

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
    lstm_pointwise_forward(gates, c_prev, c, u, peep, n, H, o.act, o.ract);
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
                           const float* dh_seq, const float* dh_last, const float* dc_last,
                           LstmGeneralWork& work,
                           LstmGeneralGrads& g, float* dx, float* dh0, float* dc0) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P, rows = d.T * d.B;
  const float* peep = w.peephole;
  for (int64_t k = 0; k < BP; ++k) work.carry[k] = dh_last ? dh_last[k] : 0.0f;
  if (dc_last) std::memcpy(work.dc, dc_last, sizeof(float) * size_t(BH));
  else zero(work.dc, BH);
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
    lstm_pointwise_backward(gates, c_prev, c, du, peep, da, work.dc, g.peephole, n, H, o.act,
                            o.ract);
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
