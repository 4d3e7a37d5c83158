// The bfloat16 forward step (lstm_step_bf16.h): packing, the pair products, the cell of
// step_tile.h. Built with the same options as lstm_step.cpp (CMakeLists.txt).
#include "kernels/lstm_step_bf16.h"

#include <cstring>

#include "kernels/step_tile.h"

#if LSTM_X86
#include <immintrin.h>
#define LSTM_AVX512_BF16 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512bf16,avx2,fma")))
#endif

namespace lstm {

constexpr int64_t kPairRow = 2 * kTile;  // uint16_t per pair row: 64 columns x 2 inputs

uint16_t to_bf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if ((u & 0x7f800000u) == 0) return uint16_t((u >> 16) & 0x8000u);       // zero, subnormal: ±0
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);                                         // nearest, ties to even
  return uint16_t(u >> 16);
}

float from_bf16(uint16_t v) {
  const uint32_t u = uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

int64_t lstm_packed_forward_bf16_size(int64_t Kx, int64_t H) {
  return lstm_forward_blocks(H) * ((Kx + 1) / 2 + (H + 1) / 2) * kPairRow;
}

void lstm_pack_forward_bf16(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, uint16_t* packed) {
  const int64_t Px = (Kx + 1) / 2, Ph = (H + 1) / 2;
  for (int64_t jb = 0; jb < lstm_forward_blocks(H); ++jb)
    for (int64_t p = 0; p < Px + Ph; ++p) {
      uint16_t* row = packed + (jb * (Px + Ph) + p) * kPairRow;
      const bool input = p < Px;  // a pair of W_ih's columns, else of W_hh's
      const int64_t K = input ? Kx : H, k0 = 2 * (input ? p : p - Px);
      const float* w = input ? w_ih : w_hh;
      for (int64_t q = 0; q < 4; ++q)
        for (int64_t l = 0; l < kForwardBlock; ++l)
          for (int64_t e = 0; e < 2; ++e) {
            const int64_t j = jb * kForwardBlock + l, n = q * H + j, k = k0 + e;  // unit, row of W
            row[(q * kForwardBlock + l) * 2 + e] = j < H && k < K ? to_bf16(w[n * K + k]) : 0;
          }
    }
}

namespace {

// sum[r][q] += w[p][q] · u[r][p] for one pair row p, per lane the odd product added first,
// then the even (vdpbf16ps's order). kBf16: the instruction; else each pair widened to two
// floats (a bfloat16 is a float's upper half) and two fused multiply-adds, the same sums.
template <bool kAvx512, bool kBf16, int R>
LSTM_INLINE void pair_k(const uint16_t* w, const uint32_t* u, int64_t ldu, int64_t p, v16f (&sum)[R][4]) {
  const uint16_t* wp = w + p * kPairRow;
#if LSTM_X86 && !defined(__clang__)  // clang (the fuzzing build) checks asm on every target
  if constexpr (kBf16) {
    v16i wq[4];
    for (int q = 0; q < 4; ++q) std::memcpy(&wq[q], wp + q * 32, sizeof wq[q]);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const v16i ur = v16i{} + int32_t(u[r * ldu + p]);
      for (int q = 0; q < 4; ++q) asm("vdpbf16ps %2, %1, %0" : "+v"(sum[r][q]) : "v"(wq[q]), "v"(ur));
    }
    return;
  }
#endif
  v16f lo[4], hi[4];
  for (int q = 0; q < 4; ++q) {
    v16i pair;
    std::memcpy(&pair, wp + q * 32, sizeof pair);
    lo[q] = (v16f)(pair << 16), hi[q] = (v16f)(pair & int32_t(0xffff0000u));
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const uint32_t up = u[r * ldu + p];
    const v16f ul = vsplat(from_bf16(uint16_t(up))), uh = vsplat(from_bf16(uint16_t(up >> 16)));
    for (int q = 0; q < 4; ++q) sum[r][q] = (sum[r][q] + hi[q] * uh) + lo[q] * ul;
  }
}

// acc[r][q] += Σ_p w[p][q] · u[r][p] over the P pair rows of w. Up to 3 rows alternate two
// sums (even and odd p) for more products in flight; 4 to 6 rows fill the registers with one.
template <bool kAvx512, bool kBf16, int R>
LSTM_INLINE void pair_product(const uint16_t* w, int64_t P, const uint32_t* u, int64_t ldu, v16f (&acc)[R][4]) {
  if constexpr (R <= 3) {
    v16f even[R][4] = {}, odd[R][4] = {};
    int64_t p = 0;
    for (; p + 1 < P; p += 2) {
      pair_k<kAvx512, kBf16, R>(w, u, ldu, p, even);
      pair_k<kAvx512, kBf16, R>(w, u, ldu, p + 1, odd);
    }
    if (p < P) pair_k<kAvx512, kBf16, R>(w, u, ldu, p, even);
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] = (acc[r][q] + even[r][q]) + odd[r][q];
  } else {
    v16f part[R][4] = {};
    for (int64_t p = 0; p < P; ++p) pair_k<kAvx512, kBf16, R>(w, u, ldu, p, part);
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] += part[r][q];
  }
}

