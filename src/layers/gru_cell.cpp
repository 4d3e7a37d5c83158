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

// ---- reset_after = false ---------------------------------------------------------------------

void gru_reset_before_forward(const SeqDims& d, const GruResetBeforeWeights& w, const float* x,
                              GruResetBeforeActivations& act) {
  const int64_t H = d.H, G = 3 * H, BH = d.B * H;
  const float* w_hn = w.w_hh + 2 * H * H;
  seq_project_inputs(d, G, w.w_ih, w.b, x, act.ax);
  seq_zero_ended(d, act.h + BH, H);
  seq_zero_ended(d, act.u, H);
  seq_forward_steps(d, [&](int64_t t, int64_t n) {
    const float *h_prev = act.h + t * BH, *ax = act.ax + t * d.B * G;
    float *gates = act.gates + t * d.B * G, *u = act.u + t * BH, *h = act.h + (t + 1) * BH;
    float *ah_rz = act.ah, *ah_n = act.ah + 2 * H * d.B;  // (n, 2H), (n, H)
    gemm(false, true, n, 2 * H, H, 1.0f, h_prev, H, w.w_hh, H, 0.0f, ah_rz, 2 * H);
    for (int64_t b = 0; b < n; ++b) {
      float* g = gates + b * G;
      for (int64_t j = 0; j < 2 * H; ++j) g[j] = ax[b * G + j] + ah_rz[b * 2 * H + j];
      activation_pointwise(g, 2 * H, Activation::sigmoid);
      for (int64_t j = 0; j < H; ++j) u[b * H + j] = g[j] * h_prev[b * H + j];
    }
    gemm(false, true, n, H, H, 1.0f, u, H, w_hn, H, 0.0f, ah_n, H);
    for (int64_t b = 0; b < n; ++b) {
      float* g = gates + b * G;
      for (int64_t j = 0; j < H; ++j) g[2 * H + j] = ax[b * G + 2 * H + j] + ah_n[b * H + j];
      activation_pointwise(g + 2 * H, H, Activation::tanh);
      for (int64_t j = 0; j < H; ++j) {
        const float z = g[H + j];
        h[b * H + j] = (1.0f - z) * g[2 * H + j] + z * h_prev[b * H + j];
      }
    }
  });
}

void gru_reset_before_backward(const SeqDims& d, const GruResetBeforeWeights& w, const float* x,
                               const GruResetBeforeActivations& act, const float* dh_seq,
                               const float* dh_last, GruResetBeforeWork& work,
                               GruResetBeforeGrads& g, float* dx, float* dh0) {
  const int64_t H = d.H, G = 3 * H, BH = d.B * H;
  const float* w_hn = w.w_hh + 2 * H * H;
  seq_start_carry(dh_last, BH, work.dh);
  seq_zero_ended(d, work.dax, G);
  seq_zero_ended(d, work.dah, 2 * H);
  seq_backward_steps(d, [&](int64_t t, int64_t n) {
    const float *gates = act.gates + t * d.B * G, *h_prev = act.h + t * BH;
    float *dax = work.dax + t * d.B * G, *dah = work.dah + t * d.B * 2 * H;
    for (int64_t b = 0; b < n; ++b) {  // da_z, da_n; dh becomes dh * z
      const float *gt = gates + b * G, *hp = h_prev + b * H;
      const float* ext = dh_seq ? dh_seq + t * BH + b * H : nullptr;
      float *dh = work.dh + b * H, *da = dax + b * G;
      for (int64_t j = 0; j < H; ++j) {
        const float z = gt[H + j], nn = gt[2 * H + j];
        const float dht = dh[j] + (ext ? ext[j] : 0.0f);
        da[H + j] = dht * (hp[j] - nn) * z * (1.0f - z);
        da[2 * H + j] = dht * (1.0f - z) * (1.0f - nn * nn);
        dh[j] = dht * z;
      }
    }
    gemm(false, false, n, H, H, 1.0f, dax + 2 * H, G, w_hn, H, 0.0f, work.du, H);  // du
    for (int64_t b = 0; b < n; ++b) {  // da_r; dh += du * r
      const float *gt = gates + b * G, *hp = h_prev + b * H, *du = work.du + b * H;
      float *dh = work.dh + b * H, *da = dax + b * G, *dh_ = dah + b * 2 * H;
      for (int64_t j = 0; j < H; ++j) {
        const float r = gt[j];
        da[j] = du[j] * hp[j] * r * (1.0f - r);
        dh[j] += du[j] * r;
        dh_[j] = da[j], dh_[H + j] = da[H + j];
      }
    }
    gemm(false, false, n, H, 2 * H, 1.0f, dah, 2 * H, w.w_hh, H, 1.0f, work.dh, H);  // dh_{t-1}
  });
  if (dh0) seq_start_carry(work.dh, BH, dh0);
  seq_recurrent_grads(d, 2 * H, H, work.dah, act.h, g.w_hh);
  // dW_hn += da_nᵀ·u: da_n is the last third of each dax row (ended rows hold zeros in both)
  gemm(true, false, H, H, d.T * d.B, 1.0f, work.dax + 2 * H, G, act.u, H, 1.0f, g.w_hh + 2 * H * H, H);
  seq_input_grads(d, G, work.dax, x, w.w_ih, g.w_ih, g.b, dx);
}

}  // namespace lstm
