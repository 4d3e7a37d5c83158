// The GEMM seam against the naive reference, for every transpose combination, odd sizes,
// alpha/beta, and leading dimensions larger than the rows.
#include <gtest/gtest.h>

#include "gemm/gemm.h"
#include "test_util.h"

namespace lstm {

TEST(Gemm, MatchesReferenceForEveryLayout) {
  Rng rng(7);
  const int64_t sizes[][3] = {{1, 1, 1}, {1, 200, 50}, {32, 200, 50}, {7, 13, 5}, {64, 33, 129}, {3, 1, 17}};
  for (auto& s : sizes) {
    const int64_t M = s[0], N = s[1], K = s[2];
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
          std::vector<float> A = test::random_vector(size_t((ta ? K : M) * lda), rng);
          std::vector<float> B = test::random_vector(size_t((tb ? N : K) * ldb), rng);
          std::vector<float> C = test::random_vector(size_t(M * ldc), rng), C_ref = C;
          gemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
          gemm_reference(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, beta, C_ref.data(), ldc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j)
              ASSERT_NEAR(C[size_t(i * ldc + j)], C_ref[size_t(i * ldc + j)], 1e-4)
                  << M << "x" << N << "x" << K << " ta=" << ta << " tb=" << tb << " beta=" << beta;
        }
      }
    }
  }
}

TEST(Gemm, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A{1, 2}, B{3, 4}, C{std::nanf("")};
  gemm(false, true, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 1);
  EXPECT_FLOAT_EQ(C[0], 11.0f);
  gemm_reference(false, true, 1, 1, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 1);
  EXPECT_FLOAT_EQ(C[0], 11.0f);
}

}  // namespace lstm
