// The sequence driver's prologue and epilogue. What each does: sequence_driver.h.
#include "layers/sequence_driver.h"

#include <omp.h>

#include <cstring>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "kernels/lstm_step.h"

namespace lstm {

void seq_project_inputs(const SeqDims& d, int64_t G, const float* w_ih, const float* bias,
                        const float* x, float* a) {
  const int64_t rows = d.T * d.B;
  for (int64_t r = 0; r < rows; ++r) {
    if (bias) std::memcpy(a + r * G, bias, sizeof(float) * size_t(G));
    else std::memset(a + r * G, 0, sizeof(float) * size_t(G));
  }
  gemm(false, true, rows, G, d.I, 1.0f, x, d.I, w_ih, d.I, 1.0f, a, G);
}

void seq_project_tokens(const SeqDims& d, int64_t G, const float* w_ih, const float* bias,
                        const TokenInput& tokens, float* proj, float* a) {
  const SeqDims table{1, tokens.V, tokens.D, d.H, nullptr};  // the V table rows as one batch
  seq_project_inputs(table, G, w_ih, bias, tokens.table, proj);
  const int64_t rows = d.T * d.B;
#pragma omp parallel for num_threads(threads_for_elements(rows * G))
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(a + r * G, proj + int64_t(tokens.ids[r]) * G, sizeof(float) * size_t(G));
}

void seq_token_grads(const SeqDims& d, int64_t G, const float* da, const TokenInput& tokens,
                     const float* w_ih, float* dw_ih, float* db, float* dproj) {
  const int64_t rows = d.T * d.B, V = tokens.V, D = tokens.D;
  std::memset(dproj, 0, sizeof(float) * size_t(V * G));
  // each thread its own columns, over every row in order: the same sums at any thread count
#pragma omp parallel num_threads(threads_for_elements(rows * G))
  {
    const int64_t k = omp_get_thread_num(), n = omp_get_num_threads();
    const int64_t c0 = G * k / n, c1 = G * (k + 1) / n;
    for (int64_t r = 0; r < rows; ++r) {
      float* to = dproj + int64_t(tokens.ids[r]) * G;
      const float* from = da + r * G;
      for (int64_t c = c0; c < c1; ++c) to[c] += from[c];
    }
  }
  gemm(true, false, G, D, V, 1.0f, dproj, G, tokens.table, D, 1.0f, dw_ih, D);
  if (db) lstm_sum_rows(dproj, V, G, db);
  gemm(false, false, V, D, G, 1.0f, dproj, G, w_ih, D, 1.0f, tokens.table_grad, D);
}

void seq_zero_ended(const SeqDims& d, float* v, int64_t width) {
  for (int64_t t = 0; d.active && t < d.T; ++t) {
    const int64_t n = d.active[t];
    if (n < d.B)
      std::memset(v + (t * d.B + n) * width, 0, sizeof(float) * size_t((d.B - n) * width));
  }
}

void seq_start_carry(const float* v, int64_t n, float* carry) {
  if (v) std::memcpy(carry, v, sizeof(float) * size_t(n));
  else std::memset(carry, 0, sizeof(float) * size_t(n));
}

void seq_input_grads(const SeqDims& d, int64_t G, const float* da, const float* x,
                     const float* w_ih, float* dw_ih, float* db, float* dx) {
  const int64_t rows = d.T * d.B;
  gemm(true, false, G, d.I, rows, 1.0f, da, G, x, d.I, 1.0f, dw_ih, d.I);
  if (db) lstm_sum_rows(da, rows, G, db);
  if (dx) gemm(false, false, rows, d.I, G, 1.0f, da, G, w_ih, d.I, 0.0f, dx, d.I);
}

void seq_recurrent_grads(const SeqDims& d, int64_t G, int64_t P, const float* da,
                         const float* h_in, float* dw_hh, float* db_hh) {
  const int64_t rows = d.T * d.B;
  gemm(true, false, G, P, rows, 1.0f, da, G, h_in, P, 1.0f, dw_hh, P);
  if (db_hh) lstm_sum_rows(da, rows, G, db_hh);
}

}  // namespace lstm
