// The step kernels (kernels/lstm_step.h) against the plain reference: the reference GEMM plus
// the scalar cell (lstm_cell_forward / lstm_cell_backward), for every instruction set this CPU
// has, awkward sizes (H not a multiple of 16 or 64, B not a multiple of the row tile), split
// block ranges; the vector activations against double precision; the other cells' pointwise
// activations (kernels/pointwise.h) against scalar code on every instruction set; results
// independent of the thread count. (That every weight write reaches the packed kernels, for
// each cell: test_cell_steps.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "kernels/conv2d.h"
#include "kernels/lstm_step.h"
#include "kernels/lstm_step_bf16.h"
#include "kernels/pointwise.h"
#include "kernels/vmath.h"
#include "layers/activation.h"
#include "layers/lstm_cell.h"
#include "test_util.h"

namespace lstm {
namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t k = 0; k < a.size(); ++k) m = std::max(m, std::fabs(double(a[k]) - double(b[k])));
  return m;
}

TEST(Pointwise, EveryInstructionSetMatchesScalarCode) {
  // activation_pointwise for every elementwise activation against the scalar formulas
  // (layers/activation.h); 37 values: two full vectors and a tail.
  Rng rng(31);
  std::vector<float> v = test::random_vector(37, rng, -5, 5);
  test::for_each_isa([&] {
    for (Activation act : {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh,
                           Activation::hard_sigmoid}) {
      SCOPED_TRACE(activation_name(act));
      std::vector<float> y = v, want(v.size());
      for (size_t k = 0; k < v.size(); ++k) want[k] = activate(act, v[k]);
      activation_pointwise(y.data(), int64_t(y.size()), act);
      EXPECT_LE(max_abs_diff(y, want), 1e-6);
    }
  });
}

TEST(VectorMath, ActivationsMatchDoublePrecision) {
  double e_exp = 0, e_sig = 0, e_tanh = 0;
  for (double x0 = -40; x0 < 40; x0 += 16 * 3.1e-4) {
    v16f x;
    for (int l = 0; l < kLanes; ++l) x[l] = float(x0 + l * 3.1e-4);
    const v16f e = vexp(vmin(x, vsplat(30.0f))), s = vsigmoid(x), t = vtanh(x);
    for (int l = 0; l < kLanes; ++l) {
      const double xd = x[l], ex = std::exp(std::min(xd, 30.0));
      e_exp = std::max(e_exp, std::fabs(e[l] - ex) / ex);
      e_sig = std::max(e_sig, std::fabs(s[l] - 1.0 / (1.0 + std::exp(-xd))));
      e_tanh = std::max(e_tanh, std::fabs(t[l] - std::tanh(xd)));
    }
  }
  EXPECT_LT(e_exp, 3e-7);
  EXPECT_LT(e_sig, 2e-7);
  EXPECT_LT(e_tanh, 3e-7);
  // Saturation: no NaN or overflow far out
  const v16f big = vsplat(1e30f), s = vsigmoid(big), t = vtanh(-big), s0 = vsigmoid(-big);
  EXPECT_EQ(s[0], 1.0f);
  EXPECT_EQ(t[0], -1.0f);
  EXPECT_LT(s0[0], 1e-37f);
}

struct StepCase {
  int64_t B, Kx, H;
};

