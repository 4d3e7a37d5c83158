// Losses, value and gradient in one pass. Definitions: include/lstm/loss.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/threads.h"
#include "layers/loss_fn.h"
#include "lstm/ctc.h"
#include "lstm/error.h"

namespace lstm {

static constexpr float kEps = 1e-7f;  // Keras's backend epsilon, the probability clip

// log Σ_k exp(z_k) for one row, and softmax into s (may be null).
static double log_sum_exp(const float* z, int64_t E, float* s) {
  float mx = *std::max_element(z, z + E);
  double sum = 0.0;
  for (int64_t k = 0; k < E; ++k) sum += std::exp(double(z[k]) - mx);
  double lse = mx + std::log(sum);
  if (s)
    for (int64_t k = 0; k < E; ++k) s[k] = float(std::exp(double(z[k]) - lse));
  return lse;
}

double loss_forward_backward(const Loss& loss, const float* pred, const float* target, int64_t R,
                             int64_t E, float* dpred) {
  double total = 0.0;
  const int64_t n = R * E;
  switch (loss.kind) {
    case LossKind::mse: {
      const float scale = 2.0f / float(n);
      for (int64_t k = 0; k < n; ++k) {
        float diff = pred[k] - target[k];
        total += double(diff) * diff;
        if (dpred) dpred[k] = scale * diff;
      }
      return total / double(n);
    }
    case LossKind::mae: {
      const float scale = 1.0f / float(n);
      for (int64_t k = 0; k < n; ++k) {
        float diff = pred[k] - target[k];
        total += std::fabs(double(diff));
        if (dpred) dpred[k] = diff > 0.0f ? scale : diff < 0.0f ? -scale : 0.0f;
      }
      return total / double(n);
    }
    case LossKind::bce: {
      const float scale = 1.0f / float(n);
      for (int64_t k = 0; k < n; ++k) {
        float y = target[k];
        if (loss.from_logits) {
          double z = pred[k];
          total += std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::fabs(z)));
          if (dpred) dpred[k] = scale * (1.0f / (1.0f + std::exp(-pred[k])) - y);
        } else {
          float p = std::clamp(pred[k], kEps, 1.0f - kEps);
          total += -(y * std::log(double(p)) + (1.0 - y) * std::log(1.0 - double(p)));
          bool inside = pred[k] > kEps && pred[k] < 1.0f - kEps;
          if (dpred) dpred[k] = inside ? scale * (p - y) / (p * (1.0f - p)) : 0.0f;
        }
      }
      return total / double(n);
    }
    case LossKind::cce:
    case LossKind::scce: {
      const bool sparse = loss.kind == LossKind::scce;
      const float scale = 1.0f / float(R);
      const float keep = 1.0f - loss.label_smoothing, spread = loss.label_smoothing / float(E);
      for (int64_t r = 0; r < R; ++r) {
        const float* z = pred + r * E;
        float* dz = dpred ? dpred + r * E : nullptr;
        const int64_t label = sparse ? int64_t(target[r]) : -1;
        auto y = [&](int64_t k) {
          const float hard = sparse ? float(k == label) : target[r * E + k];
          return spread == 0.0f ? hard : keep * hard + spread;
        };
        if (loss.from_logits) {
          double lse = log_sum_exp(z, E, dz);  // dz holds softmax(z) for now
          float ysum = 0.0f;
          for (int64_t k = 0; k < E; ++k) {
            total -= y(k) * (double(z[k]) - lse);
            ysum += y(k);
          }
          if (dz)
            for (int64_t k = 0; k < E; ++k) dz[k] = scale * (dz[k] * ysum - y(k));
        } else if (sparse && spread == 0.0f) {  // one term: the label's (the others' targets are 0)
          const float p = std::clamp(z[label], kEps, 1.0f - kEps);
          total -= std::log(double(p));
          if (dz) {
            std::fill(dz, dz + E, 0.0f);
            if (z[label] > kEps && z[label] < 1.0f - kEps) dz[label] = -scale / p;
          }
        } else {
          for (int64_t k = 0; k < E; ++k) {
            float p = std::clamp(z[k], kEps, 1.0f - kEps);
            total -= y(k) * std::log(double(p));
            bool inside = z[k] > kEps && z[k] < 1.0f - kEps;
            if (dz) dz[k] = inside ? -scale * y(k) / p : 0.0f;
          }
        }
      }
      return total / double(R);
    }
    case LossKind::quantile: {
      const int64_t Q = loss.quantile_count, W = E / Q;
      const float scale = 1.0f / float(n);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t w = 0; w < W; ++w) {
          const float y = target[r * W + w];
          for (int64_t j = 0; j < Q; ++j) {
            const int64_t k = r * E + w * Q + j;
            const float q = loss.quantiles[size_t(j)], e = y - pred[k];
            total += e >= 0.0f ? double(q) * e : double(q - 1.0f) * e;  // max(q e, (q - 1) e)
            if (dpred) dpred[k] = scale * (e > 0.0f ? -q : e < 0.0f ? 1.0f - q : 0.5f - q);
          }
        }
      return total / double(n);
    }
    case LossKind::ctc:
      throw Error("the CTC loss scores whole sequences, not rows: ctc_batch_loss computes it");
  }
  return 0.0;
}

