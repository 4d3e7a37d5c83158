// The GRU's and SimpleRNN's step kernels (kernels/gru_step.h, rnn_step.h) against the equations
// written plainly in double (layers/gru_cell.h, rnn_cell.h), for every instruction set this CPU
// has, awkward sizes (H not a multiple of 16 or 64, B not a multiple of the row tile, the input
// fused or not), block ranges split as two threads would; whole sequences independent of the
// thread count; and models that see their new weights after every kind of write (the layers
// keep W_hh packed).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/gru_step.h"
#include "kernels/lstm_step.h"
#include "kernels/rnn_step.h"
#include "layers/gru_cell.h"
#include "layers/rnn_cell.h"
#include "lstm/lstm.h"
#include "test_util.h"

namespace lstm {
namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t k = 0; k < a.size(); ++k) m = std::max(m, std::fabs(double(a[k]) - b[k]));
  return m;
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct Case {
  int64_t B, Kx, H;
  std::string name() const {
    return "B=" + std::to_string(B) + " Kx=" + std::to_string(Kx) + " H=" + std::to_string(H);
  }
};

TEST(GruStep, ForwardMatchesTheEquations) {
  for (Case c : {Case{1, 0, 1}, {1, 3, 8}, {2, 0, 17}, {5, 7, 33}, {7, 0, 50}, {13, 0, 20},
                 {4, 2, 64}, {3, 5, 100}, {6, 0, 16}}) {
    SCOPED_TRACE(c.name());
    const int64_t B = c.B, Kx = c.Kx, H = c.H, G = 3 * H, ldx = std::max<int64_t>(Kx, 1);
    Rng rng(uint64_t(B * 100 + H + Kx));
    auto w_ih = test::random_vector(size_t(G * ldx), rng, -0.5f, 0.5f);
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.5f, 0.5f);
    auto x = test::random_vector(size_t(B * ldx), rng), h_prev = test::random_vector(size_t(B * H), rng);
    auto b_hh = test::random_vector(size_t(G), rng);
    // base: the projection's rows (Kx = 0), or b_ih for every row (Kx > 0)
    auto base = test::random_vector(size_t(Kx > 0 ? G : B * G), rng);
    std::vector<double> want_h(size_t(B * H)), want_g(size_t(B * G)), want_ahn(size_t(B * H));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        double ax[3], ah[3];
        for (int64_t q = 0; q < 3; ++q) {
          const int64_t n = q * H + j;
          ax[q] = base[size_t((Kx > 0 ? 0 : b * G) + n)];
          for (int64_t k = 0; k < Kx; ++k) ax[q] += double(x[size_t(b * Kx + k)]) * w_ih[size_t(n * Kx + k)];
          ah[q] = b_hh[size_t(n)];
          for (int64_t k = 0; k < H; ++k) ah[q] += double(h_prev[size_t(b * H + k)]) * w_hh[size_t(n * H + k)];
        }
        const double r = sigmoid(ax[0] + ah[0]), z = sigmoid(ax[1] + ah[1]);
        const double n = std::tanh(ax[2] + r * ah[2]);
        want_h[size_t(b * H + j)] = (1 - z) * n + z * h_prev[size_t(b * H + j)];
        double* g = want_g.data() + b * G;
        g[j] = r, g[H + j] = z, g[2 * H + j] = n;
        want_ahn[size_t(b * H + j)] = ah[2];
      }
    std::vector<float> packed(size_t(gru_packed_forward_size(Kx, H)));
    gru_pack_forward(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed.data());
    test::for_each_isa([&] {
      std::vector<float> gates(size_t(B * G), 7.0f), ahn(size_t(B * H), 7.0f), h(size_t(B * H), 7.0f);
      GruStepForward s{packed.data(), Kx, H, B, x.data(), ldx, h_prev.data(), base.data(),
                       Kx > 0 ? 0 : G, b_hh.data(), gates.data(), ahn.data(), h.data()};
      const int64_t blocks = gru_forward_blocks(H), mid = blocks / 2;
      gru_step_forward(s, 0, mid);  // in two ranges, as two threads would
      gru_step_forward(s, mid, blocks);
      const double tol = 1e-6 + 2e-7 * double(Kx + H);  // float sums of Kx + H products
      EXPECT_LT(max_abs_diff(h, want_h), tol);
      EXPECT_LT(max_abs_diff(gates, want_g), tol);
      EXPECT_LT(max_abs_diff(ahn, want_ahn), tol);
      if (Kx == 0) {  // the gates written over the projection (as gru_forward does): the same bits
        std::vector<float> in_place = base, h2(size_t(B * H));
        GruStepForward s2 = s;
        s2.base = s2.gates = in_place.data(), s2.h = h2.data();
        gru_step_forward(s2, 0, mid);
        gru_step_forward(s2, mid, blocks);
        EXPECT_EQ(in_place, gates);
        EXPECT_EQ(h2, h);
      }
      // Each row alone (a tile of one row) gives the same bits as inside the batch's tiles, and
      // gates = null changes nothing else.
      for (int64_t b = 0; b < B; ++b) {
        std::vector<float> h1(static_cast<size_t>(H));
        GruStepForward s1{packed.data(), Kx, H, 1, x.data() + b * ldx, ldx, h_prev.data() + b * H,
                          base.data() + (Kx > 0 ? 0 : b * G), s.ld_base, b_hh.data(), nullptr,
                          nullptr, h1.data()};
        gru_step_forward(s1, 0, blocks);
        EXPECT_EQ(h1, std::vector<float>(h.begin() + b * H, h.begin() + (b + 1) * H)) << "row " << b;
      }
    });
  }
}

