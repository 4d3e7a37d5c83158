// The GRU's step kernels (gru_step.h): packing, the register-tiled products (step_tile.h) and
// the cell fused onto them, forward and backward side by side. Built like lstm_step.cpp
// (-ffp-contract=fast, three instruction sets); the build lstm_kernel_isa() names runs.
#include "kernels/gru_step.h"

#include <algorithm>
#include <cstring>

#include "kernels/step_tile.h"

namespace lstm {

constexpr int kGates = 3;                             // r, z, n
constexpr int64_t kRow = kGates * kGruForwardBlock;   // packed forward row: 48 floats

int64_t gru_forward_blocks(int64_t H) { return (H + kGruForwardBlock - 1) / kGruForwardBlock; }
int64_t gru_backward_blocks(int64_t H) { return (H + kGruBackwardBlock - 1) / kGruBackwardBlock; }
int64_t gru_packed_forward_size(int64_t Kx, int64_t H) { return gru_forward_blocks(H) * (Kx + H) * kRow; }
int64_t gru_packed_backward_size(int64_t H) { return gru_backward_blocks(H) * 3 * H * kTile; }

void gru_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, float* packed) {
  const int64_t K = Kx + H;
#pragma omp parallel for num_threads(threads_for_elements(K * H)) schedule(static)
  for (int64_t jb = 0; jb < gru_forward_blocks(H); ++jb)
    for (int64_t k = 0; k < K; ++k) {
      float* row = packed + (jb * K + k) * kRow;
      for (int64_t q = 0; q < kGates; ++q)  // gate q's 16 columns
        for (int64_t l = 0; l < kGruForwardBlock; ++l) {
          const int64_t j = jb * kGruForwardBlock + l, n = q * H + j;  // unit, row of W
          row[q * kGruForwardBlock + l] =
              j >= H ? 0.0f : k < Kx ? w_ih[n * Kx + k] : w_hh[n * H + (k - Kx)];
        }
    }
}

void gru_pack_backward(const float* w_hh, int64_t H, float* packed) {
  pack_unit_blocks(w_hh, 3 * H, H, packed);
}

// Forward ----------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void forward_tile(const GruStepForward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, j = jb * kGruForwardBlock, n = std::min(kGruForwardBlock, H - j);
  const float* w = s.packed + jb * (s.Kx + H) * kRow;
  // ax is read after the product (below), and a long batch's projection is not in cache: fetch
  // the next tile's rows now, a tile ahead (the first tile fetches its own too). Waiting on it
  // cost 20% of a step; fetching each tile's own rows at its start still left 7%.
  for (int64_t b = b0 == 0 ? 0 : b0 + R, end = std::min(s.B, b0 + R + kMaxRows); b < end; ++b)
    for (int q = 0; q < kGates; ++q) {
      const float* p = s.base + b * s.ld_base + q * H + j;
      __builtin_prefetch(p), __builtin_prefetch(p + n - 1);
    }
  v16f ah[R][kGates];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < kGates; ++q) ah[r][q] = load_lanes<kAvx512>(s.b_hh + q * H + j, n);
  tile_product<kAvx512, R, kGates>(w + s.Kx * kRow, H, s.h_prev + b0 * H, H, ah);
  // The cell, a row at a time, on ax (the row's three gate vectors of the input projection)
  auto cell = [&](int r, v16f ax_r, v16f ax_z, v16f ax_n) LSTM_INLINE_LAMBDA {
    const int64_t b = b0 + r;
    const v16f rg = vsigmoid(ax_r + ah[r][0]), z = vsigmoid(ax_z + ah[r][1]);
    const v16f nn = vtanh(ax_n + rg * ah[r][2]);
    const v16f hp = load_lanes<kAvx512>(s.h_prev + b * H + j, n);
    store_lanes<kAvx512>(s.h + b * H + j, (1.0f - z) * nn + z * hp, n);
    if (s.gates) {
      float* g = s.gates + b * 3 * H + j;
      store_lanes<kAvx512>(g, rg, n), store_lanes<kAvx512>(g + H, z, n);
      store_lanes<kAvx512>(g + 2 * H, nn, n), store_lanes<kAvx512>(s.ah_n + b * H + j, ah[r][2], n);
    }
  };
  auto base = [&](int r, int q) LSTM_INLINE_LAMBDA {
    return load_lanes<kAvx512>(s.base + (b0 + r) * s.ld_base + q * H + j, n);
  };
  if (s.Kx == 0) {  // ax read row by row: the registers hold the recurrent sums
    for (int r = 0; r < R; ++r) cell(r, base(r, 0), base(r, 1), base(r, 2));
    return;
  }
  v16f ax[R][kGates];  // the input's product too (streaming: one row)
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < kGates; ++q) ax[r][q] = base(r, q);
  tile_product<kAvx512, R, kGates>(w, s.Kx, s.x + b0 * s.ldx, s.ldx, ax);
  for (int r = 0; r < R; ++r) cell(r, ax[r][0], ax[r][1], ax[r][2]);
}

