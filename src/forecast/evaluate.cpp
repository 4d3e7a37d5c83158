// Forecast metrics against naive baselines, and forecasting past the data (forecast.h).
// L = lookback, K = horizon, S = season; t = the last input row of a window.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "forecast/transform.h"
#include "forecast/windows.h"
#include "layers/config_json.h"
#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

namespace {

struct Accumulator {
  double se = 0, ae = 0, sape = 0;
  int64_t n = 0;
  void add(double actual, double predicted) {
    double e = predicted - actual, denom = std::fabs(actual) + std::fabs(predicted);
    se += e * e, ae += std::fabs(e), sape += denom > 0 ? 200.0 * std::fabs(e) / denom : 0.0;
    ++n;
  }
  Metrics metrics(double mase_scale) const {
    if (!n) return Metrics{};
    const double mae = ae / double(n);
    return {std::sqrt(se / double(n)), mae, sape / double(n), n,
            mase_scale > 0 ? mae / mase_scale : std::numeric_limits<double>::quiet_NaN()};
  }
};

std::string seasonal_name(int season) { return "seasonal naive (S=" + std::to_string(season) + ")"; }

}  // namespace

std::vector<std::pair<std::string, Metrics>> ForecastEvaluation::baselines() const {
  std::vector<std::pair<std::string, Metrics>> b = {{"naive (last value)", naive}};
  if (has_seasonal) b.push_back({seasonal_name(season), seasonal});
  b.push_back({"drift", drift});
  b.push_back({"mean", mean});
  std::stable_sort(b.begin(), b.end(), [](const auto& x, const auto& y) { return x.second.rmse < y.second.rmse; });
  return b;
}

