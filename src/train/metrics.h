// Metrics: what compile(..., {.metrics = {...}}) reports next to the loss, per epoch, in History,
// on the progress line and to callbacks ("val_" prefixed on validation data). Each is
// accumulated over every prediction of the epoch - over valid steps only for masked sequences,
// as the loss - and is exact (no thresholds approximating AUC).
//
//   accuracy                 the one the loss implies: binary (bce), categorical (cce),
//                            sparse categorical (scce); with mse or mae it is refused
//   binary_accuracy          p > 0.5 (logits > 0 with a from_logits loss) equals y > 0.5, per value
//   categorical_accuracy     argmax p = argmax y
//   sparse_categorical_accuracy  argmax p = y (a class index)
//   mae, mse, rmse           per value, the mean over the epoch (rmse: the root of its mse)
//   auc                      ROC AUC of binary targets, exact (Mann-Whitney, ties halved)
// Dimensions: R = predictions (rows), E = output width, W = target width (E, or 1 for labels).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lstm/loss.h"
#include "lstm/model.h"

namespace lstm {

enum class MetricKind { binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mae, mse, rmse, auc };

struct MetricSpec {
  std::string name;  // as the user wrote it: the key in the logs
  MetricKind kind;
};

// The metrics `names` ask for, for an output of width E (0: not known yet, widths unchecked)
// trained with `loss`. Throws lstm::Error
// naming the metric, the reason and the fix (an unknown name, accuracy of a regression, a
// target layout the metric cannot read).
std::vector<MetricSpec> resolve_metrics(const std::vector<std::string>& names, const Loss& loss,
                                        int64_t E, const std::string& where);

// One metric's running sums over an epoch.
class MetricState {
 public:
  MetricState(MetricSpec spec, bool from_logits) : spec_(std::move(spec)), logits_(from_logits) {}
  const MetricSpec& spec() const { return spec_; }
  void reset();
  // pred (R, E); target (R, W).
  void update(const float* pred, const float* target, int64_t R, int64_t E);
  double result() const;  // NaN before any update (or for AUC with one class only)
  // The running sums themselves, which the ranks of an MPI job add together before result()
  // (distributed/data_parallel.h): a sum and a count, or AUC's scored predictions.
  double& running_sum() { return sum_; }
  int64_t& running_count() { return count_; }
  std::vector<std::pair<float, bool>>& scored() { return scored_; }

 private:
  MetricSpec spec_;
  bool logits_;
  double sum_ = 0.0;
  int64_t count_ = 0;
  std::vector<std::pair<float, bool>> scored_;  // auc: (score, positive)
};

std::vector<MetricState> metric_states(const std::vector<MetricSpec>& specs, const Loss& loss);
// logs[prefix + name] = result, for every metric.
void add_metrics(const std::vector<MetricState>& metrics, const std::string& prefix, Logs& logs);
// Whether a larger value of the logged quantity `monitor` is better: accuracies and AUC.
bool higher_is_better(const std::string& monitor);

}  // namespace lstm