TEST(GruStep, BackwardMatchesTheEquations) {
  for (Case c : {Case{1, 0, 1}, {2, 0, 17}, {5, 0, 33}, {7, 0, 50}, {4, 0, 64}, {3, 0, 130},
                 {13, 0, 65}}) {
    SCOPED_TRACE(c.name());
    const int64_t B = c.B, H = c.H, G = 3 * H;
    Rng rng(uint64_t(B * 1000 + H));
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.5f, 0.5f);
    auto dax_next = test::random_vector(size_t(B * G), rng), dahn_next = test::random_vector(size_t(B * H), rng);
    auto dh_ext = test::random_vector(size_t(B * H), rng);
    auto carry_in = test::random_vector(size_t(B * H), rng), h_prev = test::random_vector(size_t(B * H), rng);
    auto gates = test::random_vector(size_t(B * G), rng, 0.01f, 0.99f);  // r, z, n
    auto ah_n = test::random_vector(size_t(B * H), rng);
    std::vector<double> want_dh(size_t(B * H)), want_dax(size_t(B * G)), want_dahn(size_t(B * H)),
        want_carry(size_t(B * H));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < H; ++j) {
        double dh = double(dh_ext[size_t(b * H + j)]) + carry_in[size_t(b * H + j)];
        for (int64_t n = 0; n < G; ++n) {  // dah_{t+1} = [dax_r, dax_z, dahn]
          const double dah = n < 2 * H ? dax_next[size_t(b * G + n)] : dahn_next[size_t(b * H + n - 2 * H)];
          dh += dah * w_hh[size_t(n * H + j)];
        }
        const float* g = gates.data() + b * G;
        const double r = g[j], z = g[H + j], nn = g[2 * H + j], ahn = ah_n[size_t(b * H + j)];
        const double dan = dh * (1 - z) * (1 - nn * nn), dar = dan * ahn * r * (1 - r);
        const double daz = dh * (h_prev[size_t(b * H + j)] - nn) * z * (1 - z);
        want_dh[size_t(b * H + j)] = dh, want_carry[size_t(b * H + j)] = dh * z;
        double* dax = want_dax.data() + b * G;
        dax[j] = dar, dax[H + j] = daz, dax[2 * H + j] = dan;
        want_dahn[size_t(b * H + j)] = dan * r;
      }
    std::vector<float> packed(size_t(gru_packed_backward_size(H)));
    gru_pack_backward(w_hh.data(), H, packed.data());
    test::for_each_isa([&] {
      std::vector<float> carry = carry_in, dax(size_t(B * G), 7.0f), dahn(size_t(B * H), 7.0f),
                         dh(size_t(B * H), 7.0f);
      GruStepBackward s{packed.data(), H, B, dax_next.data(), dahn_next.data(), dh_ext.data(),
                        carry.data(), gates.data(), ah_n.data(), h_prev.data(), dax.data(), dahn.data(),
                        dh.data()};
      const int64_t blocks = gru_backward_blocks(H), mid = blocks / 2;
      gru_step_backward(s, 0, mid);
      gru_step_backward(s, mid, blocks);
      const double tol = 1e-6 + 2e-7 * double(G);  // float sums of 3H products
      EXPECT_LT(max_abs_diff(dh, want_dh), tol);
      EXPECT_LT(max_abs_diff(dax, want_dax), tol);
      EXPECT_LT(max_abs_diff(dahn, want_dahn), tol);
      EXPECT_LT(max_abs_diff(carry, want_carry), tol);
      // gates = null: dh only, the carry read and left as it was
      std::vector<float> carry2 = carry_in, dh2(size_t(B * H), 7.0f);
      GruStepBackward s2{packed.data(), H, B, dax_next.data(), dahn_next.data(), dh_ext.data(),
                         carry2.data(), nullptr, nullptr, nullptr, nullptr, nullptr, dh2.data()};
      gru_step_backward(s2, 0, blocks);
      EXPECT_EQ(dh2, dh);
      EXPECT_EQ(carry2, carry_in);
    });
  }
}

