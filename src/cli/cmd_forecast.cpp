// lstm evaluate and lstm forecast: a trained forecaster (lstm train --csv) against a CSV.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/json.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/forecast.h"
#include "lstm/lstm.h"
#include "report/report.h"

namespace lstm::cli {

const Command kEvaluate{
    "evaluate",
    "Score a forecaster on the test part of a CSV (its last --test-fraction of rows): RMSE, MAE\n"
    "and sMAPE for the model and for the naive (last value) and seasonal-naive baselines.\n"
    "Or score any model on arrays (--x, --y; a graph: NAME=FILE.npy per input and output):\n"
    "its loss and metrics, by default the ones lstm train used.",
    {
        {"model", "FILE", "a model trained with lstm train (--csv for a forecaster)"},
        {"csv", "FILE", "the data, with the columns the model was trained on"},
        {"x", "FILE", "arrays: inputs .npy [N, T, F]; a graph: NAME=FILE.npy per input", true},
        {"y", "FILE", "arrays: targets .npy; a graph of several outputs: NAME=FILE.npy per output", true},
        {"lengths", "FILE", "arrays: valid steps per sample, .npy integers [N] (a graph: of its input "
                            "with \"lengths\": true)"},
        {"loss", "NAME", "arrays: mse, mae, bce, cce or scce (a graph: one per output, comma-separated); "
                         "default: the model's from lstm train"},
        {"from-logits", "", "arrays: bce/cce/scce on logits"},
        {"metrics", "LIST", "arrays: metrics to report, comma-separated (default: lstm train's)"},
        {"batch-size", "N", "arrays: samples per forward pass (default 32)"},
        {"test-fraction", "X", "held-out fraction of rows (default: the one used in training)"},
        {"season", "S", "season length for the seasonal-naive baseline (default: from training)"},
        {"predictions", "FILE", "write one CSV row per test prediction: row,actual,predicted"},
        {"json", "", "print the metrics as JSON instead of a table"},
        {"report", "FILE", "write an HTML report (metrics, test forecast, loss curves)"},
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
    }};

const Command kForecast{"forecast",
                        "Forecast the rows after the end of a CSV with a trained forecaster.",
                        {
                            {"model", "FILE", "a model trained with lstm train --csv"},
                            {"csv", "FILE", "the data up to now"},
                            {"steps", "N", "how many rows ahead (default: the model's horizon)"},
                            {"out", "FILE", "also write the forecast as CSV: step,date,<target> (a quantile "
                                            "forecaster: then <target>_q<level> per level, empty past its horizon)"},
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
                        }};

// One CSV number: shortest form that reads back to the same float.
static std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.7g", v);
  return b;
}

std::string predictions_csv_header(bool fold, bool steps, const std::vector<float>& levels) {
  std::string csv = std::string(fold ? "fold," : "") + (steps ? "row,step,actual,predicted" : "row,actual,predicted");
  for (float q : levels) csv += ",q" + fmt(q);
  return csv + "\n";
}

void append_predictions_csv(std::string& csv, const std::vector<PredictionRow>& rows, bool steps, int fold) {
  for (const PredictionRow& p : rows) {
    csv += (fold ? std::to_string(fold) + "," : "") + std::to_string(p.row) + "," +
           (steps ? std::to_string(p.step) + "," : "") + fmt(p.actual) + "," + fmt(p.predicted);
    for (float v : p.quantiles) csv += "," + fmt(v);
    csv += "\n";
  }
}

int run_evaluate(const Args& a) {
  if (a.has("x") || a.has("y")) return evaluate_arrays(a);
  check_outputs_distinct(a, {"predictions", "report"}, {"model", "csv"});
  for (const char* f : {"predictions", "report"})
    if (a.has(f)) check_writable(a.str(f));
  Sequential model = Sequential::load(a.required("model"));
  ForecastSetup setup = forecast_setup(model);
  if (a.has("season")) {
    const int season = int(a.integer("season", 0, 0, limits::kTimeSteps - 1));
    if (setup.options.transform == Transform::seasonal && season != setup.options.season)
      throw UsageError("this model predicts changes over its season of " + std::to_string(setup.options.season) +
                       " rows (--transform seasonal), so --season cannot change it");
    setup.options.season = season;
  }
  const double tf = a.number("test-fraction", -1.0);  // default: the setup's test part
  if (a.has("test-fraction") && !(tf > 0 && tf < 1)) throw UsageError("--test-fraction must be in (0, 1)");
  ForecastData data = prepare_forecast(read_csv(a.required("csv")), setup, tf);
  ForecastEvaluation ev = evaluate_forecast(model, data);
  std::fputs(a.has("json") ? (metrics_json(ev) + "\n").c_str() : metrics_table(ev).c_str(), stdout);
  if (a.has("predictions")) {
    std::string csv = predictions_csv_header(false, setup.options.horizon > 1, ev.quantile_levels);
    append_predictions_csv(csv, ev.predictions, setup.options.horizon > 1, 0);
    write_file_atomic(a.str("predictions"), csv, "predictions file");
  }
  if (a.has("report")) {
    ReportContent rc{"lstm: " + setup.options.target + " from " + a.str("csv"),
                     {{"data", a.str("csv")}, {"model", a.str("model")}}, {}, &ev, {}, data.series.dates};
    auto it = model.metadata().find("lstm.history");
    if (it != model.metadata().end())
      try {
        rc.history = parse_json(it->second, "the model's training history")
                         .get<std::map<std::string, std::vector<double>>>();
      } catch (const nlohmann::json::exception& e) {
        throw Error("the model's training history (\"lstm.history\" metadata) is malformed: " +
                    std::string(e.what()));
      }
    write_file_atomic(a.str("report"), report_html(rc), "report");
  }
  return 0;
}

int run_forecast(const Args& a) {
  check_outputs_distinct(a, {"out"}, {"model", "csv"});
  if (a.has("out")) check_writable(a.str("out"));
  Sequential model = Sequential::load(a.required("model"));
  ForecastSetup setup = forecast_setup(model);
  const int64_t steps = a.integer("steps", setup.options.horizon, 1, 1000000);
  ForecastData data = prepare_forecast(read_csv(a.required("csv")), setup, 0.0);
  std::vector<ForecastPoint> points = forecast_future(model, data, int(steps));
  const std::string& target = setup.options.target;
  const std::vector<float>& levels = data.setup.options.quantiles;
  std::string csv = "step,date," + target, head;
  for (float q : levels) csv += "," + target + "_q" + fmt(q), head += " " + std::string(12 - std::min<size_t>(12, fmt(q).size() + 1), ' ') + "q" + fmt(q);
  csv += "\n";
  std::printf("%-6s %-20s %12s%s\n", "step", "date", target.c_str(), head.c_str());
  for (const ForecastPoint& p : points) {
    std::string qs;
    for (size_t j = 0; j < levels.size(); ++j) {
      char b[32];
      std::snprintf(b, sizeof b, " %12s", j < p.quantiles.size() ? fmt(p.quantiles[j]).c_str() : "-");
      qs += b;
    }
    std::printf("%-6d %-20s %12s%s\n", p.step, p.date.empty() ? "-" : p.date.c_str(), fmt(p.value).c_str(), qs.c_str());
    csv += std::to_string(p.step) + "," + p.date + "," + fmt(p.value);
    for (size_t j = 0; j < levels.size(); ++j) csv += "," + (j < p.quantiles.size() ? fmt(p.quantiles[j]) : std::string());
    csv += "\n";
  }
  if (a.has("out")) write_file_atomic(a.str("out"), csv, "forecast file");
  return 0;
}

}  // namespace lstm::cli
