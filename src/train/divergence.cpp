// DivergenceGuard (divergence.h).
#include "train/divergence.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace lstm {

static std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

static bool regression(const Loss& loss) {
  return loss.kind == LossKind::mse || loss.kind == LossKind::mae || loss.kind == LossKind::quantile;
}

std::string DivergenceGuard::check_batch(double loss, bool grads_finite) {
  constexpr double kFloatMax = 3.4028234663852886e38, kRatio = 1e6;
  if (std::isnan(loss)) return "the loss is NaN";
  if (std::isinf(loss)) return "the loss is Inf";
  if (loss > kFloatMax)
    return "the loss is " + number(loss) + ", beyond the float range the model computes in";
  if (reference_ < 0.0) reference_ = loss;
  if (reference_ > 0.0 && loss > kRatio * reference_)
    return "the loss is " + number(loss) + ", over a million times the first batch's " +
           number(reference_);
  if (!grads_finite) return "a gradient is NaN or Inf";
  return "";
}

std::string DivergenceGuard::message(int epoch, int64_t batch, const std::string& what,
                                     const std::string& checkpoint) const {
  std::string cause;
  if (regression(loss_) && max_abs_target_ > 1e6) {
    cause = "the targets reach " + number(max_abs_target_) +
            ": unscaled targets overflow float32; scale them (e.g. to mean 0 and standard "
            "deviation 1; lstm train --csv scales by itself)";
  } else if (optimizer_.learning_rate > 0.1f) {
    cause = "the learning rate " + number(optimizer_.learning_rate) +
            " is far too high: try " + (optimizer_.kind == OptimizerKind::sgd ? "0.01" : "0.001") +
            " or lower, or clip the gradients (--clip-norm 1)";
  } else {
    cause = "a learning rate too high for this model or data, or inputs of very different "
            "scales: lower --lr, clip the gradients (--clip-norm 1), or scale the data";
  }
  return "training diverged at epoch " + std::to_string(epoch + 1) + ", batch " +
         std::to_string(batch) + ": " + what + ". Likely cause: " + cause +
         ". The model keeps the weights it had at the start of epoch " + std::to_string(epoch + 1) +
         (checkpoint.empty() ? std::string()
                             : " (as does the checkpoint '" + checkpoint + "')") +
         "; nothing else was saved";
}

std::string DivergenceGuard::target_warning() const {
  if (!regression(loss_) || !(max_abs_target_ > 1e6)) return "";
  return "warning: the targets reach " + number(max_abs_target_) +
         "; unscaled targets train poorly in float32 and may diverge: scale them (e.g. to mean "
         "0 and standard deviation 1)";
}

}  // namespace lstm
