// The GEMM backend: oneDNN's dnnl_sgemm when the build found it (Debian libdnnl-dev), else the
// reference loops. The only file in the project that includes a vendor header.
#include "gemm/gemm.h"

#include "core/threads.h"

#if LSTM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

namespace lstm {

// Multiply-adds below which a GEMM runs on one thread.
constexpr double kSerialMacs = 1 << 20;

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  init_threads();
  if (K <= 0) {  // empty sum: C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
#if LSTM_HAVE_DNNL
  // A product too small to split runs on the calling thread: waking a team costs more than it
  // saves (measured: ts-keras50 trains 22% slower on 2 threads than on 1 otherwise).
  const bool tiny = double(M) * double(N) * double(K) < kSerialMacs;
  const int team = tiny ? omp_get_max_threads() : 1;
  if (tiny && team > 1) omp_set_num_threads(1);
  dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (tiny && team > 1) omp_set_num_threads(team);
#else
  gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char* gemm_backend() { return LSTM_HAVE_DNNL ? "onednn" : "reference"; }

}  // namespace lstm
