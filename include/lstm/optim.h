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
// Clipping happens before the update: global_clipnorm scales all gradients together so their
// global L2 norm is at most the value (PyTorch clip_grad_norm_); clipvalue clamps each gradient
// to [-value, value]. 0 disables either.
#pragma once

#include <string>

namespace lstm {

enum class OptimizerKind { sgd, adam, adamw, rmsprop };

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
};

struct SGDOptions {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
};
struct AdamOptions {
  float learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
};
struct AdamWOptions {
  float learning_rate = 0.001f;
  float weight_decay = 0.004f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
};
struct RMSpropOptions {
  float learning_rate = 0.001f;
  float rho = 0.9f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
  float global_clipnorm = 0.0f;
  float clipvalue = 0.0f;
};

Optimizer SGD(SGDOptions options = {});
Optimizer Adam(AdamOptions options = {});
Optimizer AdamW(AdamWOptions options = {});
Optimizer RMSprop(RMSpropOptions options = {});

// "sgd", "adam", "adamw", "rmsprop" with that optimizer's defaults; throws lstm::Error otherwise.
Optimizer optimizer_from_name(const std::string& name);
const char* optimizer_name(OptimizerKind kind);

}  // namespace lstm
