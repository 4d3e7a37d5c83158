// The recurrent kernels (lstm_step.h): packing, the register-tiled product, and the cell fused
// onto it, forward and backward side by side.
// B = batch rows, Kx = fused input features, H = hidden, 4H = fused gates i, f, g, o.
//
// Built with -ffp-contract=fast (CMakeLists.txt) so that `acc += u * w` is one fused
// multiply-add, and each kernel three times (AVX-512, AVX2+FMA, the baseline), the best one
// the CPU supports chosen when the library loads.
#include "kernels/lstm_step.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/step_tile.h"
#include "kernels/vmath.h"

namespace lstm {

int64_t lstm_forward_blocks(int64_t H) { return (H + kForwardBlock - 1) / kForwardBlock; }
int64_t lstm_backward_blocks(int64_t H) { return (H + kBackwardBlock - 1) / kBackwardBlock; }
// A tiny model's row: [i f g o] x 8 units = two vectors.
constexpr int64_t kTinyRow = 4 * kTinyH;
int64_t lstm_packed_forward_size(int64_t Kx, int64_t H) {
  if (H <= kTinyH) return (Kx + H) * kTinyRow;
  return lstm_forward_blocks(H) * (Kx + H) * kTile;
}
int64_t lstm_packed_backward_size(int64_t H) { return lstm_backward_blocks(H) * 4 * H * kTile; }

// Packing (once per weight update): blocks apart, on every thread when the weights are many.
void lstm_pack_forward(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H,
                       float* packed) {
  const int64_t K = Kx + H;
  if (H <= kTinyH) {  // row k: gate q's units at 8q .. 8q + H, zeros past H
    for (int64_t k = 0; k < K; ++k)
      for (int64_t q = 0; q < 4; ++q)
        for (int64_t l = 0; l < kTinyH; ++l) {
          const int64_t n = q * H + l;  // row of W
          packed[k * kTinyRow + q * kTinyH + l] = l >= H ? 0.0f : k < Kx ? w_ih[n * Kx + k] : w_hh[n * H + (k - Kx)];
        }
    return;
  }
#pragma omp parallel for num_threads(threads_for_elements(K * H)) schedule(static)
  for (int64_t jb = 0; jb < lstm_forward_blocks(H); ++jb)
    for (int64_t k = 0; k < K; ++k) {
      float* row = packed + (jb * K + k) * kTile;
      for (int64_t q = 0; q < 4; ++q)  // gate q's 16 columns
        for (int64_t l = 0; l < kForwardBlock; ++l) {
          const int64_t j = jb * kForwardBlock + l, n = q * H + j;  // unit, row of W
          row[q * kForwardBlock + l] =
              j >= H ? 0.0f : k < Kx ? w_ih[n * Kx + k] : w_hh[n * H + (k - Kx)];
        }
    }
}

void lstm_pack_backward(const float* w_hh, int64_t H, float* packed) {
  pack_unit_blocks(w_hh, 4 * H, H, packed);
}

// Forward ----------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void forward_tile(const LstmStepForward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, j = jb * kForwardBlock, n = std::min(kForwardBlock, H - j);
  const float* w = s.packed + jb * (s.Kx + H) * kTile;
  v16f acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q)
      acc[r][q] = load_lanes<kAvx512>(s.base + (b0 + r) * s.ld_base + q * H + j, n);
  if (s.Kx > 0) tile_product<kAvx512, R, 4>(w, s.Kx, s.x + b0 * s.ldx, s.ldx, acc);
  tile_product<kAvx512, R, 4>(w + s.Kx * kTile, H, s.h_prev + b0 * H, H, acc);
  cell_tile<kAvx512, R>(acc, b0, H, j, n, s.c_prev, s.c, s.h, s.gates);
}

// H <= 8: acc[r][0] holds a_i in lanes 0..7 and a_f in 8..15, acc[r][1] a_g and a_o. Each lane
// sees the same sums and the same functions as in forward_tile, so the results are the same bits
// (checked against the 16-unit layout on every instruction set, H = 1..8, B = 1..13).
// [p[0, n) at lanes 0.., p[n, 2n) at lanes 8..], n <= 8
template <bool kAvx512>
LSTM_INLINE v16f load_pair(const float* p, int64_t n) {
  const v16f lo = load_lanes<kAvx512>(p, n), hi = load_lanes<kAvx512>(p + n, n);
  return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}
