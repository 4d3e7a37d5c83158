// Forecasting setup and windows (include/lstm/forecast.h).
// R = rows, L = lookback, K = horizon, F = features; t = the last input row of a window.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/limits.h"
#include "forecast/transform.h"
#include "forecast/windows.h"
#include "layers/config_json.h"
#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

using json = nlohmann::json;

static const char* kForecastKey = "lstm.forecast";

std::string ForecastSetup::to_json() const {
  const ForecastOptions& o = options;
  json j = {{"target", o.target},
            {"features", o.features},
            {"lookback", o.lookback},
            {"horizon", o.horizon},
            {"test_fraction", o.test_fraction},
            {"test_rows", o.test_rows},
            {"scaling", scaling_name(o.scaling)},
            {"season", o.season},
            {"date_column", o.date_column},
            {"fill", o.fill == Fill::none ? "none" : o.fill == Fill::previous ? "previous" : "linear"},
            {"transform", transform_name(o.transform)},
            {"boxcox_lambda", boxcox_lambda},
            {"interval_adjust", interval_adjust},
            {"interval_step", interval_step},
            {"calendar", o.calendar},
            {"future_features", o.future_features},
            {"known_center", known.center},
            {"known_scale", known.scale},
            {"quantiles", [&] {
               std::vector<double> q;
               for (float v : o.quantiles) q.push_back(json_float(v));
               return q;
             }()},
            {"feature_center", features.center},
            {"feature_scale", features.scale},
            {"target_center", target.center[0]},
            {"target_scale", target.scale[0]}};
  if (!o.series_column.empty()) {
    j["series_column"] = o.series_column;
    j["series_embedding"] = o.series_embedding;
    json all = json::array();
    for (const SeriesScaling& p : series)
      all.push_back({{"id", p.id},
                     {"feature_center", p.features.center},
                     {"feature_scale", p.features.scale},
                     {"target_center", p.target.center.at(0)},
                     {"target_scale", p.target.scale.at(0)},
                     {"known_center", p.known.center},
                     {"known_scale", p.known.scale},
                     {"boxcox_lambda", p.boxcox_lambda},
                     {"interval_adjust", p.interval_adjust},
                     {"interval_step", p.interval_step}});
    j["series"] = all;
  }
  return j.dump();
}

static void check_options(const ForecastOptions& o);

// An integer field of the setup, in lo..hi.
static int64_t get_count(const json& j, const char* key, int64_t lo, int64_t hi) {
  return json_integer(j.at(key), lo, hi, std::string("\"") + key + "\"");
}

static std::vector<float> get_finite(const json& j, const char* key, bool positive) {
  std::vector<float> out;
  const json& v = j.at(key);
  for (const json& x : v.is_array() ? v : json::array({v})) {
    if (!x.is_number() || !std::isfinite(x.get<double>()) ||
        std::fabs(x.get<double>()) > 3.0e38 || (positive && !(x.get<double>() > 0)))
      throw Error(std::string("\"") + key + "\" holds " + json_brief(x) + ", not a finite" +
                  (positive ? " positive" : "") + " number");
    out.push_back(float(x.get<double>()));
  }
  return out;
}

