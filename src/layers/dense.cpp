// Dense layer and activations, forward and backward side by side. Equations: dense.h.
#include "layers/dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm/gemm.h"
#include "layers/activation.h"

namespace lstm {

void activation_forward(float* y, int64_t R, int64_t Out, Activation act) {
  const int64_t n = R * Out;
  switch (act) {  // one loop per activation, each with a constant act, so that it vectorises
    case Activation::linear: break;
    case Activation::relu: for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::relu, y[k]); break;
    case Activation::sigmoid: for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::sigmoid, y[k]); break;
    case Activation::tanh: for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::tanh, y[k]); break;
    case Activation::hard_sigmoid:
      for (int64_t k = 0; k < n; ++k) y[k] = activate(Activation::hard_sigmoid, y[k]);
      break;
    case Activation::softmax:
      for (int64_t r = 0; r < R; ++r) {
        float* row = y + r * Out;
        float mx = *std::max_element(row, row + Out);
        float sum = 0.0f;
        for (int64_t k = 0; k < Out; ++k) sum += (row[k] = std::exp(row[k] - mx));
        for (int64_t k = 0; k < Out; ++k) row[k] /= sum;
      }
      break;
  }
}

void activation_backward(const float* y, const float* dy, float* dz, int64_t R, int64_t Out,
                         Activation act) {
  const int64_t n = R * Out;
  if (act != Activation::softmax) {
    for (int64_t k = 0; k < n; ++k) dz[k] = dy[k] * activation_slope(act, y[k]);
    return;
  }
  for (int64_t r = 0; r < R; ++r) {
    const float* yr = y + r * Out;
    const float* dyr = dy + r * Out;
    float dot = 0.0f;
    for (int64_t k = 0; k < Out; ++k) dot += dyr[k] * yr[k];
    for (int64_t k = 0; k < Out; ++k) dz[r * Out + k] = yr[k] * (dyr[k] - dot);
  }
}

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t R, int64_t In,
                   int64_t Out, Activation act) {
  for (int64_t r = 0; r < R; ++r) std::memcpy(y + r * Out, b, sizeof(float) * Out);
  gemm(false, true, R, Out, In, 1.0f, x, In, w, In, 1.0f, y, Out);
  activation_forward(y, R, Out, act);
}

void dense_backward(const float* x, const float* w, const float* y, const float* dy, float* dz,
                    float* dw, float* db, float* dx, int64_t R, int64_t In, int64_t Out,
                    Activation act) {
  activation_backward(y, dy, dz, R, Out, act);
  gemm(true, false, Out, In, R, 1.0f, dz, Out, x, In, 1.0f, dw, In);
  for (int64_t r = 0; r < R; ++r)
    for (int64_t k = 0; k < Out; ++k) db[k] += dz[r * Out + k];
  if (dx) gemm(false, false, R, In, Out, 1.0f, dz, Out, w, In, 0.0f, dx, In);
}

}  // namespace lstm
