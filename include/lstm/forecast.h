// lstm/forecast.h - time-series forecasting from a CSV: windows, scaling, metrics, baselines.
//
//   lstm::CsvTable table = lstm::read_csv("data/seattle-weather.csv");
//   lstm::ForecastData data = lstm::prepare_forecast(table, {
//       .target = "temp_max", .features = {"temp_max", "temp_min", "precipitation", "wind"},
//       .lookback = 30, .horizon = 1, .test_fraction = 0.2, .season = 365, .date_column = "date"});
//   lstm::Sequential model = lstm::default_forecast_model(data.setup);    // LSTM(50) -> Dense(K)
//   model.compile(lstm::Adam(), lstm::loss::mse);
//   model.fit(data.X_train, data.y_train, {.epochs = 50, .batch_size = 32});
//   lstm::ForecastEvaluation ev = lstm::evaluate_forecast(model, data);   // RMSE, MAE, sMAPE
//   std::cout << lstm::metrics_table(ev);                                 // vs naive baselines
//   std::vector<lstm::ForecastPoint> week = lstm::forecast_future(model, data, 7);
//   lstm::attach_forecast_setup(model, data.setup);                       // saved with the model
//   model.save("weather.safetensors");
//
// Windows: L rows of the features (ending at row t) predict the target at rows t+1..t+K.
// The split is chronological: the last floor(rows * test_fraction) rows are the test part. The
// training windows have every target before the split; the test windows have their first target
// in the test part (their inputs may reach back before it). Scaling is fitted on the rows before
// the split only, and everything returned to the user is in the data's original units.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "lstm/data.h"
#include "lstm/model.h"
#include "lstm/tensor.h"

