// The one GEMM seam: every matrix product in the library goes through gemm().
//
//   C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C
//
// Row-major, op(X) = X or Xᵀ, leading dimensions in elements; beta = 0 ignores C's contents
// (NaN-safe). Exactly one file, gemm.cpp, includes a vendor header. gemm_reference is the naive
// triple loop, always built: the fallback when no vendor library was found, and the test oracle.
#pragma once

#include <cstdint>

namespace lstm {

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                    int64_t ldc);

const char* gemm_backend();  // "onednn" or "reference"

}  // namespace lstm