// gru_forward and gru_backward over a sequence at 1 and 2 threads, bit for bit: B = 16 splits
// the rows, B = 2 the hidden units (a barrier per step); with rows of lengths that end early.
TEST(GruStep, SequenceResultsDoNotDependOnThreadCount) {
  for (int64_t B : {16, 2}) {
    for (bool lengths : {false, true}) {
      const int64_t T = 5, I = 8, H = B == 2 ? 200 : 96, G = 3 * H, BH = B * H;
      SCOPED_TRACE("B=" + std::to_string(B) + (lengths ? " with lengths" : ""));
      Rng rng(9);
      auto w_ih = test::random_vector(size_t(G * I), rng, -0.2f, 0.2f);
      auto w_hh = test::random_vector(size_t(G * H), rng, -0.2f, 0.2f);
      auto b_ih = test::random_vector(size_t(G), rng, -0.2f, 0.2f), b_hh = test::random_vector(size_t(G), rng, -0.2f, 0.2f);
      auto x = test::random_vector(size_t(T * B * I), rng), dh_seq = test::random_vector(size_t(T * BH), rng);
      std::vector<int64_t> lens;
      for (int64_t b = 0; b < B; ++b) lens.push_back(T - b * T / (B + 1));  // longest first
      const std::vector<int64_t> active = rows_running(lens, T);
      const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
      auto run = [&](int threads) {
        set_num_threads(threads);
        std::vector<float> gates(size_t(T * B * G)), ah_n(static_cast<size_t>(T * BH)), h(size_t((T + 1) * BH));
        std::vector<float> dax(gates.size()), dahn(static_cast<size_t>(T * BH)), carry(static_cast<size_t>(BH)), dx(x.size()), dh0(static_cast<size_t>(BH));
        std::vector<float> gw_ih(w_ih.size()), gw_hh(w_hh.size()), gb_ih(static_cast<size_t>(G)), gb_hh(static_cast<size_t>(G));
        const GruWeights w{w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()};
        GruActivations act{gates.data(), ah_n.data(), h.data()};
        gru_forward(d, w, x.data(), act);
        GruBackwardWork work{dax.data(), dahn.data(), carry.data()};
        GruGrads g{gw_ih.data(), gw_hh.data(), gb_ih.data(), gb_hh.data()};
        gru_backward(d, w, x.data(), act, dh_seq.data(), nullptr, work, g, dx.data(), dh0.data());
        set_num_threads(0);
        std::vector<float> all = h;
        for (const auto* v : {&gw_ih, &gw_hh, &gb_ih, &gb_hh, &dx, &dh0}) all.insert(all.end(), v->begin(), v->end());
        return all;
      };
      const std::vector<float> one = run(1), two = run(2);
      EXPECT_EQ(one, two);  // bit for bit
      double norm = 0;
      for (float v : one) norm += std::fabs(v);
      EXPECT_GT(norm, 1.0);  // something was computed
    }
  }
}

