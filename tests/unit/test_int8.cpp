// The int8 step (kernels/lstm_step_int8.h): the quantisation as documented (round to nearest
// even, scale max|v| / 127, inputs offset by 128, padding 128), the step and the projection
// against that math written out in double, the same bits on every instruction set this CPU has,
// and the step near the float step.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/lstm_step.h"
#include "kernels/lstm_step_int8.h"
#include "test_util.h"

namespace lstm {
namespace {

// Runs body(isa) once per build the CPU supports, then restores the best.
template <class Body>
void for_each_int8_isa(Body body) {
  int ran = 0;
  for (const char* isa : {"generic", "avx2", "avx512", "avx512_vnni"}) {
    if (!lstm_set_int8_kernel_isa(isa)) continue;
    SCOPED_TRACE(isa);
    body(std::string(isa));
    ++ran;
  }
  lstm_set_int8_kernel_isa("best");
  EXPECT_GE(ran, 1);
}

// round(v) to nearest, ties to even (the documented rounding)
double round_even(double v) { return std::nearbyint(v); }

// A row's quantisation, as the header states it: q (n), returns the scale.
double quantise(const float* u, int64_t n, std::vector<int>& q) {
  double top = 0;
  for (int64_t k = 0; k < n; ++k) top = std::max(top, std::fabs(double(u[k])));
  const float inv = top > 0 ? 127.0f / float(top) : 1.0f;
  q.resize(size_t(n));
  for (int64_t k = 0; k < n; ++k) q[size_t(k)] = int(round_even(double(u[k] * inv)));
  return top > 0 ? float(top) / 127.0f : 1.0;
}

TEST(Int8, QuantisesToNearestWithinHalfAStep) {
  Rng rng(5);
  for (int64_t n : {1, 3, 4, 17, 64, 130}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    std::vector<float> u = test::random_vector(size_t(n), rng, -2.5f, 2.5f);
    u[size_t(n / 2)] = 2.5f;  // the largest magnitude maps to 127
    std::vector<int> want;
    const double scale = quantise(u.data(), n, want);
    for_each_int8_isa([&](const std::string&) {
      std::vector<uint8_t> out(size_t((n + 3) / 4 * 4), 7);
      const float a = lstm_quantize_u8(u.data(), n, out.data());
      EXPECT_FLOAT_EQ(a, float(scale));
      for (int64_t k = 0; k < n; ++k) {
        EXPECT_EQ(int(out[size_t(k)]) - 128, want[size_t(k)]) << k;
        EXPECT_LE(std::fabs((int(out[size_t(k)]) - 128) * double(a) - u[size_t(k)]), 0.5 * a + 1e-6);
      }
      EXPECT_EQ(out[size_t(n / 2)], 255);
      for (size_t k = size_t(n); k < out.size(); ++k) EXPECT_EQ(out[k], 128) << "padding";
    });
  }
  std::vector<float> zero(5, 0.0f);
  std::vector<uint8_t> out(8);
  EXPECT_EQ(lstm_quantize_u8(zero.data(), 5, out.data()), 1.0f);
  for (uint8_t b : out) EXPECT_EQ(b, 128);
}

struct Case {
  int64_t B, Kx, H;
};

TEST(Int8, StepMatchesTheQuantisedMathOnEveryBuild) {
  for (Case c : {Case{1, 0, 1}, {1, 3, 8}, {2, 0, 17}, {5, 7, 33}, {7, 0, 50}, {3, 130, 100}, {13, 5, 20}}) {
    SCOPED_TRACE("B=" + std::to_string(c.B) + " Kx=" + std::to_string(c.Kx) + " H=" + std::to_string(c.H));
    const int64_t B = c.B, Kx = c.Kx, H = c.H, G = 4 * H;
    Rng rng(uint64_t(B * 100 + H + Kx));
    auto w_ih = test::random_vector(size_t(G * std::max<int64_t>(Kx, 1)), rng, -0.4f, 0.4f);
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.4f, 0.4f);
    auto x = test::random_vector(size_t(B * std::max<int64_t>(Kx, 1)), rng, -2, 2);
    auto h_prev = test::random_vector(size_t(B * H), rng), c_prev = test::random_vector(size_t(B * H), rng);
    auto base = test::random_vector(size_t(B * G), rng);
    std::vector<float> scales(size_t(2 * G));
    std::vector<int32_t> comp(size_t(2 * G));
    std::vector<int8_t> packed(size_t(lstm_packed_forward_int8_size(Kx, H)));
    lstm_pack_forward_int8(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed.data(),
                           scales.data(), comp.data());
    // Reference: weights and inputs quantised as documented, products in double, the cell.
    std::vector<double> want_c(size_t(B * H)), want_h(size_t(B * H));
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int> qx, qh, qw;
      const double ax = Kx > 0 ? quantise(x.data() + b * Kx, Kx, qx) : 0;
      const double ah = quantise(h_prev.data() + b * H, H, qh);
      std::vector<double> a(static_cast<size_t>(G));
      for (int64_t n = 0; n < G; ++n) {
        a[size_t(n)] = base[size_t(b * G + n)];
        for (int part = 0; part < 2; ++part) {
          const int64_t K = part ? H : Kx;
          if (K == 0) continue;
          const float* w = (part ? w_hh.data() : w_ih.data()) + n * K;
          const double s = quantise(w, K, qw);
          EXPECT_FLOAT_EQ(scales[size_t(part * G + n)], float(s));
          int64_t dot = 0, sum = 0;
          for (int64_t k = 0; k < K; ++k) {
            dot += int64_t(part ? qh[size_t(k)] : qx[size_t(k)]) * qw[size_t(k)];
            sum += qw[size_t(k)];
          }
          EXPECT_EQ(comp[size_t(part * G + n)], 128 * sum);
          a[size_t(n)] += double(dot) * s * (part ? ah : ax);
        }
      }
      for (int64_t j = 0; j < H; ++j) {
        auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
        const double i = sig(a[size_t(j)]), f = sig(a[size_t(H + j)]), g = std::tanh(a[size_t(2 * H + j)]);
        const double o = sig(a[size_t(3 * H + j)]);
        const double cc = f * c_prev[size_t(b * H + j)] + i * g;
        want_c[size_t(b * H + j)] = cc, want_h[size_t(b * H + j)] = o * std::tanh(cc);
      }
    }
    std::vector<float> first_h;
    for_each_int8_isa([&](const std::string& isa) {
      const int64_t Qx = (Kx + 3) / 4 * 4, Qh = (H + 3) / 4 * 4;
      std::vector<uint8_t> xq(size_t(B * std::max<int64_t>(Qx, 4))), hq(size_t(B * Qh));
      std::vector<float> xs(static_cast<size_t>(B)), hs(static_cast<size_t>(B));
      for (int64_t b = 0; b < B; ++b) {
        if (Kx > 0) xs[size_t(b)] = lstm_quantize_u8(x.data() + b * Kx, Kx, xq.data() + b * Qx);
        hs[size_t(b)] = lstm_quantize_u8(h_prev.data() + b * H, H, hq.data() + b * Qh);
      }
      std::vector<float> gates = base, cc(size_t(B * H), 7.0f), h(size_t(B * H), 7.0f);
      LstmStepForwardInt8 s{packed.data(), scales.data(), comp.data(), Kx, H, B,
                            Kx > 0 ? xq.data() : nullptr, Qx, xs.data(), hq.data(), Qh, hs.data(),
                            gates.data(), G, c_prev.data(), gates.data(), cc.data(), h.data()};
      const int64_t blocks = lstm_forward_blocks(H), mid = blocks / 2;
      lstm_step_forward_int8(s, 0, mid);  // in two ranges, as two threads would
      lstm_step_forward_int8(s, mid, blocks);
      double e = 0;
      for (size_t k = 0; k < h.size(); ++k)
        e = std::max({e, std::fabs(h[k] - want_h[k]), std::fabs(cc[k] - want_c[k])});
      EXPECT_LT(e, 2e-5);  // float scaling and the vector activations
      if (first_h.empty()) first_h = h;
      else EXPECT_EQ(h, first_h) << isa << ": every build gives the same bits";
      if (Kx > 0) {  // the projection alone: the step's x part on its own rows
        std::vector<float> bias = test::random_vector(size_t(G), rng), out(size_t(B * G), 7.0f);
        lstm_project_int8(packed.data(), scales.data(), comp.data(), Kx, H, B, xq.data(), Qx, xs.data(),
                          bias.data(), out.data(), 0, blocks);
        for (int64_t b = 0; b < B; ++b) {
          std::vector<int> qx, qw;
          const double ax = quantise(x.data() + b * Kx, Kx, qx);
          for (int64_t n = 0; n < G; n += 5) {
            const double s = quantise(w_ih.data() + n * Kx, Kx, qw);
            int64_t dot = 0;
            for (int64_t k = 0; k < Kx; ++k) dot += int64_t(qx[size_t(k)]) * qw[size_t(k)];
            EXPECT_NEAR(out[size_t(b * G + n)], bias[size_t(n)] + double(dot) * s * ax, 1e-4);
          }
        }
      }
    });
  }
}

