// Shared by the forecasting files: a window's rows, and scoring predictions of windows.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lstm/forecast.h"

namespace lstm {

// Window t (its last input row): rows t-L+1-H..t of the data (H = the setup's context_rows()),
// in the data's units, as ForecastSetup::encode_window reads them. Needs t >= L-1+H.
const float* window_rows(const ForecastData& d, int64_t t);

// The model's outputs `pred` [N, K] for the windows ending at rows `last_rows` (N of them),
// decoded and scored with the baselines on the same targets. The MASE scale comes from the
// rows before d.split_row.
ForecastEvaluation score_windows(const ForecastData& d, const Tensor& pred,
                                 const std::vector<int64_t>& last_rows);

// A metrics table's header line (the first column titled `title`) and one row; a Metrics as
// JSON (MASE null when undefined). Shared by metrics_table / metrics_json and the backtest's.
std::string metrics_header(const std::string& title);
std::string metrics_row(const std::string& name, const Metrics& m);
nlohmann::json metrics_object(const Metrics& m);

// With future features: the table's rows before the trailing rows whose target is empty (the
// known future), whose future features go to `future`; without, the table itself.
CsvTable split_future_rows(const CsvTable& table, const ForecastOptions& o, Series& future);

}  // namespace lstm