ForecastEvaluation score_windows(const ForecastData& d, const Tensor& pred,
                                 const std::vector<int64_t>& last_rows) {
  const ForecastOptions& o = d.setup.options;
  const int64_t K = o.horizon, S = o.season;
  ForecastEvaluation ev;
  ev.target = o.target;
  ev.transform = o.transform;
  ev.season = o.season;
  // every target has a row S back
  ev.has_seasonal = S > 0 && !last_rows.empty() && last_rows.front() + 1 >= S;
  // MASE's scale on the training rows (before the split)
  const std::vector<float>& y = d.target;
  ev.mase_period = S > 0 && d.split_row > S ? int(S) : 1;
  if (d.split_row > ev.mase_period) {
    double sum = 0;
    for (int64_t r = ev.mase_period; r < d.split_row; ++r) sum += std::fabs(double(y[size_t(r)]) - y[size_t(r - ev.mase_period)]);
    ev.mase_scale = sum / double(d.split_row - ev.mase_period);
  }
  std::vector<double> prefix(y.size() + 1, 0.0);  // prefix[r] = y_0 + ... + y_{r-1}
  for (size_t r = 0; r < y.size(); ++r) prefix[r + 1] = prefix[r] + y[r];
  Accumulator model_acc, naive_acc, seasonal_acc, drift_acc, mean_acc;
  const int64_t Q = d.setup.outputs_per_step(), median = Q > 1 ? d.setup.median_index() : 0;
  const bool quantiles = !o.quantiles.empty();
  ev.quantile_levels = o.quantiles;
  ev.below.assign(size_t(Q), 0.0);
  for (int64_t j = 0; quantiles && j < Q / 2; ++j)
    ev.intervals.push_back({o.quantiles[size_t(j)], o.quantiles[size_t(Q - 1 - j)], 0.0, 0.0});
  double pinball = 0;
  std::vector<float> values(size_t(K * Q));
  // interval tracking: each revealed value moves its interval's adjustment by η (miss - α)
  const std::vector<float>& step = d.setup.interval_step;
  const bool tracking = quantiles && !step.empty() && step.size() <= ev.intervals.size();
  std::vector<float> adjust = d.setup.interval_adjust;
  std::multimap<int64_t, std::pair<size_t, bool>> pending;  // target row -> (interval, missed)
  auto reveal_up_to = [&](int64_t row) {
    while (!pending.empty() && pending.begin()->first <= row) {
      const auto [i, missed] = pending.begin()->second;
      const double alpha = 1.0 - (double(ev.intervals[i].upper) - double(ev.intervals[i].lower));
      adjust[i] += float(double(step[i]) * ((missed ? 1.0 : 0.0) - alpha));
      pending.erase(pending.begin());
    }
  };
  for (size_t n = 0; n < last_rows.size(); ++n) {
    const int64_t t = last_rows[n];  // last observed row
    const float* rows = window_rows(d, t);
    if (tracking) reveal_up_to(t);
    d.setup.decode_outputs(pred.data() + int64_t(n) * K * Q, rows, values.data(), tracking ? &adjust : nullptr);
    const double slope = t > 0 ? (double(y[size_t(t)]) - y[0]) / double(t) : 0.0;
    const double mean = prefix[size_t(t + 1)] / double(t + 1);
    for (int64_t k = 1; k <= K; ++k) {
      const float actual = y[size_t(t + k)];
      const float* v = &values[size_t((k - 1) * Q)];
      const float predicted = v[median];
      model_acc.add(actual, predicted);
      naive_acc.add(actual, y[size_t(t)]);
      drift_acc.add(actual, double(y[size_t(t)]) + double(k) * slope);
      mean_acc.add(actual, mean);
      if (ev.has_seasonal) {
        const int64_t back = S * ((k + S - 1) / S);  // the latest row one or more seasons back
        seasonal_acc.add(actual, y[size_t(t + k - back)]);
      }
      PredictionRow row{t + k, int(k), actual, predicted, {}};
      if (quantiles) {
        row.quantiles.assign(v, v + Q);
        for (int64_t j = 0; j < Q; ++j) {
          const double q = o.quantiles[size_t(j)], e = double(actual) - v[j];
          ev.below[size_t(j)] += actual <= v[j];
          pinball += std::max(q * e, (q - 1) * e);
        }
        for (size_t i = 0; i < ev.intervals.size(); ++i) {
          const float lo = v[i], hi = v[Q - 1 - int64_t(i)];
          const bool inside = lo <= actual && actual <= hi;
          ev.intervals[i].coverage += inside;
          ev.intervals[i].mean_width += hi - lo;
          if (tracking && i < step.size()) pending.emplace(t + k, std::make_pair(i, !inside));
        }
      }
      ev.predictions.push_back(std::move(row));
    }
  }
  if (tracking) {
    reveal_up_to(std::numeric_limits<int64_t>::max());
    ev.tracked_adjust = adjust;
  }
  const double count = double(ev.predictions.size());
  if (quantiles && count > 0) {
    for (double& b : ev.below) b /= count;
    for (IntervalScore& i : ev.intervals) i.coverage /= count, i.mean_width /= count;
    ev.pinball = pinball / (count * double(Q));
  } else {
    ev.below.clear();
  }
  ev.model = model_acc.metrics(ev.mase_scale);
  ev.naive = naive_acc.metrics(ev.mase_scale);
  ev.seasonal = seasonal_acc.metrics(ev.mase_scale);
  ev.drift = drift_acc.metrics(ev.mase_scale);
  ev.mean = mean_acc.metrics(ev.mase_scale);
  return ev;
}

ForecastEvaluation evaluate_forecast(Sequential& model, const ForecastData& d) {
  const ForecastOptions& o = d.setup.options;
  if (d.test_rows.empty())
    throw Error("there are no test windows to evaluate on: use a --test-fraction above 0");
  check_forecast_setup(model, d.setup);
  const int64_t K = o.horizon, width = K * d.setup.outputs_per_step();
  Tensor pred = model.predict(d.X_test, 256);
  if (pred.rank() != 2 || pred.dim(1) != width)
    throw Error("the model outputs " + pred.shape_string() + " per batch but the forecasting "
                "setup has horizon " + std::to_string(K) + ": its last layer needs " +
                std::to_string(width) + " units");
  std::vector<int64_t> last_rows;
  for (int64_t r : d.test_rows) last_rows.push_back(r - 1);
  return score_windows(d, pred, last_rows);
}

