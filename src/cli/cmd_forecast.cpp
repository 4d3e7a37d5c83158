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
        {"predictions", "FILE", "write one CSV row per test prediction: row,actual,predicted (many "
                                "series: the series column first)"},
        {"json", "", "print the metrics as JSON instead of a table"},
        {"report", "FILE", "write an HTML report (metrics, test forecast, loss curves)"},
        precision_option(),
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
    }};

const Command kForecast{"forecast",
                        "Forecast the rows after the end of a CSV with a trained forecaster.",
                        {
                            {"model", "FILE", "a model trained with lstm train --csv"},
                            {"csv", "FILE", "the data up to now"},
                            {"steps", "N", "how many rows ahead (default: the model's horizon)"},
                            {"out", "FILE", "also write the forecast as CSV: step,date,<target> (a quantile "
                                            "forecaster: then <target>_q<level> per level, empty past its horizon; "
                                            "many series: the series column first, each series' rows in turn)"},
                            precision_option(),
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
                        }};

// One CSV number: shortest form that reads back to the same float.
static std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.7g", v);
  return b;
}

std::string predictions_csv_header(bool fold, bool steps, const std::vector<float>& levels,
                                   const std::string& series_column) {
  std::string csv = (series_column.empty() ? std::string() : csv_cell(series_column) + ",") + std::string(fold ? "fold," : "") + (steps ? "row,step,actual,predicted" : "row,actual,predicted");
  for (float q : levels) csv += ",q" + fmt(q);
  return csv + "\n";
}

void append_predictions_csv(std::string& csv, const std::vector<PredictionRow>& rows, bool steps, int fold,
                            const std::string& id) {
  for (const PredictionRow& p : rows) {
    csv += (id.empty() ? std::string() : csv_cell(id) + ",") + (fold ? std::to_string(fold) + "," : "") + std::to_string(p.row) + "," +
           (steps ? std::to_string(p.step) + "," : "") + fmt(p.actual) + "," + fmt(p.predicted);
    for (float v : p.quantiles) csv += "," + fmt(v);
    csv += "\n";
  }
}

std::string series_report(const SeriesEvaluation& ev, const std::map<std::string, std::vector<double>>& history,
                          const ForecastSelection* selection, const ForecastData& data,
                          const std::vector<std::pair<std::string, std::string>>& facts) {
  ReportTable table{"Test metrics per series (" + std::to_string(ev.beats) + " of " +
                        std::to_string(ev.series.size()) + " beat their best baseline; RMSE " +
                        fixed(100.0 * ev.ratio, 1) + "% of the best baseline's, geometric mean)",
                    {"series", "model RMSE", "best baseline", "its RMSE", "ratio", "MASE", "sMAPE %"},
                    {}};
  for (size_t i = 0; i < ev.series.size(); ++i) {
    const ForecastEvaluation& e = ev.series[i];
    const auto best = e.baselines().front();
    table.rows.push_back({ev.ids[i], fixed(e.model.rmse, 4), best.first, fixed(best.second.rmse, 4),
                          fixed(100.0 * e.model.rmse / best.second.rmse, 1) + "%",
                          std::isfinite(e.model.mase) ? fixed(e.model.mase, 3) : "-", fixed(e.model.smape, 2)});
  }
  // the chart and metrics of the first series
  ForecastEvaluation first = ev.series.front();
  first.target += " (series " + ev.ids.front() + ")";
  std::vector<std::string> dates;
  for (size_t i = 0; i < data.parts.size(); ++i)
    if (series_id(data, i) == ev.ids.front()) dates = data.parts[i].series.dates;
  ReportContent rc{"lstm: " + ev.mean.target + ", " + std::to_string(ev.series.size()) + " series",
                   facts, history, &first, {}, dates};
  rc.tables.push_back(table);
  rc.selection = selection;
  return report_html(rc);
}

// The training history saved with a model ("lstm.history"), or none.
static std::map<std::string, std::vector<double>> saved_history(const Sequential& model) {
  auto it = model.metadata().find("lstm.history");
  if (it == model.metadata().end()) return {};
  try {
    return parse_json(it->second, "the model's training history").get<std::map<std::string, std::vector<double>>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("the model's training history (\"lstm.history\" metadata) is malformed: " + std::string(e.what()));
  }
}