template <bool kAvx512, bool kBf16, int R>
LSTM_INLINE void forward_tile_bf16(const LstmStepForwardBf16& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, j = jb * kForwardBlock, n = std::min(kForwardBlock, H - j);
  const int64_t Px = (s.Kx + 1) / 2, Ph = (H + 1) / 2;
  const uint16_t* w = s.packed + jb * (Px + Ph) * kPairRow;
  v16f acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      acc[r][q] = load_lanes<kAvx512>(s.base + (b0 + r) * s.ld_base + q * H + j, n);
  if (s.Kx > 0 && s.x) pair_product<kAvx512, kBf16, R>(w, Px, s.x + b0 * s.ldx, s.ldx, acc);
  pair_product<kAvx512, kBf16, R>(w + Px * kPairRow, Ph, s.h_prev + b0 * s.ldh, s.ldh, acc);
  cell_tile<kAvx512, R>(acc, b0, H, j, n, s.c_prev, s.c, s.h, s.gates);
}

struct ProjectBf16 {
  const uint16_t* packed;
  int64_t Kx, H;
  const uint32_t* x;
  int64_t ldx;
  const float* bias;
  float* out;
};

template <bool kAvx512, bool kBf16, int R>
LSTM_INLINE void project_tile_bf16(const ProjectBf16& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, G = 4 * H, j = jb * kForwardBlock, n = std::min(kForwardBlock, H - j);
  const int64_t Px = (s.Kx + 1) / 2, Ph = (H + 1) / 2;
  v16f acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) acc[r][q] = load_lanes<kAvx512>(s.bias + q * H + j, n);
  pair_product<kAvx512, kBf16, R>(s.packed + jb * (Px + Ph) * kPairRow, Px, s.x + b0 * s.ldx, s.ldx, acc);
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) store_lanes<kAvx512>(s.out + (b0 + r) * G + q * H + j, acc[r][q], n);
}

template <bool kAvx512, bool kBf16>
LSTM_INLINE void project_bf16(const ProjectBf16& s, int64_t rows, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(rows, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      project_tile_bf16<kAvx512, kBf16, R>(s, jb, b);
    });
}

template <bool kAvx512, bool kBf16>
LSTM_INLINE void step_forward_bf16(const LstmStepForwardBf16& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      forward_tile_bf16<kAvx512, kBf16, R>(s, jb, b);
    });
}

void pairs_generic(const float* u, int64_t n, uint32_t* pairs) {
  for (int64_t p = 0; 2 * p < n; ++p)
    pairs[p] = uint32_t(to_bf16(u[2 * p])) | uint32_t(2 * p + 1 < n ? to_bf16(u[2 * p + 1]) : 0) << 16;
}

}  // namespace