std::string metrics_header(const std::string& title) {
  char line[200];
  std::snprintf(line, sizeof line, "%-24s %12s %12s %10s %8s\n", title.c_str(), "RMSE", "MAE", "sMAPE %", "MASE");
  return line;
}

std::string metrics_row(const std::string& name, const Metrics& m) {
  char mase[32] = "-", line[200];
  if (std::isfinite(m.mase)) std::snprintf(mase, sizeof mase, "%.3f", m.mase);
  std::snprintf(line, sizeof line, "%-24s %12.4f %12.4f %10.2f %8s\n", name.c_str(), m.rmse, m.mae, m.smape, mase);
  return line;
}

nlohmann::json metrics_object(const Metrics& x) {
  return nlohmann::json{{"rmse", x.rmse}, {"mae", x.mae}, {"smape", x.smape}, {"count", x.count},
                        {"mase", std::isfinite(x.mase) ? nlohmann::json(x.mase) : nlohmann::json(nullptr)}};
}

std::string metrics_table(const ForecastEvaluation& ev) {
  std::ostringstream s;
  char line[200];
  s << metrics_header("test: " + ev.target);
  auto row = [&](const std::string& name, const Metrics& m) { s << metrics_row(name, m); };
  row("model", ev.model);
  row("naive (last value)", ev.naive);
  if (ev.has_seasonal) row(seasonal_name(ev.season), ev.seasonal);
  row("drift", ev.drift);
  row("mean", ev.mean);
  std::snprintf(line, sizeof line, "%lld test predictions; model RMSE is %.1f%% of the naive one; target transform: %s\n",
                (long long)ev.model.count, 100.0 * ev.model.rmse / ev.naive.rmse, transform_name(ev.transform));
  s << line;
  const auto b = ev.baselines();
  const bool wins = ev.model.rmse < b.front().second.rmse;
  std::snprintf(line, sizeof line, "best baseline: %s; the model's RMSE is %.1f%% of it%s\n", b.front().first.c_str(),
                100.0 * ev.model.rmse / b.front().second.rmse, wins ? "" : " (the model does NOT beat it on this test part)");
  s << line;
  if (std::isfinite(ev.mase_scale)) {
    std::snprintf(line, sizeof line, "MASE: MAE over %.4f, the training part's mean |y_t - y_{t-%d}|\n", ev.mase_scale,
                  ev.mase_period);
    s << line;
  }
  if (!ev.quantile_levels.empty()) {
    s << "quantiles (the model's point forecast is the median):\n";
    for (const IntervalScore& i : ev.intervals) {
      std::snprintf(line, sizeof line, "  %g%% interval (q%g..q%g) holds %.1f%% of the test values; mean width %.4f\n",
                    100.0 * double(i.upper - i.lower), double(i.lower), double(i.upper), 100.0 * i.coverage, i.mean_width);
      s << line;
    }
    s << "  share at or below each quantile:";
    for (size_t j = 0; j < ev.below.size(); ++j) {
      std::snprintf(line, sizeof line, " q%g %.1f%%", double(ev.quantile_levels[j]), 100.0 * ev.below[j]);
      s << line;
    }
    std::snprintf(line, sizeof line, "; mean pinball loss %.4f\n", ev.pinball);
    s << line;
    if (!ev.tracked_adjust.empty()) {
      s << "  the intervals were calibrated on validation, then tracked online through the test values "
           "(each one's adjustment after the last:";
      for (float a : ev.tracked_adjust) {
        std::snprintf(line, sizeof line, " %.4f", double(a));
        s << line;
      }
      s << ")\n";
    }
  }
  return s.str();
}