LSTM_INLINE v16f upper_half(v16f v) {  // lanes 8..15 moved to 0..7
  return __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
}

template <bool kAvx512, int R>
LSTM_INLINE void tiny_forward_tile(const LstmStepForward& s, int64_t b0) {
  const int64_t H = s.H;
  auto pair = [&](const float* p) LSTM_INLINE_LAMBDA { return load_pair<kAvx512>(p, H); };
  auto upper = [](v16f v) LSTM_INLINE_LAMBDA { return upper_half(v); };
  v16f acc[R][2];
  for (int r = 0; r < R; ++r) {
    const float* base = s.base + (b0 + r) * s.ld_base;
    acc[r][0] = pair(base), acc[r][1] = pair(base + 2 * H);
  }
  if (s.Kx > 0) tile_product<kAvx512, R, 2>(s.packed, s.Kx, s.x + b0 * s.ldx, s.ldx, acc);
  tile_product<kAvx512, R, 2>(s.packed + s.Kx * kTinyRow, H, s.h_prev + b0 * H, H, acc);
  for (int r = 0; r < R; ++r) {
    const int64_t b = b0 + r;
    const v16f i_f = vsigmoid(acc[r][0]), g = vtanh(acc[r][1]), o = upper(vsigmoid(acc[r][1]));
    const v16f i = i_f, f = upper(i_f);
    const v16f c = f * load_lanes<kAvx512>(s.c_prev + b * H, H) + i * g;
    store_lanes<kAvx512>(s.c + b * H, c, H);
    store_lanes<kAvx512>(s.h + b * H, o * vtanh(c), H);
    if (s.gates) {
      float* a = s.gates + b * 4 * H;
      store_lanes<kAvx512>(a, i, H), store_lanes<kAvx512>(a + H, f, H);
      store_lanes<kAvx512>(a + 2 * H, g, H), store_lanes<kAvx512>(a + 3 * H, o, H);
    }
  }
}

template <bool kAvx512>
LSTM_INLINE void step_forward(const LstmStepForward& s, int64_t block_begin, int64_t block_end) {
  if (s.H <= kTinyH) {  // one block
    if (block_begin < block_end)
      for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA { tiny_forward_tile<kAvx512, R>(s, b); });
    return;
  }
  for (int64_t jb = block_begin; jb < block_end; ++jb)  // the block's weights stay in cache
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      forward_tile<kAvx512, R>(s, jb, b);
    });
}

// Backward ---------------------------------------------------------------------------------

template <bool kAvx512, int R>
LSTM_INLINE void backward_tile(const LstmStepBackward& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, G = 4 * H, j0 = jb * kBackwardBlock;
  v16f dh[R][4] = {};
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < 4; ++q) {
      const int64_t j = j0 + q * kLanes, n = std::min<int64_t>(kLanes, H - j);
      if (s.dh_ext && n > 0) dh[r][q] = load_lanes<kAvx512>(s.dh_ext + (b0 + r) * H + j, n);
    }
  if (s.da_next) tile_product<kAvx512, R, 4>(s.packed + jb * G * kTile, G, s.da_next + b0 * G, G, dh);
  for (int r = 0; r < R; ++r) {
    const int64_t b = b0 + r;
    for (int q = 0; q < 4; ++q) {
      const int64_t j = j0 + q * kLanes, n = std::min<int64_t>(kLanes, H - j);
      if (n <= 0) break;
      if (s.dh) store_lanes<kAvx512>(s.dh + b * H + j, dh[r][q], n);
      if (!s.gates) continue;
      const float* a = s.gates + b * G + j;
      const v16f i = load_lanes<kAvx512>(a, n), f = load_lanes<kAvx512>(a + H, n);
      const v16f g = load_lanes<kAvx512>(a + 2 * H, n), o = load_lanes<kAvx512>(a + 3 * H, n);
      const v16f tc = vtanh(load_lanes<kAvx512>(s.c + b * H + j, n));
      const v16f dct = load_lanes<kAvx512>(s.dc + b * H + j, n) + dh[r][q] * o * (1.0f - tc * tc);
      float* da = s.da + b * G + j;
      store_lanes<kAvx512>(da, dct * g * i * (1.0f - i), n);
      const v16f cp = load_lanes<kAvx512>(s.c_prev + b * H + j, n);
      store_lanes<kAvx512>(da + H, dct * cp * f * (1.0f - f), n);
      store_lanes<kAvx512>(da + 2 * H, dct * i * (1.0f - g * g), n);
      store_lanes<kAvx512>(da + 3 * H, dh[r][q] * tc * o * (1.0f - o), n);
      store_lanes<kAvx512>(s.dc + b * H + j, dct * f, n);
    }
  }
}

