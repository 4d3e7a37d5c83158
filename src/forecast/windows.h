// Shared by the forecasting files: a window's rows, and scoring predictions of windows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

// Window t (its last input row): rows t-L+1-H..t of the data (H = the setup's context_rows()),
// in the data's units, as ForecastSetup::encode_window reads them. Needs t >= L-1+H.
const float* window_rows(const ForecastData& d, int64_t t);

// The model's outputs `pred` [N, K] for the windows ending at rows `last_rows` (N of them),
// decoded and scored with the baselines on the same targets. The MASE scale comes from the
// rows before d.split_row. The windows are in time order; with interval tracking, window t's
// intervals use the adjustment after every value up to row t (the targets of earlier windows
// that are revealed by then), and ev.tracked_adjust is the adjustment after the last one.
ForecastEvaluation score_windows(const ForecastData& d, const Tensor& pred,
                                 const std::vector<int64_t>& last_rows);

// Many series: the evaluations' metrics averaged over the series (each Metrics field's mean;
// count the sum), interval coverage and the shares below each quantile over all predictions;
// no predictions. Empty: an empty evaluation.
ForecastEvaluation mean_evaluation(const std::vector<ForecastEvaluation>& series);

// Many series against their baselines: in how many the model's RMSE is below its best
// baseline's, and the geometric mean over the series of that ratio (scale-free).
struct SeriesComparison {
  int64_t beats = 0;
  double ratio = 0;
};
SeriesComparison compare_with_baselines(const std::vector<ForecastEvaluation>& series);

// A metrics table's header line (the first column titled `title`) and one row; a Metrics as
// JSON (MASE null when undefined). Shared by metrics_table / metrics_json and the backtest's.
std::string metrics_header(const std::string& title);
std::string metrics_row(const std::string& name, const Metrics& m);
nlohmann::json metrics_object(const Metrics& m);

// A table's windows for a setup, its scalers fitted on the training rows when fit_scaling
// (prepare_forecast, of one series). A table too short for the windows throws SeriesTooShort.
struct SeriesTooShort : Error {
  using Error::Error;
};
ForecastData build_forecast_data(const CsvTable& table, ForecastSetup setup, double test_fraction,
                                 bool fit_scaling);
// Many series (setup.options.series_column): the table's rows of each series, built with the
// function above, every series its own scalers (fitted: setup.series is set) or those of its
// entry in setup.series; the series too short, and those a fitted setup does not know, are
// skipped (ForecastData::skipped, a warning each); none left is an error.
ForecastData build_many_series(const CsvTable& table, const ForecastSetup& setup, double test_fraction,
                               bool fit_scaling);

// The rows [N_i, ...] of the tensors one after another (empty ones left out); none: empty.
Tensor stack_rows(const std::vector<const Tensor*>& parts);

// With future features: the table's rows before the trailing rows whose target is empty (the
// known future), whose future features go to `future`; without, the table itself.
CsvTable split_future_rows(const CsvTable& table, const ForecastOptions& o, Series& future);

}  // namespace lstm