double ctc_batch_loss(const float* logits, int64_t T, int64_t B, int64_t C, const int64_t* lengths,
                      const float* targets, int64_t L, float* dlogits) {
  if (dlogits) std::memset(dlogits, 0, sizeof(float) * size_t(T * B * C));
  // per sample, then added in order: the same sum whichever thread took which sample
  thread_local std::vector<double> kept;
  std::vector<double>& per = kept;  // this thread's vector, shared with the team below
  per.assign(size_t(B), 0.0);
  const float scale = 1.0f / float(B);
  // (targets and lengths are checked before training, so ctc_loss does not throw in here)
#pragma omp parallel for schedule(dynamic, 1) num_threads(B > 1 ? team_threads() : 1)
  for (int64_t b = 0; b < B; ++b) {
    thread_local std::vector<int> labels;
    labels.clear();
    for (int64_t i = 0; i < L && targets[b * L + i] != 0.0f; ++i) labels.push_back(int(targets[b * L + i]));
    const int64_t frames = lengths ? lengths[b] : T;
    per[size_t(b)] = ctc_loss(logits + b * C, frames, C, B * C, labels, dlogits ? dlogits + b * C : nullptr, scale);
  }
  double total = 0.0;
  for (double v : per) total += v;
  return total / double(B);
}

void ctc_check_targets(const float* targets, int64_t N, int64_t L, int64_t C,
                       const std::function<int64_t(int64_t)>& frames, const char* what) {
  std::vector<int> labels;
  for (int64_t n = 0; n < N; ++n) {
    labels.clear();
    const float* row = targets + n * L;
    for (int64_t i = 0; i < L; ++i) {
      const float v = row[i];
      if (v == 0.0f) {  // padding: the rest must be padding too
        for (int64_t j = i + 1; j < L; ++j)
          if (row[j] != 0.0f)
            throw Error(std::string(what) + "[" + std::to_string(n) + "] has label " + std::to_string(row[j]) +
                        " at position " + std::to_string(j) + " after padding (0) at " + std::to_string(i) +
                        ": CTC targets are label ids right-padded with 0 (0 is the blank, never a label)");
        break;
      }
      if (!(v >= 1.0f && v < float(C) && v == std::floor(v)))
        throw Error(std::string(what) + "[" + std::to_string(n) + ", " + std::to_string(i) + "] = " +
                    std::to_string(v) + " is not a label: CTC takes integer ids in 1.." + std::to_string(C - 1) +
                    " (0 is the blank and pads the rows); the output has " + std::to_string(C) + " classes");
      labels.push_back(int(v));
    }
    const int64_t need = ctc_min_frames(labels), have = frames(n);
    if (need > have)
      throw Error(std::string(what) + "[" + std::to_string(n) + "] holds " + std::to_string(labels.size()) +
                  " labels, which need at least " + std::to_string(need) + " frames under CTC (one per label, "
                  "and a blank between equal neighbours), but its sequence has " + std::to_string(have) +
                  ": shorten the target, or give the model more frames (a smaller hop or less downsampling)");
  }
}

void loss_check_options(const Loss& loss) {
  const float e = loss.label_smoothing;
  if (!(e >= 0.0f && e < 1.0f))
    throw Error("compile: label_smoothing must be in [0, 1), got " + std::to_string(e));
  if (e > 0.0f && loss.kind != LossKind::cce && loss.kind != LossKind::scce)
    throw Error("compile: label_smoothing softens class targets, so it needs loss cce or scce, not " +
                loss_name(loss));
  if (loss.kind == LossKind::quantile) {
    std::vector<float> levels(loss.quantiles.begin(), loss.quantiles.begin() + std::clamp(loss.quantile_count, 0, kMaxQuantiles));
    if (loss.quantile_count < 1 || loss.quantile_count > kMaxQuantiles)
      throw Error("compile: the quantile loss needs 1 to " + std::to_string(kMaxQuantiles) + " levels (lstm::quantile_loss)");
    quantile_loss(levels);  // checks them
    if (loss.from_logits) throw Error("compile: the quantile loss regresses values; from_logits does not apply");
  }
  if (loss.kind == LossKind::ctc && !loss.from_logits)
    throw Error("compile: the CTC loss reads logits (it takes their log-softmax itself): use "
                "lstm::loss::ctc (from_logits = true) and end the model with a Dense layer without softmax");
}

int64_t loss_target_width(const Loss& loss, int64_t E) {
  if (loss.kind == LossKind::quantile) {
    const int64_t Q = loss.quantile_count;
    if (Q < 1 || E % Q != 0)
      throw Error("the quantile loss at " + std::to_string(Q) + " levels needs " + std::to_string(Q) +
                  " outputs per target value, but the model outputs " + std::to_string(E) +
                  ": make the last layer's width a multiple of " + std::to_string(Q));
    return E / Q;
  }
  return loss.kind == LossKind::scce ? 1 : E;
}

void loss_check_targets(const Loss& loss, const float* target, int64_t count, int64_t E,
                        const char* what) {
  if (loss.kind != LossKind::scce) return;
  for (int64_t k = 0; k < count; ++k) {
    float v = target[k];
    if (!(v >= 0.0f && v < float(E) && v == std::floor(v)))
      throw Error(std::string(what) + " holds " + std::to_string(v) + " at flat index " +
                  std::to_string(k) +
                  ", but sparse categorical cross-entropy needs integer class indices in [0, " +
                  std::to_string(E) + "): for one-hot targets use loss 'cce'");
  }
}

}  // namespace lstm
