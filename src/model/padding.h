// Per-sample lengths read off right-padded data (Embedding(mask_zero), Masking), with the checks
// that name the sample: Sequential and graph models both read their padding this way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lstm/error.h"

namespace lstm {

// Lengths from padding: a step is padding when pad(n, t) holds; padding must fill the end.
template <class IsPad>
std::vector<int64_t> lengths_from_padding(int64_t N, int64_t T, IsPad pad, const char* name,
                                          const std::string& what) {
  std::vector<int64_t> lengths(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t L = T;
    while (L > 0 && pad(n, L - 1)) --L;
    if (L == 0)
      throw Error(std::string(name) + ": sample " + std::to_string(n) + " is all padding (" + what +
                  "): every sequence needs at least one step");
    for (int64_t t = 0; t < L; ++t)
      if (pad(n, t))
        throw Error(std::string(name) + ": sample " + std::to_string(n) + " has padding (" + what +
                    ") at step " + std::to_string(t) + " before its last valid step " +
                    std::to_string(L - 1) + ": sequences must be right-padded (padding only "
                    "at the end)");
    lengths[size_t(n)] = L;
  }
  return lengths;
}

}  // namespace lstm
