// What the step kernels share (lstm_step.cpp, lstm_step_bf16.cpp): the register tile's shape,
// loads and stores of a block's lanes, the walk over a batch's row tiles, and the cell on a tile
// of pre-activations. Included only by kernel sources, each built for several instruction sets.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/threads.h"
#include "kernels/lstm_step.h"
#include "kernels/vmath.h"

namespace lstm {

#if LSTM_X86
// What the CPU can run (the kernels' builds are chosen by these when the library loads).
inline bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("fma");
}
inline bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
inline bool cpu_has_avx512_bf16() { return cpu_has_avx512() && __builtin_cpu_supports("avx512bf16"); }
inline bool cpu_has_avx512_vnni() { return cpu_has_avx512() && __builtin_cpu_supports("avx512vnni"); }
#endif

#define LSTM_INLINE inline __attribute__((always_inline))

constexpr int64_t kTile = 64;  // packed columns per row: 4 vectors of 16
constexpr int kMaxRows = 6;    // batch rows per register tile: 24 accumulators

// Lanes [0, n) of p, n <= 16; the store writes n lanes only. On AVX-512 a masked move (the
// lanes past n are neither read nor written); elsewhere through a copy.
template <bool kAvx512>
LSTM_INLINE v16f load_lanes(const float* p, int64_t n) {
  if (n == kLanes) return vload(p);
#if !defined(__clang__)
  if constexpr (kAvx512) {
    v16f v;
    const uint16_t mask = uint16_t((1u << n) - 1);
    asm("vmovups %1, %0%{%2%}%{z%}" : "=v"(v) : "m"(*(const float(*)[kLanes])p), "Yk"(mask));
    return v;
  }
#endif
  return vload_n(p, n);
}
template <bool kAvx512>
LSTM_INLINE void store_lanes(float* p, v16f v, int64_t n) {
  if (n == kLanes) return vstore(p, v);
#if !defined(__clang__)
  if constexpr (kAvx512) {
    const uint16_t mask = uint16_t((1u << n) - 1);
    asm("vmovups %1, %0%{%2%}" : "+m"(*(float(*)[kLanes])p) : "v"(v), "Yk"(mask));
    return;
  }
#endif
  vstore_n(p, v, n);
}

// part[r][q] += u[r·ldu + k] · w[k·16Q + 16q .. +16] for rows r < R, q < Q, one k: the packed
// rows are Q vectors wide (the LSTM's 4 gates of a 16-unit block, the GRU's 3, or 64 units of
// one gate in the backward layouts).
// kAvx512 (the AVX-512 build, where a v16f is one register): when a weight vector is used by
// three rows or fewer, GCC folds its load into every FMA that uses it, so R = 3 read 12 vectors
// of 64 bytes per 12 FMAs and ran load-bound (2.9 G FMAs/s against 6.4 with the weights held in
// registers, measured on the development machine). The empty asm makes each one register.
// The weights are four named registers, not an array: with an array, GCC kept them on the
// stack behind the empty asm and the LSTM's backward step ran 20% slower.
template <bool kAvx512, int R, int Q>
LSTM_INLINE void fma_k(const float* w, const float* u, int64_t ldu, int64_t k, v16f (&part)[R][Q]) {
  static_assert(Q >= 1 && Q <= 4);
  const float* wk = w + k * Q * kLanes;
  v16f w0 = vload(wk), w1 = {}, w2 = {}, w3 = {};
  if constexpr (Q > 1) w1 = vload(wk + 16);
  if constexpr (Q > 2) w2 = vload(wk + 32);
  if constexpr (Q > 3) w3 = vload(wk + 48);
#if !defined(__clang__)  // clang (the fuzzing build) checks the constraints on every target
  if constexpr (kAvx512 && Q == 4) asm("" : "+v"(w0), "+v"(w1), "+v"(w2), "+v"(w3));
  if constexpr (kAvx512 && Q == 3) asm("" : "+v"(w0), "+v"(w1), "+v"(w2));
  if constexpr (kAvx512 && Q == 2) asm("" : "+v"(w0), "+v"(w1));
  if constexpr (kAvx512 && Q == 1) asm("" : "+v"(w0));
#endif
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const v16f ur = vsplat(u[r * ldu + k]);
    part[r][0] += ur * w0;
    if constexpr (Q > 1) part[r][1] += ur * w1;
    if constexpr (Q > 2) part[r][2] += ur * w2;
    if constexpr (Q > 3) part[r][3] += ur * w3;
  }
}