TEST(StepKernels, ForwardMatchesReferenceCell) {
  // H <= 8 runs the tiny layout (two vectors a row): every row-tile size, with and without inputs
  for (StepCase c : {StepCase{1, 0, 1}, {1, 3, 8}, {2, 0, 17}, {5, 7, 33}, {7, 0, 50},
                     {13, 0, 20}, {4, 2, 64}, {3, 5, 100}, {6, 8, 8}, {11, 5, 7}, {4, 0, 3}, {17, 9, 5}}) {
    SCOPED_TRACE("B=" + std::to_string(c.B) + " Kx=" + std::to_string(c.Kx) +
                 " H=" + std::to_string(c.H));
    const int64_t B = c.B, Kx = c.Kx, H = c.H, G = 4 * H;
    Rng rng(uint64_t(B * 100 + H));
    auto w_ih = test::random_vector(size_t(G * std::max<int64_t>(Kx, 1)), rng, -0.5f, 0.5f);
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.5f, 0.5f);
    auto x = test::random_vector(size_t(B * std::max<int64_t>(Kx, 1)), rng);
    auto h_prev = test::random_vector(size_t(B * H), rng), c_prev = test::random_vector(size_t(B * H), rng);
    auto base = test::random_vector(size_t(B * G), rng);
    // Reference: a = base + x·W_ihᵀ + h·W_hhᵀ, then the scalar cell
    std::vector<float> gates_ref = base, c_ref(size_t(B * H)), h_ref(size_t(B * H));
    if (Kx > 0) gemm_reference(false, true, B, G, Kx, 1.0f, x.data(), Kx, w_ih.data(), Kx, 1.0f, gates_ref.data(), G);
    gemm_reference(false, true, B, G, H, 1.0f, h_prev.data(), H, w_hh.data(), H, 1.0f, gates_ref.data(), G);
    lstm_cell_forward(gates_ref.data(), c_prev.data(), c_ref.data(), h_ref.data(), B, H);
    std::vector<float> packed(size_t(lstm_packed_forward_size(Kx, H)));
    lstm_pack_forward(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed.data());
    test::for_each_isa([&] {
      std::vector<float> gates = base, c(size_t(B * H), 7.0f), h(size_t(B * H), 7.0f);
      LstmStepForward s{packed.data(), Kx, H, B, x.data(), std::max<int64_t>(Kx, 1), h_prev.data(),
                        gates.data(), G, c_prev.data(), gates.data(), c.data(), h.data()};
      const int64_t blocks = lstm_forward_blocks(H), mid = blocks / 2;
      lstm_step_forward(s, 0, mid);  // in two ranges, as two threads would
      lstm_step_forward(s, mid, blocks);
      const double tol = 1e-6 + 2e-7 * double(Kx + H);  // float sums of Kx + H products
      EXPECT_LT(max_abs_diff(gates, gates_ref), tol);
      EXPECT_LT(max_abs_diff(c, c_ref), tol);
      EXPECT_LT(max_abs_diff(h, h_ref), tol);
      // Each row alone (a tile of one row) gives the same bits as inside the batch's tiles.
      for (int64_t b = 0; b < B; ++b) {
        std::vector<float> g1(base.begin() + b * G, base.begin() + (b + 1) * G);
        std::vector<float> c1(static_cast<size_t>(H)), h1(static_cast<size_t>(H));
        LstmStepForward s1{packed.data(), Kx, H, 1, x.data() + b * s.ldx, s.ldx, h_prev.data() + b * H,
                           g1.data(), G, c_prev.data() + b * H, g1.data(), c1.data(), h1.data()};
        lstm_step_forward(s1, 0, blocks);
        EXPECT_EQ(h1, std::vector<float>(h.begin() + b * H, h.begin() + (b + 1) * H)) << "row " << b;
      }
    });
  }
}

TEST(Bf16, RoundsToNearestEvenFlushesSubnormalsKeepsNaN) {
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.0f / 256)), 1.0f);           // a tie: to the even 1.0
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256);  // a tie: up to even
  EXPECT_EQ(from_bf16(to_bf16(1.0f + 1.5f / 256)), 1.0f + 2.0f / 256);  // above half: up
  EXPECT_EQ(to_bf16(1e-40f), 0x0000);                                // subnormal -> +0
  EXPECT_EQ(to_bf16(-1e-40f), 0x8000);
  EXPECT_EQ(from_bf16(to_bf16(INFINITY)), INFINITY);
  EXPECT_EQ(from_bf16(to_bf16(3.4e38f)), INFINITY);  // rounds past the largest finite bfloat16
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(NAN))));
  // pairs: every build's conversion is the scalar one
  Rng rng(5);
  std::vector<float> u = test::random_vector(77, rng, -3.0f, 3.0f);
  u[3] = 1e-40f, u[40] = NAN, u[41] = -INFINITY;
  std::vector<uint32_t> want(39);
  for (size_t p = 0; p < want.size(); ++p)
    want[p] = uint32_t(to_bf16(u[2 * p])) | uint32_t(2 * p + 1 < u.size() ? to_bf16(u[2 * p + 1]) : 0) << 16;
  for (const char* isa : {"generic", "avx2", "avx512", "avx512_bf16"}) {
    if (!lstm_set_bf16_kernel_isa(isa)) continue;
    std::vector<uint32_t> got(39, 0xdeadbeef);
    lstm_to_bf16_pairs(u.data(), int64_t(u.size()), got.data());
    EXPECT_EQ(got, want) << isa;
  }
  lstm_set_bf16_kernel_isa("best");
}