template <bool kAvx512>
LSTM_INLINE void step_backward(const LstmStepBackward& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      backward_tile<kAvx512, R>(s, jb, b);
    });
}

// The bias gradient --------------------------------------------------------------------------
// out[k] += Σ_r a[r·lda + k], summed in double (T·B terms of mixed sign), rows in order. The
// rows go by in chunks of 32 that stay in cache while each group of up to 128 columns adds them
// into its double sums (kept in registers over the chunk, in `sums` between chunks), so the
// array streams from memory once whatever its width (one pass per group over all rows read a
// GRU's 3H-wide array three times: its sums cost 1.5x the LSTM's 4H). A group's last vector
// may be partial: the lanes past its columns read as zero.

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
constexpr int64_t kSumChunk = 32;

// sums[0, 8·(kVecs - 1) + last) += the columns of rows [0, rows) of a, last in 1..8; rows
// [0, whole) may read their last vector whole (it lies inside the array), the rest lane by lane.
template <int kVecs>
LSTM_INLINE void sum_columns(const float* a, int64_t rows, int64_t lda, int64_t last, int64_t whole,
                             double* sums) {
  v8d sum[kVecs];
  std::memcpy(sum, sums, sizeof sum);
  v8i keep;  // the last vector's lanes that are columns
  for (int l = 0; l < 8; ++l) keep[l] = l < last ? -1 : 0;
  const v8f zero = {};
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = a + r * lda;
#pragma GCC unroll 16
    for (int v = 0; v < kVecs - 1; ++v) {
      v8f x;
      std::memcpy(&x, row + 8 * v, sizeof x);
      sum[v] += __builtin_convertvector(x, v8d);
    }
    const float* tail = row + 8 * (kVecs - 1);
    v8f x = {};
    if (last == 8 || r < whole) {  // a whole vector lies inside the array
      std::memcpy(&x, tail, sizeof x);
      x = keep ? x : zero;
    } else {  // the array's last row: only its columns
      for (int64_t l = 0; l < last; ++l) x[l] = tail[l];
    }
    sum[kVecs - 1] += __builtin_convertvector(x, v8d);
  }
  std::memcpy(sums, sum, sizeof sum);  // the lanes past `last` stay zero
}

// a's rows [r0, r0 + n) (of `rows`), columns [k, k + cols), cols <= 128.
template <int kVecs = 16>
LSTM_INLINE void sum_columns_upto(const float* a, int64_t rows, int64_t lda, int64_t r0, int64_t n,
                                  int64_t k, int64_t cols, double* sums) {
  if constexpr (kVecs > 1) {
    if (cols <= 8 * (kVecs - 1))
      return sum_columns_upto<kVecs - 1>(a, rows, lda, r0, n, k, cols, sums);
  }
  // row r's last vector starts at r·lda + tail and reads 8 floats: inside the array (which
  // holds at least (rows - 1)·lda + k + cols floats) while r·lda + tail + 8 <= that
  const int64_t tail = k + 8 * (kVecs - 1), room = (rows - 1) * lda + k + cols - tail - 8;
  const int64_t whole = room < 0 ? 0 : std::min(n, room / lda + 1 - r0);
  sum_columns<kVecs>(a + r0 * lda + k, n, lda, cols - 8 * (kVecs - 1), std::max<int64_t>(whole, 0), sums);
}

// Columns [c0, c1).
LSTM_INLINE void sum_rows(const float* a, int64_t rows, int64_t lda, int64_t c0, int64_t c1, float* out) {
  std::vector<double> sums(size_t(c1 - c0 + 8), 0.0);  // + 8: a partial vector's lanes
  for (int64_t r0 = 0; r0 < rows; r0 += kSumChunk) {
    const int64_t n = std::min(kSumChunk, rows - r0);
    for (int64_t k = c0; k < c1; k += 128)
      sum_columns_upto(a, rows, lda, r0, n, k, std::min<int64_t>(128, c1 - k), sums.data() + (k - c0));
  }
  for (int64_t k = c0; k < c1; ++k) out[k] += float(sums[size_t(k - c0)]);
}