// Streaming, set_weights, fit: every write reaches the packed weights.
void check_model_sees_every_write(const LayerConfig& layer) {
  auto make = [&] {
    Sequential m({.seed = 4});
    m.add(layer);
    m.add(Dense(2));
    return m;
  };
  Sequential model = make();
  model.compile(Adam(), loss::mse);
  Tensor X = test::random_tensor({4, 5, 3}, 1), y = test::random_tensor({4, 2}, 2);
  float y_step[2];
  for (int t = 0; t < 5; ++t) model.step(X.data() + t * 3, y_step);  // step() packs W_ih too
  const Tensor before = model.predict(X);
  EXPECT_NEAR(y_step[0], before[0], 1e-6);
  std::vector<float> w = model.get_weights();
  for (float& v : w) v *= 1.5f;
  model.set_weights(w);
  const Tensor scaled = model.predict(X);
  Sequential fresh = make();
  fresh.set_weights(w);
  const Tensor expect = fresh.predict(X);
  for (int64_t k = 0; k < before.size(); ++k) {
    EXPECT_NE(scaled[k], before[k]);
    EXPECT_EQ(scaled[k], expect[k]);
  }
  model.reset_states();
  for (int t = 0; t < 5; ++t) model.step(X.data() + t * 3, y_step);
  EXPECT_NEAR(y_step[0], scaled[0], 1e-6);
  model.fit(X, y, {.epochs = 1, .batch_size = 2, .verbose = 0});  // optimizer steps
  const Tensor trained = model.predict(X);
  Sequential copy = make();
  copy.set_weights(model.get_weights());
  const Tensor expect2 = copy.predict(X);
  for (int64_t k = 0; k < trained.size(); ++k) EXPECT_EQ(trained[k], expect2[k]);
  model.reset_states();
  for (int t = 0; t < 5; ++t) model.step(X.data() + t * 3, y_step);
  EXPECT_NEAR(y_step[0], trained[0], 1e-6);
}

TEST(StepKernels, ModelSeesEveryWriteOfItsWeights) {
  check_model_sees_every_write(LSTM(6, {.input_shape = {5, 3}}));
}

TEST(GruStep, ModelSeesEveryWriteOfItsWeights) { check_model_sees_every_write(GRU(6, {.input_shape = {5, 3}})); }

// ---- SimpleRNN ----------------------------------------------------------------------------

