// The forward step with the weights stored as int8: inference at a quarter of the weight bytes.
//
// Weights: each row n of W_ih and of W_hh (a gate's unit) gets its own scale s_n = max|W[n,:]| /
// 127 and is stored as q = round(W / s_n) in -127..127. Inputs (x_t, h_{t-1}): each row of a
// batch is quantised when it is used, with its own scale a = max|u| / 127, to round(u / a) + 128
// in 0..255 (unsigned, for AVX512_VNNI's vpdpbusd, which multiplies unsigned by signed bytes and
// sums each four into an int32). Then, with comp_n = 128·Σ_k q[n,k] (stored beside the scales):
//   Σ_k u_k W[n,k] ≈ (Σ_k (u8_k · q[n,k]) - comp_n) · s_n · a
// The integer sums are exact, so every build (VNNI, or the same sums in int32 vectors on
// AVX-512, AVX2 or the baseline) gives the same bits. What stays float: the bias, the gates,
// c and h as the caller holds them.
//
// Packed layout (int8, zero past H and past Kx or H rounded up to 4): per block of 16 hidden
// units, ceil(Kx/4) quad rows of W_ih, then ceil(H/4) of W_hh; a quad row holds, for each of
// the block's 64 gate columns (i, f, g, o; 16 each), the weights of 4 consecutive inputs side by
// side, so one 64-byte load gives 16 columns' four products. Scales and comp: (2, 4H) each, the
// W_ih rows' then the W_hh rows', by gate row n = q·H + j.
#pragma once

#include <cstdint>
#include <string>

namespace lstm {

int64_t lstm_packed_forward_int8_size(int64_t Kx, int64_t H);  // bytes
// w_ih (4H, Kx) may be null when Kx = 0; w_hh (4H, H); scales and comp (2, 4H).
void lstm_pack_forward_int8(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, int8_t* packed,
                            float* scales, int32_t* comp);

// u (n floats, finite) -> ceil(n/4)·4 bytes round(u / a) + 128 (padding: 128); returns a, the
// scale (max|u| / 127, or 1 when u is all zero).
float lstm_quantize_u8(const float* u, int64_t n, uint8_t* out);

// a = base + x·W_ihᵀ + h_prev·W_hhᵀ with int8 weights and inputs as above, then the cell in float.
struct LstmStepForwardInt8 {
  const int8_t* packed;    // lstm_pack_forward_int8
  const float* scales;     // (2, 4H)
  const int32_t* comp;     // (2, 4H)
  int64_t Kx, H, B;
  const uint8_t* x;        // (B, ceil(Kx/4)·4) rows ldx bytes apart; null: no input product
  int64_t ldx;             //   (projected beforehand: base), the packing's W_ih rows skipped
  const float* x_scale;    // (B) each row's scale
  const uint8_t* h_prev;   // (B, ceil(H/4)·4) rows ldh bytes apart
  int64_t ldh;
  const float* h_scale;    // (B)
  const float* base;       // (B, 4H) rows ld_base apart; ld_base = 0: one row for all (the bias)
  int64_t ld_base;
  const float* c_prev;     // (B, H)
  float* gates;            // (B, 4H) activations i, f, g, o, or null
  float* c;                // (B, H)
  float* h;                // (B, H)
};
void lstm_step_forward_int8(const LstmStepForwardInt8& s, int64_t block_begin, int64_t block_end);

// The input projection of `rows` rows at once: out (rows, 4H) = bias + x·W_ihᵀ from the W_ih
// quad rows of `packed` (packed with Kx inputs), x quantised rows (rows, ceil(Kx/4)·4) ldx
// bytes apart with their scales; for the blocks [block_begin, block_end).
void lstm_project_int8(const int8_t* packed, const float* scales, const int32_t* comp, int64_t Kx,
                       int64_t H, int64_t rows, const uint8_t* x, int64_t ldx, const float* x_scale,
                       const float* bias, float* out, int64_t block_begin, int64_t block_end);

// "avx512_vnni", "avx512", "avx2" or "generic"; set like lstm_set_kernel_isa (lstm_step.h).
const char* lstm_int8_kernel_isa();
bool lstm_set_int8_kernel_isa(const std::string& isa);

}  // namespace lstm
