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
// Returns each interval's share of the validation values before the calibration.
std::vector<double> calibrate_intervals(ForecastSetup& s, const ForecastEvaluation& v) {
  const std::vector<float>& q = s.options.quantiles;
  const int64_t Q = int64_t(q.size());
  std::vector<double> raw;
  if (Q < 2 || v.predictions.empty()) return raw;
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
    raw.push_back(double(inside) / n);
  }
  s.interval_adjust = adjust;
  // the tracking step: a share of each interval's mean width once calibrated
  s.interval_step.clear();
  for (int64_t i = 0; i < Q / 2 && s.options.tracking_rate > 0; ++i) {
    double width = 0;
    for (const PredictionRow& p : v.predictions)
      width += std::max(0.0, double(p.quantiles[size_t(Q - 1 - i)]) - p.quantiles[size_t(i)] + 2.0 * adjust[size_t(i)]);
    s.interval_step.push_back(float(s.options.tracking_rate * width / double(v.predictions.size())));
  }
  return raw;
}

// The series of a candidate's data: itself, or its parts with many series.
std::vector<ForecastData*> series_of(ForecastData& d) {
  std::vector<ForecastData*> out;
  if (!d.many()) return {&d};
  for (ForecastData& p : d.parts) out.push_back(&p);
  return out;
}

// A series' standard deviation on its training rows (1 when it is constant): what the
// validation errors of many series are divided by before they are compared.
double training_scale(const ForecastData& d) {
  const int64_t n = std::max<int64_t>(1, d.split_row);
  double mean = 0, var = 0;
  for (int64_t r = 0; r < n; ++r) mean += d.target[size_t(r)];
  mean /= double(n);
  for (int64_t r = 0; r < n; ++r) var += (d.target[size_t(r)] - mean) * (d.target[size_t(r)] - mean);
  const double sd = std::sqrt(var / double(n));
  return sd > 0 ? sd : 1.0;
}

}  // namespace

