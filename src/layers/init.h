// Weight initialisers, as Keras defines them.
//   glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out))
//   orthogonal:     Q from the QR decomposition of a standard normal matrix, signs fixed so
//                   diag(R) > 0 (Gram-Schmidt gives exactly that), gain 1
#pragma once

#include <cstdint>

#include "core/rng.h"

namespace lstm {

void init_glorot_uniform(float* w, int64_t count, int64_t fan_in, int64_t fan_out, Rng& rng);

// w (rows, cols) row-major. rows >= cols: orthonormal columns; rows < cols: orthonormal rows.
void init_orthogonal(float* w, int64_t rows, int64_t cols, Rng& rng);

}  // namespace lstm
