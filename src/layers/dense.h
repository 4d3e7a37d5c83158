// Dense (fully connected) layer kernels, forward and backward side by side.
//
// Dimensions: R = rows (B, or T·B when applied to every step of a sequence), In, Out.
// Forward:   z = x·Wᵀ + b,  y = act(z)           x (R, In), W (Out, In), b (Out), y (R, Out)
// Backward:  dz = dy * act'(z)  (softmax: dz = y * (dy - Σ_k dy_k y_k), per row)
//            dW += dzᵀ·x,  db += Σ_rows dz,  dx = dz·W
// act' is computed from y alone (layers/activation.h).
#pragma once

#include <cstdint>

#include "lstm/layers.h"

namespace lstm {

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t R, int64_t In,
                   int64_t Out, Activation act);

// dz: scratch (R, Out). dx may be null (first layer). Accumulates into dw, db.
void dense_backward(const float* x, const float* w, const float* y, const float* dy, float* dz,
                    float* dw, float* db, float* dx, int64_t R, int64_t In, int64_t Out,
                    Activation act);

// Activation applied in place to each row of (R, Out), and its backward (dz from y and dy).
void activation_forward(float* y, int64_t R, int64_t Out, Activation act);
void activation_backward(const float* y, const float* dy, float* dz, int64_t R, int64_t Out,
                         Activation act);

}  // namespace lstm
