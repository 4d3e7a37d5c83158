// Choosing a forecaster's target transform on validation windows (include/lstm/forecast.h).
// K = horizon, L = lookback, S = season; window t = the one whose last input row is t.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "forecast/transform.h"
#include "forecast/windows.h"
#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

namespace {

// Windows [begin, end) of a [N, ...] tensor.
Tensor slice(const Tensor& t, int64_t begin, int64_t end) {
  std::vector<int64_t> shape = t.shape();
  const int64_t per = t.size() / std::max<int64_t>(1, shape[0]);
  shape[0] = end - begin;
  return Tensor(shape, std::vector<float>(t.data() + begin * per, t.data() + end * per));
}

// Training windows of a setup over the rows before the split.
int64_t training_windows(const ForecastData& d, Transform t) {
  const ForecastOptions& o = d.setup.options;
  const int64_t context = t == Transform::seasonal ? o.season : 0;
  return std::max<int64_t>(0, d.split_row - o.horizon - (o.lookback - 1 + context));
}

int64_t validation_count(const ForecastData& d, double fraction) {
  return int64_t(std::floor(double(training_windows(d, Transform::level)) * fraction));
}

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}

// Split-conformal calibration of a quantile forecaster's intervals on its validation windows
// (conformalized quantile regression, Romano, Patterson & Candès 2019): for the interval of
// nominal coverage 1 - α, the scores max(lo - y, y - hi) of the n validation values; the
// ceil((n + 1)(1 - α))-th smallest (the largest when that is past n) is how far both ends move.
void calibrate_intervals(TrainedForecaster& best) {
  ForecastSetup& s = best.data.setup;
  const ForecastEvaluation& v = best.selection.validation;
  const std::vector<float>& q = s.options.quantiles;
  const int64_t Q = int64_t(q.size());
  if (Q < 2 || v.predictions.empty()) return;
  std::vector<float> adjust;
  for (int64_t i = 0; i < Q / 2; ++i) {
    std::vector<double> scores;
    int64_t inside = 0;
    for (const PredictionRow& p : v.predictions) {
      const double lo = p.quantiles[size_t(i)], hi = p.quantiles[size_t(Q - 1 - i)];
      scores.push_back(std::max(lo - p.actual, p.actual - hi));
      inside += lo <= p.actual && p.actual <= hi;
    }
    std::sort(scores.begin(), scores.end());
    const double n = double(scores.size()), nominal = double(q[size_t(Q - 1 - i)]) - double(q[size_t(i)]);
    const int64_t k = std::min(int64_t(scores.size()), int64_t(std::ceil((n + 1.0) * nominal)));
    adjust.push_back(float(scores[size_t(std::max<int64_t>(k, 1) - 1)]));
    best.selection.raw_coverage.push_back(double(inside) / n);
  }
  s.interval_adjust = adjust;
  best.selection.interval_adjust = adjust;
}

}  // namespace

std::vector<Transform> forecast_candidates(const CsvTable& table, const ForecastOptions& options,
                                           double validation_fraction) {
  ForecastOptions lo = options;
  lo.transform = Transform::level;
  const ForecastData d = prepare_forecast(table, lo);
  std::vector<Transform> out = {Transform::level};
  const ForecastSetup& s = d.setup;
  if (s.target_column() < int64_t(s.options.features.size())) out.push_back(Transform::relative);
  const int64_t n_val = validation_count(d, validation_fraction);
  if (options.season > 0 && training_windows(d, Transform::seasonal) - n_val >= std::max<int64_t>(1, n_val))
    out.push_back(Transform::seasonal);
  if (std::all_of(d.target.begin(), d.target.end(), [](float y) { return y > 0; })) {
    out.push_back(Transform::log);
    const double lambda = fit_boxcox_lambda({d.target.begin(), d.target.begin() + d.split_row});
    if (std::fabs(lambda) > 0.1 && std::fabs(lambda - 1.0) > 0.1) out.push_back(Transform::boxcox);
  }
  return out;
}

