// Central-difference gradient checks for the cell, the LSTM (the seed's cell and every option),
// GRU and SimpleRNN layers (several steps, non-zero initial state, gradients from every output,
// with and without per-row lengths), Dense with every activation, every loss and whole models
// (stacked; Bidirectional in every merge mode with Embedding, padding and dropout). Each analytic
// gradient is compared with (L(p + ε) - L(p - ε)) / 2ε, the loss summed in double; forward runs in
// float32, hence the tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numeric>

#include "kernels/lstm_step.h"
#include "layers/dense.h"
#include "layers/gru_cell.h"
#include "layers/loss_fn.h"
#include "layers/lstm_cell.h"
#include "layers/lstm_general.h"
#include "layers/rnn_cell.h"
#include "model/model_impl.h"
#include "test_util.h"

namespace lstm {
namespace {

constexpr float kEps = 1e-2f;

// Checks analytic[k] against the central difference of loss() in p[k], for every k.
void check_gradient(const char* what, std::vector<float>& p, const std::vector<float>& analytic,
                    const std::function<double()>& loss) {
  ASSERT_EQ(p.size(), analytic.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const float saved = p[k];
    p[k] = saved + kEps;
    const double up = loss();
    p[k] = saved - kEps;
    const double down = loss();
    p[k] = saved;
    const double numeric = (up - down) / (2.0 * double(kEps));
    EXPECT_NEAR(analytic[k], numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << what << "[" << k << "]";
  }
  // A real gradient check: something must be non-zero, else it proves nothing.
  double norm = 0;
  for (float g : analytic) norm += std::fabs(g);
  EXPECT_GT(norm, 1e-3) << what << ": the gradient is all zero";
}

double dot(const std::vector<float>& a, const float* b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += double(a[k]) * b[k];
  return s;
}

TEST(GradCheck, CellStep) {
  // L = r_h · h_t + r_c · c_t as a function of the pre-activations a_t and c_{t-1}.
  const int64_t B = 2, H = 3;
  Rng rng(11);
  std::vector<float> a = test::random_vector(size_t(B * 4 * H), rng, -2, 2);
  std::vector<float> c_prev = test::random_vector(size_t(B * H), rng);
  std::vector<float> r_h = test::random_vector(size_t(B * H), rng),
                     r_c = test::random_vector(size_t(B * H), rng);
  auto loss = [&] {
    std::vector<float> gates = a, c(size_t(B * H)), h(size_t(B * H));
    lstm_cell_forward(gates.data(), c_prev.data(), c.data(), h.data(), B, H);
    return dot(r_h, h.data()) + dot(r_c, c.data());
  };
  std::vector<float> gates = a, c(size_t(B * H)), h(size_t(B * H));
  lstm_cell_forward(gates.data(), c_prev.data(), c.data(), h.data(), B, H);
  std::vector<float> da(size_t(B * 4 * H)), dc = r_c;
  lstm_cell_backward(da.data(), dc.data(), r_h.data(), gates.data(), c_prev.data(), c.data(), B, H);
  check_gradient("d/da", a, da, loss);
  check_gradient("d/dc_prev", c_prev, dc, loss);
}

TEST(GradCheck, LstmLayerThroughTime) {
  // T = 5 steps, non-zero h_0 and c_0; L = r_seq · h_{1..T} + r_h · h_T + r_c · c_T. All rows
  // full, then rows of lengths 5, 3, 1 (the fast path stepping only the rows still running).
  const int64_t T = 5, B = 3, I = 4, H = 3, BH = B * H;
  for (bool lengths : {false, true}) {
    SCOPED_TRACE(lengths ? "lengths 5, 3, 1" : "full rows");
    Rng rng(5);
    std::vector<float> w_ih = test::random_vector(size_t(4 * H * I), rng, -0.7f, 0.7f);
    std::vector<float> w_hh = test::random_vector(size_t(4 * H * H), rng, -0.7f, 0.7f);
    std::vector<float> bias = test::random_vector(size_t(4 * H), rng, -0.5f, 0.5f);
    std::vector<float> x = test::random_vector(size_t(T * B * I), rng);
    std::vector<float> h0 = test::random_vector(size_t(BH), rng),
                       c0 = test::random_vector(size_t(BH), rng);
    std::vector<float> r_seq = test::random_vector(size_t(T * BH), rng);
    std::vector<float> r_h = test::random_vector(size_t(BH), rng),
                       r_c = test::random_vector(size_t(BH), rng);
    const std::vector<int64_t> active = rows_running({5, 3, 1}, T);
    const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
    if (lengths)
      r_h.assign(r_h.size(), 0.0f), r_c.assign(r_c.size(), 0.0f);  // slot T: row 0's only
    std::vector<float> gates(size_t(T * B * 4 * H)), h(size_t((T + 1) * BH)),
        c(size_t((T + 1) * BH));
    auto run = [&] {
      std::fill(h.begin(), h.end(), 7.0f);  // ended rows must be overwritten with zeros
      std::copy(h0.begin(), h0.end(), h.begin());
      std::copy(c0.begin(), c0.end(), c.begin());
      LstmActivations act{gates.data(), h.data(), c.data()};
      lstm_forward(d, {w_ih.data(), w_hh.data(), bias.data()}, x.data(), act);
    };
    auto loss = [&] {
      run();
      return dot(r_seq, h.data() + BH) + dot(r_h, h.data() + T * BH) + dot(r_c, c.data() + T * BH);
    };
    run();
    for (int64_t t = 0; t < T; ++t)  // outputs at padded steps are zero
      for (int64_t k = d.rows_at(t) * H; k < BH; ++k) ASSERT_EQ(h[size_t((t + 1) * BH + k)], 0.0f);
    std::vector<float> dw_ih(w_ih.size()), dw_hh(w_hh.size()), db(bias.size()), dx(x.size());
    std::vector<float> dh0(h0.size()), dc0(c0.size()), dh(h0.size()), dc(c0.size());
    std::vector<float> dgates(gates.size(), 7.0f);  // workspace as reused: not zero
    LstmBackwardWork work{dgates.data(), dh.data(), dc.data()};
    LstmGrads g{dw_ih.data(), dw_hh.data(), db.data()};
    LstmActivations act{gates.data(), h.data(), c.data()};
    lstm_backward(d, {w_ih.data(), w_hh.data(), bias.data()}, x.data(), act, r_seq.data(),
                  r_h.data(), r_c.data(), work, g, dx.data(), dh0.data(), dc0.data());
    check_gradient("dW_ih", w_ih, dw_ih, loss);
    check_gradient("dW_hh", w_hh, dw_hh, loss);
    check_gradient("db", bias, db, loss);
    check_gradient("dx", x, dx, loss);
    check_gradient("dh0", h0, dh0, loss);
    check_gradient("dc0", c0, dc0, loss);
  }
}

TEST(GradCheck, LstmWithOptionsThroughTime) {
  // The general LSTM (lstm_general.h): L = r_seq · h_{1..T} + r_h · h_T with h_0, c_0 non-zero,
  // for option sets that between them use every branch, each with full rows and lengths 5, 3, 1.
  struct Variant {
    const char* name;
    int64_t P;  // 0: no projection
    bool bias, peephole, dropout;
    Activation act, ract;
  };
  const Variant variants[] = {
      {"projection, peepholes, recurrent dropout", 2, true, true, true, Activation::tanh,
       Activation::sigmoid},
      {"no bias, linear / hard_sigmoid", 0, false, false, false, Activation::linear,
       Activation::hard_sigmoid},
      {"peepholes, sigmoid / tanh, recurrent dropout", 0, true, true, true, Activation::sigmoid,
       Activation::tanh},
  };
  const int64_t T = 5, B = 3, I = 4, H = 3, BH = B * H;
  for (const char* isa : {"generic", "avx2", "avx512"}) {  // each build of the pointwise step
    if (!lstm_set_kernel_isa(isa)) continue;
    for (const Variant& v : variants) {
      for (bool lengths : {false, true}) {
        SCOPED_TRACE(std::string(isa) + ", " + v.name +
                     (lengths ? ", lengths 5, 3, 1" : ", full rows"));
        const int64_t P = v.P ? v.P : H, BP = B * P;
        Rng rng(9);
        auto rand = [&](int64_t n) { return test::random_vector(size_t(n), rng, -0.6f, 0.6f); };
        std::vector<float> w_ih = rand(4 * H * I), w_hh = rand(4 * H * P), bias = rand(4 * H);
        std::vector<float> peep = rand(3 * H), w_hr = rand(P * H);
        std::vector<float> x = rand(T * B * I), h0 = rand(BP), c0 = rand(BH);
        std::vector<float> r_seq = rand(T * BP), r_h = rand(BP);
        std::vector<float> mask(static_cast<size_t>(BP));
        for (size_t k = 0; k < mask.size(); ++k) mask[k] = k % 3 == 1 ? 0.0f : 1.5f;
        const std::vector<int64_t> active = rows_running({5, 3, 1}, T);
        const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
        if (lengths) r_h.assign(r_h.size(), 0.0f);
        const LstmVariant variant{P, v.act, v.ract};
        const float* m = v.dropout ? mask.data() : nullptr;
        std::vector<float> gates(size_t(T * B * 4 * H)), c(size_t((T + 1) * BH)),
            h(size_t((T + 1) * BP));
        std::vector<float> u(size_t(T * BH)), h_in(size_t(T * BP));
        auto weights = [&]() -> LstmGeneralWeights {
          return {w_ih.data(), w_hh.data(), v.bias ? bias.data() : nullptr,
                  v.peephole ? peep.data() : nullptr, v.P ? w_hr.data() : nullptr};
        };
        auto activations = [&]() -> LstmGeneralActivations {
          return {gates.data(), c.data(), h.data(), v.P ? u.data() : nullptr,
                  m ? h_in.data() : nullptr};
        };
        auto run = [&] {
          std::fill(h.begin(), h.end(), 7.0f);  // ended rows must be overwritten with zeros
          std::copy(h0.begin(), h0.end(), h.begin());
          std::copy(c0.begin(), c0.end(), c.begin());
          LstmGeneralActivations act = activations();
          lstm_general_forward(d, variant, weights(), m, x.data(), act);
        };
        auto loss = [&] {
          run();
          return dot(r_seq, h.data() + BP) + dot(r_h, h.data() + T * BP);
        };
        run();
        for (int64_t t = 0; t < T; ++t)  // outputs at padded steps are zero
          for (int64_t k = d.rows_at(t) * P; k < BP; ++k)
            ASSERT_EQ(h[size_t((t + 1) * BP + k)], 0.0f);
        std::vector<float> dw_ih(w_ih.size()), dw_hh(w_hh.size()), db(bias.size()), dp(peep.size());
        std::vector<float> dw_hr(w_hr.size()), dx(x.size()), dh0(h0.size()), dc0(c0.size());
        std::vector<float> da(gates.size(), 7.0f), dh(size_t(T * BP), 7.0f), du(size_t(BH), 7.0f),
            dc(size_t(BH), 7.0f), carry(size_t(BP), 7.0f);  // workspaces as reused: not zero
        LstmGeneralWork work{da.data(), dh.data(), du.data(), dc.data(), carry.data()};
        LstmGeneralGrads g{dw_ih.data(), dw_hh.data(), v.bias ? db.data() : nullptr,
                           v.peephole ? dp.data() : nullptr, v.P ? dw_hr.data() : nullptr};
        lstm_general_backward(d, variant, weights(), m, x.data(), activations(), r_seq.data(),
                              r_h.data(), nullptr, work, g, dx.data(), dh0.data(), dc0.data());
        check_gradient("dW_ih", w_ih, dw_ih, loss);
        check_gradient("dW_hh", w_hh, dw_hh, loss);
        if (v.bias) check_gradient("db", bias, db, loss);
        if (v.peephole) check_gradient("dW_peephole", peep, dp, loss);
        if (v.P) check_gradient("dW_hr", w_hr, dw_hr, loss);
        check_gradient("dx", x, dx, loss);
        check_gradient("dh0", h0, dh0, loss);
        check_gradient("dc0", c0, dc0, loss);
      }
    }
  }
  lstm_set_kernel_isa("best");
}

TEST(GradCheck, GruLayerThroughTime) {
  // L = r_seq · h_{1..T} + r_h · h_T, h_0 non-zero; all rows full, then rows of lengths 5, 3, 1.
  const int64_t T = 5, B = 3, I = 4, H = 3, BH = B * H, G = 3 * H;
  for (bool lengths : {false, true}) {
    SCOPED_TRACE(lengths ? "lengths 5, 3, 1" : "full rows");
    Rng rng(6);
    std::vector<float> w_ih = test::random_vector(size_t(G * I), rng, -0.7f, 0.7f);
    std::vector<float> w_hh = test::random_vector(size_t(G * H), rng, -0.7f, 0.7f);
    std::vector<float> b_ih = test::random_vector(size_t(G), rng),
                       b_hh = test::random_vector(size_t(G), rng);
    std::vector<float> x = test::random_vector(size_t(T * B * I), rng);
    std::vector<float> h0 = test::random_vector(size_t(BH), rng);
    std::vector<float> r_seq = test::random_vector(size_t(T * BH), rng);
    std::vector<float> r_h = test::random_vector(size_t(BH), rng);
    const std::vector<int64_t> active = rows_running({5, 3, 1}, T);
    const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
    if (lengths) r_h.assign(r_h.size(), 0.0f);  // h_T is only row 0's last state then
    std::vector<float> gates(size_t(T * B * G)), ah_n(size_t(T * BH)), h(size_t((T + 1) * BH));
    auto run = [&] {
      std::copy(h0.begin(), h0.end(), h.begin());
      GruActivations act{gates.data(), ah_n.data(), h.data()};
      gru_forward(d, {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}, x.data(), act);
    };
    auto loss = [&] {
      run();
      return dot(r_seq, h.data() + BH) + dot(r_h, h.data() + T * BH);
    };
    run();
    std::vector<float> dw_ih(w_ih.size()), dw_hh(w_hh.size()), db_ih(b_ih.size()),
        db_hh(b_hh.size());
    std::vector<float> dx(x.size()), dh0(h0.size()), carry(h0.size(), 7.0f);
    std::vector<float> dax(gates.size(), 7.0f), dahn(size_t(T * BH), 7.0f);  // reused: not zero
    GruActivations act{gates.data(), ah_n.data(), h.data()};
    GruBackwardWork work{dax.data(), dahn.data(), carry.data()};
    GruGrads g{dw_ih.data(), dw_hh.data(), db_ih.data(), db_hh.data()};
    gru_backward(d, {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}, x.data(), act,
                 r_seq.data(), r_h.data(), work, g, dx.data(), dh0.data());
    check_gradient("dW_ih", w_ih, dw_ih, loss);
    check_gradient("dW_hh", w_hh, dw_hh, loss);
    check_gradient("db_ih", b_ih, db_ih, loss);
    check_gradient("db_hh", b_hh, db_hh, loss);
    check_gradient("dx", x, dx, loss);
    check_gradient("dh0", h0, dh0, loss);
  }
}

TEST(GradCheck, SimpleRnnLayerThroughTime) {
  const int64_t T = 5, B = 3, I = 2, H = 4, BH = B * H;
  for (Activation a : {Activation::tanh, Activation::relu}) {
    for (bool lengths : {false, true}) {
      SCOPED_TRACE(std::string(activation_name(a)) + (lengths ? ", lengths 5, 3, 1" : ""));
      Rng rng(7);
      std::vector<float> w_ih = test::random_vector(size_t(H * I), rng, -0.8f, 0.8f);
      std::vector<float> w_hh = test::random_vector(size_t(H * H), rng, -0.8f, 0.8f);
      std::vector<float> bias = test::random_vector(size_t(H), rng, -0.3f, 0.7f);
      std::vector<float> x = test::random_vector(size_t(T * B * I), rng);
      std::vector<float> h0 = test::random_vector(size_t(BH), rng, 0.0f, 1.0f);
      std::vector<float> r_seq = test::random_vector(size_t(T * BH), rng);
      std::vector<float> r_h = test::random_vector(size_t(BH), rng);
      const std::vector<int64_t> active = rows_running({5, 3, 1}, T);
      const SeqDims d{T, B, I, H, lengths ? active.data() : nullptr};
      if (lengths) r_h.assign(r_h.size(), 0.0f);
      std::vector<float> h(size_t((T + 1) * BH));
      auto loss = [&] {
        std::copy(h0.begin(), h0.end(), h.begin());
        rnn_forward(d, {w_ih.data(), w_hh.data(), bias.data()}, a, x.data(), h.data());
        return dot(r_seq, h.data() + BH) + dot(r_h, h.data() + T * BH);
      };
      loss();
      std::vector<float> dw_ih(w_ih.size()), dw_hh(w_hh.size()), db(bias.size()), dx(x.size());
      std::vector<float> dh0(h0.size()), da(size_t(T * BH), 7.0f), dh(h0.size());
      RnnGrads g{dw_ih.data(), dw_hh.data(), db.data()};
      rnn_backward(d, {w_ih.data(), w_hh.data(), bias.data()}, a, x.data(), h.data(), r_seq.data(),
                   r_h.data(), da.data(), dh.data(), g, dx.data(), dh0.data());
      check_gradient("dW_ih", w_ih, dw_ih, loss);
      check_gradient("dW_hh", w_hh, dw_hh, loss);
      check_gradient("db", bias, db, loss);
      check_gradient("dx", x, dx, loss);
      check_gradient("dh0", h0, dh0, loss);
    }
  }
}

TEST(GradCheck, DenseEveryActivation) {
  const int64_t R = 4, In = 5, Out = 3;
  for (Activation act : {Activation::linear, Activation::relu, Activation::sigmoid,
                         Activation::tanh, Activation::softmax, Activation::hard_sigmoid}) {
    SCOPED_TRACE(activation_name(act));
    Rng rng(21);
    std::vector<float> w = test::random_vector(size_t(Out * In), rng);
    std::vector<float> b = test::random_vector(size_t(Out), rng);
    std::vector<float> x = test::random_vector(size_t(R * In), rng);
    std::vector<float> r = test::random_vector(size_t(R * Out), rng);
    std::vector<float> y(size_t(R * Out));
    auto loss = [&] {
      dense_forward(x.data(), w.data(), b.data(), y.data(), R, In, Out, act);
      return dot(r, y.data());
    };
    loss();
    std::vector<float> dz(y.size()), dw(w.size()), db(b.size()), dx(x.size());
    dense_backward(x.data(), w.data(), y.data(), r.data(), dz.data(), dw.data(), db.data(),
                   dx.data(), R, In, Out, act);
    check_gradient("dW", w, dw, loss);
    check_gradient("db", b, db, loss);
    check_gradient("dx", x, dx, loss);
  }
}

TEST(GradCheck, EveryLoss) {
  const int64_t R = 6, E = 4;
  const Loss losses[] = {loss::mse,
                         loss::mae,
                         loss::binary_crossentropy,
                         loss::binary_crossentropy_from_logits,
                         loss::categorical_crossentropy,
                         loss::categorical_crossentropy_from_logits,
                         loss::sparse_categorical_crossentropy,
                         loss::sparse_categorical_crossentropy_from_logits,
                         {LossKind::cce, false, 0.2f},  // label smoothing, each form
                         {LossKind::cce, true, 0.2f},
                         {LossKind::scce, false, 0.2f},
                         {LossKind::scce, true, 0.2f}};
  for (const Loss& l : losses) {
    SCOPED_TRACE(loss_name(l) + (l.from_logits ? " from logits" : "") + " smoothing " +
                 std::to_string(l.label_smoothing));
    Rng rng(8);
    const bool probs = !l.from_logits && (l.kind == LossKind::bce || l.kind == LossKind::cce ||
                                          l.kind == LossKind::scce);
    std::vector<float> pred = probs ? test::random_vector(size_t(R * E), rng, 0.1f, 0.9f)
                                    : test::random_vector(size_t(R * E), rng, -2, 2);
    std::vector<float> target;
    if (l.kind == LossKind::scce) {
      for (int64_t r = 0; r < R; ++r) target.push_back(float(rng.below(uint32_t(E))));
    } else if (l.kind == LossKind::mse || l.kind == LossKind::mae) {
      target = test::random_vector(size_t(R * E), rng, -2, 2);
    } else {
      target = test::random_vector(size_t(R * E), rng, 0, 1);
    }
    std::vector<float> grad(pred.size());
    loss_forward_backward(l, pred.data(), target.data(), R, E, grad.data());
    check_gradient("dpred", pred, grad, [&] {
      return loss_forward_backward(l, pred.data(), target.data(), R, E, nullptr);
    });
  }
}

// The pinball loss at three levels, on targets of width 2 (outputs 2 x 3, quantile fastest),
// away from its kinks (|y - p| > 0.05, beyond check_gradient's step), and its value by hand.
TEST(GradCheck, QuantileLoss) {
  const int64_t R = 5, W = 2, Q = 3, E = W * Q;
  const Loss l = quantile_loss({0.1f, 0.5f, 0.9f});
  Rng rng(12);
  std::vector<float> pred = test::random_vector(size_t(R * E), rng, -2, 2), target;
  for (int64_t k = 0; k < R * W; ++k) {
    float y;
    bool near = true;
    while (near) {
      y = test::random_vector(1, rng, -2, 2)[0];
      near = false;
      for (int64_t j = 0; j < Q; ++j) near = near || std::fabs(y - pred[size_t((k / W) * E + (k % W) * Q + j)]) < 0.05f;
    }
    target.push_back(y);
  }
  std::vector<float> grad(pred.size());
  const double value = loss_forward_backward(l, pred.data(), target.data(), R, E, grad.data());
  check_gradient("dpred", pred, grad, [&] { return loss_forward_backward(l, pred.data(), target.data(), R, E, nullptr); });
  double by_hand = 0;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t w = 0; w < W; ++w)
      for (int64_t j = 0; j < Q; ++j) {
        const double q = l.quantiles[size_t(j)], e = target[size_t(r * W + w)] - pred[size_t(r * E + w * Q + j)];
        by_hand += std::max(q * e, (q - 1) * e);
      }
  EXPECT_NEAR(value, by_hand / double(R * E), 1e-6);
  // at a tie the gradient is the two sides' mean (torch.maximum's): (0.5 - q) / n
  float p = 1.0f, y = 1.0f, g = 0.0f;
  loss_forward_backward(quantile_loss({0.9f}), &p, &y, 1, 1, &g);
  EXPECT_FLOAT_EQ(g, 0.5f - 0.9f);
  EXPECT_EQ(loss_name(l), "quantile_0.1_0.5_0.9");
  EXPECT_EQ(loss_name(loss_from_name("quantile_0.1_0.5_0.9")), "quantile_0.1_0.5_0.9");
  EXPECT_ERROR_WITH(loss_from_name("quantile_0.5_0.1"), "strictly increasing");
  EXPECT_ERROR_WITH(loss_from_name("quantile_0.5_1.5"), "outside (0, 1)");
  EXPECT_ERROR_WITH(loss_from_name("quantile_x"), "'x' is not a quantile level");
  EXPECT_ERROR_WITH(loss_target_width(l, 7), "make the last layer's width a multiple of 3");
}

TEST(GradCheck, WholeStackedModel) {
  // LSTM(4, sequences) -> LSTM(3) -> Dense(2, tanh), MSE: every parameter of the model.
  Sequential model({.seed = 3});
  model.add(LSTM(4, {.return_sequences = true, .input_shape = {6, 3}}));
  model.add(LSTM(3));
  model.add(Dense(2, {.activation = Activation::tanh}));
  model.compile(Adam(), loss::mse);
  Tensor X = test::random_tensor({5, 6, 3}, 1), y = test::random_tensor({5, 2}, 2, -0.5f, 0.5f);
  Sequential::Impl& m = model.impl();
  std::vector<int64_t> idx(5);
  std::iota(idx.begin(), idx.end(), 0);
  m.gather_x(X, idx.data(), 5, 6);
  m.gather_y(y);
  auto loss = [&] {
    m.weights_changed();  // check_gradient writes m.params() directly
    m.forward();
    return m.loss_and_backward(false);
  };
  m.forward();
  m.loss_and_backward(true);
  std::vector<float> analytic = m.grads();
  check_gradient("model params", m.params(), analytic, loss);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// Every parameter of a model against central differences of its loss on one batch, with the
// generator reset before each forward so that dropout draws the same masks every time.
void check_model(Sequential& model, const Tensor& X, const Tensor& y,
                 const std::vector<int64_t>& lengths) {
  Sequential::Impl& m = model.impl();
  const int64_t B = X.dim(0), T = X.dim(1);
  std::vector<int64_t> idx(static_cast<size_t>(B));
  std::iota(idx.begin(), idx.end(), 0);
  m.gather_x(X, idx.data(), B, T, m.resolve_lengths(X, lengths, "X"));
  m.gather_y(y);
  const uint64_t state = m.rng().state();
  auto loss = [&] {
    m.weights_changed();
    m.rng().set_state(state);
    m.forward(/*training=*/true);
    return m.loss_and_backward(false);
  };
  m.rng().set_state(state);
  m.forward(true);
  m.loss_and_backward(true);
  std::vector<float> analytic = m.grads();
  check_gradient("model params", m.params(), analytic, loss);
}

TEST(GradCheck, BidirectionalEveryMergeModeWithLengths) {
  for (MergeMode mode : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave}) {
    SCOPED_TRACE(merge_mode_name(mode));
    Sequential model({.seed = 4});
    model.add(Bidirectional(LSTM(3, {.return_sequences = true}),
                            {.merge_mode = mode, .input_shape = {5, 2}}));
    model.add(Bidirectional(GRU(2), {.merge_mode = mode}));
    model.add(Dense(2));
    model.compile(Adam(), loss::mse);
    check_model(model, test::random_tensor({4, 5, 2}, 1), test::random_tensor({4, 2}, 2),
                std::vector<int64_t>{5, 2, 4, 1});
  }
}

TEST(GradCheck, LstmOptionsInAModelWithDropoutAndLengths) {
  // Input and recurrent dropout in training mode (the same masks for every evaluation), a
  // projection, peepholes and hard_sigmoid gates inside a Bidirectional layer, padded rows.
  Sequential model({.seed = 6});
  model.add(LSTM(4, {.return_sequences = true,
                     .dropout = 0.3f,
                     .recurrent_dropout = 0.4f,
                     .proj_size = 3,
                     .input_shape = {5, 2}}));
  model.add(Bidirectional(LSTM(3, {.return_sequences = true,
                                   .recurrent_activation = Activation::hard_sigmoid,
                                   .use_bias = false,
                                   .dropout = 0.2f,
                                   .recurrent_dropout = 0.3f,
                                   .use_peepholes = true})));
  model.add(GRU(2, {.dropout = 0.25f}));
  model.add(Dense(2));
  model.compile(Adam(), loss::mse);
  check_model(model, test::random_tensor({4, 5, 2}, 1), test::random_tensor({4, 2}, 2),
              std::vector<int64_t>{5, 2, 4, 1});
}

TEST(GradCheck, GruResetBeforeStackedBidirectionalBackwardsWithLengths) {
  // Keras's reset_after = false GRU: one bias, the reset gate inside the recurrent product;
  // stacked, both directions, go_backwards, input dropout, padded rows.
  Sequential model({.seed = 9});
  model.add(GRU(4, {.return_sequences = true, .dropout = 0.2f, .input_shape = {5, 2}, .reset_after = false}));
  model.add(Bidirectional(GRU(3, {.return_sequences = true, .reset_after = false}), {.merge_mode = MergeMode::sum}));
  model.add(GRU(2, {.go_backwards = true, .reset_after = false}));
  model.add(Dense(2));
  model.compile(Adam(), loss::mse);
  check_model(model, test::random_tensor({4, 5, 2}, 1), test::random_tensor({4, 2}, 2),
              std::vector<int64_t>{5, 2, 4, 1});
}

TEST(GradCheck, BidirectionalMergeNoneTwoOutputs) {
  // merge_mode none: two outputs whose losses add up, on sequences with lengths.
  Sequential model({.seed = 7});
  model.add(GRU(3, {.return_sequences = true, .input_shape = {4, 2}}));
  model.add(Bidirectional(LSTM(2, {.return_sequences = true}), {.merge_mode = MergeMode::none}));
  model.compile(Adam(), loss::mse);
  check_model(model, test::random_tensor({3, 4, 2}, 1), test::random_tensor({2, 3, 4, 2}, 2),
              std::vector<int64_t>{4, 2, 3});
}

TEST(GradCheck, BidirectionalMergeNoneTargetsWithoutTheirAxisOfOne) {
  // One unit per direction: targets [2, N, T] are [2, N, T, 1] without the last axis.
  Sequential model({.seed = 8});
  model.add(Bidirectional(LSTM(1, {.return_sequences = true}), {.merge_mode = MergeMode::none, .input_shape = {4, 2}}));
  model.compile(Adam(), loss::mse);
  const Tensor X = test::random_tensor({3, 4, 2}, 1), y = test::random_tensor({2, 3, 4}, 2);
  Tensor y1({2, 3, 4, 1});
  std::copy(y.data(), y.data() + y.size(), y1.data());
  const double loss = model.evaluate(X, y1);
  EXPECT_GT(loss, 0.0);
  EXPECT_EQ(model.evaluate(X, y), loss);
  const Tensor pred = model.predict(X);  // [2, N, T, 1]: forward, then backward
  double by_hand = 0.0;
  for (int64_t k = 0; k < y.size(); ++k) by_hand += double(pred[k] - y[k]) * double(pred[k] - y[k]);
  EXPECT_NEAR(loss, 2.0 * by_hand / double(y.size()), 1e-6);  // the two mean losses add up
}

TEST(GradCheck, SpecAugmentPassesGradientsWhereKept) {
  // A Dense before the masks: its gradient is right only if dx = dy where kept, 0 where masked.
  Sequential model({.seed = 9});
  model.add(TimeDistributed(Dense(6, {.input_shape = {7, 2}})));
  model.add(SpecAugment({.frequency_masks = 1, .frequency_width = 2, .time_masks = 2, .time_width = 2, .period = 3}));
  model.add(LSTM(3));
  model.add(Dense(2));
  model.compile(Adam(), loss::mse);
  check_model(model, test::random_tensor({3, 7, 2}, 4), test::random_tensor({3, 2}, 5), {7, 4, 6});
}

TEST(GradCheck, EmbeddingDropoutSequencesOut) {
  // Token ids with zero padding (mask_zero), dropout in training mode, a loss over valid steps.
  Sequential model({.seed = 5});
  model.add(Embedding(7, 3, {.mask_zero = true, .input_shape = {4}}));
  model.add(Dropout(0.3f));
  model.add(SimpleRNN(3, {.return_sequences = true, .go_backwards = true}));
  model.add(TimeDistributed(Dense(2, {.activation = Activation::tanh})));
  model.compile(Adam(), loss::mse);
  Tensor X({3, 4});
  const float ids[] = {1, 4, 6, 2, 3, 5, 0, 0, 2, 0, 0, 0};
  std::copy(ids, ids + 12, X.data());
  check_model(model, X, test::random_tensor({3, 4, 2}, 3), {});
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

TEST(GradCheck, CtcLossOnLogits) {
  // The batch form fit() uses: time-major logits, per-sample frames, label rows padded with 0
  // (an empty row, a repeat that needs a blank, a row that needs every one of its frames).
  const int64_t T = 6, B = 4, C = 4, L = 3;
  Rng rng(12);
  std::vector<float> z = test::random_vector(size_t(T * B * C), rng, -2, 2);
  const std::vector<float> targets = {0, 0, 0,   2, 2, 0,   1, 3, 1,   3, 0, 0};
  const std::vector<int64_t> frames = {6, 5, 3, 1};
  std::vector<float> grad(z.size());
  ctc_batch_loss(z.data(), T, B, C, frames.data(), targets.data(), L, grad.data());
  for (int64_t t = 1; t < T; ++t)  // padded frames of the last sample: no gradient
    for (int64_t k = 0; k < C; ++k) EXPECT_EQ(grad[size_t((t * B + 3) * C + k)], 0.0f);
  check_gradient("dlogits", z, grad, [&] {
    return ctc_batch_loss(z.data(), T, B, C, frames.data(), targets.data(), L, nullptr);
  });
}

TEST(GradCheck, CtcThroughABidirectionalModel) {
  Sequential model({.seed = 6});
  model.add(Bidirectional(LSTM(3, {.return_sequences = true}), {.input_shape = {7, 2}}));
  model.add(Dense(4));
  model.compile(Adam(), loss::ctc);
  Tensor y({3, 3});
  const float labels[] = {1, 2, 0,   3, 3, 0,   2, 0, 0};
  std::copy(labels, labels + 9, y.data());
  check_model(model, test::random_tensor({3, 7, 2}, 1), y, std::vector<int64_t>{7, 4, 2});
}

}  // namespace
}  // namespace lstm
