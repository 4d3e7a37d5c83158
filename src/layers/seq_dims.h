// The shape of one pass of a recurrent layer over a batch, shared by the cells' sequence code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lstm {

// T = time steps, B = batch rows, I = input features, H = hidden units.
struct SeqDims {
  int64_t T, B, I, H;
  // Variable lengths: rows with length > t, for each step t (non-increasing: rows sorted by
  // length, longest first), or null: every row runs all T steps. Rows that have ended are not
  // stepped; forward writes zeros to their states and backward zero to their gradients.
  const int64_t* active = nullptr;
  int64_t rows_at(int64_t t) const { return active ? active[t] : B; }
};

// active[t] = the rows with length > t, for `lengths` sorted longest first (each 0..T).
inline std::vector<int64_t> rows_running(const std::vector<int64_t>& lengths, int64_t T) {
  std::vector<int64_t> active(static_cast<std::size_t>(T), 0);
  for (int64_t L : lengths)
    for (int64_t t = 0; t < L; ++t) ++active[std::size_t(t)];
  return active;
}

}  // namespace lstm