// The bfloat16 step against the same math in double: weights, x and h rounded to bfloat16,
// products summed in float by every build; and against the float step, the rounding's effect.
TEST(Bf16, StepMatchesTheRoundedMathOnEveryBuild) {
  for (StepCase c : {StepCase{1, 0, 1}, {1, 3, 8}, {2, 0, 17}, {5, 7, 33}, {7, 1, 50}, {4, 2, 64}, {3, 5, 100}}) {
    SCOPED_TRACE("B=" + std::to_string(c.B) + " Kx=" + std::to_string(c.Kx) + " H=" + std::to_string(c.H));
    const int64_t B = c.B, Kx = c.Kx, H = c.H, G = 4 * H, Px = (Kx + 1) / 2, Ph = (H + 1) / 2;
    Rng rng(uint64_t(B * 100 + H + 7));
    auto w_ih = test::random_vector(size_t(G * std::max<int64_t>(Kx, 1)), rng, -0.5f, 0.5f);
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.5f, 0.5f);
    auto x = test::random_vector(size_t(B * std::max<int64_t>(Kx, 1)), rng);
    auto h_prev = test::random_vector(size_t(B * H), rng), c_prev = test::random_vector(size_t(B * H), rng);
    auto bias = test::random_vector(size_t(G), rng);
    auto rounded = [](std::vector<float> v) {
      for (float& e : v) e = from_bf16(to_bf16(e));
      return v;
    };
    // Reference in double on the rounded values; and the float step on the unrounded ones.
    const auto rw_ih = rounded(w_ih), rw_hh = rounded(w_hh), rx = rounded(x), rh = rounded(h_prev);
    std::vector<float> gates_ref(size_t(B * G)), c_ref(size_t(B * H)), h_ref(size_t(B * H));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < G; ++n) {
        double a = bias[size_t(n)];
        for (int64_t k = 0; k < Kx; ++k) a += double(rx[size_t(b * Kx + k)]) * rw_ih[size_t(n * Kx + k)];
        for (int64_t k = 0; k < H; ++k) a += double(rh[size_t(b * H + k)]) * rw_hh[size_t(n * H + k)];
        gates_ref[size_t(b * G + n)] = float(a);
      }
    lstm_cell_forward(gates_ref.data(), c_prev.data(), c_ref.data(), h_ref.data(), B, H);
    std::vector<float> packed32(size_t(lstm_packed_forward_size(Kx, H))), g32(size_t(B * G));
    std::vector<float> c32(size_t(B * H)), h32(size_t(B * H));
    lstm_pack_forward(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed32.data());
    lstm_step_forward({packed32.data(), Kx, H, B, x.data(), std::max<int64_t>(Kx, 1), h_prev.data(),
                       bias.data(), 0, c_prev.data(), g32.data(), c32.data(), h32.data()},
                      0, lstm_forward_blocks(H));
    std::vector<uint16_t> packed(size_t(lstm_packed_forward_bf16_size(Kx, H)));
    lstm_pack_forward_bf16(Kx > 0 ? w_ih.data() : nullptr, Kx, w_hh.data(), H, packed.data());
    int ran = 0;
    for (const char* isa : {"generic", "avx2", "avx512", "avx512_bf16"}) {
      if (!lstm_set_bf16_kernel_isa(isa)) continue;
      SCOPED_TRACE(isa);
      ++ran;
      std::vector<uint32_t> xp(size_t(B * std::max<int64_t>(Px, 1))), hp(size_t(B * Ph));
      for (int64_t b = 0; b < B; ++b) {
        if (Kx > 0) lstm_to_bf16_pairs(x.data() + b * Kx, Kx, xp.data() + b * Px);
        lstm_to_bf16_pairs(h_prev.data() + b * H, H, hp.data() + b * Ph);
      }
      std::vector<float> gates(size_t(B * G), 7.0f), cc(size_t(B * H), 7.0f), hh(size_t(B * H), 7.0f);
      LstmStepForwardBf16 s{packed.data(), Kx, H, B, xp.data(), std::max<int64_t>(Px, 1), hp.data(), Ph,
                            bias.data(), 0, c_prev.data(), gates.data(), cc.data(), hh.data()};
      const int64_t blocks = lstm_forward_blocks(H), mid = blocks / 2;
      lstm_step_forward_bf16(s, 0, mid);  // in two ranges, as two threads would
      lstm_step_forward_bf16(s, mid, blocks);
      const double tol = 1e-6 + 2e-7 * double(Kx + H);  // float sums of Kx + H products
      EXPECT_LT(max_abs_diff(gates, gates_ref), tol);
      EXPECT_LT(max_abs_diff(cc, c_ref), tol);
      EXPECT_LT(max_abs_diff(hh, h_ref), tol);
      // the rounding's effect against the float step: weights of ±0.5 over up to 105 inputs
      EXPECT_LT(max_abs_diff(hh, h32), 0.05);
    }
    lstm_set_bf16_kernel_isa("best");
    EXPECT_GE(ran, 1);
  }
}

