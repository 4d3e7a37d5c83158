// Divergence: fit() stops at the batch where training breaks down instead of going on to save
// a model of NaNs (Keras's TerminateOnNaN, and more). A batch has diverged when
//   - its loss is NaN or Inf, or beyond float range (the model computes in float32: a loss of
//     1e58 means its errors overflow it, as unscaled targets of 1e29 do),
//   - its loss exceeds 1e6 times the first batch's (the untrained model was a million times
//     better: a learning rate far too high),
//   - a gradient is NaN or Inf, or
//   - the update made a weight NaN or Inf.
// The checks ride along with the optimizer's passes over the gradients and the weights
// (optim/optimizer.h: StepCheck).
#pragma once

#include <cstdint>
#include <string>

#include "lstm/loss.h"
#include "lstm/optim.h"

namespace lstm {

class DivergenceGuard {
 public:
  // max_abs_target: the largest |y|, named as the likely cause when it is large.
  DivergenceGuard(const Optimizer& optimizer, const Loss& loss, double max_abs_target)
      : optimizer_(optimizer), loss_(loss), max_abs_target_(max_abs_target) {}
  // What is wrong with this batch (its mean loss, and whether the gradients are finite), or ""
  // when nothing is. The first call sets the reference loss.
  std::string check_batch(double loss, bool grads_finite);
  // The message fit() throws: where, what, the likely cause and what the model now holds.
  std::string message(int epoch, int64_t batch, const std::string& what,
                      const std::string& checkpoint) const;
  // A warning for fit() to print before training, or "" (targets that will train poorly).
  std::string target_warning() const;

 private:
  Optimizer optimizer_;
  Loss loss_;
  double max_abs_target_;
  double reference_ = -1.0;  // the first batch's loss
};

}  // namespace lstm
