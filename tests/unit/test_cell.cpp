// Analytic single-path cases: zero every weight but one path and compare with a closed form,
// plus the Keras initialisers.
#include <gtest/gtest.h>

#include <cmath>

#include "layers/init.h"
#include "layers/lstm_cell.h"
#include "test_util.h"

namespace lstm {

static double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Fixture: an LSTM with T steps, B = 1, all weights zero.
struct ZeroLstm {
  int64_t T, I, H;
  std::vector<float> w_ih, w_hh, bias, gates, h, c;
  ZeroLstm(int64_t T, int64_t I, int64_t H)
      : T(T), I(I), H(H), w_ih(size_t(4 * H * I)), w_hh(size_t(4 * H * H)), bias(size_t(4 * H)),
        gates(size_t(T * 4 * H)), h(size_t((T + 1) * H)), c(size_t((T + 1) * H)) {}
  void run(const std::vector<float>& x) {
    LstmActivations act{gates.data(), h.data(), c.data()};
    lstm_forward({T, 1, I, H}, {w_ih.data(), w_hh.data(), bias.data()}, x.data(), act);
  }
};

TEST(CellAnalytic, BiasOnlyGivesGeometricCellState) {
  // Constant gates: c_t = f c_{t-1} + i g  =>  c_T = i g (1 - f^T) / (1 - f), h_T = o tanh(c_T).
  ZeroLstm m(6, 2, 1);
  const double bi = 0.3, bf = 0.8, bg = -0.5, bo = 1.2;
  m.bias = {float(bi), float(bf), float(bg), float(bo)};
  m.run(std::vector<float>(size_t(6 * 2), 0.7f));  // input does not matter: W_ih = 0
  const double i = sig(bi), f = sig(bf), g = std::tanh(bg), o = sig(bo);
  for (int t = 1; t <= 6; ++t) {
    double c = i * g * (1 - std::pow(f, t)) / (1 - f);
    EXPECT_NEAR(m.c[size_t(t)], c, 1e-6) << "step " << t;
    EXPECT_NEAR(m.h[size_t(t)], o * std::tanh(c), 1e-6) << "step " << t;
  }
  // Saved activations are the gates after their nonlinearities, in the order i, f, g, o.
  EXPECT_NEAR(m.gates[0], i, 1e-6);
  EXPECT_NEAR(m.gates[1], f, 1e-6);
  EXPECT_NEAR(m.gates[2], g, 1e-6);
  EXPECT_NEAR(m.gates[3], o, 1e-6);
}

TEST(CellAnalytic, InputPathThroughCandidateOnly) {
  // Only W_g (from input 1) and the forget bias are non-zero: i = o = 1/2, f = σ(b_f),
  // g_t = tanh(w x_t). Then c_t = f c_{t-1} + g_t / 2.
  ZeroLstm m(5, 2, 1);
  const double w = 0.9, bf = -0.4;
  m.w_ih[size_t(2 * 2 + 1)] = float(w);  // row g (=2), column 1
  m.bias[1] = float(bf);
  std::vector<float> x = {0, 0.5f, 0, -1.0f, 0, 2.0f, 0, 0.25f, 0, -0.3f};
  m.run(x);
  double c = 0;
  for (int t = 1; t <= 5; ++t) {
    c = sig(bf) * c + 0.5 * std::tanh(w * x[size_t(2 * (t - 1) + 1)]);
    EXPECT_NEAR(m.c[size_t(t)], c, 1e-6);
    EXPECT_NEAR(m.h[size_t(t)], 0.5 * std::tanh(c), 1e-6);
  }
}

TEST(CellAnalytic, RecurrentPathThroughOutputGate) {
  // Only W_hh's o-row is non-zero, with a constant cell input: h_t = σ(u h_{t-1}) tanh(c_t).
  ZeroLstm m(4, 1, 1);
  const double u = 1.5;
  m.w_hh[3] = float(u);
  m.bias = {0.0f, 0.0f, 2.0f, 0.0f};  // i = f = 1/2, g = tanh 2
  m.run(std::vector<float>(4, 0.0f));
  double h = 0, c = 0;
  for (int t = 1; t <= 4; ++t) {
    c = 0.5 * c + 0.5 * std::tanh(2.0);
    h = sig(u * h) * std::tanh(c);
    EXPECT_NEAR(m.h[size_t(t)], h, 1e-6);
  }
}

TEST(CellAnalytic, ForgetGateOpenKeepsMemoryAcrossManySteps) {
  // f = σ(30) (1 in float), i = σ(-30) ≈ 0 after a first write with i = σ(10): what was stored
  // at step 1, σ(10) tanh(1), survives 500 steps.
  ZeroLstm m(500, 1, 1);
  m.bias = {-30.0f, 30.0f, 0.0f, 30.0f};
  m.w_ih = {40.0f, 0.0f, 1.0f, 0.0f};  // x = 1 at step 1 opens the input gate, writes tanh(1)
  std::vector<float> x(500, 0.0f);
  x[0] = 1.0f;
  m.run(x);
  EXPECT_NEAR(m.c[1], sig(10.0) * std::tanh(1.0), 1e-6);
  EXPECT_NEAR(m.c[500], sig(10.0) * std::tanh(1.0), 1e-6);
}

TEST(Init, OrthogonalColumnsAndGlorotLimit) {
  Rng rng(3);
  const int64_t H = 7;
  std::vector<float> w(size_t(4 * H * H));
  init_orthogonal(w.data(), 4 * H, H, rng);  // (4H, H): orthonormal columns
  for (int64_t a = 0; a < H; ++a)
    for (int64_t b = 0; b < H; ++b) {
      double dot = 0;
      for (int64_t r = 0; r < 4 * H; ++r) dot += double(w[size_t(r * H + a)]) * w[size_t(r * H + b)];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
  std::vector<float> g(4000);
  init_glorot_uniform(g.data(), 4000, 10, 40, rng);
  const float limit = std::sqrt(6.0f / 50.0f);
  float lo = 0, hi = 0;
  for (float v : g) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -limit);
  EXPECT_LE(hi, limit);
  EXPECT_LT(lo, -0.9f * limit);  // it fills the range
  EXPECT_GT(hi, 0.9f * limit);
}

TEST(Init, KerasDefaultsInTheModel) {
  Sequential model;
  model.add(LSTM(5, {.input_shape = {3, 2}}));
  std::vector<float> w = model.get_weights();
  const int64_t H = 5, I = 2;
  const float* bias = w.data() + 4 * H * (I + H);
  for (int64_t k = 0; k < 4 * H; ++k) EXPECT_EQ(bias[k], (k >= H && k < 2 * H) ? 1.0f : 0.0f);
}

}  // namespace lstm