namespace lstm {

// Target transforms: the model learns the target in these units, and every result is mapped
// back exactly (the inverse of each is tested). y = the target, t = a window's last row,
// S = the season, z = the standard or min-max scaling fitted on the training rows.
//   level     z(y_{t+k})                              inputs z(y_r)
//   relative  (y_{t+k} - y_t) / s                     inputs (y_r - y_t) / s; s: the target's scale.
//             Needs the target among the features; helps series that trend out of their range.
//   seasonal  z(y_{t+k} - y_{t+k-b}), b = S ceil(k/S)  inputs z(y_r - y_{r-S}): the model learns
//             what the seasonal-naive forecast misses (needs a season; windows need S more rows)
//   log       z(log y)                                inputs z(log y_r): for positive series whose
//             swings grow with their level
//   boxcox    z(((y^λ) - 1) / λ), log y at λ = 0       λ fitted on the training rows by maximum
//             likelihood (Box & Cox 1964), in [-1, 2]; positive series
// Other feature columns are always z-scaled levels.
enum class Transform { level, relative, seasonal, log, boxcox };
const char* transform_name(Transform t);
Transform transform_from_name(const std::string& name);  // throws lstm::Error listing the names

struct ForecastOptions {
  std::string target;
  std::vector<std::string> features;  // model inputs; empty = {target} (univariate)
  int lookback = 30;                  // L
  int horizon = 1;                    // K: predict the next K values at once
  double test_fraction = 0.2;
  int64_t test_rows = 0;  // when above 0: the last test_rows rows are the test part instead
  Scaling scaling = Scaling::standard;
  int season = 0;  // period of the seasonal-naive baseline, in rows; 0 = none
  std::string date_column;
  Fill fill = Fill::none;
  // What the model predicts, and reads for the target column (ForecastSetup::encode_window):
  // one of Transform's; forecast_candidates() lists the ones `--transform auto` tries.
  Transform transform = Transform::level;
  // Quantile forecasts: the levels, strictly increasing in (0, 1) (0.5 is added when missing:
  // the median is the point forecast). The model then outputs horizon x levels values (level
  // fastest), trained with the pinball loss (lstm::quantile_loss); empty = one value per step.
  std::vector<float> quantiles;
  // Calibrate the intervals on the validation windows (train_forecaster): conformalized
  // quantile regression (Romano, Patterson & Candès 2019) widens or narrows each interval by
  // the amount that makes it hold its nominal share of the validation values.
  bool calibrate_intervals = true;
  // Then track them online (quantile tracking, Angelopoulos, Candès & Tibshirani 2023, "Conformal
  // PID Control for Time Series Prediction"): wherever actual values arrive after the
  // validation windows (the test part, a backtest fold, the data before a forecast), each
  // interval's adjustment a moves after every revealed value y by η (miss - α): up by η(1 - α)
  // when y fell outside, down by ηα when inside, so that the share of misses tends to the nominal
  // α = 1 - coverage whatever the drift. η = tracking_rate x the interval's mean calibrated width
  // on validation; 0 keeps the calibration fixed.
  float tracking_rate = 0.2f;
  // Inputs computed from the date column (which they need), known for every future date: any
  // of "hour" (of the day), "dow" (day of the week), "dom" (day of the month), "doy" (day of the
  // year) and "month", each as its sine and cosine (cyclic: December sits next to January).
  // Each input row carries the calendar of the date `horizon` rows later, so that a window
  // sees the calendar of the steps it predicts; a univariate model with them still forecasts
  // recursively, any number of steps.
  std::vector<std::string> calendar;
  // Columns known in advance (planned promotions, holidays, a weather forecast): like the
  // calendar, each input row carries their values `horizon` rows later, scaled on the training
  // rows. Rows after the target's last value whose target is empty hold their future values,
  // so that the model can forecast past the data's end (recursively too, when the target is
  // the only other input).
  std::vector<std::string> future_features;
  // Many series, one model (a long-format CSV: one row per series and date): the column naming
  // each row's series. Every series gets its own split, scaling and windows; the model trains on
  // the windows of all of them (a global model, as DeepAR or N-BEATS train), and is scored and
  // forecasts per series. A series too short for one training and one test window is skipped
  // with a warning naming it (ForecastData::skipped); none left is an error.
  std::string series_column;
  // With series_column: one input per series, 1 for the window's own series, 0 else (a one-hot
  // code, which the first layer's input weights turn into a learned embedding of the series).
  bool series_embedding = false;
};

// Series in one setup, at most.
inline constexpr int64_t kMaxSeries = int64_t(1) << 20;

// One series' scaling in a setup of many series (ForecastOptions::series_column).
struct SeriesScaling {
  std::string id;  // its value in the series column
  Scaler features, target, known;
  double boxcox_lambda = 1.0;
  std::vector<float> interval_adjust, interval_step;
};

// What a forecasting model needs besides its weights: the options and the fitted scalers.
// Stored in the model file as the metadata "lstm.forecast" (docs/file-format.md).
struct ForecastSetup {
  ForecastOptions options;
  Scaler features;  // one column per feature
  Scaler target;    // one column, fitted on the transformed target (see Transform)
  Scaler known;     // one column per future feature
  double boxcox_lambda = 1.0;  // Transform::boxcox's λ
  // Per interval of a quantile forecaster (levels paired outside-in), in the data's units: its
  // lower end moves down and its upper end up by this much (negative: narrower); from the
  // conformal calibration, else empty.
  std::vector<float> interval_adjust;
  // Per interval, the tracking step η in the data's units (ForecastOptions::tracking_rate); empty:
  // the adjustment stays as calibrated.
  std::vector<float> interval_step;
  // Many series: every series' scaling, in the order of their one-hot inputs (the setup saved
  // with a model); for_series(i) is the setup of series i (its scalers above, series_index i).
  std::vector<SeriesScaling> series;
  int64_t series_count = 0;   // series the model knows (one-hot inputs with series_embedding)
  int64_t series_index = -1;  // the series this setup's scalers are (-1: a single series)
  ForecastSetup for_series(int64_t i) const;
  int64_t series_inputs() const { return options.series_embedding ? series_count : 0; }
  bool univariate() const { return options.features.size() == 1 && options.features[0] == options.target; }
  // The data's columns as a window's rows hold them: the features, then the target when it is
  // not one of them; target_column() is its index.
  int64_t columns() const;
  int64_t target_column() const;
  // The model's inputs per row: the features, the future features, two per calendar feature,
  // one per series with series_embedding.
  int64_t input_width() const {
    return int64_t(options.features.size() + options.future_features.size() + 2 * options.calendar.size()) +
           series_inputs();
  }
  // Rows a window reads after its last row: the horizon when it has inputs known in advance
  // (calendar, future features), else 0.
  int64_t lead_rows() const {
    return options.calendar.empty() && options.future_features.empty() ? 0 : options.horizon;
  }
  // Rows a window needs before its first input row: the season for Transform::seasonal, else 0.
  int64_t context_rows() const;
  // A window in the data's units: context_rows() + lookback + lead_rows() rows of columns()
  // (the features, the target when it is not one, the future features, then the calendar's
  // sine and cosine columns), oldest first, row-major; of the lead rows only the future
  // features and the calendar are read. encode_window writes the model's input [lookback, features]; encode_target the
  // model's output for step k (1..horizon) of value y; decode maps a model output back.
  // A log / Box-Cox target that is not positive throws lstm::Error.
  void encode_window(const float* rows, float* x) const;
  float encode_target(float y, int k, const float* rows) const;
  float decode(float z, int k, const float* rows) const;
  // Values per step: the number of quantile levels, else 1; the median's index among them.
  int64_t outputs_per_step() const { return options.quantiles.empty() ? 1 : int64_t(options.quantiles.size()); }
  int64_t median_index() const;
  // All horizon x outputs_per_step() model outputs of a window, decoded; each step's quantiles
  // sorted (so that they never cross: Chernozhukov, Fernández-Val & Galichon 2010), then the
  // intervals adjusted (interval_adjust, or `adjust` when given: a tracked one), never past the
  // median.
  void decode_outputs(const float* z, const float* rows, float* out,
                      const std::vector<float>* adjust = nullptr) const;
  std::string to_json() const;
  static ForecastSetup from_json(const std::string& json);
};

struct ForecastData {
  ForecastSetup setup;
  Series series;  // the feature columns, then the target if it is not among them
  int64_t split_row = 0;  // first row of the test part
  Tensor X_train, y_train;  // scaled, [N, L, F] and [N, K]
  Tensor X_test, y_test;
  std::vector<int64_t> test_rows;  // row of each test window's first target (t + 1)
  std::vector<float> target;       // the target column, original units, every row
  // The rows after the data (future features only): their values and dates.
  Series future;
  // Many series (setup.options.series_column): one ForecastData per series kept, in the order
  // the series first appear in the file (its setup the series' own; its series_index, its entry
  // in setup.series: series_id()); X_train, y_train, X_test and y_test above hold all of
  // theirs, series after series, and the single-series fields are empty. `skipped`: a warning
  // per series left out (too short, or unknown to a fitted setup), naming it.
  std::vector<ForecastData> parts;
  std::vector<std::string> skipped;
  bool many() const { return !setup.options.series_column.empty(); }
};

// Builds windows and fits the scalers on the training rows.
ForecastData prepare_forecast(const CsvTable& table, const ForecastOptions& options);
// Builds windows with an existing setup (a trained model's), splitting at test_fraction (a
// negative one: the setup's own test part, its test_rows or test_fraction).
ForecastData prepare_forecast(const CsvTable& table, const ForecastSetup& setup,
                              double test_fraction);

// The seed's model for a setup: LSTM(units) (stacked `layers` deep) -> Dense(horizon).
Sequential default_forecast_model(const ForecastSetup& setup, int units = 50, int layers = 1,
                                  uint64_t seed = 42);

void attach_forecast_setup(Sequential& model, const ForecastSetup& setup);
bool has_forecast_setup(const Sequential& model);
// The model's setup, checked against the model (forecast_setup throws lstm::Error if it has
// none, or one that does not fit: check_forecast_setup).
ForecastSetup forecast_setup(const Sequential& model);
// Throws lstm::Error unless the model reads the setup's windows [lookback, features] and
// returns its horizon [K]. forecast_setup, evaluate_forecast and forecast_future call it.
void check_forecast_setup(const Sequential& model, const ForecastSetup& setup);

struct Metrics {
  double rmse = 0, mae = 0, smape = 0;  // sMAPE in percent: mean of 200 |F - A| / (|A| + |F|)
  int64_t count = 0;
  // MASE (Hyndman & Koehler 2006): MAE over the in-sample MAE of the one-step seasonal-naive
  // forecast on the training part (ForecastEvaluation::mase_scale); below 1 beats that
  // baseline's error on the data it saw. NaN when the scale is zero or undefined.
  double mase = std::numeric_limits<double>::quiet_NaN();
};

struct PredictionRow {
  int64_t row;  // data row of the predicted value (of its series, with many series)
  int step;     // 1..K
  float actual, predicted;         // predicted: the median of a quantile forecaster
  std::vector<float> quantiles;    // one per level of a quantile forecaster, else empty
};

// A prediction interval between two quantile levels, scored on the test windows.
struct IntervalScore {
  float lower = 0, upper = 0;  // the levels; nominal coverage upper - lower
  double coverage = 0;         // share of actual values within [lower's, upper's prediction]
  double mean_width = 0;       // in the data's units
};

struct ForecastEvaluation {
  Metrics model, naive, seasonal;  // naive: the last value; seasonal: the value one season back
  bool has_seasonal = false;
  std::vector<PredictionRow> predictions;  // original units, ordered by window then step
  std::string target;
  Transform transform = Transform::level;  // the model's
  int season = 0;
  // drift: the line through the first and the last observed value, continued; mean: the mean
  // of every value observed up to the window's end (Hyndman & Athanasopoulos, FPP 5.2)
  Metrics drift, mean;
  // MASE's scale: the training part's mean |y_t - y_{t-m}|, m = mase_period (the season when
  // the training part is longer than one, else 1)
  double mase_scale = std::numeric_limits<double>::quiet_NaN();
  int mase_period = 1;
  // The baselines by test RMSE, best first, as {name, metrics} (metrics_table's names).
  std::vector<std::pair<std::string, Metrics>> baselines() const;
  // Quantile forecasters: the levels; per level the share of actual values at or below its
  // prediction (ideally the level); the intervals of the levels paired outside-in (first with
  // last, ...); and the mean pinball loss over levels, in the data's units.
  std::vector<float> quantile_levels;
  std::vector<double> below;
  std::vector<IntervalScore> intervals;
  double pinball = std::numeric_limits<double>::quiet_NaN();
  // With interval tracking (ForecastSetup::interval_step): each interval's adjustment after the
  // last value scored, what a forecast from there would use.
  std::vector<float> tracked_adjust;
};

// Metrics on the test windows, for the model and the baselines. Throws if there are none.
ForecastEvaluation evaluate_forecast(Sequential& model, const ForecastData& data);
std::string metrics_table(const ForecastEvaluation& ev);  // a plain-text table
std::string metrics_json(const ForecastEvaluation& ev);

// Many series (ForecastData::many()): evaluate_forecast on each series with test windows, and
// over all of them: `mean` holds each metric's mean over the series (RMSE and MAE in each
// series' own units, sMAPE and MASE scale-free; interval coverage over every prediction);
// `beats` counts the series where the model's test RMSE is below its best baseline's, and
// `ratio` is the geometric mean over the series of that ratio (below 1: the model wins).
struct SeriesEvaluation {
  std::vector<std::string> ids;
  std::vector<ForecastEvaluation> series;
  ForecastEvaluation mean;
  int64_t beats = 0;
  double ratio = 0;
};
SeriesEvaluation evaluate_series(Sequential& model, const ForecastData& data);
std::string metrics_table(const SeriesEvaluation& ev);  // per series, then the means
std::string metrics_json(const SeriesEvaluation& ev);
// The id of the data's part i (its entry in setup.series).
const std::string& series_id(const ForecastData& data, size_t part);

// Choosing the transform on validation windows (`lstm train --csv`, --transform auto, the
// default). The candidates: level; relative when the target is a feature; seasonal with a
// season when its windows leave at least as many training windows as validation ones; log when
// every target value is positive, and boxcox too when its fitted λ is not within 0.1 of 0 or 1
// (where it is log or level).
std::vector<Transform> forecast_candidates(const CsvTable& table, const ForecastOptions& options,
                                           double validation_fraction);

struct TransformTrial {
  Transform transform = Transform::level;
  double boxcox_lambda = 1.0;
  double validation_rmse = std::numeric_limits<double>::quiet_NaN();  // data's units
  int epochs = 0;     // epochs trained
  std::string note;   // why it was not trained, when it was not
};

struct ForecastSelection {
  std::vector<TransformTrial> trials;  // in the order tried
  int kept = -1;                       // index of the kept one
  int64_t validation_windows = 0;      // the last training windows, shared by every candidate
  // Quantile forecasters: each interval's share of the validation values before the conformal
  // calibration, and the adjustment it made (ForecastSetup::interval_adjust).
  std::vector<double> raw_coverage;
  std::vector<float> interval_adjust, interval_step;
  // The kept model and the baselines on the validation windows (RMSE, MAE, ...); its
  // predictions are those windows'. Many series: each series' (of those with validation
  // windows), and `validation` their mean (mean_evaluation); a trial's validation_rmse is then
  // the mean over series of RMSE / the series' standard deviation on its training rows, so
  // that every series counts alike, and each series' intervals are calibrated on its own
  // windows (raw_coverage over all of them; interval_adjust per series in the setup).
  ForecastEvaluation validation;
  std::vector<std::string> series_ids;
  std::vector<ForecastEvaluation> series_validation;
  // Which transform was kept and by how much, and the kept model against the best baseline on
  // validation (saying so when it does not beat it): lines for the terminal and the report.
  std::string summary() const;
  std::string to_json() const;
};

// Trains one model per candidate and keeps the one whose validation windows (the last
// floor(training windows x validation_fraction), the same target rows for every candidate;
// the horizon - 1 windows before them, whose targets overlap theirs, are not fitted either)
// have the lowest RMSE in the data's units. `train` builds, compiles and fits a model for a
// setup on (X, y), validating on (X_val, y_val) (empty when validation_fraction is 0, which
// allows one candidate only), fills `history` and returns the model. With one candidate and a
// validation fraction, that candidate is still scored against the baselines on validation.
struct TrainedForecaster {
  Sequential model;  // with its setup attached
  ForecastData data;
  History history;
  ForecastSelection selection;
};
using ForecastTrainFn = std::function<Sequential(const ForecastSetup& setup, const Tensor& X,
                                                 const Tensor& y, const Tensor& X_val,
                                                 const Tensor& y_val, History& history)>;
TrainedForecaster train_forecaster(const CsvTable& table, const ForecastOptions& options,
                                   const std::vector<Transform>& candidates,
                                   double validation_fraction, const ForecastTrainFn& train);


// Backtesting: K folds at origins o_1 < ... < o_K, the last K x step rows cut into K test
// parts of `step` rows. Fold f trains a model (train_forecaster: its transform chosen on its
// own validation windows) on rows before o_f only, scaling included: all of them (expanding)
// or the last o_1 of them (rolling, the default: every fold as long as the first), and scores
// the windows whose first target is in [o_f, o_f + step) against the baselines.
struct BacktestOptions {
  int folds = 5;
  int64_t step = 0;  // rows per fold; 0 = floor(rows x test_fraction / folds)
  bool expanding = false;
};

struct BacktestFold {
  int64_t origin = 0;       // the fold's first test row (rows of the whole table)
  int64_t train_begin = 0;  // its first training row
  ForecastEvaluation evaluation;  // its test windows; prediction rows are the table's
  ForecastSelection selection;
};

struct Backtest {
  std::vector<BacktestFold> folds;
  // Over every fold's predictions: RMSE, MAE and sMAPE pooled; MASE the mean of the folds'
  // weighted by their predictions (each fold scales by its own training part).
  Metrics model, naive, seasonal, drift, mean;
  bool has_seasonal = false;
  std::vector<std::string> dates;  // the table's, when it has a date column
  std::string table() const;       // per fold and overall, plain text
  std::string to_json() const;
};

// `candidates` empty: each fold chooses among forecast_candidates() of its own rows.
// `on_fold(f, train_begin, origin, end)` is called before each fold trains (progress).
Backtest backtest_forecaster(const CsvTable& table, const ForecastOptions& options,
                             const BacktestOptions& backtest, const std::vector<Transform>& candidates,
                             double validation_fraction, const ForecastTrainFn& train,
                             const std::function<void(int, int64_t, int64_t, int64_t)>& on_fold = {});

struct ForecastPoint {
  int step;          // 1 = the row after the last one
  std::string date;  // empty without a date column
  float value;       // a quantile forecaster's median
  // A quantile forecaster's values per level, up to its horizon; empty past it (a recursive
  // forecast feeds back the median, so intervals there would be too narrow).
  std::vector<float> quantiles;
};

// Continues past the last row: recursively for a univariate model, else up to its horizon
// (more is an lstm::Error that says why and what to do).
std::vector<ForecastPoint> forecast_future(Sequential& model, const ForecastData& data, int steps);

}  // namespace lstm
