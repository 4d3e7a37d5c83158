// The GEMM backend: oneDNN's dnnl_sgemm when the build found it (Debian libdnnl-dev), else the
// reference loops. The only file in the project that includes a vendor header.
#include "gemm/gemm.h"

#include <algorithm>
#include <thread>

#include "core/threads.h"

#if LSTM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

namespace lstm {

// Multiply-adds below which a GEMM runs on one thread.
constexpr double kSerialMacs = 1 << 20;

#if LSTM_HAVE_DNNL
// How a product is cut into parts, each computed whole by one thread (a single-threaded
// dnnl_sgemm): a grid of pm x pn blocks of C, from the shape and the machine's core count only,
// not the configured thread count. oneDNN's own threading splits K for some shapes (a weight
// gradient with N = 1, say), and how depends on the team: cutting C ourselves makes every
// element the same sum whichever team runs the parts, so a team that shrinks under load
// (ThreadGovernor) changes no result. And the same calls at every thread count: oneDNN's AVX2
// sgemm gives an element other bits when the call's shape around it changes (measured on an
// AMD EPYC: C = AᵀB of 600 x 600, K = 10, computed whole or as two halves of rows or columns,
// differs in ~1% of elements), so a grid that followed the thread count made 1 and 2 threads
// disagree (RnnStep.SequenceResultsDoNotDependOnThreadCount). One thread runs the parts one
// after the other. Against oneDNN's own threads: docs/performance.md, "Busy machines".
struct GemmGrid {
  int64_t pm = 1, pn = 1, rows = 0, cols = 0;  // block sizes, rounded to whole 8 rows / 16 columns
};

static int64_t machine_cores() {
  static const int64_t cores = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  return cores;
}

static GemmGrid gemm_grid(int64_t M, int64_t N, double macs) {
  const int64_t parts = std::min<int64_t>(machine_cores(), std::max<int64_t>(1, int64_t(macs / (1 << 19))));
  GemmGrid g;
  double best = 1e300;  // each block packs its rows of A and its columns of B: least of both
  for (int64_t pm = 1; pm <= parts; ++pm) {
    if (parts % pm) continue;
    const int64_t pn = parts / pm;
    if ((pm > 1 && M < 8 * pm) || (pn > 1 && N < 16 * pn)) continue;
    const double cost = double(M) / double(pm) + double(N) / double(pn);
    if (cost < best) best = cost, g.pm = pm, g.pn = pn;
  }
  g.rows = (M + g.pm - 1) / g.pm, g.cols = (N + g.pn - 1) / g.pn;
  if (g.pm > 1) g.rows = (g.rows + 7) / 8 * 8, g.pm = (M + g.rows - 1) / g.rows;
  if (g.pn > 1) g.cols = (g.cols + 15) / 16 * 16, g.pn = (N + g.cols - 1) / g.cols;
  return g;
}
#endif

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
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
  // A product too small to split runs whole on the calling thread: waking a team costs more
  // than it saves (measured: ts-keras50 trains 22% slower on 2 threads than on 1 otherwise).
  const double macs = double(M) * double(N) * double(K);
  const GemmGrid g = macs < kSerialMacs ? GemmGrid{1, 1, M, N} : gemm_grid(M, N, macs);
  const int64_t parts = g.pm * g.pn;
  auto part = [&](int64_t p) {
    const int64_t i0 = (p / g.pn) * g.rows, j0 = (p % g.pn) * g.cols;
    const int64_t m = std::min(g.rows, M - i0), n = std::min(g.cols, N - j0);
    const float* a = trans_a ? A + i0 : A + i0 * lda;  // rows i0.. of op(A)
    const float* b = trans_b ? B + j0 * ldb : B + j0;  // columns j0.. of op(B)
    dnnl_sgemm(ta, tb, m, n, K, alpha, a, lda, b, ldb, beta, C + i0 * ldc + j0, ldc);
  };
  const int outer = omp_get_max_threads(), team = int(std::min<int64_t>(parts, outer));
  if (team <= 1) {  // one after the other on this thread
    if (outer > 1) omp_set_num_threads(1);
    for (int64_t p = 0; p < parts; ++p) part(p);
    if (outer > 1) omp_set_num_threads(outer);
    return;
  }
#pragma omp parallel num_threads(team)
  {
    omp_set_num_threads(1);  // each part runs single-threaded inside oneDNN
#pragma omp for schedule(static)
    for (int64_t p = 0; p < parts; ++p) part(p);
  }
#else
  gemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char* gemm_backend() { return LSTM_HAVE_DNNL ? "onednn" : "reference"; }

}  // namespace lstm
