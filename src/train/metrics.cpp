// The metrics of compile() (metrics.h).
#include "train/metrics.h"

#include <algorithm>
#include <cmath>

#include "layers/loss_fn.h"
#include "lstm/error.h"

namespace lstm {

std::vector<MetricSpec> resolve_metrics(const std::vector<std::string>& names, const Loss& loss,
                                        int64_t E, const std::string& where) {
  struct Named { const char* name; MetricKind kind; };
  static const Named table[] = {
      {"binary_accuracy", MetricKind::binary_accuracy},
      {"categorical_accuracy", MetricKind::categorical_accuracy},
      {"sparse_categorical_accuracy", MetricKind::sparse_categorical_accuracy},
      {"mae", MetricKind::mae}, {"mean_absolute_error", MetricKind::mae},
      {"mse", MetricKind::mse}, {"mean_squared_error", MetricKind::mse},
      {"rmse", MetricKind::rmse}, {"root_mean_squared_error", MetricKind::rmse},
      {"auc", MetricKind::auc},
  };
  std::vector<MetricSpec> out;
  if (loss.kind == LossKind::ctc && !names.empty())
    throw Error(where + ": metric \"" + names[0] + "\": a CTC output is read by decoding whole sequences "
                "(lstm/ctc.h), so per-step metrics do not apply; error rates come from decoding "
                "(lstm speech evaluate)");
  if (loss.kind == LossKind::quantile && !names.empty())
    throw Error(where + ": metric \"" + names[0] + "\": a quantile output holds several values per "
                "target (one per level), so per-value metrics do not apply; the forecaster scores "
                "its median and its intervals' coverage (lstm evaluate)");
  for (const std::string& name : names) {
    const std::string at = where + ": metric \"" + name + "\"";
    MetricSpec spec{name, MetricKind::mae};
    bool found = false;
    if (name == "accuracy" || name == "acc") {
      found = true;
      switch (loss.kind) {
        case LossKind::bce: spec.kind = MetricKind::binary_accuracy; break;
        case LossKind::cce: spec.kind = MetricKind::categorical_accuracy; break;
        case LossKind::scce: spec.kind = MetricKind::sparse_categorical_accuracy; break;
        default:
          throw Error(at + ": accuracy counts right classes, but the loss is " + loss_name(loss) +
                      ", a regression: use mae, mse or rmse, or a classification loss");
      }
    }
    for (const Named& n : table)
      if (!found && name == n.name) spec.kind = n.kind, found = true;
    if (!found)
      throw Error(at + " is unknown: use accuracy, binary_accuracy, categorical_accuracy, "
                  "sparse_categorical_accuracy, mae, mse, rmse or auc");
    const bool labels = loss.kind == LossKind::scce;
    if (spec.kind == MetricKind::sparse_categorical_accuracy && (!labels || (E > 0 && E < 2)))
      throw Error(at + " reads class indices as targets, which only sparse categorical "
                  "cross-entropy takes: use categorical_accuracy for one-hot targets");
    if (spec.kind != MetricKind::sparse_categorical_accuracy && labels)
      throw Error(at + ": the targets are class indices (sparse categorical cross-entropy), "
                  "so use accuracy (sparse_categorical_accuracy)");
    if (spec.kind == MetricKind::categorical_accuracy && E > 0 && E < 2)
      throw Error(at + " needs one output unit per class (at least 2), the output has " +
                  std::to_string(E));
    if (spec.kind == MetricKind::auc && E > 0 && E != 1)
      throw Error(at + ": AUC here is of one binary output (a probability or logit per sample), "
                  "the output has " + std::to_string(E) + " units");
    out.push_back(spec);
  }
  return out;
}

void MetricState::reset() {
  sum_ = 0.0, count_ = 0;
  scored_.clear();
}

static int64_t argmax(const float* v, int64_t n) {
  return int64_t(std::max_element(v, v + n) - v);
}

void MetricState::update(const float* pred, const float* target, int64_t R, int64_t E) {
  switch (spec_.kind) {
    case MetricKind::binary_accuracy: {
      const float cut = logits_ ? 0.0f : 0.5f;
      for (int64_t k = 0; k < R * E; ++k) sum_ += (pred[k] > cut) == (target[k] > 0.5f);
      count_ += R * E;
      break;
    }
    case MetricKind::categorical_accuracy:
      for (int64_t r = 0; r < R; ++r) sum_ += argmax(pred + r * E, E) == argmax(target + r * E, E);
      count_ += R;
      break;
    case MetricKind::sparse_categorical_accuracy:
      for (int64_t r = 0; r < R; ++r) sum_ += argmax(pred + r * E, E) == int64_t(target[r]);
      count_ += R;
      break;
    case MetricKind::mae:
      for (int64_t k = 0; k < R * E; ++k) sum_ += std::fabs(double(pred[k]) - target[k]);
      count_ += R * E;
      break;
    case MetricKind::mse:
    case MetricKind::rmse:
      for (int64_t k = 0; k < R * E; ++k) sum_ += (double(pred[k]) - target[k]) * (double(pred[k]) - target[k]);
      count_ += R * E;
      break;
    case MetricKind::auc:
      for (int64_t r = 0; r < R; ++r) scored_.push_back({pred[r], target[r] > 0.5f});
      break;
  }
}

double MetricState::result() const {
  if (spec_.kind == MetricKind::auc) {
    // Mann-Whitney: the share of (positive, negative) pairs ranked right, ties counted half.
    std::vector<std::pair<float, bool>> s = scored_;
    std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    double pos = 0, neg = 0, right = 0;
    for (size_t i = 0; i < s.size();) {
      size_t j = i;
      double p = 0, n = 0;
      while (j < s.size() && s[j].first == s[i].first) (s[j].second ? p : n) += 1, ++j;
      right += p * neg + 0.5 * p * n;  // positives above every negative seen so far
      pos += p, neg += n;
      i = j;
    }
    return pos > 0 && neg > 0 ? right / (pos * neg) : std::nan("");
  }
  if (count_ == 0) return std::nan("");
  const double mean = sum_ / double(count_);
  return spec_.kind == MetricKind::rmse ? std::sqrt(mean) : mean;
}

std::vector<MetricState> metric_states(const std::vector<MetricSpec>& specs, const Loss& loss) {
  std::vector<MetricState> out;
  for (const MetricSpec& s : specs) out.emplace_back(s, loss.from_logits);
  return out;
}

void add_metrics(const std::vector<MetricState>& metrics, const std::string& prefix, Logs& logs) {
  for (const MetricState& m : metrics) logs[prefix + m.spec().name] = m.result();
}

bool higher_is_better(const std::string& monitor) {
  return monitor.find("acc") != std::string::npos || monitor.find("auc") != std::string::npos;
}

}  // namespace lstm
