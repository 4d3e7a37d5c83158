// Optimizer steps: flat loops over (params, grads) of the model's one parameter buffer.
// Update rules and defaults: include/lstm/optim.h.
#pragma once

#include <cstdint>
#include <vector>

#include "lstm/optim.h"

namespace lstm {

struct OptimizerState {
  int64_t step = 0;      // updates done so far
  std::vector<float> m;  // sgd/rmsprop momentum buffer, adam first moment
  std::vector<float> v;  // adam second moment, rmsprop mean square
};

// What a step saw, for the divergence guard (train/divergence.h): whether every gradient
// (before clipping) and every updated parameter is finite.
struct StepCheck {
  bool grads_finite = true, params_finite = true;
};

// Clips grads (global norm, then value) and applies one update to params. n = parameter count.
// grads may be left clipped or not: the caller zeroes them before the next backward. The finite
// checks ride along: with global_clipnorm the norm's sum of squares (in double, which no float
// overflows) is finite exactly when every gradient is, and Adam's loop checks the weights it
// writes, so a step reads the buffers as few times as it can.
StepCheck optimizer_step(const Optimizer& opt, OptimizerState& state, float* params, float* grads,
                         int64_t n);

// Whether every value of p[0..n) is finite (no NaN, no Inf).
bool all_finite(const float* p, int64_t n);

// Scales grads so their global L2 norm is at most max_norm (PyTorch's clip_grad_norm_:
// factor max_norm / (norm + 1e-6) when below 1). Returns the norm before clipping.
double clip_by_global_norm(float* grads, int64_t n, double max_norm);

// Throws lstm::Error when a setting is out of range (lr <= 0, β outside [0, 1), ...).
void optimizer_check(const Optimizer& opt);

// `opt` with its learning rate set to `learning_rate`, checked as above (set_learning_rate of
// Sequential and Model, and so ReduceLROnPlateau).
Optimizer with_learning_rate(Optimizer opt, float learning_rate);

}  // namespace lstm
