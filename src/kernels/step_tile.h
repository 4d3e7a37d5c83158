// What the step kernels share (lstm_step.cpp, lstm_step_bf16.cpp): the register tile's shape,
// loads and stores of a block's lanes, the walk over a batch's row tiles, and the cell on a tile
// of pre-activations. Included only by kernel sources, each built for several instruction sets.
#pragma once

#include <algorithm>
#include <cstdint>

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
