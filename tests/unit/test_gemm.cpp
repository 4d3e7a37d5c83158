// The GEMM seam against the naive reference, for every transpose combination, odd sizes,
// alpha/beta, and leading dimensions larger than the rows; products split into parts among
// threads; and results that do not depend on the team that runs the parts.
#include <gtest/gtest.h>

#include <cstring>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "test_util.h"

namespace lstm {

// gemm against gemm_reference on padded leading dimensions (ldc = N + pad); C's padding must
// come back as it went in.
static void check_against_reference(int64_t M, int64_t N, int64_t K, bool ta, bool tb, float beta,
                                    int64_t pad, float tolerance, Rng& rng) {
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + pad;
  std::vector<float> A = test::random_vector(size_t((ta ? K : M) * lda), rng);
  std::vector<float> B = test::random_vector(size_t((tb ? N : K) * ldb), rng);
  std::vector<float> C = test::random_vector(size_t(M * ldc), rng), C_ref = C;
  gemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  gemm_reference(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, beta, C_ref.data(), ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < ldc; ++j)
      ASSERT_NEAR(C[size_t(i * ldc + j)], C_ref[size_t(i * ldc + j)], tolerance)
          << num_threads() << " threads " << M << "x" << N << "x" << K << " ta=" << ta << " tb=" << tb
          << " beta=" << beta;
}

TEST(Gemm, MatchesReferenceForEveryLayout) {
  Rng rng(7);
  const int64_t sizes[][3] = {{1, 1, 1}, {1, 200, 50}, {32, 200, 50}, {7, 13, 5}, {64, 33, 129}, {3, 1, 17}};
  for (auto& s : sizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (float beta : {0.0f, 1.0f, 0.5f}) check_against_reference(s[0], s[1], s[2], ta, tb, beta, 1, 1e-4f, rng);
}

TEST(Gemm, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A{1, 2}, B{3, 4}, C{std::nanf("")};
  gemm(false, true, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 1);
  EXPECT_FLOAT_EQ(C[0], 11.0f);
  gemm_reference(false, true, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 1);
  EXPECT_FLOAT_EQ(C[0], 11.0f);
}

// Products large enough to be split among threads (core/threads.h: 2 and 3 configured
// threads), every layout, beta and padded leading dimensions: the parts must tile C exactly.
TEST(Gemm, SplitProductsMatchReference) {
  Rng rng(11);
  const int64_t sizes[][3] = {{3200 / 8, 1024 / 4, 65}, {50, 128, 1000}, {256, 1, 3200}, {1, 300, 4000}, {77, 45, 700}};
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    for (auto& s : sizes)
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
          check_against_reference(s[0], s[1], s[2], ta, tb, (ta + tb) % 2 ? 0.5f : 0.0f, 5, 2e-3f, rng);
  }
  set_num_threads(0);
}

// The shapes for which oneDNN's own threading sums in a different order on 1 and 2 threads
// (it splits K: weight gradients with one output column, say; found by a sweep of 1,400
// products): through the seam the team changes nothing, so a ThreadGovernor that shrinks it
// under load changes no result.
TEST(Gemm, ResultsDoNotDependOnTheTeam) {
  Rng rng(12);
  const int64_t sizes[][5] = {{256, 1, 20000, 1, 0}, {1024, 1, 3200, 1, 1}, {50, 128, 1000, 0, 1},
                              {64, 1024, 1000, 0, 1}, {200, 1, 100000, 1, 0}};
  for (int threads : {2, 3}) {
    set_num_threads(threads);
    for (auto& s : sizes) {
      const int64_t M = s[0], N = s[1], K = s[2];
      const bool ta = s[3], tb = s[4];
      std::vector<float> A = test::random_vector(size_t(M * K), rng), B = test::random_vector(size_t(K * N), rng);
      auto run = [&](int team) {
        set_team(team);
        std::vector<float> C(size_t(M * N));
        gemm(ta, tb, M, N, K, 1.0f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.0f, C.data(), N);
        set_team(0);
        return C;
      };
      const std::vector<float> all = run(threads), one = run(1);
      EXPECT_EQ(0, std::memcmp(all.data(), one.data(), sizeof(float) * all.size()))
          << threads << " threads " << M << "x" << N << "x" << K << " ta=" << ta << " tb=" << tb;
    }
  }
  set_num_threads(0);
}

}  // namespace lstm
