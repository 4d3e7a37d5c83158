// lstm/optim.h - optimizers with Keras's names and defaults.
//
//   model.compile(lstm::Adam(), lstm::loss::mse);                         // lr 0.001
//   model.compile(lstm::SGD({.learning_rate = 0.1f, .momentum = 0.9f, .nesterov = true}), ...);
//   model.compile(lstm::Adam({.global_clipnorm = 1.0f}), ...);            // clip by global norm
//
// Update rules, per parameter p with gradient g at step t (counting from 1):
//   SGD      b = μ b + g;  p -= lr (nesterov ? g + μ b : b)          (μ = 0: p -= lr g)
//   Adam     m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
//            p -= lr (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
//   AdamW    p -= lr λ p, then the Adam step (decoupled weight decay)
//   RMSprop  v = ρ v + (1-ρ) g²;  u = g / (sqrt(v) + ε);
//            μ > 0: b = μ b + u, p -= lr b;  else p -= lr u
// These are PyTorch's formulas, so training follows PyTorch step for step. Keras differs only
// in where ε enters (Adam: ε̂ = ε sqrt(1-β2^t); RMSprop: sqrt(v + ε)), which matters only when
// gradients are of the order of ε.
// Learning-rate schedules (Keras's): with schedule set, update t (counting from 0) uses
//   ExponentialDecay  lr · decay_rate^(t / decay_steps)     (staircase: ⌊t / decay_steps⌋)
//   CosineDecay       lr · ((1 - alpha) · ½ (1 + cos(π · min(t, decay_steps) / decay_steps)) + alpha)
// where lr is the optimizer's learning_rate:
//   lstm::Adam({.learning_rate = 1e-3f, .schedule = lstm::CosineDecay(10000)})
// Clipping happens before the update: global_clipnorm scales all gradients together so their
// global L2 norm is at most the value (PyTorch clip_grad_norm_); clipvalue clamps each gradient
// to [-value, value]. 0 disables either.
#pragma once

#include <cstdint>
#include <string>

namespace lstm {

enum class OptimizerKind { sgd, adam, adamw, rmsprop };

struct LearningRateSchedule {
  enum class Kind { constant, exponential, cosine } kind = Kind::constant;
  int64_t decay_steps = 0;
  float decay_rate = 1.0f;  // exponential
  bool staircase = false;   // exponential
  float alpha = 0.0f;       // cosine: the floor, as a fraction of the learning rate
};
LearningRateSchedule ExponentialDecay(int64_t decay_steps, float decay_rate, bool staircase = false);
LearningRateSchedule CosineDecay(int64_t decay_steps, float alpha = 0.0f);

struct Optimizer {
  OptimizerKind kind = OptimizerKind::adam;
  float learning_rate = 0.001f;
  float beta_1 = 0.9f, beta_2 = 0.999f;  // adam, adamw
  float epsilon = 1e-7f;                 // adam, adamw, rmsprop
  float weight_decay = 0.0f;             // adamw
  float momentum = 0.0f;                 // sgd, rmsprop
  bool nesterov = false;                 // sgd
  float rho = 0.9f;                      // rmsprop
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
  LearningRateSchedule schedule;
};

// The learning rate of update `step` (counting from 0), after the schedule.
float scheduled_learning_rate(const Optimizer& optimizer, int64_t step);

struct SGDOptions {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
  LearningRateSchedule schedule;
};
struct AdamOptions {
  float learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
  LearningRateSchedule schedule;
};
struct AdamWOptions {
  float learning_rate = 0.001f;
  float weight_decay = 0.004f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
  LearningRateSchedule schedule;
};
struct RMSpropOptions {
  float learning_rate = 0.001f;
  float rho = 0.9f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
  LearningRateSchedule schedule;
};

Optimizer SGD(SGDOptions options = {});
Optimizer Adam(AdamOptions options = {});
Optimizer AdamW(AdamWOptions options = {});
Optimizer RMSprop(RMSpropOptions options = {});

// "sgd", "adam", "adamw", "rmsprop" with that optimizer's defaults; throws lstm::Error otherwise.
Optimizer optimizer_from_name(const std::string& name);
const char* optimizer_name(OptimizerKind kind);

}  // namespace lstm
