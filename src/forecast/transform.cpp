// Target transforms of a forecaster: encode a window for the model, decode its outputs
// (include/lstm/forecast.h, "Target transforms"). L = lookback, H = context_rows(), C = the
// window's columns, S = season; a window's rows are 0..H+L-1, its last row (t) is H+L-1.
#include "forecast/transform.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lstm/error.h"

namespace lstm {

const char* transform_name(Transform t) {
  switch (t) {
    case Transform::level: return "level";
    case Transform::relative: return "relative";
    case Transform::seasonal: return "seasonal";
    case Transform::log: return "log";
    case Transform::boxcox: return "boxcox";
  }
  return "?";
}

Transform transform_from_name(const std::string& name) {
  for (Transform t : {Transform::level, Transform::relative, Transform::seasonal, Transform::log,
                      Transform::boxcox})
    if (name == transform_name(t)) return t;
  throw Error("unknown transform '" + name + "': use auto, level, relative, seasonal, log or boxcox");
}

double boxcox(double y, double lambda) {
  return lambda == 0.0 ? std::log(y) : (std::pow(y, lambda) - 1.0) / lambda;
}

double boxcox_inverse(double z, double lambda) {
  if (lambda == 0.0) return std::exp(std::min(z, 88.0));
  // y^λ = λz + 1 must be positive; at its edge the value is 0 (λ > 0) or unbounded (λ < 0),
  // kept finite here
  const double base = std::max(lambda * z + 1.0, 1e-12);
  return std::min(std::pow(base, 1.0 / lambda), double(std::numeric_limits<float>::max()));
}

// Box & Cox's profile log-likelihood: -n/2 log(variance of the transformed values)
// + (λ - 1) Σ log y.
static double boxcox_llf(const std::vector<double>& log_y, double lambda) {
  thread_local std::vector<double> z;
  z.resize(log_y.size());
  const double n = double(log_y.size());
  double sum = 0, sum_log = 0, var = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    z[i] = lambda == 0.0 ? log_y[i] : std::expm1(lambda * log_y[i]) / lambda;  // (y^λ - 1) / λ
    sum += z[i], sum_log += log_y[i];
  }
  for (double v : z) var += (v - sum / n) * (v - sum / n);  // two passes: no cancellation
  var /= n;
  if (!(var > 0)) return -std::numeric_limits<double>::infinity();
  return -0.5 * n * std::log(var) + (lambda - 1.0) * sum_log;
}

double fit_boxcox_lambda(const std::vector<float>& y) {
  std::vector<double> log_y;
  for (float v : y) {
    if (!(v > 0)) throw Error("Box-Cox needs positive values");
    log_y.push_back(std::log(double(v)));
  }
  if (log_y.size() < 2) return 1.0;
  // a grid over [-1, 2] in steps of 0.05, then golden-section search around its best point
  double best = -1.0, best_llf = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= 60; ++i) {
    const double l = -1.0 + 0.05 * i, f = boxcox_llf(log_y, l);
    if (f > best_llf) best_llf = f, best = l;
  }
  double a = std::max(-1.0, best - 0.05), b = std::min(2.0, best + 0.05);
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int it = 0; it < 40; ++it) {
    const double c = b - g * (b - a), d = a + g * (b - a);
    if (boxcox_llf(log_y, c) > boxcox_llf(log_y, d)) b = d;
    else a = c;
  }
  return 0.5 * (a + b);
}

int64_t ForecastSetup::columns() const {
  const int64_t known = int64_t(options.future_features.size() + 2 * options.calendar.size());
  for (const std::string& f : options.features)
    if (f == options.target) return int64_t(options.features.size()) + known;
  return int64_t(options.features.size()) + 1 + known;
}

int64_t ForecastSetup::target_column() const {
  for (size_t c = 0; c < options.features.size(); ++c)
    if (options.features[c] == options.target) return int64_t(c);
  return int64_t(options.features.size());
}

ForecastSetup ForecastSetup::for_series(int64_t i) const {
  if (i < 0 || i >= int64_t(series.size()))
    throw Error("series " + std::to_string(i) + " is not one of the setup's " + std::to_string(series.size()));
  ForecastSetup s;  // not a copy of *this: every series' scalers stay out
  s.options = options;
  s.series_count = series_count;
  const SeriesScaling& own = series[size_t(i)];
  s.features = own.features, s.target = own.target, s.known = own.known;
  s.boxcox_lambda = own.boxcox_lambda, s.interval_adjust = own.interval_adjust, s.interval_step = own.interval_step;
  s.series_index = i;
  return s;
}

int64_t ForecastSetup::context_rows() const {
  return options.transform == Transform::seasonal ? options.season : 0;
}

// The target value y in the transformed units (before scaling), for log and Box-Cox.
static double positive_transform(const ForecastSetup& s, float y) {
  if (!(y > 0))
    throw Error("the " + std::string(transform_name(s.options.transform)) + " transform of '" +
                s.options.target + "' needs positive values, got " + std::to_string(y) +
                ": use --transform level or relative for this series");
  return s.options.transform == Transform::log ? std::log(double(y)) : boxcox(y, s.boxcox_lambda);
}