TrainedForecaster train_forecaster(const CsvTable& table, const ForecastOptions& options,
                                   const std::vector<Transform>& candidates,
                                   double validation_fraction, const ForecastTrainFn& train) {
  if (candidates.empty()) throw Error("no transform to train with");
  if (!(validation_fraction >= 0 && validation_fraction < 1))
    throw Error("the validation fraction must be in [0, 1), got " + std::to_string(validation_fraction));
  if (validation_fraction == 0 && candidates.size() > 1)
    throw Error("choosing among transforms needs validation windows: give a validation fraction "
                "above 0 (--validation-split), or one transform (--transform NAME)");
  TrainedForecaster best;
  best.selection.kept = -1;
  double best_rmse = INFINITY;
  int64_t n_val = -1;
  for (Transform t : candidates) {
    ForecastOptions o = options;
    o.transform = t;
    TransformTrial trial{t};
    ForecastData d = prepare_forecast(table, o);
    trial.boxcox_lambda = d.setup.boxcox_lambda;
    if (n_val < 0) {
      n_val = validation_count(d, validation_fraction);
      if (validation_fraction > 0 && n_val < 1)
        throw Error("'" + table.path + "' leaves " + std::to_string(training_windows(d, Transform::level)) +
                    " training windows, too few to hold out a validation fraction of " +
                    std::to_string(validation_fraction) + ": use more data or a larger --validation-split");
    }
    // Validation windows: the last n_val. The K - 1 windows before them are left out of the
    // fit, so that no training target is a validation target.
    const int64_t N = d.X_train.dim(0), gap = n_val ? o.horizon - 1 : 0, n_fit = N - n_val - gap;
    if (n_fit < 1) {
      if (candidates.size() == 1)
        throw Error("the " + std::string(transform_name(t)) + " transform leaves " + std::to_string(N) +
                    " training windows, all of them needed for the " + std::to_string(n_val) +
                    " validation windows (and the " + std::to_string(gap) + " before them, whose "
                    "targets overlap theirs): use more data or a smaller --validation-split");
      trial.note = "too few training windows (" + std::to_string(N) + ") for " + std::to_string(n_val) + " validation ones";
      best.selection.trials.push_back(trial);
      continue;
    }
    const Tensor X = slice(d.X_train, 0, n_fit), y = slice(d.y_train, 0, n_fit);
    const Tensor Xv = n_val ? slice(d.X_train, N - n_val, N) : Tensor(), yv = n_val ? slice(d.y_train, N - n_val, N) : Tensor();
    History history;
    Sequential model = train(d.setup, X, y, Xv, yv, history);
    trial.epochs = history.epochs();
    ForecastEvaluation ev;
    if (n_val) {
      std::vector<int64_t> last_rows;  // window n's last input row
      const int64_t t0 = d.split_row - o.horizon - n_val;
      for (int64_t n = 0; n < n_val; ++n) last_rows.push_back(t0 + n);
      ev = score_windows(d, model.predict(Xv, 256), last_rows);
      trial.validation_rmse = ev.model.rmse;
    }
    best.selection.trials.push_back(trial);
    const double rmse = std::isfinite(trial.validation_rmse) ? trial.validation_rmse : INFINITY;
    if (best.selection.kept < 0 || rmse < best_rmse) {
      best_rmse = rmse;
      best.selection.kept = int(best.selection.trials.size()) - 1;
      best.model = std::move(model);
      best.data = std::move(d);
      best.history = std::move(history);
      best.selection.validation = std::move(ev);
    }
  }
  if (best.selection.kept < 0)
    throw Error("no transform could be trained: every candidate left too few training windows");
  best.selection.validation_windows = n_val;
  if (n_val > 0 && options.calibrate_intervals) calibrate_intervals(best);
  attach_forecast_setup(best.model, best.data.setup);
  return best;
}