TEST(StepKernels, BackwardMatchesReferenceCell) {
  for (StepCase sc : {StepCase{1, 0, 1}, {2, 0, 17}, {5, 0, 33}, {7, 0, 50}, {4, 0, 64},
                     {3, 0, 130}}) {
    SCOPED_TRACE("B=" + std::to_string(sc.B) + " H=" + std::to_string(sc.H));
    const int64_t B = sc.B, H = sc.H, G = 4 * H;
    Rng rng(uint64_t(B * 1000 + H));
    auto w_hh = test::random_vector(size_t(G * H), rng, -0.5f, 0.5f);
    auto da_next = test::random_vector(size_t(B * G), rng), dh_ext = test::random_vector(size_t(B * H), rng);
    auto gates = test::random_vector(size_t(B * G), rng, 0.01f, 0.99f);  // activations
    auto c_prev = test::random_vector(size_t(B * H), rng), c = test::random_vector(size_t(B * H), rng);
    auto dc_in = test::random_vector(size_t(B * H), rng);
    // Reference: dh = dh_ext + da_next·W_hh, then the scalar cell backward
    std::vector<float> dh_ref = dh_ext, da_ref(size_t(B * G)), dc_ref = dc_in;
    gemm_reference(false, false, B, H, G, 1.0f, da_next.data(), G, w_hh.data(), H, 1.0f, dh_ref.data(), H);
    lstm_cell_backward(da_ref.data(), dc_ref.data(), dh_ref.data(), gates.data(), c_prev.data(), c.data(), B, H);
    std::vector<float> packed(size_t(lstm_packed_backward_size(H)));
    lstm_pack_backward(w_hh.data(), H, packed.data());
    test::for_each_isa([&] {
      std::vector<float> da(size_t(B * G), 7.0f), dc = dc_in, dh(size_t(B * H), 7.0f);
      LstmStepBackward s{packed.data(), H, B, da_next.data(), dh_ext.data(), gates.data(),
                         c_prev.data(), c.data(), dc.data(), da.data(), dh.data()};
      const int64_t blocks = lstm_backward_blocks(H), mid = blocks / 2;
      lstm_step_backward(s, 0, mid);
      lstm_step_backward(s, mid, blocks);
      const double tol = 1e-6 + 2e-7 * double(G);  // float sums of 4H products
      EXPECT_LT(max_abs_diff(dh, dh_ref), tol);
      EXPECT_LT(max_abs_diff(da, da_ref), tol);
      EXPECT_LT(max_abs_diff(dc, dc_ref), tol);
    });
  }
}