std::vector<Transform> forecast_candidates(const CsvTable& table, const ForecastOptions& options,
                                           double validation_fraction) {
  ForecastOptions lo = options;
  lo.transform = Transform::level;
  ForecastData all = prepare_forecast(table, lo);
  std::vector<Transform> out = {Transform::level};
  const ForecastSetup& s = all.setup;
  if (s.target_column() < int64_t(s.options.features.size())) out.push_back(Transform::relative);
  // many series: seasonal when every series has the windows for it, log when every value is
  // positive, Box-Cox when some series' λ is away from 0 and 1
  bool seasonal = options.season > 0, positive = true, boxcox = false;
  for (const ForecastData* d : series_of(all)) {
    const int64_t n_val = validation_count(*d, validation_fraction);
    seasonal = seasonal && training_windows(*d, Transform::seasonal) - n_val >= std::max<int64_t>(1, n_val);
    positive = positive && std::all_of(d->target.begin(), d->target.end(), [](float y) { return y > 0; });
    if (!positive) continue;
    const double lambda = fit_boxcox_lambda({d->target.begin(), d->target.begin() + d->split_row});
    boxcox = boxcox || (std::fabs(lambda) > 0.1 && std::fabs(lambda - 1.0) > 0.1);
  }
  if (seasonal) out.push_back(Transform::seasonal);
  if (positive) out.push_back(Transform::log);
  if (positive && boxcox) out.push_back(Transform::boxcox);
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
  double best_score = INFINITY;
  for (Transform t : candidates) {
    ForecastOptions o = options;
    o.transform = t;
    TransformTrial trial{t};
    ForecastData d = prepare_forecast(table, o);
    trial.boxcox_lambda = d.setup.boxcox_lambda;
    // Per series: its last n_val training windows validate; the K - 1 windows before them are
    // left out of the fit, so that no training target is a validation target.
    const std::vector<ForecastData*> parts = series_of(d);
    std::vector<int64_t> n_val, n_fit;
    int64_t total_val = 0, total_fit = 0, total = 0;
    for (const ForecastData* p : parts) {
      const int64_t N = p->X_train.dim(0), v = validation_count(*p, validation_fraction), gap = v ? o.horizon - 1 : 0;
      n_val.push_back(v), n_fit.push_back(std::max<int64_t>(0, N - v - gap));
      total_val += v, total_fit += n_fit.back(), total += N;
    }
    if (validation_fraction > 0 && total_val < 1)
      throw Error("'" + table.path + "' leaves " + std::to_string(total) + " training windows, too few to hold "
                  "out a validation fraction of " + std::to_string(validation_fraction) +
                  (d.many() ? " of any series" : "") + ": use more data or a larger --validation-split");
    if (total_fit < 1) {
      if (candidates.size() == 1)
        throw Error("the " + std::string(transform_name(t)) + " transform leaves " + std::to_string(total) +
                    " training windows, all of them needed for the " + std::to_string(total_val) +
                    " validation windows (and the " + std::to_string(o.horizon - 1) + " before them, whose "
                    "targets overlap theirs): use more data or a smaller --validation-split");
      trial.note = "too few training windows (" + std::to_string(total) + ") for " + std::to_string(total_val) + " validation ones";
      best.selection.trials.push_back(trial);
      continue;
    }
    std::vector<Tensor> fit_x, fit_y, val_x, val_y;
    for (size_t i = 0; i < parts.size(); ++i) {
      const Tensor& X = parts[i]->X_train;
      const Tensor& Y = parts[i]->y_train;
      const int64_t N = X.dim(0);
      if (n_fit[i]) fit_x.push_back(slice(X, 0, n_fit[i])), fit_y.push_back(slice(Y, 0, n_fit[i]));
      if (n_val[i]) val_x.push_back(slice(X, N - n_val[i], N)), val_y.push_back(slice(Y, N - n_val[i], N));
    }
    auto stack = [](const std::vector<Tensor>& ts) {
      std::vector<const Tensor*> ps;
      for (const Tensor& t : ts) ps.push_back(&t);
      return stack_rows(ps);
    };
    const Tensor X = stack(fit_x), y = stack(fit_y), Xv = stack(val_x), yv = stack(val_y);
    History history;
    Sequential model = train(d.setup, X, y, Xv, yv, history);
    trial.epochs = history.epochs();
    std::vector<ForecastEvaluation> evs;  // per series with validation windows
    std::vector<std::string> ids;
    double score = INFINITY;
    if (total_val) {
      const Tensor pred = model.predict(Xv, 256);
      double sum = 0;
      int64_t offset = 0;
      for (size_t i = 0; i < parts.size(); ++i) {
        if (!n_val[i]) continue;
        std::vector<int64_t> last_rows;  // window n's last input row
        const int64_t t0 = parts[i]->split_row - o.horizon - n_val[i];
        for (int64_t n = 0; n < n_val[i]; ++n) last_rows.push_back(t0 + n);
        evs.push_back(score_windows(*parts[i], slice(pred, offset, offset + n_val[i]), last_rows));
        ids.push_back(d.many() ? d.setup.series[size_t(parts[i]->setup.series_index)].id : std::string());
        offset += n_val[i];
        sum += evs.back().model.rmse / (d.many() ? training_scale(*parts[i]) : 1.0);
      }
      score = sum / double(evs.size());
      trial.validation_rmse = score;
    }
    best.selection.trials.push_back(trial);
    if (!std::isfinite(score)) score = INFINITY;
    if (best.selection.kept < 0 || score < best_score) {
      best_score = score;
      best.selection.kept = int(best.selection.trials.size()) - 1;
      best.model = std::move(model);
      best.data = std::move(d);
      best.history = std::move(history);
      best.selection.validation = best.data.many() || evs.empty() ? mean_evaluation(evs) : evs.front();
      best.selection.series_ids = best.data.many() ? ids : std::vector<std::string>{};
      best.selection.series_validation = best.data.many() ? evs : std::vector<ForecastEvaluation>{};
      best.selection.validation_windows = total_val;
    }
  }
  if (best.selection.kept < 0)
    throw Error("no transform could be trained: every candidate left too few training windows");
  if (best.selection.validation_windows > 0 && options.calibrate_intervals) {
    ForecastData& d = best.data;
    if (!d.many()) {
      best.selection.raw_coverage = calibrate_intervals(d.setup, best.selection.validation);
      best.selection.interval_adjust = d.setup.interval_adjust;
      best.selection.interval_step = d.setup.interval_step;
    } else {
      // each series calibrated on its own validation windows; raw_coverage: over all of them
      std::vector<double> inside;
      int64_t count = 0;
      size_t v = 0;
      for (ForecastData& p : d.parts) {
        const SeriesScaling& own = d.setup.series[size_t(p.setup.series_index)];
        if (v >= best.selection.series_ids.size() || best.selection.series_ids[v] != own.id) continue;
        const ForecastEvaluation& ev = best.selection.series_validation[v++];
        const std::vector<double> raw = calibrate_intervals(p.setup, ev);
        if (inside.size() < raw.size()) inside.resize(raw.size(), 0.0);
        for (size_t i = 0; i < raw.size(); ++i) inside[i] += raw[i] * double(ev.predictions.size());
        count += int64_t(ev.predictions.size());
        d.setup.series[size_t(p.setup.series_index)].interval_adjust = p.setup.interval_adjust;
        d.setup.series[size_t(p.setup.series_index)].interval_step = p.setup.interval_step;
      }
      for (double& x : inside) x /= double(std::max<int64_t>(1, count));
      best.selection.raw_coverage = inside;
    }
  }
  attach_forecast_setup(best.model, best.data.setup);
  return best;
}