// One series' scalers from a setup's JSON object (its top level, or an entry of "series").
static SeriesScaling read_scaling(const json& j, const ForecastOptions& o) {
  SeriesScaling s;
  s.boxcox_lambda = j.value("boxcox_lambda", 1.0);
  if (!o.future_features.empty()) {
    s.known = {o.scaling, get_finite(j, "known_center", false), get_finite(j, "known_scale", true)};
    if (s.known.center.size() != o.future_features.size() || s.known.scale.size() != o.future_features.size())
      throw Error("the scaling of the future features has " + std::to_string(s.known.center.size()) +
                  " columns for " + std::to_string(o.future_features.size()) + " features");
  }
  if (j.contains("interval_adjust")) s.interval_adjust = get_finite(j, "interval_adjust", false);
  if (s.interval_adjust.size() > o.quantiles.size() / 2)
    throw Error("\"interval_adjust\" has " + std::to_string(s.interval_adjust.size()) + " values for " +
                std::to_string(o.quantiles.size() / 2) + " intervals");
  if (j.contains("interval_step")) s.interval_step = get_finite(j, "interval_step", false);
  if (!s.interval_step.empty() && s.interval_step.size() != s.interval_adjust.size())
    throw Error("\"interval_step\" has " + std::to_string(s.interval_step.size()) + " values for " +
                std::to_string(s.interval_adjust.size()) + " calibrated intervals");
  for (float v : s.interval_step)
    if (v < 0) throw Error("\"interval_step\" holds " + std::to_string(v) + ", not a step of 0 or more");
  if (!std::isfinite(s.boxcox_lambda) || std::fabs(s.boxcox_lambda) > 10)
    throw Error("\"boxcox_lambda\" must be a finite number in [-10, 10]");
  s.features = {o.scaling, get_finite(j, "feature_center", false), get_finite(j, "feature_scale", true)};
  s.target = {o.scaling, get_finite(j, "target_center", false), get_finite(j, "target_scale", true)};
  if (s.features.center.size() != o.features.size() || s.features.scale.size() != o.features.size())
    throw Error("the scaling has " + std::to_string(s.features.center.size()) + " columns for " +
                std::to_string(o.features.size()) + " features");
  if (s.target.center.size() != 1 || s.target.scale.size() != 1)
    throw Error("the target's scaling must be one number each for center and scale");
  return s;
}

ForecastSetup ForecastSetup::from_json(const std::string& text) {
  ForecastSetup s;
  const std::string what = std::string("the model's forecasting setup (\"") + kForecastKey + "\" metadata)";
  try {
    const json j = parse_json(text, what);
    if (!j.is_object()) throw Error("it is not a JSON object");
    ForecastOptions& o = s.options;
    o.target = j.at("target").get<std::string>();
    o.features = j.at("features").get<std::vector<std::string>>();
    if (o.target.empty() || o.features.empty() || int64_t(o.features.size()) > limits::kWidth)
      throw Error("it needs a target and 1.." + std::to_string(limits::kWidth) + " features");
    o.lookback = int(get_count(j, "lookback", 1, limits::kTimeSteps - 1));
    o.horizon = int(get_count(j, "horizon", 1, limits::kWidth));
    o.test_fraction = j.at("test_fraction").get<double>();
    o.test_rows = j.contains("test_rows") ? get_count(j, "test_rows", 0, limits::kTimeSteps) : 0;
    o.scaling = scaling_from_name(j.at("scaling").get<std::string>());
    o.season = int(get_count(j, "season", 0, limits::kTimeSteps - 1));
    o.date_column = j.at("date_column").get<std::string>();
    o.fill = fill_from_name(j.value("fill", "none"));
    // files before the transforms had "relative": true / false
    o.transform = j.contains("transform") ? transform_from_name(j.at("transform").get<std::string>())
                  : j.value("relative", false) ? Transform::relative
                                                : Transform::level;
    if (j.contains("quantiles")) o.quantiles = get_finite(j, "quantiles", false);
    if (j.contains("calendar")) o.calendar = j.at("calendar").get<std::vector<std::string>>();
    if (j.contains("future_features")) {
      o.future_features = j.at("future_features").get<std::vector<std::string>>();
      if (o.future_features.size() > size_t(limits::kWidth)) throw Error("too many future features");
    }
    SeriesScaling own = read_scaling(j, o);
    s.features = own.features, s.target = own.target, s.known = own.known;
    s.boxcox_lambda = own.boxcox_lambda, s.interval_adjust = own.interval_adjust, s.interval_step = own.interval_step;
    o.series_column = j.value("series_column", "");
    o.series_embedding = j.value("series_embedding", false);
    if (!o.series_column.empty()) {
      const json& all = j.at("series");
      if (!all.is_array() || all.empty() || all.size() > size_t(kMaxSeries))
        throw Error("\"series\" must list 1.." + std::to_string(kMaxSeries) + " series");
      std::set<std::string> seen;
      for (const json& p : all) {
        if (!p.is_object()) throw Error("\"series\" holds " + json_brief(p) + ", not an object");
        s.series.push_back(read_scaling(p, o));
        s.series.back().id = p.at("id").get<std::string>();
        if (!seen.insert(s.series.back().id).second)
          throw Error("series '" + s.series.back().id + "' is listed twice in \"series\"");
      }
      s.series_count = int64_t(s.series.size());
    }
    check_options(o);
  } catch (const json::exception& e) {
    throw Error(what + " is malformed: " + e.what());
  } catch (const Error& e) {
    const std::string m = e.what();
    throw Error(m.rfind(what, 0) == 0 ? m : what + " is malformed: " + m);
  }
  return s;
}

