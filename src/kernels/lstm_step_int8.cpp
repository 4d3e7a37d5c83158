// The int8 forward step (lstm_step_int8.h): quantisation, packing, the quad products, the cell
// of step_tile.h. Built without floating contraction (CMakeLists.txt): the rounding of the
// inputs and the float work after the exact integer sums are then the same operations on every
// build, so all builds give the same bits.
#include "kernels/lstm_step_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/step_tile.h"

#if LSTM_X86
#define LSTM_AVX512_VNNI \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#endif

namespace lstm {

constexpr int64_t kQuadRow = 4 * kTile;  // bytes per quad row: 64 columns x 4 inputs

int64_t lstm_packed_forward_int8_size(int64_t Kx, int64_t H) {
  return lstm_forward_blocks(H) * ((Kx + 3) / 4 + (H + 3) / 4) * kQuadRow;
}

// round(v) to nearest even for |v| < 2^22: adding and subtracting 1.5·2^23 leaves no fraction
// bits (with contraction off, these are two roundings on every build)
static inline float round_even(float v) { return (v + 12582912.0f) - 12582912.0f; }

void lstm_pack_forward_int8(const float* w_ih, int64_t Kx, const float* w_hh, int64_t H, int8_t* packed,
                            float* scales, int32_t* comp) {
  const int64_t G = 4 * H, Px = (Kx + 3) / 4, Ph = (H + 3) / 4;
  std::vector<int8_t> q(size_t(G * std::max(Kx, H)));
  for (int part = 0; part < 2; ++part) {  // W_ih's rows, then W_hh's
    const float* w = part ? w_hh : w_ih;
    const int64_t K = part ? H : Kx;
    for (int64_t n = 0; n < G; ++n) {
      float top = 0.0f;
      for (int64_t k = 0; k < K; ++k) top = std::max(top, std::fabs(w[n * K + k]));
      const float s = top > 0.0f ? top / 127.0f : 1.0f, inv = top > 0.0f ? 127.0f / top : 1.0f;
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const float v = std::min(127.0f, std::max(-127.0f, round_even(w[n * K + k] * inv)));
        q[size_t(n * K + k)] = int8_t(v);
        sum += int32_t(v);
      }
      scales[part * G + n] = s;
      comp[part * G + n] = 128 * sum;
    }
    for (int64_t jb = 0; jb < lstm_forward_blocks(H); ++jb)
      for (int64_t p = 0; p < (part ? Ph : Px); ++p) {
        int8_t* row = packed + (jb * (Px + Ph) + (part ? Px : 0) + p) * kQuadRow;
        for (int64_t g = 0; g < 4; ++g)
          for (int64_t l = 0; l < kForwardBlock; ++l)
            for (int64_t e = 0; e < 4; ++e) {
              const int64_t j = jb * kForwardBlock + l, n = g * H + j, k = 4 * p + e;
              row[(g * kForwardBlock + l) * 4 + e] = j < H && k < K ? q[size_t(n * K + k)] : int8_t(0);
            }
      }
  }
}

