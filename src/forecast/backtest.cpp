// Backtesting a forecaster over rolling or expanding origins (include/lstm/forecast.h).
// R = rows, K = folds, o_f = fold f's origin (its first test row), H = the model's horizon.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "forecast/windows.h"
#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

namespace {

// Rows [begin, end) of a table, header and line numbers kept.
CsvTable rows_of(const CsvTable& t, int64_t begin, int64_t end) {
  CsvTable out;
  out.path = t.path;
  out.header = t.header;
  out.rows.assign(t.rows.begin() + begin, t.rows.begin() + end);
  out.lines.assign(t.lines.begin() + begin, t.lines.begin() + end);
  return out;
}

// Pools per-fold metrics: squared and absolute errors by count; MASE weighted by count.
struct Pool {
  double se = 0, ae = 0, sape = 0, mase = 0;
  int64_t n = 0, n_mase = 0;
  void add(const Metrics& m) {
    se += m.rmse * m.rmse * double(m.count), ae += m.mae * double(m.count), sape += m.smape * double(m.count);
    if (std::isfinite(m.mase)) mase += m.mase * double(m.count), n_mase += m.count;
    n += m.count;
  }
  Metrics metrics() const {
    if (!n) return {};
    return {std::sqrt(se / double(n)), ae / double(n), sape / double(n), n,
            n_mase ? mase / double(n_mase) : std::numeric_limits<double>::quiet_NaN()};
  }
};

}  // namespace

Backtest backtest_forecaster(const CsvTable& all_rows, const ForecastOptions& options,
                             const BacktestOptions& b, const std::vector<Transform>& candidates,
                             double validation_fraction, const ForecastTrainFn& train,
                             const std::function<void(int, int64_t, int64_t, int64_t)>& on_fold) {
  if (!options.series_column.empty())
    throw Error("backtesting a forecaster of many series (a series column) is not supported: backtest one "
                "series at a time, or score the global model on its test part (lstm train / evaluate)");
  Series future;  // rows of the known future hold no targets to test on
  const CsvTable table = split_future_rows(all_rows, options, future);
  const int64_t R = int64_t(table.rows.size()), H = options.horizon;
  if (b.folds < 1) throw Error("a backtest needs at least 1 fold, got " + std::to_string(b.folds));
  const int64_t step = b.step > 0 ? b.step : int64_t(std::floor(double(R) * options.test_fraction / double(b.folds)));
  if (step < 1)
    throw Error("'" + table.path + "' has " + std::to_string(R) + " rows: " + std::to_string(b.folds) +
                " folds of its last " + std::to_string(options.test_fraction) + " leave less than a row each; "
                "give --step, fewer --folds or a larger --test-fraction");
  const int64_t first = R - int64_t(b.folds) * step;  // o_1
  if (first < 1)
    throw Error("'" + table.path + "' has " + std::to_string(R) + " rows, fewer than " + std::to_string(b.folds) +
                " folds of " + std::to_string(step) + " rows need (and some rows to train on): use fewer "
                "--folds or a smaller --step");
  Backtest out;
  if (!options.date_column.empty()) {
    const int c = table.column(options.date_column);
    for (const auto& row : table.rows) out.dates.push_back(size_t(c) < row.size() ? row[size_t(c)] : "");
  }
  Pool model, naive, seasonal, drift, mean;
  for (int f = 0; f < b.folds; ++f) {
    const int64_t origin = first + f * step, begin = b.expanding ? 0 : origin - first;
    const int64_t end = std::min(R, origin + step + H - 1);  // the fold's last target row + 1
    if (on_fold) on_fold(f, begin, origin, end);
    ForecastOptions o = options;
    o.test_rows = end - origin;
    const CsvTable part = rows_of(table, begin, end);
    const std::vector<Transform> tried = candidates.empty() ? forecast_candidates(part, o, validation_fraction) : candidates;
    BacktestFold fold;
    fold.origin = origin, fold.train_begin = begin;
    try {
      TrainedForecaster tf = train_forecaster(part, o, tried, validation_fraction, train);
      fold.evaluation = evaluate_forecast(tf.model, tf.data);
      fold.selection = std::move(tf.selection);
    } catch (const Error& e) {
      throw Error("fold " + std::to_string(f + 1) + " of " + std::to_string(b.folds) + " (training rows " +
                  std::to_string(begin) + ".." + std::to_string(origin - 1) + ", testing from row " +
                  std::to_string(origin) + "): " + e.what());
    }
    for (PredictionRow& p : fold.evaluation.predictions) p.row += begin;
    model.add(fold.evaluation.model), naive.add(fold.evaluation.naive), drift.add(fold.evaluation.drift);
    mean.add(fold.evaluation.mean);
    if (fold.evaluation.has_seasonal) seasonal.add(fold.evaluation.seasonal);
    out.has_seasonal = out.has_seasonal || fold.evaluation.has_seasonal;
    out.folds.push_back(std::move(fold));
  }
  out.model = model.metrics(), out.naive = naive.metrics(), out.seasonal = seasonal.metrics();
  out.drift = drift.metrics(), out.mean = mean.metrics();
  return out;
}