#if LSTM_X86
// 32 floats a time through vcvtne2ps2bf16 (the same rounding as to_bf16), the rest one by one.
LSTM_AVX512_BF16 static void pairs_bf16(const float* u, int64_t n, uint32_t* pairs) {
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(u + k + 16), _mm512_loadu_ps(u + k));
    _mm512_storeu_si512(pairs + k / 2, (__m512i)v);
  }
  pairs_generic(u + k, n - k, pairs + k / 2);
}
LSTM_AVX512_BF16 static void forward_bf16(const LstmStepForwardBf16& s, int64_t b, int64_t e) {
  step_forward_bf16<true, true>(s, b, e);
}
LSTM_AVX512_BF16 static void project_bf16_isa(const ProjectBf16& s, int64_t rows, int64_t b, int64_t e) {
  project_bf16<true, true>(s, rows, b, e);
}
LSTM_AVX512 static void project_avx512(const ProjectBf16& s, int64_t rows, int64_t b, int64_t e) {
  project_bf16<true, false>(s, rows, b, e);
}
LSTM_AVX2 static void project_avx2(const ProjectBf16& s, int64_t rows, int64_t b, int64_t e) {
  project_bf16<false, false>(s, rows, b, e);
}
LSTM_AVX512 static void forward_avx512(const LstmStepForwardBf16& s, int64_t b, int64_t e) {
  step_forward_bf16<true, false>(s, b, e);
}
LSTM_AVX2 static void forward_avx2(const LstmStepForwardBf16& s, int64_t b, int64_t e) {
  step_forward_bf16<false, false>(s, b, e);
}
#endif
static void forward_generic(const LstmStepForwardBf16& s, int64_t b, int64_t e) {
  step_forward_bf16<false, false>(s, b, e);
}
static void project_generic(const ProjectBf16& s, int64_t rows, int64_t b, int64_t e) {
  project_bf16<false, false>(s, rows, b, e);
}

namespace {
struct Bf16Kernels {
  const char* isa;
  void (*forward)(const LstmStepForwardBf16&, int64_t, int64_t);
  void (*pairs)(const float*, int64_t, uint32_t*);
  void (*project)(const ProjectBf16&, int64_t, int64_t, int64_t);
};
const Bf16Kernels kGeneric{"generic", forward_generic, pairs_generic, project_generic};
#if LSTM_X86
const Bf16Kernels kAvx2{"avx2", forward_avx2, pairs_generic, project_avx2};
const Bf16Kernels kAvx512{"avx512", forward_avx512, pairs_generic, project_avx512};
const Bf16Kernels kAvx512Bf16{"avx512_bf16", forward_bf16, pairs_bf16, project_bf16_isa};
#endif
const Bf16Kernels* best_bf16_kernels() {
#if LSTM_X86
  if (cpu_has_avx512_bf16()) return &kAvx512Bf16;
  if (cpu_has_avx512()) return &kAvx512;
  if (cpu_has_avx2()) return &kAvx2;
#endif
  return &kGeneric;
}
const Bf16Kernels* active = best_bf16_kernels();
}  // namespace

void lstm_to_bf16_pairs(const float* u, int64_t n, uint32_t* pairs) { active->pairs(u, n, pairs); }

void lstm_step_forward_bf16(const LstmStepForwardBf16& s, int64_t block_begin, int64_t block_end) {
  active->forward(s, block_begin, block_end);
}

void lstm_project_bf16(const uint16_t* packed, int64_t Kx, int64_t H, int64_t rows, const uint32_t* x,
                       int64_t ldx, const float* bias, float* out, int64_t block_begin, int64_t block_end) {
  active->project(ProjectBf16{packed, Kx, H, x, ldx, bias, out}, rows, block_begin, block_end);
}

const char* lstm_bf16_kernel_isa() { return active->isa; }

bool lstm_set_bf16_kernel_isa(const std::string& isa) {
  const Bf16Kernels* pick = nullptr;
  if (isa == "best") pick = best_bf16_kernels();
  if (isa == "generic") pick = &kGeneric;
#if LSTM_X86
  if (isa == "avx2" && cpu_has_avx2()) pick = &kAvx2;
  if (isa == "avx512" && cpu_has_avx512()) pick = &kAvx512;
  if (isa == "avx512_bf16" && cpu_has_avx512_bf16()) pick = &kAvx512Bf16;
#endif
  if (pick) active = pick;
  return pick != nullptr;
}

}  // namespace lstm