template <bool kAvx512>
LSTM_INLINE void step_forward(const GruStepForward& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)  // the block's weights stay in cache
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      forward_tile<kAvx512, R>(s, jb, b);
    });
}

// Backward ---------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void backward_tile(const GruStepBackward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, G = 3 * H, j0 = jb * kGruBackwardBlock;
  v16f dh[R][4] = {};
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) {
      const int64_t j = j0 + q * kLanes, n = std::min<int64_t>(kLanes, H - j), b = b0 + r;
      if (n <= 0) break;
      dh[r][q] = load_lanes<kAvx512>(s.carry + b * H + j, n);
      if (s.dh_ext) dh[r][q] = load_lanes<kAvx512>(s.dh_ext + b * H + j, n) + dh[r][q];
    }
  if (s.dax_next) {  // the rows of W_hh for r and z, then for n
    const float* w = s.packed + jb * G * kTile;
    tile_product<kAvx512, R, 4>(w, 2 * H, s.dax_next + b0 * G, G, dh);
    tile_product<kAvx512, R, 4>(w + 2 * H * kTile, H, s.dahn_next + b0 * H, H, dh);
  }
  for (int r = 0; r < R; ++r) {
    const int64_t b = b0 + r;
    for (int q = 0; q < 4; ++q) {
      const int64_t j = j0 + q * kLanes, n = std::min<int64_t>(kLanes, H - j);
      if (n <= 0) break;
      const v16f d = dh[r][q];
      if (s.dh) store_lanes<kAvx512>(s.dh + b * H + j, d, n);
      if (!s.gates) continue;
      const float* g = s.gates + b * G + j;
      const v16f rg = load_lanes<kAvx512>(g, n), z = load_lanes<kAvx512>(g + H, n);
      const v16f nn = load_lanes<kAvx512>(g + 2 * H, n), ahn = load_lanes<kAvx512>(s.ah_n + b * H + j, n);
      const v16f hp = load_lanes<kAvx512>(s.h_prev + b * H + j, n);
      const v16f dan = d * (1.0f - z) * (1.0f - nn * nn);
      const v16f dar = dan * ahn * rg * (1.0f - rg);
      const v16f daz = d * (hp - nn) * z * (1.0f - z);
      float* dax = s.dax + b * G + j;
      store_lanes<kAvx512>(dax, dar, n), store_lanes<kAvx512>(dax + H, daz, n);
      store_lanes<kAvx512>(dax + 2 * H, dan, n);
      store_lanes<kAvx512>(s.dahn + b * H + j, dan * rg, n);
      store_lanes<kAvx512>(s.carry + b * H + j, d * z, n);
    }
  }
}

template <bool kAvx512>
LSTM_INLINE void step_backward(const GruStepBackward& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      backward_tile<kAvx512, R>(s, jb, b);
    });
}

// The instruction sets: the same bodies compiled for each; the build lstm_kernel_isa() names
// runs, so that tests choosing one cover these too.

#if LSTM_X86
LSTM_AVX512 static void forward_avx512(const GruStepForward& s, int64_t b, int64_t e) {
  step_forward<true>(s, b, e);
}
LSTM_AVX512 static void backward_avx512(const GruStepBackward& s, int64_t b, int64_t e) {
  step_backward<true>(s, b, e);
}
LSTM_AVX2 static void forward_avx2(const GruStepForward& s, int64_t b, int64_t e) {
  step_forward<false>(s, b, e);
}
LSTM_AVX2 static void backward_avx2(const GruStepBackward& s, int64_t b, int64_t e) {
  step_backward<false>(s, b, e);
}
#endif
static void forward_generic(const GruStepForward& s, int64_t b, int64_t e) { step_forward<false>(s, b, e); }
static void backward_generic(const GruStepBackward& s, int64_t b, int64_t e) { step_backward<false>(s, b, e); }

namespace {
struct Kernels {
  void (*forward)(const GruStepForward&, int64_t, int64_t);
  void (*backward)(const GruStepBackward&, int64_t, int64_t);
};
const Kernels& kernels() {
  static const Kernels generic{forward_generic, backward_generic};
#if LSTM_X86
  static const Kernels avx2{forward_avx2, backward_avx2}, avx512{forward_avx512, backward_avx512};
  const char* isa = lstm_kernel_isa();  // "avx512", "avx2" or "generic"
  if (!std::strcmp(isa, "avx512")) return avx512;
  if (!std::strcmp(isa, "avx2")) return avx2;
#endif
  return generic;
}
}  // namespace

void gru_step_forward(const GruStepForward& s, int64_t block_begin, int64_t block_end) {
  kernels().forward(s, block_begin, block_end);
}
void gru_step_backward(const GruStepBackward& s, int64_t block_begin, int64_t block_end) {
  kernels().backward(s, block_begin, block_end);
}

}  // namespace lstm