namespace {

// Lanes [0, n) of 16 int32 at p, zero past n.
LSTM_INLINE v16i load_int_lanes(const int32_t* p, int64_t n) {
  v16i v = {};
  std::memcpy(&v, p, sizeof(int32_t) * size_t(n));
  return v;
}

// sum[r][g] += Σ_e u[r][4p + e] · w[p][g][e] for one quad row p: vpdpbusd (kVnni), else the
// four products in int32 vectors (each weight byte sign-extended by shifts): the same sums.
template <bool kVnni, int R>
LSTM_INLINE void quad_k(const int8_t* w, const uint8_t* u, int64_t ldu, int64_t p, v16i (&sum)[R][4]) {
  const int8_t* wp = w + p * kQuadRow;
  v16i w0, w1, w2, w3;  // named registers: asm operands that are array elements live in memory
  std::memcpy(&w0, wp, 64), std::memcpy(&w1, wp + 64, 64);
  std::memcpy(&w2, wp + 128, 64), std::memcpy(&w3, wp + 192, 64);
#if LSTM_X86 && !defined(__clang__)  // clang (the fuzzing build) checks asm on every target
  if constexpr (kVnni) {
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      uint32_t quad;
      std::memcpy(&quad, u + r * ldu + 4 * p, sizeof quad);
      const v16i ur = v16i{} + int32_t(quad);
      v16i s0 = sum[r][0], s1 = sum[r][1], s2 = sum[r][2], s3 = sum[r][3];
      asm("vpdpbusd %4, %8, %0\n\tvpdpbusd %5, %8, %1\n\tvpdpbusd %6, %8, %2\n\tvpdpbusd %7, %8, %3"
          : "+v"(s0), "+v"(s1), "+v"(s2), "+v"(s3)
          : "v"(w0), "v"(w1), "v"(w2), "v"(w3), "v"(ur));
      sum[r][0] = s0, sum[r][1] = s1, sum[r][2] = s2, sum[r][3] = s3;
    }
    return;
  }
#endif
  const v16i wq[4] = {w0, w1, w2, w3};
  for (int e = 0; e < 4; ++e) {
    v16i we[4];
    for (int g = 0; g < 4; ++g) we[g] = (wq[g] << (24 - 8 * e)) >> 24;  // byte e, signed
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const int32_t ue = u[r * ldu + 4 * p + e];
      for (int g = 0; g < 4; ++g) sum[r][g] += we[g] * ue;
    }
  }
}

// acc[r][g] += (Σ_p ... - comp) · scale · u_scale[r]: the P quad rows of w against rows of u.
// Up to 3 rows keep two integer sums (even and odd p: more products in flight; the integer
// total is the same).
template <bool kAvx512, bool kVnni, int R>
LSTM_INLINE void quad_fold(const int8_t* w, int64_t P, const uint8_t* u, int64_t ldu, const float* u_scale,
                           const float* scales, const int32_t* comp, int64_t H, int64_t j, int64_t n,
                           v16f (&acc)[R][4]) {
  v16i sum[R][4] = {};
  if constexpr (R <= 3) {
    v16i odd[R][4] = {};
    int64_t p = 0;
    for (; p + 1 < P; p += 2) {
      quad_k<kVnni, R>(w, u, ldu, p, sum);
      quad_k<kVnni, R>(w, u, ldu, p + 1, odd);
    }
    if (p < P) quad_k<kVnni, R>(w, u, ldu, p, sum);
    for (int r = 0; r < R; ++r)
      for (int g = 0; g < 4; ++g) sum[r][g] += odd[r][g];
  } else {
    for (int64_t p = 0; p < P; ++p) quad_k<kVnni, R>(w, u, ldu, p, sum);
  }
  for (int g = 0; g < 4; ++g) {
    const v16f sc = load_lanes<kAvx512>(scales + g * H + j, n);
    const v16i cp = load_int_lanes(comp + g * H + j, n);
    for (int r = 0; r < R; ++r)
      acc[r][g] += __builtin_convertvector(sum[r][g] - cp, v16f) * (sc * u_scale[r]);
  }
}

template <bool kAvx512, bool kVnni, int R>
LSTM_INLINE void forward_tile_int8(const LstmStepForwardInt8& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, G = 4 * H, j = jb * kForwardBlock, n = std::min(kForwardBlock, H - j);
  const int64_t Px = (s.Kx + 3) / 4, Ph = (H + 3) / 4;
  const int8_t* w = s.packed + jb * (Px + Ph) * kQuadRow;
  v16f acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < 4; ++g)
      acc[r][g] = load_lanes<kAvx512>(s.base + (b0 + r) * s.ld_base + g * H + j, n);
  if (s.Kx > 0 && s.x)
    quad_fold<kAvx512, kVnni, R>(w, Px, s.x + b0 * s.ldx, s.ldx, s.x_scale + b0, s.scales, s.comp, H, j, n, acc);
  quad_fold<kAvx512, kVnni, R>(w + Px * kQuadRow, Ph, s.h_prev + b0 * s.ldh, s.ldh, s.h_scale + b0,
                               s.scales + G, s.comp + G, H, j, n, acc);
  cell_tile<kAvx512, R>(acc, b0, H, j, n, s.c_prev, s.c, s.h, s.gates);
}

