// Sums of probabilities kept as logarithms (CTC's recursions and beam search).
#pragma once

#include <cmath>
#include <limits>
#include <utility>

namespace lstm {

inline constexpr double kNegInf = -std::numeric_limits<double>::infinity();  // log 0

// log(e^a + e^b), exact at -inf.
inline double log_add(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b == kNegInf) return a;
  return a + std::log1p(std::exp(b - a));
}

}  // namespace lstm