// lstm evaluate of a forecaster of many series: per series and over all.
static int evaluate_many(const Args& a, Sequential& model, const ForecastData& data) {
  const SeriesEvaluation ev = evaluate_series(model, data);
  std::fputs(a.has("json") ? (metrics_json(ev) + "\n").c_str() : metrics_table(ev).c_str(), stdout);
  const ForecastOptions& o = data.setup.options;
  if (a.has("predictions")) {
    std::string csv = predictions_csv_header(false, o.horizon > 1, ev.mean.quantile_levels, o.series_column);
    for (size_t i = 0; i < ev.series.size(); ++i) append_predictions_csv(csv, ev.series[i].predictions, o.horizon > 1, 0, ev.ids[i]);
    write_file_atomic(a.str("predictions"), csv, "predictions file");
  }
  if (a.has("report"))
    write_file_atomic(a.str("report"), series_report(ev, saved_history(model), nullptr, data,
                                                     {{"data", a.str("csv")}, {"model", a.str("model")}}), "report");
  return 0;
}

int run_evaluate(const Args& a) {
  if (a.has("x") || a.has("y")) return evaluate_arrays(a);
  check_outputs_distinct(a, {"predictions", "report"}, {"model", "csv"});
  for (const char* f : {"predictions", "report"})
    if (a.has(f)) check_writable(a.str(f));
  Sequential model = Sequential::load(a.required("model"));
  apply_precision(a, model);
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
  for (const std::string& w : data.skipped) std::fprintf(stderr, "lstm evaluate: warning: %s\n", w.c_str());
  if (data.many()) return evaluate_many(a, model, data);
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
    rc.history = saved_history(model);
    write_file_atomic(a.str("report"), report_html(rc), "report");
  }
  return 0;
}

int run_forecast(const Args& a) {
  check_outputs_distinct(a, {"out"}, {"model", "csv"});
  if (a.has("out")) check_writable(a.str("out"));
  Sequential model = Sequential::load(a.required("model"));
  apply_precision(a, model);
  ForecastSetup setup = forecast_setup(model);
  const int64_t steps = a.integer("steps", setup.options.horizon, 1, 1000000);
  ForecastData data = prepare_forecast(read_csv(a.required("csv")), setup, 0.0);
  for (const std::string& w : data.skipped) std::fprintf(stderr, "lstm forecast: warning: %s\n", w.c_str());
  // one series, or each of many: (id, its data)
  std::vector<std::pair<std::string, const ForecastData*>> series;
  if (!data.many()) series.push_back({"", &data});
  for (size_t i = 0; i < data.parts.size(); ++i) series.push_back({series_id(data, i), &data.parts[i]});
  // every forecast first: an error prints nothing
  std::vector<std::pair<std::string, std::vector<ForecastPoint>>> forecasts;
  for (const auto& [id, part] : series) {
    try {
      forecasts.push_back({id, forecast_future(model, *part, int(steps))});
    } catch (const Error& e) {
      if (id.empty()) throw;
      throw Error("series " + id + ": " + e.what());
    }
  }
  const std::string& target = setup.options.target;
  const std::string id_column = data.many() ? setup.options.series_column : "";
  const std::vector<float>& levels = data.setup.options.quantiles;
  std::string csv = (id_column.empty() ? "" : csv_cell(id_column) + ",") + "step,date," + target, head;
  for (float q : levels) csv += "," + target + "_q" + fmt(q), head += " " + std::string(12 - std::min<size_t>(12, fmt(q).size() + 1), ' ') + "q" + fmt(q);
  csv += "\n";
  if (!id_column.empty()) std::printf("%-16s ", id_column.c_str());
  std::printf("%-6s %-20s %12s%s\n", "step", "date", target.c_str(), head.c_str());
  for (const auto& [id, points] : forecasts) {
    for (const ForecastPoint& p : points) {
      std::string qs;
      for (size_t j = 0; j < levels.size(); ++j) {
        char b[32];
        std::snprintf(b, sizeof b, " %12s", j < p.quantiles.size() ? fmt(p.quantiles[j]).c_str() : "-");
        qs += b;
      }
      if (!id_column.empty()) std::printf("%-16s ", id.c_str());
      std::printf("%-6d %-20s %12s%s\n", p.step, p.date.empty() ? "-" : p.date.c_str(), fmt(p.value).c_str(), qs.c_str());
      csv += (id_column.empty() ? "" : csv_cell(id) + ",") + std::to_string(p.step) + "," + p.date + "," + fmt(p.value);
      for (size_t j = 0; j < levels.size(); ++j) csv += "," + (j < p.quantiles.size() ? fmt(p.quantiles[j]) : std::string());
      csv += "\n";
    }
  }
  if (a.has("out")) write_file_atomic(a.str("out"), csv, "forecast file");
  return 0;
}

}  // namespace lstm::cli
