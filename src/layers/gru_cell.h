// The GRU layer over a sequence, forward and backward through time: PyTorch's formulation
// (Keras's reset_after = true, the default) and Keras's reset_after = false (Cho et al. 2014,
// the reset gate applied before the recurrent product; at the end of this file).
//
// Dimensions: T = time steps, B = batch, I = input features, H = hidden units, 3H = the gates
// fused in the order r (reset), z (update), n (new). Layout time-major, as lstm_cell.h; h gets
// T+1 slots, slot 0 = h_0. The projection, ended rows and weight gradients are the sequence
// driver's (sequence_driver.h); the steps run on the GRU's step kernels (kernels/gru_step.h:
// the product with W_hh fused with the cell), shared among threads as the LSTM's are
// (step_team.h); streaming is one kernel step with the input projection fused.
//
// Forward, per step t:
//   ax = x_t·W_ihᵀ + b_ih        (for all steps at once, one GEMM before the loop)
//   ah = h_{t-1}·W_hhᵀ + b_hh    (B, 3H), in the step kernel
//   r = σ(ax_r + ah_r)   z = σ(ax_z + ah_z)   n = tanh(ax_n + r * ah_n)
//   h_t = (1 - z) * n + z * h_{t-1}
// The two biases stay apart: b_hn sits inside r * (...), so b_in + b_hn is not the same model.
//
// Backward, per step t from T down to 1, with dh = ∂L/∂h_t:
//   dn = dh * (1 - z)         dz = dh * (h_{t-1} - n)
//   da_n = dn * (1 - n²)      (∂L/∂ of n's pre-activation ax_n + r * ah_n)
//   da_r = da_n * ah_n * r (1 - r)     da_z = dz * z (1 - z)
//   dax = [da_r, da_z, da_n]           dah = [da_r, da_z, da_n * r]
//   dh_{t-1} = dh * z + dah·W_hh
// After the sweep: dW_ih += daxᵀ·x, db_ih += Σ dax, dW_hh += dahᵀ·h_{0..T-1}, db_hh += Σ dah,
// dx = dax·W_ih. dah's first two thirds are dax's, so only its last (da_n * r, "dahn") is kept.
#pragma once

#include "layers/seq_dims.h"

namespace lstm {

struct GruWeights {
  const float *w_ih, *w_hh, *b_ih, *b_hh;  // (3H, I), (3H, H), (3H), (3H)
  // W_hh packed for the step kernels (gru_pack_forward with Kx = 0, gru_pack_backward), or
  // null: packed by the call.
  const float* packed_forward = nullptr;
  const float* packed_backward = nullptr;
};
struct GruGrads {  // accumulated into
  float *w_ih, *w_hh, *b_ih, *b_hh;
};

// What forward saves and backward reads.
struct GruActivations {
  float* gates;  // (T, B, 3H): the input projection ax, then r, z, n per step (in place)
  float* ah_n;   // (T, B, H): ah_n per step
  float* h;      // (T+1, B, H), slot 0 = h_0 (set by the caller)
};

struct GruBackwardWork {
  float* dax;    // (T, B, 3H)
  float* dahn;   // (T, B, H): da_n * r
  float* carry;  // (B, H): dh_{t+1}·z_{t+1}
};

void gru_forward(const SeqDims& d, const GruWeights& w, const float* x, GruActivations& act);

// dh_seq (T, B, H) or null; dh_last (B, H) or null: extra ∂L/∂h_T. Writes dx (T, B, I) and
// dh0 (B, H) when not null.
void gru_backward(const SeqDims& d, const GruWeights& w, const float* x, const GruActivations& act,
                  const float* dh_seq, const float* dh_last, GruBackwardWork& work, GruGrads& g,
                  float* dx, float* dh0);

// ---- reset_after = false -----------------------------------------------------------------------
//
// One bias b (3H), all of it in the input projection; W_hh = [W_hr; W_hz; W_hn] (3H, H).
// Forward, per step t:
//   ax = x_t·W_ihᵀ + b                      (for all steps at once)
//   [ah_r, ah_z] = h_{t-1}·[W_hr; W_hz]ᵀ     (B, 2H), one GEMM
//   r = σ(ax_r + ah_r)   z = σ(ax_z + ah_z)   u = r * h_{t-1}
//   n = tanh(ax_n + u·W_hnᵀ)                (B, H), a second GEMM
//   h_t = (1 - z) * n + z * h_{t-1}
//
// Backward, per step t from T down to 1, with dh = ∂L/∂h_t:
//   da_n = dh * (1 - z) * (1 - n²)      da_z = dh * (h_{t-1} - n) * z (1 - z)
//   du = da_n·W_hn                      da_r = du * h_{t-1} * r (1 - r)
//   dh_{t-1} = dh * z + du * r + [da_r, da_z]·[W_hr; W_hz]
// After the sweep: dW_ih += daxᵀ·x and db += Σ dax with dax = [da_r, da_z, da_n];
// d[W_hr; W_hz] += [da_r, da_z]ᵀ·h_{0..T-1}; dW_hn += da_nᵀ·u_{1..T}; dx = dax·W_ih.

struct GruResetBeforeWeights {
  const float *w_ih, *w_hh, *b;  // (3H, I), (3H, H), (3H)
};
struct GruResetBeforeGrads {  // accumulated into
  float *w_ih, *w_hh, *b;
};

struct GruResetBeforeActivations {
  float* gates;  // (T, B, 3H): r, z, n per step
  float* u;      // (T, B, H): r * h_{t-1}, the input of W_hn
  float* h;      // (T+1, B, H), slot 0 = h_0 (set by the caller)
  float* ax;     // (T, B, 3H) scratch: the input projection
  float* ah;     // (B, 3H) scratch
};

struct GruResetBeforeWork {
  float* dax;   // (T, B, 3H)
  float* dah;   // (T, B, 2H): [da_r, da_z]
  float* dh;    // (B, H)
  float* du;    // (B, H)
};

void gru_reset_before_forward(const SeqDims& d, const GruResetBeforeWeights& w, const float* x,
                              GruResetBeforeActivations& act);

// As gru_backward.
void gru_reset_before_backward(const SeqDims& d, const GruResetBeforeWeights& w, const float* x,
                               const GruResetBeforeActivations& act, const float* dh_seq,
                               const float* dh_last, GruResetBeforeWork& work,
                               GruResetBeforeGrads& g, float* dx, float* dh0);

}  // namespace lstm