// The bias gradient's column sums: every width path (up to 128 columns a pass, a partial last
// vector), rows lda apart (narrow rows: a last vector that would read past the array's end is
// read lane by lane; AddressSanitizer checks), at 1 and 2 threads (a large case splits the
// columns), the same as a plain double sum over the rows in order, to the bit.
TEST(StepKernels, ColumnSumsMatchDoubleSumInOrder) {
  struct Case { int64_t rows, cols, lda; };
  for (Case c : {Case{37, 3, 3}, {37, 1, 1}, {37, 4, 4}, {37, 12, 12}, {33, 9, 9}, {37, 200, 200}, {37, 252, 252}, {37, 400, 403},
                 {37, 1028, 1028}, {37, 5, 300}, {400, 300, 300}, {400, 100, 300}}) {
    SCOPED_TRACE("rows=" + std::to_string(c.rows) + " cols=" + std::to_string(c.cols) +
                 " lda=" + std::to_string(c.lda));
    Rng rng(static_cast<uint64_t>(c.cols + c.lda));
    auto a = test::random_vector(size_t(c.rows * c.lda), rng, -1.0f, 1.0f);
    auto start = test::random_vector(size_t(c.cols + 3), rng);  // 3 past the end: untouched
    std::vector<float> want = start;
    for (int64_t k = 0; k < c.cols; ++k) {
      double sum = 0;
      for (int64_t r = 0; r < c.rows; ++r) sum += a[size_t(r * c.lda + k)];
      want[size_t(k)] += float(sum);
    }
    test::for_each_isa([&] {
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        std::vector<float> got = start;
        lstm_sum_rows(a.data(), c.rows, c.cols, got.data(), c.lda == c.cols ? 0 : c.lda);
        EXPECT_EQ(got, want) << threads << " threads";
      }
      set_num_threads(0);
    });
  }
}

void check_thread_invariance(int64_t T, int64_t B, int64_t I, int64_t H);

TEST(StepKernels, SequenceResultsDoNotDependOnThreadCount) {
  // Large enough for a team: B = 16 splits the rows, B = 2 the hidden units (with barriers).
  for (int64_t B : {16, 2}) check_thread_invariance(4, B, 8, B == 2 ? 200 : 96);
}

void check_thread_invariance(int64_t T, int64_t B, int64_t I, int64_t H) {
  SCOPED_TRACE("B=" + std::to_string(B) + " H=" + std::to_string(H));
  const int64_t G = 4 * H;
  Rng rng(9);
  auto w_ih = test::random_vector(size_t(G * I), rng, -0.2f, 0.2f);
  auto w_hh = test::random_vector(size_t(G * H), rng, -0.2f, 0.2f);
  auto bias = test::random_vector(size_t(G), rng, -0.2f, 0.2f);
  auto x = test::random_vector(size_t(T * B * I), rng), dh_seq = test::random_vector(size_t(T * B * H), rng);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> gates(size_t(T * B * G)), h(size_t((T + 1) * B * H)), c(h.size());
    std::vector<float> dgates(gates.size()), dh(size_t(B * H)), dc(dh.size()), dx(x.size());
    std::vector<float> gw_ih(w_ih.size()), gw_hh(w_hh.size()), gb(bias.size()), dh0(dh.size());
    LstmActivations act{gates.data(), h.data(), c.data()};
    LstmWeights w{w_ih.data(), w_hh.data(), bias.data()};
    lstm_forward({T, B, I, H}, w, x.data(), act);
    LstmBackwardWork work{dgates.data(), dh.data(), dc.data()};
    LstmGrads g{gw_ih.data(), gw_hh.data(), gb.data()};
    lstm_backward({T, B, I, H}, w, x.data(), act, dh_seq.data(), nullptr, nullptr, work, g,
                  dx.data(), dh0.data(), nullptr);
    set_num_threads(0);
    std::vector<float> all = h;
    for (const auto* v : {&gw_ih, &gw_hh, &gb, &dx, &dh0}) all.insert(all.end(), v->begin(), v->end());
    return all;
  };
  const std::vector<float> one = run(1), two = run(2);
  EXPECT_EQ(one, two);  // bit for bit
  double norm = 0;
  for (float v : one) norm += std::fabs(v);
  EXPECT_GT(norm, 1.0);  // something was computed
}

}  // namespace
}  // namespace lstm