// The instruction sets -------------------------------------------------------------------
// The same bodies, compiled for each target and chosen once, when the library loads. (GCC's
// target_clones would pick "arch=" clones by CPU model name, so AMD CPUs got the baseline.)

#if LSTM_X86
LSTM_AVX512 static void forward_avx512(const LstmStepForward& s, int64_t b, int64_t e) {
  step_forward<true>(s, b, e);
}
LSTM_AVX512 static void backward_avx512(const LstmStepBackward& s, int64_t b, int64_t e) {
  step_backward<true>(s, b, e);
}
LSTM_AVX512 static void sum_rows_avx512(const float* a, int64_t r, int64_t ld, int64_t c0, int64_t c1, float* out) {
  sum_rows(a, r, ld, c0, c1, out);
}
LSTM_AVX2 static void forward_avx2(const LstmStepForward& s, int64_t b, int64_t e) {
  step_forward<false>(s, b, e);
}
LSTM_AVX2 static void backward_avx2(const LstmStepBackward& s, int64_t b, int64_t e) {
  step_backward<false>(s, b, e);
}
LSTM_AVX2 static void sum_rows_avx2(const float* a, int64_t r, int64_t ld, int64_t c0, int64_t c1, float* out) {
  sum_rows(a, r, ld, c0, c1, out);
}
#endif
static void forward_generic(const LstmStepForward& s, int64_t b, int64_t e) {
  step_forward<false>(s, b, e);
}
static void backward_generic(const LstmStepBackward& s, int64_t b, int64_t e) {
  step_backward<false>(s, b, e);
}
static void sum_rows_generic(const float* a, int64_t r, int64_t ld, int64_t c0, int64_t c1, float* out) {
  sum_rows(a, r, ld, c0, c1, out);
}

namespace {
struct Kernels {
  const char* isa;
  void (*forward)(const LstmStepForward&, int64_t, int64_t);
  void (*backward)(const LstmStepBackward&, int64_t, int64_t);
  void (*sum_rows)(const float*, int64_t, int64_t, int64_t, int64_t, float*);
};
const Kernels kGeneric{"generic", forward_generic, backward_generic, sum_rows_generic};
#if LSTM_X86
const Kernels kAvx2{"avx2", forward_avx2, backward_avx2, sum_rows_avx2};
const Kernels kAvx512{"avx512", forward_avx512, backward_avx512, sum_rows_avx512};
#endif
const Kernels* best_kernels() {
#if LSTM_X86
  if (cpu_has_avx512()) return &kAvx512;
  if (cpu_has_avx2()) return &kAvx2;
#endif
  return &kGeneric;
}
const Kernels* active = best_kernels();
}  // namespace

void lstm_step_forward(const LstmStepForward& s, int64_t block_begin, int64_t block_end) {
  active->forward(s, block_begin, block_end);
}
void lstm_step_backward(const LstmStepBackward& s, int64_t block_begin, int64_t block_end) {
  active->backward(s, block_begin, block_end);
}

void lstm_sum_rows(const float* a, int64_t rows, int64_t cols, float* out, int64_t lda) {
  if (lda == 0) lda = cols;
  const int64_t groups = (cols + 7) / 8;  // of 8 columns: threads take whole groups
  const int team = int(std::min<int64_t>(groups, threads_for_elements(rows * cols)));
  if (team <= 1) return active->sum_rows(a, rows, lda, 0, cols, out);
#pragma omp parallel num_threads(team)
  {
    const int64_t k = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t c0 = 8 * (groups * k / n), c1 = std::min(cols, 8 * (groups * (k + 1) / n));
    if (c0 < c1) active->sum_rows(a, rows, lda, c0, c1, out);
  }
}

const char* lstm_kernel_isa() { return active->isa; }

bool lstm_set_kernel_isa(const std::string& isa) {
  const Kernels* pick = nullptr;
  if (isa == "best") pick = best_kernels();
  if (isa == "generic") pick = &kGeneric;
#if LSTM_X86
  if (isa == "avx2" && cpu_has_avx2()) pick = &kAvx2;
  if (isa == "avx512" && cpu_has_avx512()) pick = &kAvx512;
#endif
  if (pick) active = pick;
  return pick != nullptr;
}

}  // namespace lstm