TEST(RnnStep, ForwardMatchesTheEquations) {
  for (bool relu : {false, true})
    for (Case c : {Case{1, 0, 1}, {1, 3, 8}, {2, 0, 17}, {5, 7, 33}, {7, 0, 64}, {13, 0, 20},
                   {4, 2, 65}, {3, 5, 130}}) {
      SCOPED_TRACE(c.name() + (relu ? " relu" : " tanh"));
      const int64_t B = c.B, Kx = c.Kx, H = c.H, ldx = std::max<int64_t>(Kx, 1);
      Rng rng(uint64_t(B * 100 + H + Kx));
      auto w_ih = test::random_vector(size_t(H * ldx), rng, -0.5f, 0.5f);
      auto w_hh = test::random_vector(size_t(H * H), rng, -0.5f, 0.5f);
      auto x = test::random_vector(size_t(B * ldx), rng), h_prev = test::random_vector(size_t(B * H), rng);
      auto base = test::random_vector(size_t(Kx > 0 ? H : B * H), rng);  // projection, or the bias
      std::vector<double> want(size_t(B * H));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) {
          double a = base[size_t((Kx > 0 ? 0 : b * H) + j)];
          for (int64_t k = 0; k < Kx; ++k) a += double(x[size_t(b * Kx + k)]) * w_ih[size_t(j * Kx + k)];
          for (int64_t k = 0; k < H; ++k) a += double(h_prev[size_t(b * H + k)]) * w_hh[size_t(j * H + k)];
          want[size_t(b * H + j)] = relu ? std::max(a, 0.0) : std::tanh(a);
        }
      std::vector<float> packed(size_t(rnn_packed_forward_size(Kx, H)));
      rnn_pack_forward(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed.data());
      test::for_each_isa([&] {
        std::vector<float> h(size_t(B * H), 7.0f);
        RnnStepForward s{packed.data(), Kx, H, B, x.data(), ldx, h_prev.data(), base.data(),
                         Kx > 0 ? 0 : H, relu, h.data()};
        const int64_t blocks = rnn_blocks(H), mid = blocks / 2;
        rnn_step_forward(s, 0, mid);
        rnn_step_forward(s, mid, blocks);
        EXPECT_LT(max_abs_diff(h, want), 1e-6 + 2e-7 * double(Kx + H));
        if (Kx == 0) {  // in place over the projection, as rnn_forward runs it: the same bits
          std::vector<float> in_place = base;
          RnnStepForward s2 = s;
          s2.base = s2.h = in_place.data();
          rnn_step_forward(s2, 0, blocks);
          EXPECT_EQ(in_place, h);
        }
        for (int64_t b = 0; b < B; ++b) {  // a row alone: the same bits as in the batch's tiles
          std::vector<float> h1(static_cast<size_t>(H));
          RnnStepForward s1{packed.data(), Kx, H, 1, x.data() + b * ldx, ldx, h_prev.data() + b * H,
                            base.data() + (Kx > 0 ? 0 : b * H), s.ld_base, relu, h1.data()};
          rnn_step_forward(s1, 0, blocks);
          EXPECT_EQ(h1, std::vector<float>(h.begin() + b * H, h.begin() + (b + 1) * H)) << "row " << b;
        }
      });
    }
}