void check_forecast_setup(const Sequential& model, const ForecastSetup& setup) {
  const ForecastOptions& o = setup.options;
  const std::vector<int64_t> in = {o.lookback, setup.input_width()};
  const std::vector<int64_t> out = {o.horizon * setup.outputs_per_step()};
  if (model.input_shape() != in || model.output_shape() != out)
    throw Error("the forecasting setup does not fit the model: it reads windows " +
                shape_string(in) + " (lookback " + std::to_string(o.lookback) + ", " +
                std::to_string(in[1]) + " features) and predicts " + shape_string(out) +
                " (horizon " + std::to_string(o.horizon) +
                (o.quantiles.empty() ? "" : " x " + std::to_string(o.quantiles.size()) + " quantiles") +
                "), but the model takes " +
                shape_string(model.input_shape()) + " and returns " +
                shape_string(model.output_shape()) + ": the file is corrupt or was edited");
}

static void check_options(const ForecastOptions& o) {
  if (o.target.empty()) throw Error("forecasting needs a target column (--target)");
  if (o.lookback < 1) throw Error("lookback must be at least 1, got " + std::to_string(o.lookback));
  if (o.horizon < 1) throw Error("horizon must be at least 1, got " + std::to_string(o.horizon));
  if (!(o.test_fraction >= 0.0 && o.test_fraction < 1.0))
    throw Error("test fraction must be in [0, 1), got " + std::to_string(o.test_fraction));
  if (o.season < 0) throw Error("season must be >= 0 (0 = none), got " + std::to_string(o.season));
  if (o.test_rows < 0) throw Error("test rows must be >= 0 (0 = use the test fraction), got " + std::to_string(o.test_rows));
  bool has_target = false;
  for (const std::string& f : o.features) has_target = has_target || f == o.target;
  if (o.transform == Transform::relative && !has_target)
    throw Error("relative forecasting predicts changes from the target's last value, so the "
                "target '" + o.target + "' must be one of the features");
  for (size_t j = 0; j < o.quantiles.size(); ++j) {
    if (!(o.quantiles[j] > 0.0f && o.quantiles[j] < 1.0f))
      throw Error("quantile " + std::to_string(o.quantiles[j]) + " is outside (0, 1): a level q "
                  "is the probability of a value falling below its prediction, e.g. --quantiles 0.1,0.5,0.9");
    if (j > 0 && !(o.quantiles[j] > o.quantiles[j - 1]))
      throw Error("quantiles must be listed in increasing order without repeats, but " +
                  std::to_string(o.quantiles[j]) + " follows " + std::to_string(o.quantiles[j - 1]) +
                  ", e.g. --quantiles 0.1,0.5,0.9");
  }
  if (o.quantiles.size() > size_t(kMaxQuantiles))
    throw Error("at most " + std::to_string(kMaxQuantiles) + " quantiles, got " + std::to_string(o.quantiles.size()));
  check_calendar(o.calendar);
  for (const std::string& u : o.future_features) {
    if (u == o.target)
      throw Error("the target '" + u + "' cannot be a future feature: its future is what is forecast");
    for (const std::string& f : o.features)
      if (f == u)
        throw Error("'" + u + "' is both a feature and a future feature: list it in one of --features "
                    "(known up to now) and --future-features (known in advance)");
  }
  if (o.series_embedding && o.series_column.empty())
    throw Error("a series embedding needs many series: name the series column (--series-column)");
  if (!o.series_column.empty()) {
    std::vector<std::string> used = o.features;
    used.insert(used.end(), o.future_features.begin(), o.future_features.end());
    used.push_back(o.target), used.push_back(o.date_column);
    for (const std::string& u : used)
      if (u == o.series_column)
        throw Error("'" + u + "' names the series (--series-column), so it cannot also be the target, "
                    "the date column or an input");
  }
  if (!o.calendar.empty() && o.date_column.empty())
    throw Error("calendar features come from the dates: name the date column (--date-column)");
  if (o.transform == Transform::seasonal && o.season < 1)
    throw Error("the seasonal transform predicts the change from one season before, so it needs "
                "the season's length in rows (--season S)");
}

