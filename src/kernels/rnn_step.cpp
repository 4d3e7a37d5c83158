// SimpleRNN's step kernels (rnn_step.h): packing, the register-tiled products (step_tile.h) and
// the activation fused onto them, forward and backward side by side. Built like lstm_step.cpp
// (-ffp-contract=fast, three instruction sets); the build lstm_kernel_isa() names runs.
#include "kernels/rnn_step.h"

#include <algorithm>
#include <cstring>

#include "kernels/step_tile.h"

namespace lstm {

int64_t rnn_blocks(int64_t H) { return (H + kRnnBlock - 1) / kRnnBlock; }
int64_t rnn_packed_forward_size(int64_t Kx, int64_t H) { return rnn_blocks(H) * (Kx + H) * kTile; }
int64_t rnn_packed_backward_size(int64_t H) { return rnn_blocks(H) * H * kTile; }

void rnn_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, float* packed) {
  const int64_t K = Kx + H;
#pragma omp parallel for num_threads(threads_for_elements(K * H)) schedule(static)
  for (int64_t jb = 0; jb < rnn_blocks(H); ++jb)
    for (int64_t k = 0; k < K; ++k) {
      float* row = packed + (jb * K + k) * kTile;
      for (int64_t l = 0; l < kRnnBlock; ++l) {
        const int64_t j = jb * kRnnBlock + l;  // the unit: a row of W
        row[l] = j >= H ? 0.0f : k < Kx ? w_ih[j * Kx + k] : w_hh[j * H + (k - Kx)];
      }
    }
}

void rnn_pack_backward(const float* w_hh, int64_t H, float* packed) {
  pack_unit_blocks(w_hh, H, H, packed);
}

// The lanes of unit group q (16 units) of block j0 that are units: 0 past H.
LSTM_INLINE int64_t lanes(int64_t H, int64_t j0, int q) {
  return std::clamp<int64_t>(H - (j0 + q * kLanes), 0, kLanes);
}

// Forward ----------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void forward_tile(const RnnStepForward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, j0 = jb * kRnnBlock;
  const float* w = s.packed + jb * (s.Kx + H) * kTile;
  v16f acc[R][4] = {};
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      if (const int64_t n = lanes(H, j0, q))
        acc[r][q] = load_lanes<kAvx512>(s.base + (b0 + r) * s.ld_base + j0 + q * kLanes, n);
  if (s.Kx > 0) tile_product<kAvx512, R, 4>(w, s.Kx, s.x + b0 * s.ldx, s.ldx, acc);
  tile_product<kAvx512, R, 4>(w + s.Kx * kTile, H, s.h_prev + b0 * H, H, acc);
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      if (const int64_t n = lanes(H, j0, q)) {
        const v16f a = acc[r][q];
        store_lanes<kAvx512>(s.h + (b0 + r) * H + j0 + q * kLanes,
                             s.relu ? vmax(a, vsplat(0.0f)) : vtanh(a), n);
      }
}

template <bool kAvx512>
LSTM_INLINE void step_forward(const RnnStepForward& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)  // the block's weights stay in cache
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      forward_tile<kAvx512, R>(s, jb, b);
    });
}

// Backward ---------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void backward_tile(const RnnStepBackward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, j0 = jb * kRnnBlock;
  v16f dh[R][4] = {};
  if (s.dh_ext)
    for (int r = 0; r < R; ++r)
      for (int q = 0; q < 4; ++q)
        if (const int64_t n = lanes(H, j0, q))
          dh[r][q] = load_lanes<kAvx512>(s.dh_ext + (b0 + r) * H + j0 + q * kLanes, n);
  if (s.da_next) tile_product<kAvx512, R, 4>(s.packed + jb * H * kTile, H, s.da_next + b0 * H, H, dh);
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      if (const int64_t n = lanes(H, j0, q)) {
        const int64_t at = (b0 + r) * H + j0 + q * kLanes;
        if (s.dh) store_lanes<kAvx512>(s.dh + at, dh[r][q], n);
        if (!s.h) continue;
        const v16f h = load_lanes<kAvx512>(s.h + at, n);
        const v16f slope = s.relu ? (h > 0.0f ? vsplat(1.0f) : vsplat(0.0f)) : 1.0f - h * h;
        store_lanes<kAvx512>(s.da + at, dh[r][q] * slope, n);
      }
}

template <bool kAvx512>
LSTM_INLINE void step_backward(const RnnStepBackward& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      backward_tile<kAvx512, R>(s, jb, b);
    });
}

// The instruction sets: the same bodies compiled for each; the build lstm_kernel_isa() names
// runs, so that tests choosing one cover these too.

#if LSTM_X86
LSTM_AVX512 static void forward_avx512(const RnnStepForward& s, int64_t b, int64_t e) {
  step_forward<true>(s, b, e);
}
LSTM_AVX512 static void backward_avx512(const RnnStepBackward& s, int64_t b, int64_t e) {
  step_backward<true>(s, b, e);
}
LSTM_AVX2 static void forward_avx2(const RnnStepForward& s, int64_t b, int64_t e) {
  step_forward<false>(s, b, e);
}
LSTM_AVX2 static void backward_avx2(const RnnStepBackward& s, int64_t b, int64_t e) {
  step_backward<false>(s, b, e);
}
#endif
static void forward_generic(const RnnStepForward& s, int64_t b, int64_t e) { step_forward<false>(s, b, e); }
static void backward_generic(const RnnStepBackward& s, int64_t b, int64_t e) { step_backward<false>(s, b, e); }

namespace {
struct Kernels {
  void (*forward)(const RnnStepForward&, int64_t, int64_t);
  void (*backward)(const RnnStepBackward&, int64_t, int64_t);
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

void rnn_step_forward(const RnnStepForward& s, int64_t block_begin, int64_t block_end) {
  kernels().forward(s, block_begin, block_end);
}
void rnn_step_backward(const RnnStepBackward& s, int64_t block_begin, int64_t block_end) {
  kernels().backward(s, block_begin, block_end);
}

}  // namespace lstm