std::string metrics_json(const ForecastEvaluation& ev) {
  const auto& m = metrics_object;
  nlohmann::json j = {{"target", ev.target}, {"model", m(ev.model)}, {"naive", m(ev.naive)}};
  j["seasonal_naive"] = ev.has_seasonal ? m(ev.seasonal) : nlohmann::json(nullptr);
  j["season"] = ev.season;
  j["transform"] = transform_name(ev.transform);
  j["drift"] = m(ev.drift);
  j["mean"] = m(ev.mean);
  j["mase_scale"] = std::isfinite(ev.mase_scale) ? nlohmann::json(ev.mase_scale) : nlohmann::json(nullptr);
  j["mase_period"] = ev.mase_period;
  nlohmann::json ranked = nlohmann::json::array();
  for (const auto& [name, metrics] : ev.baselines()) ranked.push_back(name);
  j["baselines_by_rmse"] = ranked;
  if (ev.quantile_levels.empty()) {
    j["quantiles"] = nullptr;
  } else {
    nlohmann::json intervals = nlohmann::json::array();
    for (const IntervalScore& i : ev.intervals)
      intervals.push_back({{"lower", json_float(i.lower)}, {"upper", json_float(i.upper)},
                           {"nominal", json_float(i.upper - i.lower)}, {"coverage", i.coverage},
                           {"mean_width", i.mean_width}});
    std::vector<double> levels;
    for (float q : ev.quantile_levels) levels.push_back(json_float(q));
    j["quantiles"] = {{"levels", levels}, {"below", ev.below}, {"intervals", intervals}, {"pinball", ev.pinball}};
    if (!ev.tracked_adjust.empty()) j["quantiles"]["tracked_adjust"] = ev.tracked_adjust;
  }
  return j.dump(2);
}

// The interval adjustment a forecast from the data's end uses: tracked through the windows of
// the setup's test part of this data (its last test_rows, or test_fraction of the rows), where
// the tracking of `lstm evaluate` runs too; as calibrated without tracking or such windows.
static std::vector<float> adjust_at_end(Sequential& model, const ForecastData& d) {
  const ForecastSetup& s = d.setup;
  const ForecastOptions& o = s.options;
  if (s.interval_step.empty() || o.quantiles.empty()) return s.interval_adjust;
  const int64_t R = d.series.rows(), K = o.horizon, L = o.lookback, W = s.input_width();
  const int64_t held = o.test_rows > 0 ? o.test_rows : int64_t(std::floor(double(R) * o.test_fraction));
  const int64_t first = std::max<int64_t>(L - 1 + s.context_rows(), R - held - 1), last = R - 1 - K;
  if (last < first) return s.interval_adjust;
  Tensor X({last - first + 1, L, W});
  std::vector<int64_t> last_rows;
  for (int64_t t = first; t <= last; ++t) {
    s.encode_window(window_rows(d, t), X.data() + (t - first) * L * W);
    last_rows.push_back(t);
  }
  return score_windows(d, model.predict(X, 256), last_rows).tracked_adjust;
}