TEST(RnnStep, BackwardMatchesTheEquations) {
  for (bool relu : {false, true})
    for (Case c : {Case{1, 0, 1}, {2, 0, 17}, {5, 0, 33}, {7, 0, 64}, {3, 0, 130}, {13, 0, 65}}) {
      SCOPED_TRACE(c.name() + (relu ? " relu" : " tanh"));
      const int64_t B = c.B, H = c.H;
      Rng rng(uint64_t(B * 1000 + H));
      auto w_hh = test::random_vector(size_t(H * H), rng, -0.5f, 0.5f);
      auto da_next = test::random_vector(size_t(B * H), rng), dh_ext = test::random_vector(size_t(B * H), rng);
      auto h = test::random_vector(size_t(B * H), rng, relu ? -1.0f : -0.99f, 0.99f);  // h_t
      std::vector<double> want_dh(size_t(B * H)), want_da(size_t(B * H));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t j = 0; j < H; ++j) {
          double dh = dh_ext[size_t(b * H + j)];
          for (int64_t n = 0; n < H; ++n) dh += double(da_next[size_t(b * H + n)]) * w_hh[size_t(n * H + j)];
          const double y = h[size_t(b * H + j)];
          want_dh[size_t(b * H + j)] = dh;
          want_da[size_t(b * H + j)] = dh * (relu ? (y > 0 ? 1.0 : 0.0) : 1 - y * y);
        }
      std::vector<float> packed(size_t(rnn_packed_backward_size(H)));
      rnn_pack_backward(w_hh.data(), H, packed.data());
      test::for_each_isa([&] {
        std::vector<float> da(size_t(B * H), 7.0f), dh(size_t(B * H), 7.0f);
        RnnStepBackward s{packed.data(), H, B, da_next.data(), dh_ext.data(), h.data(), relu,
                          da.data(), dh.data()};
        const int64_t blocks = rnn_blocks(H), mid = blocks / 2;
        rnn_step_backward(s, 0, mid);
        rnn_step_backward(s, mid, blocks);
        const double tol = 1e-6 + 2e-7 * double(H);
        EXPECT_LT(max_abs_diff(dh, want_dh), tol);
        EXPECT_LT(max_abs_diff(da, want_da), tol);
      });
    }
}

TEST(RnnStep, SequenceResultsDoNotDependOnThreadCount) {
  for (int64_t B : {16, 2}) {
    for (bool lengths : {false, true}) {
      const int64_t T = 5, I = 8, H = B == 2 ? 600 : 96, BH = B * H;  // B = 2: blocks, barriers
      SCOPED_TRACE("B=" + std::to_string(B) + (lengths ? " with lengths" : ""));
      Rng rng(9);
      auto w_ih = test::random_vector(size_t(H * I), rng, -0.2f, 0.2f);
      auto w_hh = test::random_vector(size_t(H * H), rng, -0.1f, 0.1f);
      auto bias = test::random_vector(size_t(H), rng, -0.2f, 0.2f);
      auto x = test::random_vector(size_t(T * B * I), rng), dh_seq = test::random_vector(size_t(T * BH), rng);
      std::vector<int64_t> lens;
      for (int64_t b = 0; b < B; ++b) lens.push_back(T - b * T / (B + 1));  // longest first
      const std::vector<int64_t> active = rows_running(lens, T);
      const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
      auto run = [&](int threads) {
        set_num_threads(threads);
        std::vector<float> h(static_cast<size_t>((T + 1) * BH)), da(static_cast<size_t>(T * BH)),
            dh(static_cast<size_t>(BH)), dx(x.size()), dh0(static_cast<size_t>(BH));
        std::vector<float> gw_ih(w_ih.size()), gw_hh(w_hh.size()), gb(bias.size());
        const RnnWeights w{w_ih.data(), w_hh.data(), bias.data()};
        rnn_forward(d, w, Activation::tanh, x.data(), h.data());
        RnnGrads g{gw_ih.data(), gw_hh.data(), gb.data()};
        rnn_backward(d, w, Activation::tanh, x.data(), h.data(), dh_seq.data(), nullptr, da.data(),
                     dh.data(), g, dx.data(), dh0.data());
        set_num_threads(0);
        std::vector<float> all = h;
        for (const auto* v : {&gw_ih, &gw_hh, &gb, &dx, &dh0}) all.insert(all.end(), v->begin(), v->end());
        return all;
      };
      const std::vector<float> one = run(1), two = run(2);
      EXPECT_EQ(one, two);  // bit for bit
      double norm = 0;
      for (float v : one) norm += std::fabs(v);
      EXPECT_GT(norm, 1.0);
    }
  }
}

TEST(RnnStep, ModelSeesEveryWriteOfItsWeights) {
  check_model_sees_every_write(SimpleRNN(6, {.input_shape = {5, 3}}));
  check_model_sees_every_write(SimpleRNN(6, {.activation = Activation::relu, .input_shape = {5, 3}}));
}

}  // namespace
}  // namespace lstm
