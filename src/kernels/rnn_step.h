// SimpleRNN's step kernels (equations: layers/rnn_cell.h): the product with W_hh fused with the
// activation, forward and backward side by side, on the register tiles the LSTM's and the GRU's
// kernels use (step_tile.h). One gate, so a tile is 64 hidden units of it.
//
// Dimensions: B = batch rows, Kx = input features fused into the step (0 when the input
// projection was done beforehand), H = hidden units.
//
// Packed layouts (floats, zero where a column runs past H), per block of 64 hidden units:
//   forward:  Kx rows of 64 (the block's columns of W_ih), then H rows of 64 (of W_hh):
//             row k holds W[j0 .. j0 + 63][k].
//   backward: H rows of 64: row n holds W_hh[n][j0 .. j0 + 63].
// Blocks of a step are independent: threads take contiguous ranges of them (or rows), as for
// the LSTM, and every output is computed alike whichever thread computes it.
#pragma once

#include <cstdint>

namespace lstm {

constexpr int64_t kRnnBlock = 64;  // hidden units per block

int64_t rnn_blocks(int64_t H);  // ceil(H / 64)
int64_t rnn_packed_forward_size(int64_t Kx, int64_t H);
int64_t rnn_packed_backward_size(int64_t H);
// w_ih (H, Kx) may be null when Kx = 0; w_hh (H, H).
void rnn_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, float* packed);
void rnn_pack_backward(const float* w_hh, int64_t H, float* packed);

// h = act(base + x·W_ihᵀ + h_prev·W_hhᵀ), act = tanh, or relu when `relu`.
struct RnnStepForward {
  const float* packed;  // forward layout
  int64_t Kx, H, B;
  const float* x;       // (B, Kx) rows ldx apart; unused when Kx = 0
  int64_t ldx;
  const float* h_prev;  // (B, H)
  const float* base;    // (B, H) rows ld_base apart (the projection); ld_base = 0: one row for
  int64_t ld_base;      //   all (the bias, when x is fused)
  bool relu;
  float* h;             // (B, H); may be base when ld_base = H (written in place)
};
void rnn_step_forward(const RnnStepForward& s, int64_t block_begin, int64_t block_end);

// The derivative of a step, for the hidden units of blocks [block_begin, block_end):
//   dh = dh_ext + da_next·W_hh        ∂L/∂h_t: from above and from step t+1
//   da = dh · act'(h)                 (tanh: 1 - h², relu: 1[h > 0]), when h is not null
struct RnnStepBackward {
  const float* packed;   // backward layout
  int64_t H, B;
  const float* da_next;  // (B, H) ∂L/∂a_{t+1}, or null: no recurrent term (the last step)
  const float* dh_ext;   // (B, H) ∂L/∂h_t from the layer's output, or null
  const float* h;        // (B, H) h_t, or null: only write dh
  bool relu;
  float* da;             // (B, H) out
  float* dh;             // (B, H) out ∂L/∂h_t, or null
};
void rnn_step_backward(const RnnStepBackward& s, int64_t block_begin, int64_t block_end);

}  // namespace lstm
