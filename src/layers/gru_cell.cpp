// GRU layer, forward and backward side by side. Equations: gru_cell.h; the steps: the kernels
// of kernels/gru_step.h (reset_after = true) and the pointwise vectors of kernels/pointwise.h
// (reset_after = false); what is shared with the other cells (projection, ended rows,
// the time loop, weight gradients): sequence_driver.h.
#include "layers/gru_cell.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm/gemm.h"
#include "kernels/gru_step.h"
#include "kernels/lstm_step.h"
#include "kernels/pointwise.h"
#include "layers/sequence_driver.h"
#include "layers/step_team.h"

namespace lstm {

void gru_forward(const SeqDims& d, const GruWeights& w, const float* x, GruActivations& act) {
  const int64_t G = 3 * d.H, BH = d.B * d.H;
  std::vector<float> own;  // W_hh packed here only when the caller did not
  const float* packed = w.packed_forward;
  if (!packed) {
    own.resize(size_t(gru_packed_forward_size(0, d.H)));
    gru_pack_forward(nullptr, 0, w.w_hh, d.H, own.data());
    packed = own.data();
  }
  seq_project_inputs(d, G, w.w_ih, w.b_ih, x, act.gates);  // ax, overwritten by r, z, n
  seq_zero_ended(d, act.h + BH, d.H);
  run_team(d.B, d.T, double(d.B) * G * d.H, gru_forward_blocks(d.H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    share_steps(sh, d.T, d.B, d.active, false, [&](int64_t t, int64_t rows_here) {
      float* h = act.h + t * BH + b0 * d.H;  // h_{t-1}; h_t one slot on
      float* ax = act.gates + (t * d.B + b0) * G;
      GruStepForward s{packed, 0, d.H, rows_here, nullptr, 0, h, ax, G, w.b_hh, ax,
                       act.ah_n + t * BH + b0 * d.H, h + BH};
      gru_step_forward(s, sh.block_begin, sh.block_end);
    });
  });
}

void gru_backward(const SeqDims& d, const GruWeights& w, const float* x, const GruActivations& act,
                  const float* dh_seq, const float* dh_last, GruBackwardWork& work, GruGrads& g,
                  float* dx, float* dh0) {
  const int64_t H = d.H, G = 3 * H, BH = d.B * H;
  std::vector<float> own;
  const float* packed = w.packed_backward;
  if (!packed) {
    own.resize(size_t(gru_packed_backward_size(H)));
    gru_pack_backward(w.w_hh, H, own.data());
    packed = own.data();
  }
  seq_start_carry(dh_last, BH, work.carry);  // ∂L/∂h_T from the final state
  seq_zero_ended(d, work.dax, G);
  seq_zero_ended(d, work.dahn, H);
  // Per step t from T-1 down: dh_t = dh_seq_t + carry + dah_{t+1}·W_hh, then the cell's
  // derivative; a row that ends at step t starts with dah_{t+1} = 0 and a zero carry.
  run_team(d.B, d.T, double(d.B) * G * H, gru_backward_blocks(H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    float *carry = work.carry + b0 * H, *dax = work.dax + b0 * G, *dahn = work.dahn + b0 * H;
    share_steps(sh, d.T, d.B, d.active, true, [&](int64_t t, int64_t rows_here) {
      const bool last = t == d.T - 1;
      GruStepBackward s{packed, H, rows_here, last ? nullptr : dax + (t + 1) * d.B * G,
                        last ? nullptr : dahn + (t + 1) * BH,
                        dh_seq ? dh_seq + t * BH + b0 * H : nullptr, carry,
                        act.gates + (t * d.B + b0) * G, act.ah_n + t * BH + b0 * H,
                        act.h + t * BH + b0 * H,
                        dax + t * d.B * G, dahn + t * BH, nullptr};
      gru_step_backward(s, sh.block_begin, sh.block_end);
    });
    if (dh0) {  // dh_0 = carry + dah_0·W_hh
      GruStepBackward s{packed, H, sh.row_end - b0, dax, dahn, nullptr, carry, nullptr, nullptr,
                        nullptr, nullptr, nullptr, dh0 + b0 * H};
      gru_step_backward(s, sh.block_begin, sh.block_end);
    }
  });
  // dW_hh += dahᵀ·h_{0..T-1}: rows r, z from dax's columns, rows n from dahn; db_hh likewise,
  // the r, z sums shared with db_ih (Σ dax over the rows, each column once)
  const int64_t rows = d.T * d.B;
  gemm(true, false, 2 * H, H, rows, 1.0f, work.dax, G, act.h, H, 1.0f, g.w_hh, H);
  gemm(true, false, H, H, rows, 1.0f, work.dahn, H, act.h, H, 1.0f, g.w_hh + 2 * H * H, H);
  std::vector<float> sums(size_t(G), 0.0f);
  lstm_sum_rows(work.dax, rows, G, sums.data());
  for (int64_t k = 0; k < G; ++k) g.b_ih[k] += sums[size_t(k)];
  for (int64_t k = 0; k < 2 * H; ++k) g.b_hh[k] += sums[size_t(k)];
  lstm_sum_rows(work.dahn, rows, H, g.b_hh + 2 * H);
  seq_input_grads(d, G, work.dax, x, w.w_ih, g.w_ih, nullptr, dx);
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