// Columns: the features, then the target when it is not one of them.
static std::vector<std::string> columns_for(const ForecastOptions& o) {
  std::vector<std::string> cols = o.features;
  bool found = false;
  for (const std::string& f : cols) found = found || f == o.target;
  if (!found) cols.push_back(o.target);
  cols.insert(cols.end(), o.future_features.begin(), o.future_features.end());
  return cols;
}

const float* window_rows(const ForecastData& d, int64_t t) {
  const ForecastSetup& s = d.setup;
  return d.series.values.data() + (t - s.options.lookback + 1 - s.context_rows()) * s.columns();
}

// Copies window t into X[n], y[n], in the model's units.
static void fill_window(const ForecastData& d, int64_t t, int64_t n, Tensor& X, Tensor& y) {
  const ForecastSetup& s = d.setup;
  const int64_t L = s.options.lookback, K = s.options.horizon;
  const float* rows = window_rows(d, t);
  s.encode_window(rows, X.data() + n * L * s.input_width());
  for (int64_t k = 0; k < K; ++k)
    y[n * K + k] = s.encode_target(d.target[size_t(t + 1 + k)], int(k + 1), rows);
}

// The target's values in the units its scaler is fitted on, rows [begin, end).
static std::vector<float> transformed_target(const ForecastData& d, const ForecastSetup& s,
                                             int64_t begin, int64_t end) {
  std::vector<float> v;
  const int64_t S = s.options.season;
  for (int64_t r = begin; r < end; ++r) {
    const double y = d.target[size_t(r)];
    switch (s.options.transform) {
      case Transform::seasonal:
        if (r >= S) v.push_back(float(y - d.target[size_t(r - S)]));
        break;
      case Transform::log: v.push_back(float(std::log(y))); break;
      case Transform::boxcox: v.push_back(float(boxcox(y, s.boxcox_lambda))); break;
      default: v.push_back(float(y));
    }
  }
  return v;
}