struct ProjectInt8 {
  const int8_t* packed;
  const float* scales;
  const int32_t* comp;
  int64_t Kx, H;
  const uint8_t* x;
  int64_t ldx;
  const float* x_scale;
  const float* bias;
  float* out;
};

template <bool kAvx512, bool kVnni, int R>
LSTM_INLINE void project_tile_int8(const ProjectInt8& s, int64_t jb, int64_t b0) {
  const int64_t H = s.H, G = 4 * H, j = jb * kForwardBlock, n = std::min(kForwardBlock, H - j);
  const int64_t Px = (s.Kx + 3) / 4, Ph = (H + 3) / 4;
  v16f acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < 4; ++g) acc[r][g] = load_lanes<kAvx512>(s.bias + g * H + j, n);
  quad_fold<kAvx512, kVnni, R>(s.packed + jb * (Px + Ph) * kQuadRow, Px, s.x + b0 * s.ldx, s.ldx,
                               s.x_scale + b0, s.scales, s.comp, H, j, n, acc);
  for (int r = 0; r < R; ++r)
    for (int g = 0; g < 4; ++g) store_lanes<kAvx512>(s.out + (b0 + r) * G + g * H + j, acc[r][g], n);
}

// u -> bytes round(u / a) + 128, a = max|u| / 127: 16 lanes a time (the last vector's lanes
// past n read as zero), the same operations on every build.
template <bool kAvx512>
LSTM_INLINE float quantize_u8(const float* u, int64_t n, uint8_t* out) {
  v16f top = {};
  for (int64_t k = 0; k < n; k += kLanes) {
    const v16f v = load_lanes<kAvx512>(u + k, std::min<int64_t>(kLanes, n - k));
    top = vmax(top, vmax(v, -v));
  }
  float m = 0.0f;
  for (int l = 0; l < kLanes; ++l) m = std::max(m, top[l]);
  const float inv = m > 0.0f ? 127.0f / m : 1.0f;
  const v16f magic = vsplat(12582912.0f);  // round_even, 16 lanes
  for (int64_t k = 0; k < n; k += kLanes) {
    const int64_t c = std::min<int64_t>(kLanes, n - k);
    const v16f t = load_lanes<kAvx512>(u + k, c) * inv;
    const v16i q = __builtin_convertvector((t + magic) - magic, v16i) + 128;
    uint8_t bytes[kLanes];
    for (int l = 0; l < kLanes; ++l) bytes[l] = uint8_t(q[l]);
    std::memcpy(out + k, bytes, size_t(c));
  }
  for (int64_t k = n; k % 4; ++k) out[k] = 128;  // padding: with zero weights, no product
  return m > 0.0f ? m / 127.0f : 1.0f;
}

template <bool kAvx512, bool kVnni>
LSTM_INLINE void step_forward_int8(const LstmStepForwardInt8& s, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(s.B, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      forward_tile_int8<kAvx512, kVnni, R>(s, jb, b);
    });
}

template <bool kAvx512, bool kVnni>
LSTM_INLINE void project_int8(const ProjectInt8& s, int64_t rows, int64_t block_begin, int64_t block_end) {
  for (int64_t jb = block_begin; jb < block_end; ++jb)
    for_each_row_tile(rows, [&]<int R>(int64_t b) LSTM_INLINE_LAMBDA {
      project_tile_int8<kAvx512, kVnni, R>(s, jb, b);
    });
}

}  // namespace

