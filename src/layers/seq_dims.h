// The shape of one pass of a recurrent layer over a batch, shared by the cells' sequence code.
#pragma once

#include <cstdint>

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

}  // namespace lstm
