// The recurrent kernels: one time step of the LSTM, the product with W_hh fused with the cell,
// forward and backward side by side. lstm_cell_forward / lstm_cell_backward (lstm_cell.h) are
// the same pointwise math written plainly, one scalar at a time: the reference.
//
// Dimensions: B = batch rows, Kx = input features fused into the step (0 when the input
// projection was done beforehand), H = hidden units, 4H = fused gates i, f, g, o.
//
// Why a kernel of our own: a step is a product with few rows (M = B, often 1-64) that a library
// GEMM serves with a call, a pack of W_hh and a pass over memory each time, and then the cell
// reads the result back. Here W_hh is packed once per weight update into the layout the loop
// wants, every k adds u[r][k]·(64 packed weights) into registers with fused multiply-adds, and
// the cell runs on the tile while it is still in registers.
//
// Packed layouts (floats, zero where a column runs past H):
//   forward:  per block of 16 hidden units, Kx + H rows of 64 = the block's columns of gates
//             i, f, g, o: rows of W_ih first (k < Kx), then of W_hh. H <= 8 (kTinyH): one
//             block of Kx + H rows of 32 = 8 columns of each gate (two vectors, not four).
//   backward: per block of 64 hidden units, 4H rows of 64 = W_hh[n][64·block .. +64].
// Work splits into blocks; a step's blocks are independent, so threads take contiguous ranges
// of them and meet at one barrier per step. Each output is computed the same way whichever
// thread computes it: results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <string>

namespace lstm {

constexpr int64_t kForwardBlock = 16, kBackwardBlock = 64;  // hidden units per block
// H <= kTinyH: one block of 8 units, the four gates in two vectors ([i f], [g o]) instead of four
// half-empty ones (streaming tiny models: half the loads and FMAs, one nonlinearity fewer).
constexpr int64_t kTinyH = 8;

int64_t lstm_forward_blocks(int64_t H);   // ceil(H / 16)
int64_t lstm_backward_blocks(int64_t H);  // ceil(H / 64)
int64_t lstm_packed_forward_size(int64_t Kx, int64_t H);
int64_t lstm_packed_backward_size(int64_t H);
// w_ih (4H, Kx) may be null when Kx = 0; w_hh (4H, H).
void lstm_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, float* packed);
void lstm_pack_backward(const float* w_hh, int64_t H, float* packed);

// a = base + x·W_ihᵀ + h_prev·W_hhᵀ, then the cell (lstm_cell.h):
//   i, f, o = σ(a_i, a_f, a_o)   g = tanh(a_g)   c = f·c_prev + i·g   h = o·tanh(c)
struct LstmStepForward {
  const float* packed;  // forward layout
  int64_t Kx, H, B;
  const float* x;       // (B, Kx) rows ldx apart; unused when Kx = 0
  int64_t ldx;
  const float* h_prev;  // (B, H)
  const float* base;    // (B, 4H) rows ld_base apart; ld_base = 0: one row for all (the bias)
  int64_t ld_base;
  const float* c_prev;  // (B, H)
  float* gates;         // (B, 4H) i, f, g, o after the nonlinearities, or null; may be base
  float* c;             // (B, H)
  float* h;             // (B, H)
};
void lstm_step_forward(const LstmStepForward& s, int64_t block_begin, int64_t block_end);

// The derivative of a step, for the hidden units of blocks [block_begin, block_end):
//   dh = dh_ext + da_next·W_hh            ∂L/∂h_t: from above and from step t+1
// then, when gates is not null, the cell's derivative (lstm_cell.h) writes da = ∂L/∂a_t and
// turns dc from ∂L/∂c_t into ∂L/∂c_{t-1}.
struct LstmStepBackward {
  const float* packed;   // backward layout
  int64_t H, B;
  const float* da_next;  // (B, 4H) ∂L/∂a_{t+1}, or null: no recurrent term (the last step)
  const float* dh_ext;   // (B, H) ∂L/∂h_t from the layer's output, or null
  const float* gates;    // (B, 4H) activations at step t, or null: only write dh
  const float* c_prev;   // (B, H) c_{t-1}
  const float* c;        // (B, H) c_t
  float* dc;             // (B, H) in ∂L/∂c_t, out ∂L/∂c_{t-1}
  float* da;             // (B, 4H) out ∂L/∂a_t
  float* dh;             // (B, H) out ∂L/∂h_t, or null
};
void lstm_step_backward(const LstmStepBackward& s, int64_t block_begin, int64_t block_end);

// The bias gradient: out[k] += Σ_r a[r·lda + k] over rows r in order, summed in double, for
// columns k < cols (lda = 0: cols). Threads split the columns: the same sums at any count.
void lstm_sum_rows(const float* a, int64_t rows, int64_t cols, float* out, int64_t lda = 0);

// Which build of the kernels runs: "avx512", "avx2" (with FMA) or "generic", the best the CPU
// has unless set. lstm_set_kernel_isa("avx512" | "avx2" | "generic" | "best") returns false
// (and changes nothing) when the CPU lacks it; for tests and benchmarks, not thread-safe.
const char* lstm_kernel_isa();
bool lstm_set_kernel_isa(const std::string& isa);

}  // namespace lstm
