// CTC loss by the forward-backward recursions in log space. Equations: include/lstm/ctc.h.
#include "lstm/ctc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "speech/log_space.h"

namespace lstm {


int64_t ctc_min_frames(std::span<const int> labels) {
  int64_t need = int64_t(labels.size());
  for (size_t i = 1; i < labels.size(); ++i) need += labels[i] == labels[i - 1];
  return need;
}

// The working arrays of one sequence, kept per thread so that a training step allocates only
// when a longer sequence than any before arrives.
struct CtcScratch {
  std::vector<double> y, alpha, beta, gamma;  // y: T×C log-softmax; alpha, beta: T×S; gamma: C
  std::vector<int> ext;                       // l', S entries
};

double ctc_loss(const float* logits, int64_t T, int64_t C, int64_t row_stride,
                std::span<const int> labels, float* dlogits, float scale) {
  if (T < 1) throw Error("ctc_loss: a sequence needs at least one frame, got T = " + std::to_string(T));
  if (C < 2) throw Error("ctc_loss: C = " + std::to_string(C) + " classes, but CTC needs the blank (0) and at least one label");
  if (row_stride < C) throw Error("ctc_loss: row_stride " + std::to_string(row_stride) + " is less than C = " + std::to_string(C));
  const int64_t L = int64_t(labels.size()), S = 2 * L + 1;
  for (int64_t i = 0; i < L; ++i)
    if (labels[size_t(i)] < 1 || labels[size_t(i)] >= C)
      throw Error("ctc_loss: label " + std::to_string(labels[size_t(i)]) + " at position " + std::to_string(i) +
                  " is outside 1.." + std::to_string(C - 1) + " (0 is the blank)");
  thread_local CtcScratch w;
  w.y.resize(size_t(T * C));
  w.ext.assign(size_t(S), 0);
  for (int64_t i = 0; i < L; ++i) w.ext[size_t(2 * i + 1)] = labels[size_t(i)];
  // y_t = log softmax(z_t), in double
  for (int64_t t = 0; t < T; ++t) {
    const float* z = logits + t * row_stride;
    double* y = w.y.data() + t * C;
    const double mx = *std::max_element(z, z + C);
    double sum = 0.0;
    for (int64_t k = 0; k < C; ++k) sum += std::exp(double(z[k]) - mx);
    const double lse = mx + std::log(sum);
    for (int64_t k = 0; k < C; ++k) y[k] = double(z[k]) - lse;
  }
  auto zero_grad = [&] {
    if (!dlogits) return;
    for (int64_t t = 0; t < T; ++t) std::fill(dlogits + t * row_stride, dlogits + t * row_stride + C, 0.0f);
  };
  if (ctc_min_frames(labels) > T) {
    zero_grad();
    return std::numeric_limits<double>::infinity();
  }
  const int* ext = w.ext.data();
  // a skip from s-2 to s is allowed when l'_s is a label unlike l'_{s-2}
  auto can_skip = [&](int64_t s) { return s >= 2 && ext[s] != 0 && ext[s] != ext[s - 2]; };
  w.alpha.assign(size_t(T * S), kNegInf);
  double* alpha = w.alpha.data();
  alpha[0] = w.y[0];
  if (S > 1) alpha[1] = w.y[size_t(ext[1])];
  for (int64_t t = 1; t < T; ++t) {
    const double* prev = alpha + (t - 1) * S;
    double* cur = alpha + t * S;
    const double* y = w.y.data() + t * C;
    for (int64_t s = 0; s < S; ++s) {
      double a = prev[s];
      if (s >= 1) a = log_add(a, prev[s - 1]);
      if (can_skip(s)) a = log_add(a, prev[s - 2]);
      cur[s] = a == kNegInf ? kNegInf : a + y[ext[s]];
    }
  }
  const double* last = alpha + (T - 1) * S;
  const double log_p = S > 1 ? log_add(last[S - 1], last[S - 2]) : last[0];
  if (!dlogits) return -log_p;
  if (log_p == kNegInf) {  // underflow of a possible but vanishingly unlikely target
    zero_grad();
    return std::numeric_limits<double>::infinity();
  }
  w.beta.assign(size_t(T * S), kNegInf);
  double* beta = w.beta.data();
  {
    const double* y = w.y.data() + (T - 1) * C;
    beta[(T - 1) * S + S - 1] = y[0];
    if (S > 1) beta[(T - 1) * S + S - 2] = y[ext[S - 2]];
  }
  for (int64_t t = T - 2; t >= 0; --t) {
    const double* next = beta + (t + 1) * S;
    double* cur = beta + t * S;
    const double* y = w.y.data() + t * C;
    for (int64_t s = 0; s < S; ++s) {
      double b = next[s];
      if (s + 1 < S) b = log_add(b, next[s + 1]);
      if (s + 2 < S && can_skip(s + 2)) b = log_add(b, next[s + 2]);
      cur[s] = b == kNegInf ? kNegInf : b + y[ext[s]];
    }
  }
  // ∂(-log P)/∂z_t(k) = e^{y_t(k)} - γ_t(k)
  w.gamma.resize(size_t(C));
  for (int64_t t = 0; t < T; ++t) {
    const double* y = w.y.data() + t * C;
    std::fill(w.gamma.begin(), w.gamma.end(), kNegInf);
    for (int64_t s = 0; s < S; ++s) {
      const double ab = alpha[t * S + s] + beta[t * S + s];
      if (ab != kNegInf) w.gamma[size_t(ext[s])] = log_add(w.gamma[size_t(ext[s])], ab);
    }
    float* d = dlogits + t * row_stride;
    for (int64_t k = 0; k < C; ++k) {
      const double g = w.gamma[size_t(k)] == kNegInf ? 0.0 : std::exp(w.gamma[size_t(k)] - y[k] - log_p);
      d[k] = float(double(scale) * (std::exp(y[k]) - g));
    }
  }
  return -log_p;
}

}  // namespace lstm
