// The forward step with the weights stored as bfloat16: inference at half the weight bytes.
//
// bfloat16 is a float's upper 16 bits (8 bits of exponent, 8 of mantissa): a weight rounded to
// it (to nearest, ties to even) keeps about 3 significant digits. A step reads every weight
// once, so at batch 1 the weights' bytes decide its time (streaming, db-lm1536-b1-infer):
// half the bytes, up to twice the speed. What stays float: x and h as the caller holds them,
// the bias, the gates, c and h; the products take x and h rounded to bfloat16 too, and sum
// in float (AVX512_BF16's dot product of pairs, vdpbf16ps, as oneDNN's bf16 LSTM does).
//
// Packed layout (uint16_t, zero past H and past an odd Kx or H): per block of 16 hidden units,
// ceil(Kx/2) pair rows of W_ih, then ceil(H/2) of W_hh; a pair row holds, for each of the
// block's 64 gate columns (i, f, g, o; 16 each), the weights of inputs 2p and 2p + 1 side by
// side, so one 64-byte load gives 16 columns' two products.
//
// Inputs come as pairs: lstm_to_bf16_pairs(u, n, pairs) writes ceil(n/2) uint32, each the
// bfloat16 of u[2p] in its low half and of u[2p + 1] in its high half. Conversion rounds to
// nearest even, turns subnormal floats into zero (as the instructions do) and keeps NaN a NaN.
//
// Builds: AVX512_BF16 (vdpbf16ps), else the same products in float on AVX-512, AVX2 or the
// baseline (each pair's weights widened to float); chosen when the library loads. Results of
// the builds agree to float rounding, not bit for bit.
#pragma once

#include <cstdint>
#include <string>

namespace lstm {

uint16_t to_bf16(float v);     // rounded to nearest even; subnormal -> 0; NaN stays NaN
float from_bf16(uint16_t v);   // exact

int64_t lstm_packed_forward_bf16_size(int64_t Kx, int64_t H);  // in uint16_t
// w_ih (4H, Kx) may be null when Kx = 0; w_hh (4H, H).
void lstm_pack_forward_bf16(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, uint16_t* packed);
void lstm_to_bf16_pairs(const float* u, int64_t n, uint32_t* pairs);

// a = base + x·W_ihᵀ + h_prev·W_hhᵀ with bfloat16 weights and inputs, then the cell in float.
struct LstmStepForwardBf16 {
  const uint16_t* packed;  // lstm_pack_forward_bf16
  int64_t Kx, H, B;
  const uint32_t* x;       // (B, ceil(Kx/2)) pairs, rows ldx apart; null: no input product
                           // (projected beforehand: base), the packing's W_ih rows skipped
  int64_t ldx;
  const uint32_t* h_prev;  // (B, ceil(H/2)) pairs, rows ldh apart
  int64_t ldh;
  const float* base;       // (B, 4H) rows ld_base apart; ld_base = 0: one row for all (the bias)
  int64_t ld_base;
  const float* c_prev;     // (B, H)
  float* gates;            // (B, 4H) activations i, f, g, o, or null
  float* c;                // (B, H)
  float* h;                // (B, H)
};
void lstm_step_forward_bf16(const LstmStepForwardBf16& s, int64_t block_begin, int64_t block_end);

// The input projection of `rows` rows at once: out (rows, 4H) = bias + x·W_ihᵀ, from the
// first ceil(Kx/2) pair rows of each block of `packed` (lstm_pack_forward_bf16 with Kx inputs),
// x (rows, ceil(Kx/2)) pairs rows ldx apart; for the blocks [block_begin, block_end). A step
// then runs on the same packing with x = null (only its W_hh rows are read).
void lstm_project_bf16(const uint16_t* packed, int64_t Kx, int64_t H, int64_t rows, const uint32_t* x,
                       int64_t ldx, const float* bias, float* out, int64_t block_begin, int64_t block_end);

// "avx512_bf16", "avx512", "avx2" or "generic"; set like lstm_set_kernel_isa (lstm_step.h).
const char* lstm_bf16_kernel_isa();
bool lstm_set_bf16_kernel_isa(const std::string& isa);

}  // namespace lstm