TEST(Int8, StepStaysNearTheFloatStep) {
  const int64_t B = 3, Kx = 64, H = 128, G = 4 * H;
  Rng rng(17);
  auto w_ih = test::random_vector(size_t(G * Kx), rng, -0.15f, 0.15f);
  auto w_hh = test::random_vector(size_t(G * H), rng, -0.15f, 0.15f);
  auto x = test::random_vector(size_t(B * Kx), rng), h_prev = test::random_vector(size_t(B * H), rng);
  auto c_prev = test::random_vector(size_t(B * H), rng), bias = test::random_vector(size_t(G), rng);
  std::vector<float> pf(size_t(lstm_packed_forward_size(Kx, H)));
  lstm_pack_forward(w_ih.data(), Kx, w_hh.data(), H, pf.data());
  std::vector<float> c32(size_t(B * H)), h32(size_t(B * H)), c8(c32.size()), h8(h32.size());
  LstmStepForward s32{pf.data(), Kx, H, B, x.data(), Kx, h_prev.data(), bias.data(), 0, c_prev.data(),
                      nullptr, c32.data(), h32.data()};
  lstm_step_forward(s32, 0, lstm_forward_blocks(H));
  std::vector<float> scales(size_t(2 * G));
  std::vector<int32_t> comp(size_t(2 * G));
  std::vector<int8_t> packed(size_t(lstm_packed_forward_int8_size(Kx, H)));
  lstm_pack_forward_int8(w_ih.data(), Kx, w_hh.data(), H, packed.data(), scales.data(), comp.data());
  std::vector<uint8_t> xq(size_t(B * Kx)), hq(size_t(B * H));
  std::vector<float> xs(static_cast<size_t>(B)), hs(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    xs[size_t(b)] = lstm_quantize_u8(x.data() + b * Kx, Kx, xq.data() + b * Kx);
    hs[size_t(b)] = lstm_quantize_u8(h_prev.data() + b * H, H, hq.data() + b * H);
  }
  LstmStepForwardInt8 s8{packed.data(), scales.data(), comp.data(), Kx, H, B, xq.data(), Kx, xs.data(),
                         hq.data(), H, hs.data(), bias.data(), 0, c_prev.data(), nullptr, c8.data(), h8.data()};
  lstm_step_forward_int8(s8, 0, lstm_forward_blocks(H));
  double e = 0;
  for (size_t k = 0; k < h8.size(); ++k) e = std::max(e, double(std::fabs(h8[k] - h32[k])));
  EXPECT_GT(e, 0.0);
  EXPECT_LT(e, 2e-2);  // 192 products of 8-bit factors, each within half a step
}

}  // namespace
}  // namespace lstm