// Gaps in the dates. The data's step is the most common one between neighbouring dates: whole
// calendar months when every neighbour is whole months apart on the same day and time (monthly,
// quarterly, yearly data), else seconds; a jump of m >= 2 whole steps is a gap of m - 1 rows,
// except a Friday-to-Monday jump in data of one day (business days). Without a fill that is an
// error naming the first gap; with one, the missing rows are inserted (their values the previous
// row's, or the line between the neighbours).
static void fill_date_gaps(Series& s, Fill fill, const CsvTable& table) {
  const int64_t R = s.rows(), C = s.columns();
  if (s.dates.empty() || R < 3) return;
  std::vector<int64_t> t;
  for (const std::string& d : s.dates) t.push_back(parse_date(d));
  bool monthly = true;
  std::map<int64_t, int64_t> votes;  // step -> count
  for (int64_t r = 1; r < R && monthly; ++r) {
    const int64_t m = months_apart(t[size_t(r - 1)], t[size_t(r)]);
    monthly = m > 0;
    ++votes[m];
  }
  if (!monthly) {
    votes.clear();
    for (int64_t r = 1; r < R; ++r) ++votes[t[size_t(r)] - t[size_t(r - 1)]];
  }
  const int64_t step = std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  if (step <= 0) return;
  auto jump = [&](int64_t r) {  // whole steps from row r - 1 to row r; 1 when not a whole multiple
    const int64_t d = monthly ? months_apart(t[size_t(r - 1)], t[size_t(r)]) : t[size_t(r)] - t[size_t(r - 1)];
    if (d % step != 0 || d / step < 2) return int64_t(1);
    if (!monthly && step == 86400 && d == 3 * 86400 && civil_date(t[size_t(r - 1)]).weekday == 4) return int64_t(1);
    return d / step;
  };
  int64_t gaps = 0, missing = 0, first = 0;
  for (int64_t r = 1; r < R; ++r)
    if (const int64_t m = jump(r); m > 1) gaps += 1, missing += m - 1, first = first ? first : r;
  if (!gaps) return;
  if (fill == Fill::none) {
    const bool lines = int64_t(table.lines.size()) == R;
    auto at = [&](int64_t r) {
      return "'" + s.dates[size_t(r)] + "' (row " + std::to_string(r) +
             (lines ? ", line " + std::to_string(table.lines[size_t(r)]) : std::string()) + ")";
    };
    const std::string unit = monthly ? std::to_string(step) + " month" + (step > 1 ? "s" : "")
                                     : step % 86400 == 0 ? std::to_string(step / 86400) + " day" + (step > 86400 ? "s" : "")
                                     : step % 3600 == 0 ? std::to_string(step / 3600) + " hour" + (step > 3600 ? "s" : "")
                                                        : std::to_string(step) + " seconds";
    throw Error("'" + table.path + "' has gaps in its dates: they step by " + unit + ", but jump from " +
                at(first - 1) + " to " + at(first) + ", " + std::to_string(jump(first) - 1) + " date" +
                (jump(first) > 2 ? "s" : "") + " missing (" + std::to_string(gaps) + " gap" + (gaps > 1 ? "s" : "") +
                ", " + std::to_string(missing) + " missing date" + (missing > 1 ? "s" : "") + " in all): give "
                "--fill previous or --fill linear to insert the missing rows, or add them to the file");
  }
  Series out;
  out.names = s.names;
  for (int64_t r = 0; r < R; ++r) {
    const int64_t m = r ? jump(r) : 1;
    for (int64_t i = 1; i < m; ++i) {  // the rows missing before row r
      const CivilDate before = civil_date(t[size_t(r - 1)]);
      const int64_t when = monthly ? add_months_like(t[size_t(r - 1)], i * step, before.day == before.month_days)
                                   : t[size_t(r - 1)] + i * step;
      out.dates.push_back(format_date(when, s.dates[size_t(r)]));
      for (int64_t c = 0; c < C; ++c) {
        const float a = s.at(r - 1, c), b = s.at(r, c);
        out.values.push_back(fill == Fill::previous ? a : a + (b - a) * float(i) / float(m));
      }
    }
    out.dates.push_back(s.dates[size_t(r)]);
    out.values.insert(out.values.end(), s.values.begin() + r * C, s.values.begin() + (r + 1) * C);
  }
  s = std::move(out);
}

// With future features, the rows after the target's last value whose target is empty hold
// the known future: they go to `future` (the future features, parsed; each one must be there)
// and the data is the rows before them.
CsvTable split_future_rows(const CsvTable& table, const ForecastOptions& o, Series& future) {
  if (o.future_features.empty()) return table;
  const int tc = table.column(o.target);
  auto empty = [](const std::string& cell) {
    const size_t a = cell.find_first_not_of(" \t");
    return a == std::string::npos;
  };
  size_t data = table.rows.size();
  while (data > 0 && (size_t(tc) >= table.rows[data - 1].size() || empty(table.rows[data - 1][size_t(tc)]))) --data;
  CsvTable head = table, tail = table;
  head.rows.resize(data), head.lines.resize(std::min(data, table.lines.size()));
  tail.rows.erase(tail.rows.begin(), tail.rows.begin() + int64_t(data));
  tail.lines.erase(tail.lines.begin(), tail.lines.begin() + int64_t(std::min(data, table.lines.size())));
  if (!tail.rows.empty()) {
    try {
      future = select_columns(tail, o.future_features, {.date_column = o.date_column, .fill = Fill::none});
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (a row after the last value of '" + o.target + "' holds the "
                  "known future, and needs every --future-features column: fill them in, or drop the row)");
    }
  }
  return head;
}

