// 16-lane float vectors and the activation functions of the cell, for the recurrent kernels.
//
// Written with GCC/Clang vector extensions, so the same source compiles to one AVX-512
// register, two AVX2 registers or four SSE registers per vector, whichever target the
// including function is built for (lstm_step.cpp builds each kernel for all three and picks
// at load time). Accuracy, measured against double precision by the unit tests:
//   vexp     relative error < 3e-7 (tested on [-40, 30]; clamped to [-87, 88]; NaN stays NaN)
//   vsigmoid absolute error < 2e-7
//   vtanh    absolute error < 3e-7 (odd polynomial near 0, so small inputs keep their digits)
#pragma once

#include <cstdint>
#include <cstring>

// Vectors wider than the baseline target pass differently in registers (-Wpsabi); these never
// cross a call: always inlined, so each stays inside the target-specific kernel that calls it.
#define LSTM_VEC static inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi"

// The instruction sets a kernel is compiled for besides the baseline; the caller picks one at
// run time (lstm_kernel_isa(), kernels/lstm_step.h).
#if defined(__x86_64__) && defined(__GNUC__)
#define LSTM_X86 1
#define LSTM_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define LSTM_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace lstm {

constexpr int kLanes = 16;
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

LSTM_VEC v16f vload(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
LSTM_VEC void vstore(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }
// The first n (< 16) lanes from p, zeros after them; the store writes n lanes only.
LSTM_VEC v16f vload_n(const float* p, int64_t n) {
  float tmp[kLanes] = {};
  std::memcpy(tmp, p, sizeof(float) * size_t(n));
  return vload(tmp);
}
LSTM_VEC void vstore_n(float* p, v16f v, int64_t n) {
  float tmp[kLanes];
  vstore(tmp, v);
  std::memcpy(p, tmp, sizeof(float) * size_t(n));
}
LSTM_VEC v16f vsplat(float s) {  // written as a shuffle of lane 0: GCC then emits one broadcast
#if defined(__clang__)  // the fuzzing build (scripts/fuzz.sh); clang has no __builtin_shuffle
  return v16f{} + s;
#else
  return __builtin_shuffle(v16f{s}, v16i{});
#endif
}
// NaN in a passes through (a comparison with NaN is false, so a is kept): activations of NaN
// are NaN, as in PyTorch, at the cost of the same single min/max instruction.
LSTM_VEC v16f vmin(v16f a, v16f b) { return b < a ? b : a; }
LSTM_VEC v16f vmax(v16f a, v16f b) { return b > a ? b : a; }

// e^x: x = n·ln2 + r with |r| <= ln2/2, e^r by its degree-6 Taylor-like minimax polynomial
// (Cephes' expf coefficients), 2^n built in the exponent bits.
LSTM_VEC v16f vexp(v16f x) {
  x = vmin(vmax(x, vsplat(-87.0f)), vsplat(88.0f));  // keeps 2^n a normal float; NaN passes
  const float magic = 12582912.0f;                    // 1.5·2^23: adding it rounds to integer
  v16f n = (x * 1.44269504088896341f + magic) - magic;
  v16f r = x - n * 0.693359375f;  // ln2 split in two so n·ln2_hi is exact
  r = r - n * -2.12194440e-4f;
  v16f p = vsplat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  v16i e = (__builtin_convertvector(n, v16i) + 127) << 23;
  return p * (v16f)e;
}

// σ(x) = 1 / (1 + e^-x)
LSTM_VEC v16f vsigmoid(v16f x) { return 1.0f / (1.0f + vexp(-x)); }

// tanh x: |x| < 0.625 by the odd polynomial x + x³·P(x²) (Cephes' tanhf coefficients), else
// sign(x)·(1 - 2 / (e^{2|x|} + 1)).
LSTM_VEC v16f vtanh(v16f x) {
  v16f ax = vmax(x, -x);
  v16f z = x * x;
  v16f p = vsplat(-5.70498872745e-3f);
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  v16f small = p * z * x + x;
  v16f big = 1.0f - 2.0f / (vexp(2.0f * ax) + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : big;
}

}  // namespace lstm
