// Optimizer updates against hand-computed values, and clipping.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/optimizer.h"
#include "test_util.h"

namespace lstm {

// Runs `steps` updates with the same gradient sequence on a copy of p.
static std::vector<float> run(const Optimizer& o, std::vector<float> p,
                              const std::vector<std::vector<float>>& grads) {
  OptimizerState s;
  for (auto g : grads) optimizer_step(o, s, p.data(), g.data(), int64_t(p.size()));
  return p;
}

TEST(Optim, KerasDefaults) {
  Optimizer a = Adam();
  EXPECT_FLOAT_EQ(a.learning_rate, 0.001f);
  EXPECT_FLOAT_EQ(a.beta_1, 0.9f);
  EXPECT_FLOAT_EQ(a.beta_2, 0.999f);
  EXPECT_FLOAT_EQ(a.epsilon, 1e-7f);
  EXPECT_FLOAT_EQ(SGD().learning_rate, 0.01f);
  EXPECT_FLOAT_EQ(RMSprop().rho, 0.9f);
  EXPECT_FLOAT_EQ(AdamW().weight_decay, 0.004f);
}

TEST(Optim, AdamTwoStepsByHand) {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  const double g1 = 0.5, g2 = -2.0;
  double m = (1 - b1) * g1, v = (1 - b2) * g1 * g1;
  double p = 1.0 - lr * (m / (1 - b1)) / (std::sqrt(v / (1 - b2)) + eps);
  m = b1 * m + (1 - b1) * g2, v = b2 * v + (1 - b2) * g2 * g2;
  p -= lr * (m / (1 - b1 * b1)) / (std::sqrt(v / (1 - b2 * b2)) + eps);
  std::vector<float> out = run(Adam({.learning_rate = 0.1f}), {1.0f}, {{float(g1)}, {float(g2)}});
  EXPECT_NEAR(out[0], p, 1e-6);
  // The first Adam step moves every parameter by about lr, whatever the gradient's size.
  std::vector<float> first = run(Adam({.learning_rate = 0.1f}), {0.0f, 0.0f}, {{1e-3f, -50.0f}});
  EXPECT_NEAR(first[0], -0.1f, 1e-4);
  EXPECT_NEAR(first[1], 0.1f, 1e-6);
}

TEST(Optim, AdamWDecaysBeforeTheStep) {
  std::vector<float> out = run(AdamW({.learning_rate = 0.1f, .weight_decay = 0.5f}), {2.0f}, {{1.0f}});
  EXPECT_NEAR(out[0], 2.0 * (1 - 0.05) - 0.1, 1e-5);
}

TEST(Optim, SgdMomentumAndNesterovByHand) {
  const float lr = 0.1f, mu = 0.9f;
  std::vector<std::vector<float>> g = {{1.0f}, {0.5f}, {-1.0f}};
  double b = 0, p = 0, pn = 0;
  for (auto& gk : g) {
    b = mu * b + gk[0];
    p -= lr * b;
    pn -= lr * (gk[0] + mu * b);
  }
  EXPECT_NEAR(run(SGD({.learning_rate = lr, .momentum = mu}), {0.0f}, g)[0], p, 1e-6);
  EXPECT_NEAR(run(SGD({.learning_rate = lr, .momentum = mu, .nesterov = true}), {0.0f}, g)[0], pn, 1e-6);
  EXPECT_NEAR(run(SGD({.learning_rate = lr}), {0.0f}, g)[0], -lr * 0.5, 1e-6);
}

TEST(Optim, RmspropByHand) {
  const double lr = 0.01, rho = 0.9, eps = 1e-7;
  double v = 0, p = 1;
  for (double g : {0.3, -0.6}) {
    v = rho * v + (1 - rho) * g * g;
    p -= lr * g / (std::sqrt(v) + eps);
  }
  EXPECT_NEAR(run(RMSprop({.learning_rate = 0.01f}), {1.0f}, {{0.3f}, {-0.6f}})[0], p, 1e-6);
}

TEST(Optim, ClippingByGlobalNormAndValue) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_NEAR(clip_by_global_norm(g.data(), 2, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(g[0], 0.6f, 1e-6);
  EXPECT_NEAR(g[1], 0.8f, 1e-6);
  std::vector<float> small = {0.1f, 0.2f};
  clip_by_global_norm(small.data(), 2, 1.0);
  EXPECT_EQ(small[1], 0.2f);  // under the limit: untouched
  // SGD with clipvalue: the step uses the clamped gradient.
  EXPECT_NEAR(run(SGD({.learning_rate = 1.0f, .clipvalue = 0.5f}), {0.0f}, {{3.0f}})[0], -0.5f, 1e-7);
  EXPECT_NEAR(run(SGD({.learning_rate = 1.0f, .global_clipnorm = 1.0f}), {0.0f, 0.0f}, {{3.0f, 4.0f}})[1],
              -0.8f, 1e-6);
}

TEST(Optim, BadSettingsAreClearErrors) {
  EXPECT_ERROR_WITH(optimizer_check(Adam({.learning_rate = -1.0f})), "learning_rate");
  EXPECT_ERROR_WITH(optimizer_check(Adam({.beta_1 = 1.0f})), "beta_1");
  EXPECT_ERROR_WITH(optimizer_check(SGD({.nesterov = true})), "momentum");
  EXPECT_ERROR_WITH(optimizer_from_name("adagrad"), "adam, adamw, sgd, rmsprop");
}

}  // namespace lstm