// The calendar's sine and cosine columns, after the data's, from each row's date.
static void add_calendar_columns(Series& series, const std::vector<std::string>& calendar) {
  if (calendar.empty()) return;
  const int64_t R = series.rows(), C = series.columns(), extra = 2 * int64_t(calendar.size());
  std::vector<float> values(size_t(R * (C + extra)));
  for (int64_t r = 0; r < R; ++r) {
    std::copy(series.values.begin() + r * C, series.values.begin() + (r + 1) * C, values.begin() + r * (C + extra));
    calendar_values(calendar, parse_date(series.dates[size_t(r)]), &values[size_t(r * (C + extra) + C)]);
  }
  for (const std::string& c : calendar) series.names.push_back(c + "_sin"), series.names.push_back(c + "_cos");
  series.values = std::move(values);
}

// Every target value must be positive for the log and Box-Cox transforms.
static void check_positive(const CsvTable& table, const ForecastData& d, const ForecastOptions& o) {
  if (o.transform != Transform::log && o.transform != Transform::boxcox) return;
  for (size_t r = 0; r < d.target.size(); ++r)
    if (!(d.target[r] > 0)) {
      const std::string where = r < table.lines.size() && d.series.rows() == int64_t(table.rows.size())
                                    ? " (line " + std::to_string(table.lines[r]) + ")" : "";
      throw Error("'" + table.path + "': the " + transform_name(o.transform) + " transform needs a "
                  "positive target, but '" + o.target + "' is " + std::to_string(d.target[r]) +
                  " at row " + std::to_string(r) + where + ": use --transform level, relative or "
                  "seasonal for this series");
    }
}

ForecastData build_forecast_data(const CsvTable& table, ForecastSetup setup, double test_fraction,
                                bool fit_scaling) {
  ForecastOptions& o = setup.options;
  if (o.features.empty()) o.features = {o.target};
  check_options(o);
  if (!o.quantiles.empty() && std::find(o.quantiles.begin(), o.quantiles.end(), 0.5f) == o.quantiles.end()) {
    o.quantiles.insert(std::upper_bound(o.quantiles.begin(), o.quantiles.end(), 0.5f), 0.5f);  // the point forecast
    check_options(o);  // still at most kMaxQuantiles
  }
  ForecastData d;
  const CsvTable data_rows = split_future_rows(table, o, d.future);
  d.series = select_columns(data_rows, columns_for(o), {.date_column = o.date_column, .fill = o.fill});
  fill_date_gaps(d.series, o.fill, data_rows);
  add_calendar_columns(d.series, o.calendar);
  const int64_t R = d.series.rows(), L = o.lookback, K = o.horizon, F = int64_t(o.features.size());
  const int64_t W = setup.input_width();
  const int64_t H = setup.context_rows(), t0 = L - 1 + H;  // the first window's last row
  const int64_t tc = setup.target_column();
  for (int64_t r = 0; r < R; ++r) d.target.push_back(d.series.at(r, tc));
  check_positive(table, d, o);
  const int64_t held = o.test_rows > 0 ? o.test_rows : int64_t(std::floor(double(R) * test_fraction));
  if (held >= R)
    throw SeriesTooShort("'" + table.path + "' has " + std::to_string(R) + " rows, all of them in the test part (" +
                std::to_string(held) + "): use fewer --test-rows");
  d.split_row = R - held;
  const std::string context = H ? " and the " + std::to_string(H) + " rows of a season before it "
                                  "(the seasonal transform)" : "";
  // Training windows are needed to fit a setup; applying one (evaluate, forecast) needs only
  // the rows its windows read.
  const int64_t n_train = std::max<int64_t>(0, d.split_row - K - t0);
  if (R < L + H)
    throw SeriesTooShort("'" + table.path + "' has " + std::to_string(R) + " rows but a window reads " +
                std::to_string(L) + " (the lookback)" + context + ": give at least " +
                std::to_string(L + H) + " rows");
  if (n_train < 1 && fit_scaling)
    throw SeriesTooShort("'" + table.path + "' has " + std::to_string(R) + " rows, " +
                std::to_string(d.split_row) + " of them before the test part; a training window "
                "of lookback " + std::to_string(L) + " and horizon " + std::to_string(K) + context +
                " needs " + std::to_string(L + K + H) + ": use more data, a shorter --lookback or a "
                "smaller --test-fraction" + (H ? std::string(", or another --transform") : ""));
  if (fit_scaling) {
    std::vector<float> fv;
    for (int64_t r = 0; r < d.split_row; ++r)
      for (int64_t f = 0; f < F; ++f) fv.push_back(d.series.at(r, f));
    setup.features = Scaler::fit(fv, F, 0, d.split_row, o.scaling);
    if (!o.future_features.empty()) {
      const int64_t U = int64_t(o.future_features.size()), first = d.series.columns() - U;
      std::vector<float> kv;
      for (int64_t r = 0; r < d.split_row; ++r)
        for (int64_t u = 0; u < U; ++u) kv.push_back(d.series.at(r, first + u));
      setup.known = Scaler::fit(kv, U, 0, d.split_row, o.scaling);
    }
    if (o.transform == Transform::boxcox)
      setup.boxcox_lambda = fit_boxcox_lambda({d.target.begin(), d.target.begin() + d.split_row});
    const std::vector<float> tv = transformed_target(d, setup, 0, d.split_row);
    setup.target = Scaler::fit(tv, 1, 0, int64_t(tv.size()), o.scaling);
  }
  d.setup = setup;
  d.X_train = Tensor({n_train, L, W});
  d.y_train = Tensor({n_train, K});
  for (int64_t n = 0; n < n_train; ++n) fill_window(d, t0 + n, n, d.X_train, d.y_train);
  const int64_t first_test = std::max(t0, d.split_row - 1), n_test = R - K - first_test;
  const bool testing = test_fraction > 0 || o.test_rows > 0;
  if (testing && n_test < 1)
    throw SeriesTooShort("the test part of '" + table.path + "' (" + std::to_string(R - d.split_row) +
                " rows) is shorter than the horizon " + std::to_string(K) +
                ": use a larger --test-fraction or a shorter --horizon");
  if (testing) {
    d.X_test = Tensor({n_test, L, W});
    d.y_test = Tensor({n_test, K});
    for (int64_t n = 0; n < n_test; ++n) {
      fill_window(d, first_test + n, n, d.X_test, d.y_test);
      d.test_rows.push_back(first_test + n + 1);
    }
  }
  return d;
}