void ForecastSetup::encode_window(const float* rows, float* x) const {
  const int64_t L = options.lookback, F = int64_t(options.features.size()), C = columns(),
                H = context_rows(), tc = target_column(), W = input_width(), lead = lead_rows();
  const float last = rows[(H + L - 1) * C + tc];
  const int64_t U = int64_t(options.future_features.size()), P = series_inputs();
  const int64_t known = C - 2 * int64_t(options.calendar.size()) - U;  // the first future feature's column
  for (int64_t l = 0; l < L; ++l) {
    const float* row = rows + (H + l) * C;
    const float* ahead = rows + (H + l + lead) * C;  // the row `lead` rows later: what is known of it
    for (int64_t u = 0; u < U; ++u) x[l * W + F + u] = this->known.apply(ahead[known + u], u);
    for (int64_t c = U; c < W - F - P; ++c) x[l * W + F + c] = ahead[known + c];
    for (int64_t p = 0; p < P; ++p) x[l * W + W - P + p] = p == series_index ? 1.0f : 0.0f;
    for (int64_t f = 0; f < F; ++f) {
      float v;
      if (f != tc) {
        v = features.apply(row[f], f);
      } else {
        switch (options.transform) {
          case Transform::level: v = features.apply(row[f], f); break;
          case Transform::relative: v = (row[f] - last) / target.scale[0]; break;
          case Transform::seasonal: v = target.apply(row[f] - row[f - options.season * C], 0); break;
          default: v = target.apply(float(positive_transform(*this, row[f])), 0); break;
        }
      }
      x[l * W + f] = v;
    }
  }
}

// The value a step-k target is taken relative to: the window's last one (relative) or the
// latest one a whole number of seasons before it (seasonal).
static float base_value(const ForecastSetup& s, int k, const float* rows) {
  const int64_t L = s.options.lookback, C = s.columns(), H = s.context_rows(), tc = s.target_column();
  const int64_t t = H + L - 1;
  if (s.options.transform == Transform::relative) return rows[t * C + tc];
  const int64_t S = s.options.season, back = S * ((k + S - 1) / S);
  return rows[(t + k - back) * C + tc];
}

float ForecastSetup::encode_target(float y, int k, const float* rows) const {
  switch (options.transform) {
    case Transform::level: return target.apply(y, 0);
    case Transform::relative: return (y - base_value(*this, k, rows)) / target.scale[0];
    case Transform::seasonal: return target.apply(y - base_value(*this, k, rows), 0);
    default: return target.apply(float(positive_transform(*this, y)), 0);
  }
}

float ForecastSetup::decode(float z, int k, const float* rows) const {
  switch (options.transform) {
    case Transform::level: return target.invert(z, 0);
    case Transform::relative: return z * target.scale[0] + base_value(*this, k, rows);
    case Transform::seasonal: return target.invert(z, 0) + base_value(*this, k, rows);
    case Transform::log: return float(std::exp(std::min(double(target.invert(z, 0)), 88.0)));
    case Transform::boxcox: return float(boxcox_inverse(target.invert(z, 0), boxcox_lambda));
  }
  return z;
}

static const char* kCalendar[] = {"hour", "dow", "dom", "doy", "month"};

void check_calendar(const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size(); ++i) {
    bool known = false;
    for (const char* c : kCalendar) known = known || names[i] == c;
    if (!known)
      throw Error("unknown calendar feature '" + names[i] + "': use hour, dow (day of the week), dom "
                  "(day of the month), doy (day of the year) or month");
    for (size_t j = 0; j < i; ++j)
      if (names[j] == names[i]) throw Error("calendar feature '" + names[i] + "' is listed twice");
  }
}

void calendar_values(const std::vector<std::string>& names, int64_t seconds, float* out) {
  const CivilDate c = civil_date(seconds);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    double phase = 0;  // the fraction of the cycle
    if (n == "hour") phase = double(c.second) / 86400.0;
    else if (n == "dow") phase = (double(c.weekday) + double(c.second) / 86400.0) / 7.0;
    else if (n == "dom") phase = (double(c.day - 1) + double(c.second) / 86400.0) / double(c.month_days);
    else if (n == "doy") phase = (double(c.yearday - 1) + double(c.second) / 86400.0) / double(c.year_days);
    else if (n == "month") phase = double(c.month - 1) / 12.0;
    out[2 * i] = float(std::sin(2.0 * M_PI * phase));
    out[2 * i + 1] = float(std::cos(2.0 * M_PI * phase));
  }
}

int64_t ForecastSetup::median_index() const {
  for (size_t j = 0; j < options.quantiles.size(); ++j)
    if (options.quantiles[j] == 0.5f) return int64_t(j);
  return int64_t(options.quantiles.size()) / 2;
}

void ForecastSetup::decode_outputs(const float* z, const float* rows, float* out,
                                   const std::vector<float>* tracked) const {
  const std::vector<float>& interval_adjust = tracked ? *tracked : this->interval_adjust;
  const int64_t K = options.horizon, Q = outputs_per_step();
  for (int64_t k = 0; k < K; ++k) {
    float* v = out + k * Q;
    for (int64_t j = 0; j < Q; ++j) v[j] = decode(z[k * Q + j], int(k + 1), rows);
    std::sort(v, v + Q);
    if (interval_adjust.empty()) continue;
    const float median = v[median_index()];
    for (int64_t i = 0; i < int64_t(interval_adjust.size()) && i < Q / 2; ++i) {
      v[i] = std::min(v[i] - interval_adjust[size_t(i)], median);
      v[Q - 1 - i] = std::max(v[Q - 1 - i] + interval_adjust[size_t(i)], median);
    }
    std::sort(v, v + Q);
  }
}

}  // namespace lstm