#if LSTM_X86
LSTM_AVX512 static float quantize_avx512(const float* u, int64_t n, uint8_t* out) {
  return quantize_u8<true>(u, n, out);
}
LSTM_AVX2 static float quantize_avx2(const float* u, int64_t n, uint8_t* out) {
  return quantize_u8<false>(u, n, out);
}
LSTM_AVX512_VNNI static void forward_vnni(const LstmStepForwardInt8& s, int64_t b, int64_t e) {
  step_forward_int8<true, true>(s, b, e);
}
LSTM_AVX512_VNNI static void project_vnni(const ProjectInt8& s, int64_t rows, int64_t b, int64_t e) {
  project_int8<true, true>(s, rows, b, e);
}
LSTM_AVX512 static void forward_avx512(const LstmStepForwardInt8& s, int64_t b, int64_t e) {
  step_forward_int8<true, false>(s, b, e);
}
LSTM_AVX512 static void project_avx512(const ProjectInt8& s, int64_t rows, int64_t b, int64_t e) {
  project_int8<true, false>(s, rows, b, e);
}
LSTM_AVX2 static void forward_avx2(const LstmStepForwardInt8& s, int64_t b, int64_t e) {
  step_forward_int8<false, false>(s, b, e);
}
LSTM_AVX2 static void project_avx2(const ProjectInt8& s, int64_t rows, int64_t b, int64_t e) {
  project_int8<false, false>(s, rows, b, e);
}
#endif
static float quantize_generic(const float* u, int64_t n, uint8_t* out) { return quantize_u8<false>(u, n, out); }
static void forward_generic(const LstmStepForwardInt8& s, int64_t b, int64_t e) {
  step_forward_int8<false, false>(s, b, e);
}
static void project_generic(const ProjectInt8& s, int64_t rows, int64_t b, int64_t e) {
  project_int8<false, false>(s, rows, b, e);
}

namespace {
struct Int8Kernels {
  const char* isa;
  void (*forward)(const LstmStepForwardInt8&, int64_t, int64_t);
  void (*project)(const ProjectInt8&, int64_t, int64_t, int64_t);
  float (*quantize)(const float*, int64_t, uint8_t*);
};
const Int8Kernels kGeneric{"generic", forward_generic, project_generic, quantize_generic};
#if LSTM_X86
const Int8Kernels kAvx2{"avx2", forward_avx2, project_avx2, quantize_avx2};
const Int8Kernels kAvx512{"avx512", forward_avx512, project_avx512, quantize_avx512};
const Int8Kernels kVnni{"avx512_vnni", forward_vnni, project_vnni, quantize_avx512};
#endif
const Int8Kernels* best_int8_kernels() {
#if LSTM_X86
  if (cpu_has_avx512_vnni()) return &kVnni;
  if (cpu_has_avx512()) return &kAvx512;
  if (cpu_has_avx2()) return &kAvx2;
#endif
  return &kGeneric;
}
const Int8Kernels* active = best_int8_kernels();
}  // namespace

float lstm_quantize_u8(const float* u, int64_t n, uint8_t* out) { return active->quantize(u, n, out); }

void lstm_step_forward_int8(const LstmStepForwardInt8& s, int64_t block_begin, int64_t block_end) {
  active->forward(s, block_begin, block_end);
}

void lstm_project_int8(const int8_t* packed, const float* scales, const int32_t* comp, int64_t Kx,
                       int64_t H, int64_t rows, const uint8_t* x, int64_t ldx, const float* x_scale,
                       const float* bias, float* out, int64_t block_begin, int64_t block_end) {
  active->project(ProjectInt8{packed, scales, comp, Kx, H, x, ldx, x_scale, bias, out}, rows,
                  block_begin, block_end);
}

const char* lstm_int8_kernel_isa() { return active->isa; }

bool lstm_set_int8_kernel_isa(const std::string& isa) {
  const Int8Kernels* pick = nullptr;
  if (isa == "best") pick = best_int8_kernels();
  if (isa == "generic") pick = &kGeneric;
#if LSTM_X86
  if (isa == "avx2" && cpu_has_avx2()) pick = &kAvx2;
  if (isa == "avx512" && cpu_has_avx512()) pick = &kAvx512;
  if (isa == "avx512_vnni" && cpu_has_avx512_vnni()) pick = &kVnni;
#endif
  if (pick) active = pick;
  return pick != nullptr;
}

}  // namespace lstm
