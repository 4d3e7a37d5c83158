// The elementwise activations, written once for every layer that uses them (Dense, the LSTM's
// options, SimpleRNN): y = activate(act, z), and dy/dz = activation_slope(act, y), from the
// output alone, so backward needs only what forward kept.
//   linear      y = z                       slope 1
//   relu        y = max(z, 0)               1[y > 0]
//   sigmoid     y = 1 / (1 + e^-z)          y (1 - y)
//   tanh        y = tanh z                  1 - y²
//   hard_sigmoid y = clip(z/6 + 1/2, 0, 1)  1/6 where 0 < y < 1 (Keras 3, PyTorch)
// softmax is not elementwise: Dense handles it (dense.cpp); here it is never passed.
#pragma once

#include <cmath>

#include "lstm/layers.h"

namespace lstm {

inline float activate(Activation act, float z) {
  switch (act) {
    case Activation::relu: return z < 0.0f ? 0.0f : z;  // NaN stays NaN (PyTorch)
    case Activation::sigmoid: return 1.0f / (1.0f + std::exp(-z));
    case Activation::tanh: return std::tanh(z);
    case Activation::hard_sigmoid: {
      const float h = z * (1.0f / 6.0f) + 0.5f;
      return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h;  // NaN stays NaN
    }
    case Activation::linear:
    case Activation::softmax: return z;
  }
  return z;
}

inline float activation_slope(Activation act, float y) {
  switch (act) {
    case Activation::relu: return y > 0.0f ? 1.0f : 0.0f;
    case Activation::sigmoid: return y * (1.0f - y);
    case Activation::tanh: return 1.0f - y * y;
    case Activation::hard_sigmoid: return (y > 0.0f && y < 1.0f) ? 1.0f / 6.0f : 0.0f;
    case Activation::linear:
    case Activation::softmax: return 1.0f;
  }
  return 1.0f;
}

}  // namespace lstm