std::vector<ForecastPoint> forecast_future(Sequential& model, const ForecastData& d, int steps) {
  const ForecastSetup& s = d.setup;
  const ForecastOptions& o = s.options;
  const int64_t L = o.lookback, K = o.horizon;
  const int64_t R = d.series.rows();
  if (steps < 1) throw Error("--steps must be at least 1");
  check_forecast_setup(model, s);
  if (!s.univariate() && steps > K) {
    std::string others;
    for (const std::string& f : o.features)
      if (f != o.target) others += (others.empty() ? "" : ", ") + f;
    throw Error("this model reads " + others + " besides " + o.target +
                ", whose future values are unknown, so it forecasts at most its horizon of " +
                std::to_string(K) + " steps: ask for --steps " + std::to_string(K) +
                " or fewer, or train with --horizon " + std::to_string(steps) +
                " (or a univariate model, which forecasts recursively)");
  }
  const int64_t H = s.context_rows(), C = s.columns(), lead = s.lead_rows(), W = s.input_width();
  const int64_t tc = s.target_column();
  if (R < L + H)
    throw Error("the data has " + std::to_string(R) + " rows but the model reads windows of " +
                std::to_string(L) + (H ? " after " + std::to_string(H) + " rows of a season" : ""));
  // the dates after the data's, stepping as it does (by months for monthly data)
  const bool dated = !d.series.dates.empty() && R >= 2;
  if (!o.calendar.empty() && !dated)
    throw Error("this model reads calendar features, so forecasting needs at least two dated rows");
  const int64_t previous = dated ? parse_date(d.series.dates[size_t(R - 2)]) : 0;
  const int64_t last = dated ? parse_date(d.series.dates.back()) : 0;
  // The last window in the data's units (with its context rows), then rows past the data whose
  // values are unknown (NaN) but whose calendar is; a univariate model fills in its own
  // predictions and slides on.
  const int64_t future = int64_t(steps) + K + lead;
  std::vector<float> rows(d.series.values.end() - (L + H) * C, d.series.values.end());
  rows.resize(size_t((L + H + future) * C), std::numeric_limits<float>::quiet_NaN());
  for (int64_t k = 1; k <= future && !o.calendar.empty(); ++k)
    calendar_values(o.calendar, step_date(previous, last, k), &rows[size_t((L + H - 1 + k) * C + C - 2 * int64_t(o.calendar.size()))]);
  // the future features of the rows after the data, as the CSV gives them
  const int64_t U = int64_t(o.future_features.size()), known = C - 2 * int64_t(o.calendar.size()) - U;
  if (U > 0) {
    const int64_t windows = s.univariate() ? (int64_t(steps) + K - 1) / K : 1, need = windows * K;
    if (d.future.rows() < need)
      throw Error("forecasting " + std::to_string(steps) + " step" + (steps > 1 ? "s" : "") + " reads the future features (" +
                  [&] {
                    std::string n;
                    for (const std::string& u : o.future_features) n += (n.empty() ? "" : ", ") + u;
                    return n;
                  }() + ") of the " + std::to_string(need) + " rows after the data, but the CSV has " +
                  std::to_string(d.future.rows()) + ": add them as rows after the last value of '" + o.target +
                  "', with the target empty");
    // the future rows must continue the data's dates: row k is step k's
    for (int64_t k = 1; dated && k <= need && k <= int64_t(d.future.dates.size()); ++k)
      if (parse_date(d.future.dates[size_t(k - 1)]) != step_date(previous, last, k))
        throw Error("the row after the data that holds the known future of step " + std::to_string(k) + " is dated '" +
                    d.future.dates[size_t(k - 1)] + "', but the data steps to '" +
                    format_date(step_date(previous, last, k), d.series.dates.back()) + "' there: the rows after the last "
                    "value of '" + o.target + "' must continue its dates, one row per step");
    for (int64_t k = 1; k <= need; ++k)
      for (int64_t u = 0; u < U; ++u) rows[size_t((L + H - 1 + k) * C + known + u)] = d.future.at(k - 1, u);
  }
  const int64_t Q = s.outputs_per_step(), median = Q > 1 ? s.median_index() : 0;
  const std::vector<float> adjust = adjust_at_end(model, d);
  std::vector<float> values, x(size_t(L * W)), decoded(size_t(K * Q));
  std::vector<std::vector<float>> quantiles;  // per step, up to the horizon
  for (int64_t first = 0; int64_t(values.size()) < steps; first += K) {  // the window's first row
    const float* window = &rows[size_t(first * C)];
    s.encode_window(window, x.data());
    Tensor pred = model.predict(Tensor({1, L, W}, x), 1);
    s.decode_outputs(pred.data(), window, decoded.data(), &adjust);
    for (int64_t k = 0; k < K && int64_t(values.size()) < steps; ++k) {
      values.push_back(decoded[size_t(k * Q + median)]);
      if (!o.quantiles.empty() && int64_t(values.size()) <= K)
        quantiles.emplace_back(decoded.begin() + k * Q, decoded.begin() + (k + 1) * Q);
      // recursive: the prediction (the median) is the next row's value
      rows[size_t((first + H + L + k) * C + tc)] = values.back();
    }
  }
  std::vector<ForecastPoint> out;
  for (int k = 1; k <= steps; ++k)
    out.push_back({k, dated ? format_date(step_date(previous, last, k), d.series.dates.back()) : "",
                   values[size_t(k - 1)], size_t(k - 1) < quantiles.size() ? quantiles[size_t(k - 1)] : std::vector<float>{}});
  return out;
}

}  // namespace lstm

