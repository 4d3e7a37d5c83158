// GRU layer, forward and backward side by side. Equations: gru_cell.h; the pointwise step on
// vectors: kernels/pointwise.h; what is shared with the other cells (projection, ended rows,
// the time loop, weight gradients): sequence_driver.h.
#include "layers/gru_cell.h"

#include <cstring>

#include "gemm/gemm.h"
#include "kernels/pointwise.h"
#include "layers/sequence_driver.h"

namespace lstm {

void gru_forward(const SeqDims& d, const GruWeights& w, const float* x, GruActivations& act) {
  const int64_t G = 3 * d.H, BH = d.B * d.H;
  seq_project_inputs(d, G, w.w_ih, w.b_ih, x, act.ax);
  seq_zero_ended(d, act.h + BH, d.H);
  seq_forward_steps(d, [&](int64_t t, int64_t n) {
    const float* h_prev = act.h + t * BH;
    for (int64_t r = 0; r < n; ++r) std::memcpy(act.ah + r * G, w.b_hh, sizeof(float) * size_t(G));
    gemm(false, true, n, G, d.H, 1.0f, h_prev, d.H, w.w_hh, d.H, 1.0f, act.ah, G);
    gru_pointwise_forward(act.ax + t * d.B * G, act.ah, h_prev, act.gates + t * d.B * 4 * d.H,
                          act.h + (t + 1) * BH, n, d.H);
  });
}

void gru_backward(const SeqDims& d, const GruWeights& w, const float* x, const GruActivations& act,
                  const float* dh_seq, const float* dh_last, GruBackwardWork& work, GruGrads& g,
                  float* dx, float* dh0) {
  const int64_t H = d.H, G = 3 * H, BH = d.B * H;
  seq_start_carry(dh_last, BH, work.dh);
  seq_zero_ended(d, work.dax, G);
  seq_zero_ended(d, work.dah, G);
  seq_backward_steps(d, [&](int64_t t, int64_t n) {
    const float* gates = act.gates + t * d.B * 4 * H;
    const float* h_prev = act.h + t * BH;
    float *dax = work.dax + t * d.B * G, *dah = work.dah + t * d.B * G;
    for (int64_t b = 0; b < n; ++b) {
      const float *gt = gates + b * 4 * H, *hp = h_prev + b * H;
      const float* ext = dh_seq ? dh_seq + t * BH + b * H : nullptr;
      float *dh = work.dh + b * H, *dx_ = dax + b * G, *dh_ = dah + b * G;
      for (int64_t j = 0; j < H; ++j) {
        const float r = gt[j], z = gt[H + j], nn = gt[2 * H + j], ahn = gt[3 * H + j];
        const float dht = dh[j] + (ext ? ext[j] : 0.0f);
        const float dan = dht * (1.0f - z) * (1.0f - nn * nn);
        const float dar = dan * ahn * r * (1.0f - r);
        const float daz = dht * (hp[j] - nn) * z * (1.0f - z);
        dx_[j] = dar, dx_[H + j] = daz, dx_[2 * H + j] = dan;
        dh_[j] = dar, dh_[H + j] = daz, dh_[2 * H + j] = dan * r;
        dh[j] = dht * z;
      }
    }
    gemm(false, false, n, H, G, 1.0f, dah, G, w.w_hh, H, 1.0f, work.dh, H);  // dh_{t-1}
  });
  if (dh0) seq_start_carry(work.dh, BH, dh0);
  seq_recurrent_grads(d, G, H, work.dah, act.h, g.w_hh, g.b_hh);
  seq_input_grads(d, G, work.dax, x, w.w_ih, g.w_ih, g.b_ih, dx);
}

}  // namespace lstm