// The convolution's output sizes and padding (Keras's, TensorFlow's "same"), and its refusals;
// its numbers are checked against PyTorch in tests/parity/test_conv_parity.cpp.
// Images go through the GEMM in chunks of up to 4 MiB of patches: a batch split over chunks
// (here 2 images, then 1) gives what each image alone gives, forward and backward.
TEST(Conv2d, ChunksOfImagesMatchImageByImage) {
  const lstm::Conv2dShape s{.H = 80, .W = 80, .C = 8, .KH = 3, .KW = 3, .F = 4, .same = true};
  const int64_t B = 3, image = 80 * 80 * 8, out = 80 * 80 * 4;
  ASSERT_EQ(lstm::conv2d_workspace(s, B), 2 * 80 * 80 * 72);
  lstm::Rng rng(5);
  const std::vector<float> x = lstm::test::random_vector(size_t(B * image), rng),
                           k = lstm::test::random_vector(size_t(72 * 4), rng),
                           bias = lstm::test::random_vector(4, rng),
                           dy = lstm::test::random_vector(size_t(B * out), rng);
  std::vector<float> ws(size_t(lstm::conv2d_workspace(s, B))), y(size_t(B * out)),
      dx(size_t(B * image)), dk(k.size(), 0.0f), db(4, 0.0f);
  lstm::conv2d_forward(s, B, x.data(), k.data(), bias.data(), y.data(), ws.data());
  lstm::conv2d_backward(s, B, x.data(), k.data(), dy.data(), dx.data(), dk.data(), db.data(),
                        ws.data());
  std::vector<float> y1(static_cast<size_t>(out)), dx1(static_cast<size_t>(image)),
      dk1(k.size(), 0.0f), db1(4, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    lstm::conv2d_forward(s, 1, x.data() + b * image, k.data(), bias.data(), y1.data(), ws.data());
    lstm::conv2d_backward(s, 1, x.data() + b * image, k.data(), dy.data() + b * out, dx1.data(),
                          dk1.data(), db1.data(), ws.data());
    for (int64_t i = 0; i < out; ++i)
      ASSERT_NEAR(y[size_t(b * out + i)], y1[size_t(i)], 1e-5) << b << " " << i;
    for (int64_t i = 0; i < image; ++i)
      ASSERT_NEAR(dx[size_t(b * image + i)], dx1[size_t(i)], 1e-5) << b << " " << i;
  }
  for (size_t i = 0; i < k.size(); ++i)
    EXPECT_NEAR(dk[i], dk1[i], 1e-2 + 1e-4 * std::fabs(dk1[i])) << i;
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(db[i], db1[i], 1e-2) << i;
}

TEST(Conv2d, OutputSizesPaddingAndRefusals) {
  lstm::Conv2dShape s{.H = 7, .W = 6, .C = 3, .KH = 3, .KW = 3, .F = 4};
  EXPECT_EQ(s.out_h(), 5);
  EXPECT_EQ(s.out_w(), 4);
  EXPECT_EQ(s.pad_top(), 0);
  s.same = true;
  EXPECT_EQ(s.out_h(), 7);
  EXPECT_EQ(s.pad_top(), 1);
  lstm::Conv2dShape even{.H = 9, .W = 8, .C = 2, .KH = 4, .KW = 2, .F = 3, .stride_h = 2, .stride_w = 2, .same = true};
  EXPECT_EQ(even.out_h(), 5);      // ceil(9 / 2)
  EXPECT_EQ(even.pad_top(), 1);    // (5 - 1)·2 + 4 - 9 = 3 rows: 1 above, 2 below
  EXPECT_EQ(even.out_w(), 4);
  EXPECT_EQ(even.pad_left(), 0);   // (4 - 1)·2 + 2 - 8 = 0
  EXPECT_EQ(lstm::conv2d_workspace(even, 1), 5 * 4 * 4 * 2 * 2);      // one image's patches
  EXPECT_EQ(lstm::conv2d_workspace(even, 3), 3 * 5 * 4 * 4 * 2 * 2);  // a chunk of three
  lstm::Conv2dShape big{.H = 512, .W = 512, .C = 3, .KH = 3, .KW = 3, .F = 8, .same = true};
  EXPECT_EQ(lstm::conv2d_workspace(big, 16), 512 * 512 * 27);  // over 4 MiB: one at a time
  EXPECT_ERROR_WITH((lstm::Conv2dShape{.H = 2, .W = 8, .C = 1, .KH = 3, .KW = 3}.check()),
                    "does not fit in 2x8 images with padding=\"valid\"");
  EXPECT_ERROR_WITH((lstm::Conv2dShape{.H = 2, .W = 8, .C = 0}.check()), "at least 1x1 pixels and 1 channel");
  EXPECT_ERROR_WITH((lstm::Conv2dShape{.H = 2, .W = 8, .C = 1, .stride_h = 0}.check()), "strides are at least 1");
  EXPECT_NO_THROW((lstm::Conv2dShape{.H = 2, .W = 2, .C = 1, .KH = 5, .KW = 5, .same = true}.check()));
}
