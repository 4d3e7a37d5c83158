// Simple RNN layer, forward and backward side by side. Equations: rnn_cell.h; what is shared
// with the other cells (projection, ended rows, the time loop, weight gradients):
// sequence_driver.h.
#include "layers/rnn_cell.h"

#include "gemm/gemm.h"
#include "kernels/pointwise.h"
#include "layers/activation.h"
#include "layers/sequence_driver.h"

namespace lstm {

void rnn_forward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x, float* h) {
  const int64_t H = d.H, BH = d.B * H;
  float* a = h + BH;  // slots 1..T receive the pre-activations first
  seq_project_inputs(d, H, w.w_ih, w.bias, x, a);
  seq_zero_ended(d, a, H);
  seq_forward_steps(d, [&](int64_t t, int64_t n) {
    float* ht = h + (t + 1) * BH;
    gemm(false, true, n, H, H, 1.0f, h + t * BH, H, w.w_hh, H, 1.0f, ht, H);
    activation_pointwise(ht, n * H, act);
  });
}

void rnn_backward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x,
                  const float* h, const float* dh_seq, const float* dh_last, float* da, float* dh,
                  RnnGrads& g, float* dx, float* dh0) {
  const int64_t H = d.H, BH = d.B * H;
  seq_start_carry(dh_last, BH, dh);
  seq_zero_ended(d, da, H);
  seq_backward_steps(d, [&](int64_t t, int64_t n) {
    const float* ht = h + (t + 1) * BH;
    float* dat = da + t * BH;
    for (int64_t k = 0; k < n * H; ++k)
      dat[k] = (dh[k] + (dh_seq ? dh_seq[t * BH + k] : 0.0f)) * activation_slope(act, ht[k]);
    gemm(false, false, n, H, H, 1.0f, dat, H, w.w_hh, H, 0.0f, dh, H);  // dh_{t-1}
  });
  if (dh0) seq_start_carry(dh, BH, dh0);
  seq_recurrent_grads(d, H, H, da, h, g.w_hh);
  seq_input_grads(d, H, da, x, w.w_ih, g.w_ih, g.bias, dx);
}

}  // namespace lstm
