// What a language model needs beyond its vocabulary (include/lstm/text.h): next-token windows
// for training and a sampler for generation.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/limits.h"
#include "core/rng.h"
#include "lstm/error.h"
#include "lstm/text.h"

namespace lstm {

void next_token_windows(std::span<const int64_t> ids, int64_t T, int64_t stride, Tensor& X, Tensor& y) {
  if (T < 1 || T > limits::kTimeSteps) throw Error("the window length must be at least 1, got " + std::to_string(T));
  if (stride < 1) throw Error("the window stride must be at least 1, got " + std::to_string(stride));
  const int64_t n_ids = int64_t(ids.size());
  if (n_ids < T + 1)
    throw Error("the text has " + std::to_string(n_ids) + " tokens, fewer than one window of " +
                std::to_string(T) + " plus the token after it: give more text or a shorter lookback");
  const int64_t N = (n_ids - T - 1) / stride + 1;
  X = Tensor({N, T});
  y = Tensor({N, T});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      X[n * T + t] = float(ids[size_t(n * stride + t)]);
      y[n * T + t] = float(ids[size_t(n * stride + t + 1)]);
    }
}

Sampler::Sampler(int64_t V, SamplingOptions o) : o_(o), weight_(size_t(std::max<int64_t>(V, 0))), order_(weight_.size()) {
  if (V < 2) throw Error("sampling needs a vocabulary of at least 2 ids, got " + std::to_string(V));
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature))
    throw Error("temperature must be a number >= 0, got " + std::to_string(o.temperature));
  if (o.top_k < 0) throw Error("top_k must be >= 0 (0: every token), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f))
    throw Error("top_p must be in (0, 1] (1: every token), got " + std::to_string(o.top_p));
  Rng seeded(o.seed);
  state_ = (uint64_t(seeded.next_u32()) << 32) | seeded.next_u32();
}

int64_t Sampler::next(std::span<const float> p) {
  const int64_t V = int64_t(weight_.size());
  if (int64_t(p.size()) != V)
    throw Error("the model gave " + std::to_string(p.size()) + " probabilities for a vocabulary of " +
                std::to_string(V));
  // the most likely token first (padding last and never drawn); ties by id
  std::iota(order_.begin(), order_.end(), 0);
  auto likely = [&](int64_t a, int64_t b) {
    const float pa = a == 0 ? -1.0f : p[size_t(a)], pb = b == 0 ? -1.0f : p[size_t(b)];
    return pa != pb ? pa > pb : a < b;
  };
  if (o_.temperature == 0.0f) return *std::min_element(order_.begin(), order_.end(), likely);
  int64_t keep = V - 1;  // all but padding
  if (o_.top_k > 0) keep = std::min(keep, o_.top_k);
  std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(), likely);
  // p^(1/T) relative to the most likely, so that low temperatures do not underflow to zero
  const double top = std::max(double(p[size_t(order_[0])]), 1e-30), inv = 1.0 / double(o_.temperature);
  double total = 0.0;
  for (int64_t k = 0; k < keep; ++k) {
    const double q = std::max(double(p[size_t(order_[size_t(k)])]), 0.0);
    total += weight_[size_t(k)] = std::pow(q / top, inv);
  }
  if (!(total > 0.0) || !std::isfinite(total)) return order_[0];
  if (o_.top_p < 1.0f) {  // the smallest head whose share reaches top_p
    double head = 0.0;
    for (int64_t k = 0; k < keep; ++k) {
      head += weight_[size_t(k)];
      if (head >= double(o_.top_p) * total) {
        keep = k + 1, total = head;
        break;
      }
    }
  }
  // a uniform draw from 53 random bits (splitmix64), scaled to the kept total
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  double u = double(z >> 11) * (1.0 / 9007199254740992.0) * total;
  for (int64_t k = 0; k < keep; ++k) {
    u -= weight_[size_t(k)];
    if (u < 0.0) return order_[size_t(k)];
  }
  return order_[size_t(keep - 1)];
}

}  // namespace lstm
