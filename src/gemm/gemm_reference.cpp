// Naive GEMM: the oracle for tests and the fallback backend (see gemm.h).
#include "gemm/gemm.h"

namespace lstm {

void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      float sum = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        float a = trans_a ? A[k * lda + i] : A[i * lda + k];
        float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        sum += a * b;
      }
      float* c = &C[i * ldc + j];
      *c = alpha * sum + (beta == 0.0f ? 0.0f : beta * *c);
    }
  }
}

}  // namespace lstm
