// A training/evaluation report as one self-contained HTML file: inline SVG charts and tables,
// no scripts, no network, so it opens anywhere, offline.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lstm/forecast.h"

namespace lstm {

struct ReportContent {
  std::string title;
  std::vector<std::pair<std::string, std::string>> facts;  // "data" -> "seattle-weather.csv", ...
  std::map<std::string, std::vector<double>> history;      // loss / val_loss per epoch; may be empty
  const ForecastEvaluation* evaluation = nullptr;          // test metrics and predictions
  std::vector<ForecastPoint> future;                       // forecast past the data; may be empty
  std::vector<std::string> row_dates;  // the data's dates per row, for the forecast chart's axis
};

std::string report_html(const ReportContent& content);

}  // namespace lstm