std::string Backtest::table() const {
  std::ostringstream s;
  char line[256];
  auto label = [&](int64_t row) {
    return row < int64_t(dates.size()) ? dates[size_t(row)] : "row " + std::to_string(row);
  };
  std::snprintf(line, sizeof line, "%-5s %-22s %-10s %10s %10s %10s %10s\n", "fold", "test from", "transform",
                "model", "naive", "seasonal", "best");
  s << line;
  for (size_t f = 0; f < folds.size(); ++f) {
    const BacktestFold& b = folds[f];
    const ForecastEvaluation& ev = b.evaluation;
    char seasonal[32] = "-";
    if (ev.has_seasonal) std::snprintf(seasonal, sizeof seasonal, "%.4f", ev.seasonal.rmse);
    const auto best = ev.baselines().front();
    std::snprintf(line, sizeof line, "%-5zu %-22s %-10s %10.4f %10.4f %10s %9.1f%%\n", f + 1, label(b.origin).c_str(),
                  transform_name(ev.transform), ev.model.rmse, ev.naive.rmse, seasonal,
                  100.0 * ev.model.rmse / best.second.rmse);
    s << line;
  }
  s << "(RMSE per fold; best: the model's RMSE as a share of the fold's best baseline's)\n\n";
  s << metrics_header("all folds");
  auto row = [&](const char* name, const Metrics& m) { s << metrics_row(name, m); };
  row("model", model);
  row("naive (last value)", naive);
  if (has_seasonal) row("seasonal naive", seasonal);
  row("drift", drift);
  row("mean", mean);
  int wins = 0;
  for (const BacktestFold& b : folds) wins += b.evaluation.model.rmse < b.evaluation.baselines().front().second.rmse;
  std::snprintf(line, sizeof line, "%lld predictions in %zu folds; the model beats the fold's best baseline in %d of them\n",
                (long long)model.count, folds.size(), wins);
  s << line;
  return s.str();
}

std::string Backtest::to_json() const {
  const auto& m = metrics_object;
  nlohmann::json fs = nlohmann::json::array();
  for (const BacktestFold& b : folds) {
    const ForecastEvaluation& ev = b.evaluation;
    nlohmann::json f = {{"origin", b.origin}, {"train_begin", b.train_begin},
                        {"transform", transform_name(ev.transform)}, {"model", m(ev.model)},
                        {"naive", m(ev.naive)}, {"drift", m(ev.drift)}, {"mean", m(ev.mean)},
                        {"best_baseline", ev.baselines().front().first}};
    f["seasonal_naive"] = ev.has_seasonal ? m(ev.seasonal) : nlohmann::json(nullptr);
    if (b.origin < int64_t(dates.size())) f["origin_date"] = dates[size_t(b.origin)];
    fs.push_back(f);
  }
  nlohmann::json j = {{"folds", fs}, {"model", m(model)}, {"naive", m(naive)}, {"drift", m(drift)}, {"mean", m(mean)}};
  j["seasonal_naive"] = has_seasonal ? m(seasonal) : nlohmann::json(nullptr);
  return j.dump(2);
}

}  // namespace lstm
