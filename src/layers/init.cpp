// Keras's default initialisers (init.h).
#include "layers/init.h"

#include <cmath>
#include <vector>

namespace lstm {

void init_glorot_uniform(float* w, int64_t count, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const float limit = std::sqrt(6.0f / float(fan_in + fan_out));
  for (int64_t k = 0; k < count; ++k) w[k] = rng.uniform(-limit, limit);
}

void init_orthogonal(float* w, int64_t rows, int64_t cols, Rng& rng) {
  // Work on a tall matrix A (n x m), n >= m, and orthonormalise its m columns in double with
  // modified Gram-Schmidt; then write A, or Aᵀ when the wanted shape is wide. A is drawn row by
  // row and kept by columns (q[j·n + i] = A[i][j]), so that each column is contiguous.
  const bool tall = rows >= cols;
  const int64_t n = tall ? rows : cols, m = tall ? cols : rows;
  std::vector<double> q(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) q[size_t(j * n + i)] = rng.normal();
  for (int64_t j = 0; j < m; ++j) {
    double* col = q.data() + j * n;
    for (int64_t p = 0; p < j; ++p) {
      const double* prev = q.data() + p * n;
      double dot = 0.0;
      for (int64_t i = 0; i < n; ++i) dot += prev[i] * col[i];
      for (int64_t i = 0; i < n; ++i) col[i] -= dot * prev[i];
    }
    double norm = 0.0;
    for (int64_t i = 0; i < n; ++i) norm += col[i] * col[i];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < n; ++i) col[i] /= norm;
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      (tall ? w[i * cols + j] : w[j * cols + i]) = float(q[size_t(j * n + i)]);
}

}  // namespace lstm
