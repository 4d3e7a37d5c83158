// Checks of the data a model is given, shared by Sequential and graph models: finite values,
// and per-sample lengths read off right-padded data (Embedding(mask_zero), Masking), with
// messages that name the sample.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/tensor.h"

namespace lstm {

// The rows of each tensor that this process checks: all of them, except while the ranks of an
// MPI job share the checks of fit()'s data (distributed::check_shared): then rank `part` of
// `parts` checks rows [N·part/parts, N·(part+1)/parts) of the first axis, and the ranks agree
// on the verdict afterwards. So a rank reads only its share of a mapped file (lstm::map_npy).
struct CheckShare {
  int part = 0, parts = 1;
};
inline thread_local CheckShare check_share;

// Throws lstm::Error naming the first NaN or Inf of t (of this process's share) by its index.
inline void check_finite(const Tensor& t, const std::string& name) {
  const int64_t N = t.rank() > 0 ? t.dim(0) : 1, row = N > 0 ? t.size() / N : 0;
  const int64_t begin = N * check_share.part / check_share.parts * row,
                end = N * (check_share.part + 1) / check_share.parts * row;
  for (int64_t k = begin; k < end; ++k) {
    if (!std::isfinite(t[k])) {
      int64_t rest = k;
      std::vector<int64_t> idx(static_cast<size_t>(t.rank()));
      for (int a = t.rank() - 1; a >= 0; --a) idx[size_t(a)] = rest % t.dim(a), rest /= t.dim(a);
      throw Error(name + " contains " + (std::isnan(t[k]) ? "NaN" : "Inf") +
                  " at index " + shape_string(idx) +
                  ": remove or fill missing values before training or predicting");
    }
  }
}

// Lengths from padding: a step is padding when pad(n, t) holds; padding must fill the end.
template <class IsPad>
std::vector<int64_t> lengths_from_padding(int64_t N, int64_t T, IsPad pad, const char* name,
                                          const std::string& what) {
  std::vector<int64_t> lengths(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t L = T;
    while (L > 0 && pad(n, L - 1)) --L;  // all padding (L = 0): the initial state, as Keras
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