std::string ForecastSelection::summary() const {
  std::ostringstream s;
  char line[200];
  const bool several = trials.size() > 1;
  if (several) {
    std::snprintf(line, sizeof line, "%-14s %16s %7s\n", "transform", "validation RMSE", "epochs");
    s << line;
    for (size_t i = 0; i < trials.size(); ++i) {
      const TransformTrial& t = trials[i];
      if (!t.note.empty()) {
        s << transform_name(t.transform) << ": not tried, " << t.note << "\n";
        continue;
      }
      std::string name = transform_name(t.transform);
      if (t.transform == Transform::boxcox) name += "(" + number(t.boxcox_lambda).substr(0, 5) + ")";
      std::snprintf(line, sizeof line, "%-14s %16s %7d%s\n", name.c_str(), number(t.validation_rmse).c_str(),
                    t.epochs, int(i) == kept ? "   <- kept" : "");
      s << line;
    }
    // the runner-up
    double next = INFINITY;
    std::string next_name;
    for (size_t i = 0; i < trials.size(); ++i)
      if (int(i) != kept && trials[i].note.empty() && trials[i].validation_rmse < next)
        next = trials[i].validation_rmse, next_name = transform_name(trials[i].transform);
    const TransformTrial& k = trials[size_t(kept)];
    s << "kept the " << transform_name(k.transform) << " transform";
    if (std::isfinite(next) && next > 0) {
      std::snprintf(line, sizeof line, ": its validation RMSE is %.1f%% below the next best (%s)",
                    100.0 * (1.0 - k.validation_rmse / next), next_name.c_str());
      s << line;
    }
    s << "\n";
  }
  if (validation_windows > 0 && validation.model.count > 0) {
    const auto b = validation.baselines();
    const double ratio = validation.model.rmse / b.front().second.rmse;
    std::snprintf(line, sizeof line,
                  "validation (the last %lld training windows): the model's RMSE %s is %.1f%% of "
                  "the best baseline's, %s (%s)%s\n",
                  (long long)validation_windows, number(validation.model.rmse).c_str(), 100.0 * ratio,
                  b.front().first.c_str(), number(b.front().second.rmse).c_str(),
                  ratio < 1 ? "" : ": the model does NOT beat it on validation");
    s << line;
  }
  for (size_t i = 0; i < interval_adjust.size() && i < raw_coverage.size(); ++i) {
    const std::vector<float>& q = validation.quantile_levels;
    const double nominal = double(q[q.size() - 1 - i]) - double(q[i]);
    std::snprintf(line, sizeof line,
                  "calibrated on validation: the %g%% interval held %.1f%% there, so both its ends move %s by %.4f\n",
                  100.0 * nominal, 100.0 * raw_coverage[i], interval_adjust[i] >= 0 ? "out" : "in",
                  std::fabs(double(interval_adjust[i])));
    s << line;
  }
  return s.str();
}

std::string ForecastSelection::to_json() const {
  nlohmann::json trials_json = nlohmann::json::array();
  for (const TransformTrial& t : trials) {
    nlohmann::json j = {{"transform", transform_name(t.transform)}, {"epochs", t.epochs}};
    j["validation_rmse"] = std::isfinite(t.validation_rmse) ? nlohmann::json(t.validation_rmse) : nlohmann::json(nullptr);
    if (t.transform == Transform::boxcox) j["boxcox_lambda"] = t.boxcox_lambda;
    if (!t.note.empty()) j["note"] = t.note;
    trials_json.push_back(j);
  }
  nlohmann::json j = {{"trials", trials_json},
                      {"kept", kept >= 0 ? transform_name(trials[size_t(kept)].transform) : ""},
                      {"validation_windows", validation_windows}};
  if (validation_windows > 0 && validation.model.count > 0) {
    const auto b = validation.baselines();
    j["validation"] = {{"model_rmse", validation.model.rmse},
                       {"best_baseline", b.front().first},
                       {"best_baseline_rmse", b.front().second.rmse},
                       {"beats_best_baseline", validation.model.rmse < b.front().second.rmse}};
  }
  if (!interval_adjust.empty()) {
    j["raw_coverage"] = raw_coverage;
    j["interval_adjust"] = interval_adjust;
  }
  return j.dump();
}

}  // namespace lstm
