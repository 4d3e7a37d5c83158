// The GRU's step kernels (PyTorch's formulation, Keras's reset_after = true; equations:
// layers/gru_cell.h): the product with W_hh fused with the cell, forward and backward side by
// side, as kernels/lstm_step.h does for the LSTM, on the same register tiles (step_tile.h).
//
// Dimensions: B = batch rows, Kx = input features fused into the step (0 when the input
// projection ax was done beforehand), H = hidden units, 3H = fused gates r, z, n.
//
// Packed layouts (floats, zero where a column runs past H):
//   forward:  per block of 16 hidden units, Kx rows of 48 (the block's columns of W_ih for
//             r, z, n), then H rows of 48 (of W_hh). The two products stay apart: the new
//             gate needs ax_n + r·ah_n.
//   backward: per block of 64 hidden units, 3H rows of 64 = W_hh[n][64·block .. +64].
// Blocks of a step are independent: threads take contiguous ranges of them (or rows), as for
// the LSTM, and every output is computed alike whichever thread computes it.
#pragma once

#include <cstdint>

namespace lstm {

constexpr int64_t kGruForwardBlock = 16, kGruBackwardBlock = 64;  // hidden units per block

int64_t gru_forward_blocks(int64_t H);   // ceil(H / 16)
int64_t gru_backward_blocks(int64_t H);  // ceil(H / 64)
int64_t gru_packed_forward_size(int64_t Kx, int64_t H);
int64_t gru_packed_backward_size(int64_t H);
// w_ih (3H, Kx) may be null when Kx = 0; w_hh (3H, H).
void gru_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, float* packed);
void gru_pack_backward(const float* w_hh, int64_t H, float* packed);

// ax = base + x·W_ihᵀ,  ah = b_hh + h_prev·W_hhᵀ, then the cell:
//   r = σ(ax_r + ah_r)   z = σ(ax_z + ah_z)   n = tanh(ax_n + r·ah_n)   h = (1 - z)·n + z·h_prev
struct GruStepForward {
  const float* packed;  // forward layout
  int64_t Kx, H, B;
  const float* x;       // (B, Kx) rows ldx apart; unused when Kx = 0
  int64_t ldx;
  const float* h_prev;  // (B, H)
  const float* base;    // (B, 3H) rows ld_base apart (the projection ax); ld_base = 0: one row
  int64_t ld_base;      //   for all (b_ih, when x is fused)
  const float* b_hh;    // (3H)
  float* gates;         // (B, 3H): r, z, n, what backward reads (may be base when ld_base = 3H:
                        //   written in place); or null
  float* ah_n;          // (B, H) ah_n, read by backward too; with gates
  float* h;             // (B, H)
};
void gru_step_forward(const GruStepForward& s, int64_t block_begin, int64_t block_end);

// The derivative of a step, for the hidden units of blocks [block_begin, block_end):
//   dh = dh_ext + carry + dah_{t+1}·W_hh        ∂L/∂h_t
// where carry holds dh_{t+1}·z_{t+1} (h_t's path through the update gate) and dah = [da_r,
// da_z, da_n·r] is read as two parts: da_r, da_z are dax's first two thirds, da_n·r is kept
// alone (dahn), so the whole dah is never stored. When gates is not null, then (gru_cell.h):
//   da_n = dh (1 - z)(1 - n²)   da_r = da_n · ah_n · r (1 - r)   da_z = dh (h_prev - n) z (1 - z)
//   dax = [da_r, da_z, da_n]    dahn = da_n · r     carry = dh · z
struct GruStepBackward {
  const float* packed;     // backward layout
  int64_t H, B;
  const float* dax_next;   // (B, 3H) dax at step t+1, or null: no recurrent term (the last step)
  const float* dahn_next;  // (B, H) dahn at step t+1 (with dax_next)
  const float* dh_ext;     // (B, H) ∂L/∂h_t from the layer's output, or null
  float* carry;            // (B, H) in dh_{t+1}·z_{t+1}; out dh_t·z_t (when gates is not null)
  const float* gates;      // (B, 3H) r, z, n at step t, or null: only write dh
  const float* ah_n;       // (B, H) ah_n at step t
  const float* h_prev;     // (B, H) h_{t-1}
  float* dax;              // (B, 3H) out
  float* dahn;             // (B, H) out
  float* dh;               // (B, H) out ∂L/∂h_t, or null
};
void gru_step_backward(const GruStepBackward& s, int64_t block_begin, int64_t block_end);

}  // namespace lstm