// ---- many series ------------------------------------------------------------------------

namespace lstm {

namespace {

Metrics mean_metrics(const std::vector<ForecastEvaluation>& series, Metrics ForecastEvaluation::*field) {
  Metrics m;
  double mase = 0;
  int64_t with_mase = 0;
  for (const ForecastEvaluation& e : series) {
    const Metrics& x = e.*field;
    m.rmse += x.rmse, m.mae += x.mae, m.smape += x.smape, m.count += x.count;
    if (std::isfinite(x.mase)) mase += x.mase, ++with_mase;
  }
  const double n = double(std::max<size_t>(1, series.size()));
  m.rmse /= n, m.mae /= n, m.smape /= n;
  m.mase = with_mase ? mase / double(with_mase) : std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace

ForecastEvaluation mean_evaluation(const std::vector<ForecastEvaluation>& series) {
  ForecastEvaluation ev;
  if (series.empty()) return ev;
  const ForecastEvaluation& first = series.front();
  ev.target = first.target, ev.transform = first.transform, ev.season = first.season;
  ev.has_seasonal = true;
  for (const ForecastEvaluation& e : series) ev.has_seasonal = ev.has_seasonal && e.has_seasonal;
  ev.model = mean_metrics(series, &ForecastEvaluation::model);
  ev.naive = mean_metrics(series, &ForecastEvaluation::naive);
  ev.seasonal = mean_metrics(series, &ForecastEvaluation::seasonal);
  ev.drift = mean_metrics(series, &ForecastEvaluation::drift);
  ev.mean = mean_metrics(series, &ForecastEvaluation::mean);
  ev.quantile_levels = first.quantile_levels;
  if (ev.quantile_levels.empty()) return ev;
  ev.below.assign(first.below.size(), 0.0);
  ev.intervals = first.intervals;
  for (IntervalScore& i : ev.intervals) i.coverage = 0, i.mean_width = 0;
  double count = 0, pinball = 0;
  for (const ForecastEvaluation& e : series) {
    const double n = double(e.model.count);
    count += n, pinball += e.pinball * n;
    for (size_t j = 0; j < ev.below.size() && j < e.below.size(); ++j) ev.below[j] += e.below[j] * n;
    for (size_t i = 0; i < ev.intervals.size() && i < e.intervals.size(); ++i)
      ev.intervals[i].coverage += e.intervals[i].coverage * n, ev.intervals[i].mean_width += e.intervals[i].mean_width * n;
  }
  if (count > 0) {
    for (double& b : ev.below) b /= count;
    for (IntervalScore& i : ev.intervals) i.coverage /= count, i.mean_width /= count;
    ev.pinball = pinball / count;
  }
  return ev;
}

SeriesComparison compare_with_baselines(const std::vector<ForecastEvaluation>& series) {
  SeriesComparison c;
  double log_sum = 0;
  int64_t n = 0;
  for (const ForecastEvaluation& e : series) {
    const double best = e.baselines().front().second.rmse, ratio = e.model.rmse / best;
    c.beats += e.model.rmse < best;
    if (std::isfinite(ratio) && ratio > 0) log_sum += std::log(ratio), ++n;
  }
  c.ratio = n ? std::exp(log_sum / double(n)) : std::numeric_limits<double>::quiet_NaN();
  return c;
}

const std::string& series_id(const ForecastData& d, size_t part) {
  const int64_t i = d.parts.at(part).setup.series_index;
  if (i < 0 || i >= int64_t(d.setup.series.size())) throw Error("a series' data does not name its series");
  return d.setup.series[size_t(i)].id;
}

SeriesEvaluation evaluate_series(Sequential& model, const ForecastData& d) {
  if (!d.many()) throw Error("evaluate_series needs data of many series (--series-column)");
  SeriesEvaluation ev;
  for (size_t i = 0; i < d.parts.size(); ++i) {
    if (d.parts[i].test_rows.empty()) continue;
    ev.ids.push_back(series_id(d, i));
    ev.series.push_back(evaluate_forecast(model, d.parts[i]));
  }
  if (ev.series.empty())
    throw Error("there are no test windows to evaluate on in any series: use a --test-fraction above 0");
  ev.mean = mean_evaluation(ev.series);
  const SeriesComparison c = compare_with_baselines(ev.series);
  ev.beats = c.beats, ev.ratio = c.ratio;
  return ev;
}

std::string metrics_table(const SeriesEvaluation& ev) {
  std::ostringstream s;
  char line[256];
  const ForecastEvaluation& m = ev.mean;
  std::snprintf(line, sizeof line, "%-24s %12s  %-24s %12s %8s %8s\n", ("test: " + m.target).c_str(), "model RMSE",
                "best baseline", "its RMSE", "ratio", "MASE");
  s << line;
  for (size_t i = 0; i < ev.series.size(); ++i) {
    const ForecastEvaluation& e = ev.series[i];
    const auto best = e.baselines().front();
    char mase[32] = "-";
    if (std::isfinite(e.model.mase)) std::snprintf(mase, sizeof mase, "%.3f", e.model.mase);
    std::snprintf(line, sizeof line, "%-24s %12.4f  %-24s %12.4f %7.1f%% %8s\n", ev.ids[i].c_str(), e.model.rmse,
                  best.first.c_str(), best.second.rmse, 100.0 * e.model.rmse / best.second.rmse, mase);
    s << line;
  }
  s << "\n" << metrics_header("mean of " + std::to_string(ev.series.size()) + " series");
  s << metrics_row("model", m.model) << metrics_row("naive (last value)", m.naive);
  if (m.has_seasonal) s << metrics_row(seasonal_name(m.season), m.seasonal);
  s << metrics_row("drift", m.drift) << metrics_row("mean", m.mean);
  std::snprintf(line, sizeof line,
                "%lld test predictions; the model beats the best baseline in %lld of %zu series; its RMSE is "
                "%.1f%% of the best baseline's (geometric mean over the series)%s; target transform: %s\n",
                (long long)m.model.count, (long long)ev.beats, ev.series.size(), 100.0 * ev.ratio,
                ev.ratio < 1 ? "" : " (the model does NOT beat the baselines)", transform_name(m.transform));
  s << line;
  for (const IntervalScore& i : m.intervals) {
    std::snprintf(line, sizeof line, "%g%% interval (q%g..q%g) holds %.1f%% of the test values of all series\n",
                  100.0 * double(i.upper - i.lower), double(i.lower), double(i.upper), 100.0 * i.coverage);
    s << line;
  }
  return s.str();
}

std::string metrics_json(const SeriesEvaluation& ev) {
  nlohmann::json series = nlohmann::json::array();
  for (size_t i = 0; i < ev.series.size(); ++i) {
    nlohmann::json e = nlohmann::json::parse(metrics_json(ev.series[i]));
    e["id"] = ev.ids[i];
    series.push_back(e);
  }
  nlohmann::json mean = nlohmann::json::parse(metrics_json(ev.mean));
  mean.erase("mase_scale");
  mean.erase("baselines_by_rmse");
  nlohmann::json j = {{"target", ev.mean.target}, {"series", series}, {"mean", mean},
                      {"beats_best_baseline_in", ev.beats}, {"series_count", ev.series.size()},
                      {"rmse_ratio_to_best_baseline", std::isfinite(ev.ratio) ? nlohmann::json(ev.ratio) : nlohmann::json(nullptr)}};
  return j.dump(2);
}

}  // namespace lstm