ForecastData prepare_forecast(const CsvTable& table, const ForecastOptions& options) {
  ForecastSetup setup;
  setup.options = options;
  if (!options.series_column.empty()) return build_many_series(table, setup, options.test_fraction, true);
  return build_forecast_data(table, setup, options.test_fraction, /*fit_scaling=*/true);
}

ForecastData prepare_forecast(const CsvTable& table, const ForecastSetup& setup,
                              double test_fraction) {
  ForecastSetup s = setup;
  if (test_fraction < 0) test_fraction = setup.options.test_fraction;
  else s.options.test_rows = 0;  // the fraction given wins
  if (!s.options.series_column.empty()) return build_many_series(table, s, test_fraction, false);
  return build_forecast_data(table, s, test_fraction, /*fit_scaling=*/false);
}

Sequential default_forecast_model(const ForecastSetup& setup, int units, int layers, uint64_t seed) {
  if (units < 1 || layers < 1) throw Error("the model needs units >= 1 and layers >= 1");
  const ForecastOptions& o = setup.options;
  Sequential model({.seed = seed});
  for (int l = 0; l < layers; ++l) {
    LSTMOptions lo{.return_sequences = l + 1 < layers};
    if (l == 0) lo.input_shape = {o.lookback, setup.input_width()};
    model.add(LSTM(units, lo));
  }
  model.add(Dense(o.horizon * setup.outputs_per_step()));
  return model;
}

void attach_forecast_setup(Sequential& model, const ForecastSetup& setup) {
  model.metadata()[kForecastKey] = setup.to_json();
}

bool has_forecast_setup(const Sequential& model) { return model.metadata().count(kForecastKey) > 0; }

ForecastSetup forecast_setup(const Sequential& model) {
  auto it = model.metadata().find(kForecastKey);
  if (it == model.metadata().end())
    throw Error("this model was not trained as a forecaster (lstm train --csv): it has no "
                "forecasting setup to read a CSV with");
  ForecastSetup setup = ForecastSetup::from_json(it->second);
  check_forecast_setup(model, setup);
  return setup;
}

}  // namespace lstm