std::string ForecastSelection::summary() const {
  std::ostringstream s;
  char line[400];
  const bool several = trials.size() > 1;
  if (several) {
    std::snprintf(line, sizeof line, "%-14s %16s %7s\n", "transform", series_validation.empty() ? "validation RMSE" : "val. RMSE / sd", "epochs");
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
  if (!series_validation.empty()) {
    const SeriesComparison c = compare_with_baselines(series_validation);
    std::snprintf(line, sizeof line,
                  "validation (the last training windows of each series, %lld in all): the model beats "
                  "the best baseline in %lld of %zu series; its RMSE is %.1f%% of the best baseline's "
                  "(geometric mean over the series)%s\n",
                  (long long)validation_windows, (long long)c.beats, series_validation.size(), 100.0 * c.ratio,
                  c.ratio < 1 ? "" : ": the model does NOT beat the baselines on validation");
    s << line;
    for (size_t i = 0; i < raw_coverage.size(); ++i) {
      const std::vector<float>& q = validation.quantile_levels;
      std::snprintf(line, sizeof line,
                    "calibrated on validation, each series on its own windows: the %g%% interval held %.1f%% there\n",
                    100.0 * (double(q[q.size() - 1 - i]) - double(q[i])), 100.0 * raw_coverage[i]);
      s << line;
    }
    return s.str();
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
    if (i < interval_step.size()) {
      std::snprintf(line, sizeof line,
                    "  then tracked online as actual values arrive: after each one its ends move out by %.4f "
                    "if it missed, in by %.4f if not\n",
                    double(interval_step[i]) * nominal, double(interval_step[i]) * (1.0 - nominal));  // η(1 - α), ηα
      s << line;
    }
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
  if (!series_validation.empty()) {
    const SeriesComparison c = compare_with_baselines(series_validation);
    j["validation"] = {{"series", series_validation.size()}, {"beats_best_baseline_in", c.beats},
                       {"rmse_ratio_to_best_baseline", c.ratio}, {"beats_best_baseline", c.ratio < 1}};
  } else if (validation_windows > 0 && validation.model.count > 0) {
    const auto b = validation.baselines();
    j["validation"] = {{"model_rmse", validation.model.rmse},
                       {"best_baseline", b.front().first},
                       {"best_baseline_rmse", b.front().second.rmse},
                       {"beats_best_baseline", validation.model.rmse < b.front().second.rmse}};
  }
  if (!interval_adjust.empty()) {
    j["raw_coverage"] = raw_coverage;
    j["interval_adjust"] = interval_adjust;
    j["interval_step"] = interval_step;
  }
  return j.dump();
}

}  // namespace lstm
