// The LSTM with its options, forward and backward side by side. Equations: lstm_general.h.
// The pointwise step runs on 16-lane vectors (kernels/pointwise.h); the products are library
// GEMMs; the projection, ended rows, time loop and weight gradients are the sequence driver's
// (sequence_driver.h).
#include "layers/lstm_general.h"

#include "gemm/gemm.h"
#include "kernels/pointwise.h"
#include "layers/sequence_driver.h"

namespace lstm {

void lstm_general_forward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                          const float* mask, const float* x, LstmGeneralActivations& act) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P;
  const float* peep = w.peephole;
  seq_project_inputs(d, G, w.w_ih, w.bias, x, act.gates);  // a = x·W_ihᵀ + b, in the gate buffer
  seq_zero_ended(d, act.c + BH, H);
  seq_zero_ended(d, act.u ? act.u : act.h + BP, H);  // u_t is h_t without a projection (P = H)
  if (act.u) seq_zero_ended(d, act.h + BP, P);
  if (act.h_in) seq_zero_ended(d, act.h_in, P);
  seq_forward_steps(d, [&](int64_t t, int64_t n) {
    const float* h_prev = act.h + t * BP;
    if (act.h_in) {  // recurrent dropout: h̃ = h_{t-1} * m
      float* hin = act.h_in + t * BP;
      for (int64_t k = 0; k < n * P; ++k) hin[k] = h_prev[k] * mask[k];
      h_prev = hin;
    }
    float* gates = act.gates + t * d.B * G;
    gemm(false, true, n, G, P, 1.0f, h_prev, P, w.w_hh, P, 1.0f, gates, G);
    const float* c_prev = act.c + t * BH;
    float* c = act.c + (t + 1) * BH;
    float* u = act.u ? act.u + t * BH : act.h + (t + 1) * BP;
    lstm_pointwise_forward(gates, c_prev, c, u, peep, n, H, o.act, o.ract);
    if (act.u)  // h_t = u_t·W_hrᵀ
      gemm(false, true, n, P, H, 1.0f, u, H, w.w_hr, H, 0.0f, act.h + (t + 1) * BP, P);
  });
}

void lstm_general_backward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                           const float* mask, const float* x, const LstmGeneralActivations& act,
                           const float* dh_seq, const float* dh_last, const float* dc_last,
                           LstmGeneralWork& work,
                           LstmGeneralGrads& g, float* dx, float* dh0, float* dc0) {
  const int64_t H = d.H, P = o.P, G = 4 * H, BH = d.B * H, BP = d.B * P, rows = d.T * d.B;
  const float* peep = w.peephole;
  seq_start_carry(dh_last, BP, work.carry);
  seq_start_carry(dc_last, BH, work.dc);
  seq_zero_ended(d, work.dh, P);
  seq_zero_ended(d, work.da, G);
  seq_backward_steps(d, [&](int64_t t, int64_t n) {
    float* dh = work.dh + t * BP;  // ∂L/∂h_t: from step t+1 and from the output
    for (int64_t k = 0; k < n * P; ++k)
      dh[k] = work.carry[k] + (dh_seq ? dh_seq[t * BP + k] : 0.0f);
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
    // dh_{t-1} = (da·W_hh) * m; rows that have not started yet keep their zero carry
    gemm(false, false, n, P, G, 1.0f, da, G, w.w_hh, P, 0.0f, work.carry, P);
    if (mask)
      for (int64_t k = 0; k < n * P; ++k) work.carry[k] *= mask[k];
  });
  if (dh0) seq_start_carry(work.carry, BP, dh0);
  if (dc0) seq_start_carry(work.dc, BH, dc0);
  seq_recurrent_grads(d, G, P, work.da, act.h_in ? act.h_in : act.h, g.w_hh);
  if (g.w_hr) gemm(true, false, P, H, rows, 1.0f, work.dh, P, act.u, H, 1.0f, g.w_hr, H);
  seq_input_grads(d, G, work.da, x, w.w_ih, g.w_ih, g.bias, dx);
}

}  // namespace lstm