// acc[r][q] = (acc[r][q] + Σ_{k < K/2} ...) + Σ_{k >= K/2} ..., each half summed from zero in
// order of k: two half sums are more accurate than one long one (with one, ten Adam steps of the
// seed's model drift 1.5e-5 from PyTorch). Up to 3 rows run both halves at once (more FMAs in
// flight); 4 to 6 rows fill the registers with one half at a time. The arithmetic is the same
// either way, so a row's result does not depend on the tile it was computed in.
template <bool kAvx512, int R, int Q>
LSTM_INLINE void tile_product(const float* w, int64_t K, const float* u, int64_t ldu,
                              v16f (&acc)[R][Q]) {
  const int64_t half = (K + 1) / 2, rest = K - half;  // [0, half) and [half, K)
  if constexpr (R <= 3) {
    v16f first[R][Q] = {}, second[R][Q] = {};
    for (int64_t k = 0; k < rest; ++k) {
      fma_k<kAvx512, R, Q>(w, u, ldu, k, first);
      fma_k<kAvx512, R, Q>(w, u, ldu, half + k, second);
    }
    if (half > rest) fma_k<kAvx512, R, Q>(w, u, ldu, half - 1, first);
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < Q; ++q) acc[r][q] = (acc[r][q] + first[r][q]) + second[r][q];
  } else {
    for (int64_t h = 0; h < 2; ++h) {
      v16f part[R][Q] = {};
      for (int64_t k = h ? half : 0, end = h ? K : half; k < end; ++k)
        fma_k<kAvx512, R, Q>(w, u, ldu, k, part);
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < Q; ++q) acc[r][q] += part[r][q];
    }
  }
}

// The backward layouts: per block of 64 hidden units, `rows` rows of 64 = w[n][64·block .. +64]
// (w is (rows, H); zeros past H). The LSTM's rows are its 4H gates, the GRU's 3H.
inline void pack_unit_blocks(const float* w, int64_t rows, int64_t H, float* packed) {
  const int64_t blocks = (H + kTile - 1) / kTile;
#pragma omp parallel for num_threads(threads_for_elements(rows * H)) schedule(static)
  for (int64_t jb = 0; jb < blocks; ++jb)
    for (int64_t n = 0; n < rows; ++n) {
      float* row = packed + (jb * rows + n) * kTile;
      const int64_t j0 = jb * kTile, have = std::min(kTile, H - j0);
      std::copy(w + n * H + j0, w + n * H + j0 + have, row);
      std::fill(row + have, row + kTile, 0.0f);
    }
}

// Calls tile.operator()<R>(b) for the batch's rows [b, b + R): tiles of kMaxRows rows, then one
// of what is left.
#define LSTM_INLINE_LAMBDA __attribute__((always_inline))
template <class Tile>
LSTM_INLINE void for_each_row_tile(int64_t B, Tile tile) {
  int64_t b = 0;
  for (; b + kMaxRows <= B; b += kMaxRows) tile.template operator()<kMaxRows>(b);
  switch (B - b) {
    case 5: tile.template operator()<5>(b); break;
    case 4: tile.template operator()<4>(b); break;
    case 3: tile.template operator()<3>(b); break;
    case 2: tile.template operator()<2>(b); break;
    case 1: tile.template operator()<1>(b); break;
    default: break;
  }
}

// The cell on a tile (lstm_cell.h): acc[r][q] holds the pre-activations a of row b0 + r, gate
// q, units j .. j + n; writes c, h and, when gates is not null, the activations i, f, g, o.
template <bool kAvx512, int R>
LSTM_INLINE void cell_tile(const v16f (&acc)[R][4], int64_t b0, int64_t H, int64_t j, int64_t n,
                           const float* c_prev, float* c_out, float* h_out, float* gates) {
  for (int r = 0; r < R; ++r) {
    const int64_t b = b0 + r;
    const v16f i = vsigmoid(acc[r][0]), f = vsigmoid(acc[r][1]);
    const v16f g = vtanh(acc[r][2]), o = vsigmoid(acc[r][3]);
    const v16f c = f * load_lanes<kAvx512>(c_prev + b * H + j, n) + i * g;
    store_lanes<kAvx512>(c_out + b * H + j, c, n);
    store_lanes<kAvx512>(h_out + b * H + j, o * vtanh(c), n);
    if (gates) {
      float* a = gates + b * 4 * H + j;
      store_lanes<kAvx512>(a, i, n), store_lanes<kAvx512>(a + H, f, n);
      store_lanes<kAvx512>(a + 2 * H, g, n), store_lanes<kAvx512>(a + 3 * H, o, n);
    }
  }
}

}  // namespace lstm
