// Forecasting's target transforms and their choice on validation (include/lstm/forecast.h):
// each transform's inverse is exact, the seasonal windows read a season of context, Box-Cox's
// λ is the likelihood's, the candidates follow the data, and the choice keeps the best model on
// validation windows that no fit saw.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>

#include "core/rng.h"
#include "lstm/data.h"
#include "forecast/transform.h"
#include "forecast/windows.h"
#include "lstm/forecast.h"
#include "test_util.h"

namespace lstm {
namespace {

// A positive series with a period of 12 rows, a trend and noise, and a second column.
CsvTable seasonal_table(int R, double trend = 0.05, double noise = 0.2) {
  Rng rng(7);
  std::string text = "y,x\n";
  for (int r = 0; r < R; ++r) {
    const double y = 20 + trend * r + 3 * std::sin(2 * M_PI * r / 12) + noise * rng.normal();
    text += std::to_string(y) + "," + std::to_string(std::cos(0.1 * r)) + "\n";
  }
  return parse_csv(text, "seasonal.csv");
}

const Transform kAll[] = {Transform::level, Transform::relative, Transform::seasonal, Transform::log,
                          Transform::boxcox};

TEST(ForecastTransforms, EveryInverseIsExactOnEveryWindow) {
  const CsvTable table = seasonal_table(120);
  for (Transform t : kAll) {
    SCOPED_TRACE(transform_name(t));
    ForecastData d = prepare_forecast(table, {.target = "y", .features = {"y", "x"}, .lookback = 5,
                                              .horizon = 14, .test_fraction = 0.25, .season = 12,
                                              .transform = t});
    const int64_t L = 5, K = 14, H = t == Transform::seasonal ? 12 : 0;
    EXPECT_EQ(d.setup.context_rows(), H);
    ASSERT_EQ(d.X_train.dim(0), d.split_row - K - (L - 1 + H));  // the first window ends at row L-1+H
    for (int64_t n = 0; n < d.X_train.dim(0); ++n) {
      const int64_t last = L - 1 + H + n;
      const float* rows = window_rows(d, last);
      for (int64_t k = 1; k <= K; ++k) {
        const float y = d.target[size_t(last + k)];
        EXPECT_NEAR(d.setup.decode(d.y_train[n * K + k - 1], int(k), rows), y, 2e-4 * std::fabs(y));
        EXPECT_NEAR(d.setup.encode_target(y, int(k), rows), d.y_train[n * K + k - 1], 1e-6);
      }
    }
    for (size_t n = 0; n < d.test_rows.size(); ++n) {
      const float* rows = window_rows(d, d.test_rows[n] - 1);
      const float y = d.target[size_t(d.test_rows[n])];
      EXPECT_NEAR(d.setup.decode(d.y_test[int64_t(n) * K], 1, rows), y, 2e-4 * std::fabs(y));
    }
    // the setup, with its transform and λ, travels through JSON
    const ForecastSetup back = ForecastSetup::from_json(d.setup.to_json());
    EXPECT_EQ(back.options.transform, t);
    EXPECT_EQ(back.boxcox_lambda, d.setup.boxcox_lambda);
  }
}

TEST(ForecastTransforms, WhatTheModelSeesAndPredicts) {
  const CsvTable table = seasonal_table(60);
  auto at = [](const ForecastData& d, int64_t r) { return double(d.target[size_t(r)]); };
  // seasonal: the target column's input is the change over one season, the output the change
  // from the latest value a whole number of seasons back (two for steps 13 and 14)
  ForecastData s = prepare_forecast(table, {.target = "y", .features = {"y", "x"}, .lookback = 3,
                                            .horizon = 14, .test_fraction = 0.3, .season = 12,
                                            .transform = Transform::seasonal});
  const Scaler& z = s.setup.target;
  const int64_t t = 2 + 12;  // the first window's last row
  EXPECT_NEAR(s.X_train.at({0, 2, 0}), (at(s, t) - at(s, t - 12) - z.center[0]) / z.scale[0], 1e-5);
  EXPECT_NEAR(s.X_train.at({0, 0, 1}), s.setup.features.apply(s.series.at(t - 2, 1), 1), 1e-6);
  EXPECT_NEAR(s.y_train.at({0, 0}), (at(s, t + 1) - at(s, t - 11) - z.center[0]) / z.scale[0], 1e-5);
  EXPECT_NEAR(s.y_train.at({0, 12}), (at(s, t + 13) - at(s, t - 11) - z.center[0]) / z.scale[0], 1e-5);
  // log: log values, scaled with the log values of the training rows
  ForecastData g = prepare_forecast(table, {.target = "y", .lookback = 3, .transform = Transform::log});
  EXPECT_NEAR(g.y_train.at({0, 0}), (std::log(at(g, 3)) - g.setup.target.center[0]) / g.setup.target.scale[0], 1e-5);
  EXPECT_NEAR(g.X_train.at({0, 1, 0}), (std::log(at(g, 1)) - g.setup.target.center[0]) / g.setup.target.scale[0], 1e-5);
}

TEST(ForecastTransforms, BoxCoxFindsTheLambdaThatMadeTheData) {
  Rng rng(3);
  for (double lambda : {0.0, 0.5, -0.5, 1.5}) {
    std::vector<float> y;  // y^λ = u, normal with a wide spread: Box-Cox with λ makes y normal
    for (int i = 0; i < 3000; ++i) {
      const double u = 2.0 + 0.4 * rng.normal();
      if (u > 0.05) y.push_back(float(lambda == 0 ? std::exp(0.5 * rng.normal()) : std::pow(u, 1.0 / lambda)));
    }
    EXPECT_NEAR(fit_boxcox_lambda(y), lambda, 0.15) << "λ = " << lambda;
  }
  for (double v : {0.3, 1.0, 7.5})
    for (double lambda : {-1.0, -0.3, 0.0, 0.4, 2.0})
      EXPECT_NEAR(boxcox_inverse(boxcox(v, lambda), lambda), v, 1e-9 * v);
}

TEST(ForecastTransforms, CandidatesFollowTheData) {
  const CsvTable table = seasonal_table(200);
  auto names = [](const std::vector<Transform>& ts) {
    std::string s;
    for (Transform t : ts) s += std::string(s.empty() ? "" : ",") + transform_name(t);
    return s;
  };
  // Box-Cox is tried when its λ is not within 0.1 of 0 (log) or 1 (level)
  std::vector<float> y;
  for (const auto& row : table.rows) y.push_back(std::stof(row[0]));
  const double lambda = fit_boxcox_lambda({y.begin(), y.begin() + 160});
  const std::string boxcox = std::fabs(lambda) > 0.1 && std::fabs(lambda - 1) > 0.1 ? ",boxcox" : "";
  EXPECT_EQ(names(forecast_candidates(table, {.target = "y", .season = 12}, 0.2)), "level,relative,seasonal,log" + boxcox);
  EXPECT_EQ(names(forecast_candidates(table, {.target = "y"}, 0.2)), "level,relative,log" + boxcox);
  // not a feature: no relative; x goes below zero: no log
  EXPECT_EQ(names(forecast_candidates(table, {.target = "y", .features = {"x"}}, 0.2)), "level,log" + boxcox);
  EXPECT_EQ(names(forecast_candidates(table, {.target = "x"}, 0.2)), "level,relative");
  // a season must leave as many training windows as validation ones: 150 level windows, 30 of
  // them validation; season 90 leaves 60, season 100 leaves 50
  EXPECT_EQ(names(forecast_candidates(table, {.target = "x", .lookback = 10, .season = 90}, 0.2)), "level,relative,seasonal");
  EXPECT_EQ(names(forecast_candidates(table, {.target = "x", .lookback = 10, .season = 100}, 0.2)), "level,relative");
}

TEST(ForecastTransforms, BadInputIsNamed) {
  CsvTable table = seasonal_table(40);
  table.rows[17][0] = "-1";
  EXPECT_ERROR_WITH(prepare_forecast(table, {.target = "y", .lookback = 3, .transform = Transform::log}),
                    "needs a positive target, but 'y' is -1.000000 at row 17 (line 19)");
  EXPECT_ERROR_WITH(prepare_forecast(table, {.target = "y", .transform = Transform::seasonal}), "--season S");
  EXPECT_ERROR_WITH(prepare_forecast(table, {.target = "y", .lookback = 10, .season = 25,
                                             .transform = Transform::seasonal}),
                    "and the 25 rows of a season before it (the seasonal transform) needs 36");
  EXPECT_ERROR_WITH(transform_from_name("diff"), "use auto, level, relative, seasonal, log or boxcox");
  // files written before the transforms said "relative": true
  ForecastData d = prepare_forecast(seasonal_table(40), {.target = "y", .lookback = 3});
  std::string json = d.setup.to_json();
  json.replace(json.find("\"transform\":\"level\""), 19, "\"relative\":true");
  EXPECT_EQ(ForecastSetup::from_json(json).options.transform, Transform::relative);
}

// A "model" that always outputs 0: each transform then forecasts its own baseline (level: the
// training mean; relative: the last value; seasonal: the value a season back, plus the mean
// seasonal change), so on a series that repeats every 12 rows the seasonal one is exact.
TEST(ForecastTransforms, TheChoiceKeepsTheBestOnValidationWindowsNoFitSaw) {
  std::string text = "y\n";
  for (int r = 0; r < 150; ++r) text += std::to_string(10 + 3 * std::sin(2 * M_PI * r / 12)) + "\n";
  const CsvTable table = parse_csv(text, "periodic.csv");
  const ForecastOptions o{.target = "y", .lookback = 6, .horizon = 3, .test_fraction = 0.2, .season = 12};
  std::vector<int64_t> fitted, validated;
  int64_t split = 0;
  auto zero = [&](const ForecastSetup& setup, const Tensor& X, const Tensor&, const Tensor& Xv,
                  const Tensor&, History& h) {
    fitted.push_back(X.dim(0)), validated.push_back(Xv.dim(0));
    h.history["loss"] = {1.0, 0.5};
    Sequential m = default_forecast_model(setup, 2);
    m.set_weights(std::vector<float>(size_t(m.count_params()), 0.0f));
    return m;
  };
  const std::vector<Transform> candidates = forecast_candidates(table, o, 0.25);
  const std::vector<Transform> four(candidates.begin(), candidates.begin() + 4);
  ASSERT_EQ(four.back(), Transform::log);  // level, relative, seasonal, log
  TrainedForecaster tf = train_forecaster(table, o, four, 0.25, zero);
  split = tf.data.split_row;
  EXPECT_EQ(split, 120);
  const ForecastSelection& s = tf.selection;
  ASSERT_EQ(s.trials.size(), 4u);
  EXPECT_EQ(tf.data.setup.options.transform, Transform::seasonal);
  EXPECT_EQ(s.trials[size_t(s.kept)].transform, Transform::seasonal);
  EXPECT_LT(s.trials[size_t(s.kept)].validation_rmse, 1e-4);
  EXPECT_GT(s.trials[0].validation_rmse, 1.0);  // level: the mean
  EXPECT_EQ(s.trials[0].epochs, 2);
  // 112 level windows (last rows 5..116), a quarter of them (28, last rows 89..116) validate
  // every candidate; the 2 before them are fitted by none, so the last fitted target is row 89
  EXPECT_EQ(s.validation_windows, 28);
  EXPECT_EQ(validated, (std::vector<int64_t>{28, 28, 28, 28}));
  EXPECT_EQ(fitted, (std::vector<int64_t>{82, 82, 70, 82}));  // seasonal: 12 fewer windows
  EXPECT_EQ(s.validation.predictions.front().row, split - 3 - 28 + 1);  // the first validation target
  EXPECT_EQ(s.validation.predictions.back().row, split - 1);            // the last row before the test part
  EXPECT_NE(s.summary().find("kept the seasonal transform"), std::string::npos);
  EXPECT_NE(s.summary().find("of the best baseline's, seasonal naive (S=12)"), std::string::npos);
  EXPECT_EQ(forecast_setup(tf.model).options.transform, Transform::seasonal);
  // the seasonal model continues the period past the data
  const std::vector<ForecastPoint> next = forecast_future(tf.model, tf.data, 30);
  for (int k = 1; k <= 30; ++k)
    EXPECT_NEAR(next[size_t(k - 1)].value, 10 + 3 * std::sin(2 * M_PI * (149 + k) / 12), 1e-3) << k;
  // choosing needs validation windows
  EXPECT_ERROR_WITH(train_forecaster(table, o, candidates, 0.0, zero), "choosing among transforms needs validation");
}

// Quantile forecasts scored by hand: intervals that always hold the actual value (given in the
// wrong order, so the rearrangement must sort them), a median above it on even windows.
TEST(ForecastQuantiles, CoverageSharesBelowAndPinballByHand) {
  for (Transform t : {Transform::level, Transform::seasonal, Transform::log}) {
    SCOPED_TRACE(transform_name(t));
    ForecastData d = prepare_forecast(seasonal_table(80), {.target = "y", .lookback = 4, .horizon = 2,
                                                           .season = 12, .transform = t, .quantiles = {0.1f, 0.9f}});
    ASSERT_EQ(d.setup.options.quantiles, (std::vector<float>{0.1f, 0.5f, 0.9f}));  // the median added
    ASSERT_EQ(d.setup.outputs_per_step(), 3);
    EXPECT_EQ(d.setup.median_index(), 1);
    const int64_t K = 2, Q = 3, N = int64_t(d.test_rows.size());
    Tensor pred({N, K * Q});
    double pinball = 0;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t last = d.test_rows[size_t(n)] - 1;
      const float* rows = window_rows(d, last);
      for (int64_t k = 1; k <= K; ++k) {
        const float y = d.target[size_t(last + k)], mid = n % 2 ? y - 0.5f : y + 0.5f;
        const float v[3] = {y + 1.0f, mid, y - 1.0f};  // upper first: sorted when decoded
        for (int64_t j = 0; j < Q; ++j) pred[n * K * Q + (k - 1) * Q + j] = d.setup.encode_target(v[j], int(k), rows);
        pinball += 0.1 * 1.0 + 0.5 * 0.5 + 0.1 * 1.0;  // ρ_0.1(1) + ρ_0.5(±0.5) + ρ_0.9(-1)
      }
    }
    std::vector<int64_t> last_rows;
    for (int64_t r : d.test_rows) last_rows.push_back(r - 1);
    const ForecastEvaluation ev = score_windows(d, pred, last_rows);
    ASSERT_EQ(ev.intervals.size(), 1u);
    EXPECT_EQ(ev.intervals[0].lower, 0.1f);
    EXPECT_EQ(ev.intervals[0].upper, 0.9f);
    EXPECT_DOUBLE_EQ(ev.intervals[0].coverage, 1.0);
    EXPECT_NEAR(ev.intervals[0].mean_width, 2.0, 1e-3);
    ASSERT_EQ(ev.below.size(), 3u);
    EXPECT_DOUBLE_EQ(ev.below[0], 0.0);
    EXPECT_NEAR(ev.below[1], double((N + 1) / 2) / double(N), 1e-9);  // the even windows' medians are above
    EXPECT_DOUBLE_EQ(ev.below[2], 1.0);
    EXPECT_NEAR(ev.pinball, pinball / double(N * K * Q), 1e-4);
    EXPECT_NEAR(ev.model.mae, 0.5, 1e-3);  // the point forecast is the median
    const PredictionRow& p = ev.predictions.front();
    EXPECT_NEAR(p.quantiles[0], p.actual - 1.0f, 1e-3);
    EXPECT_NEAR(p.quantiles[2], p.actual + 1.0f, 1e-3);
    EXPECT_EQ(p.predicted, p.quantiles[1]);
  }
  // the model is as wide as the horizon times the levels, and says so when it is not
  ForecastData d = prepare_forecast(seasonal_table(80), {.target = "y", .lookback = 4, .horizon = 2, .quantiles = {0.25f, 0.5f, 0.75f}});
  EXPECT_EQ(default_forecast_model(d.setup, 3).output_shape(), (std::vector<int64_t>{6}));
  ForecastSetup one = d.setup;
  one.options.quantiles.clear();
  EXPECT_ERROR_WITH(check_forecast_setup(default_forecast_model(one, 3), d.setup), "horizon 2 x 3 quantiles");
  EXPECT_EQ(ForecastSetup::from_json(d.setup.to_json()).options.quantiles, d.setup.options.quantiles);
  // bad levels are named
  EXPECT_ERROR_WITH(prepare_forecast(seasonal_table(80), {.target = "y", .quantiles = {0.9f, 0.1f}}),
                    "increasing order without repeats, but 0.100000 follows 0.900000");
  EXPECT_ERROR_WITH(prepare_forecast(seasonal_table(80), {.target = "y", .quantiles = {0.1f, 1.0f}}), "is outside (0, 1)");
  EXPECT_ERROR_WITH(prepare_forecast(seasonal_table(80), {.target = "y", .quantiles = {0.0f}}), "is outside (0, 1)");
}

// Conformal calibration: a "model" whose quantiles are a fixed narrow band around the training
// mean holds few validation values; calibrated, its interval holds ceil((n + 1) 0.8) of the n.
TEST(ForecastQuantiles, IntervalsCalibratedOnValidationHoldTheirShare) {
  const CsvTable table = seasonal_table(300, 0.0, 1.0);
  const ForecastOptions o{.target = "y", .lookback = 5, .horizon = 1, .transform = Transform::level,
                          .quantiles = {0.1f, 0.5f, 0.9f}};
  auto band = [](const ForecastSetup& setup, const Tensor&, const Tensor&, const Tensor&, const Tensor&, History&) {
    Sequential m = default_forecast_model(setup, 2);
    std::vector<float> w(size_t(m.count_params()), 0.0f);
    w[w.size() - 3] = -0.05f, w[w.size() - 1] = 0.05f;  // the Dense biases: q0.1, q0.5, q0.9 (scaled units)
    m.set_weights(w);
    return m;
  };
  for (bool calibrate : {false, true}) {
    ForecastOptions oc = o;
    oc.calibrate_intervals = calibrate;
    oc.tracking_rate = 0;  // the calibration alone (tracking: the test below)
    TrainedForecaster tf = train_forecaster(table, oc, {Transform::level}, 0.25, band);
    const ForecastSelection& s = tf.selection;
    const int64_t n = s.validation_windows, N = tf.data.X_train.dim(0);
    ASSERT_GT(n, 40);
    std::vector<int64_t> last_rows;
    for (int64_t i = 0; i < n; ++i) last_rows.push_back(tf.data.split_row - 1 - n + i);
    Tensor Xv({n, 5, 1}, std::vector<float>(tf.data.X_train.data() + (N - n) * 5, tf.data.X_train.data() + N * 5));
    const ForecastEvaluation v = score_windows(tf.data, tf.model.predict(Xv), last_rows);
    const int64_t need = int64_t(std::ceil((double(n) + 1) * 0.8));
    if (!calibrate) {
      EXPECT_TRUE(tf.data.setup.interval_adjust.empty());
      EXPECT_LT(v.intervals[0].coverage, 0.2);  // the narrow band holds few values
      continue;
    }
    ASSERT_EQ(s.raw_coverage.size(), 1u);
    EXPECT_LT(s.raw_coverage[0], 0.2);
    ASSERT_EQ(tf.data.setup.interval_adjust.size(), 1u);
    EXPECT_GT(tf.data.setup.interval_adjust[0], 0.0f);
    EXPECT_GE(v.intervals[0].coverage * double(n), double(need) - 1e-9);
    EXPECT_LE(v.intervals[0].coverage * double(n), double(need) + 2);  // no wider than it must be (ties aside)
    EXPECT_NE(s.summary().find("calibrated on validation: the 80% interval held"), std::string::npos);
    // the adjustment travels with the model
    EXPECT_EQ(forecast_setup(tf.model).interval_adjust, tf.data.setup.interval_adjust);
  }
}

// A series of noise around 20 whose spread doubles in the test part (the last 100 of 400 rows).
CsvTable shifting_table() {
  Rng rng(11);
  std::string text = "y\n";
  for (int r = 0; r < 400; ++r) text += std::to_string(20 + (r < 300 ? 1.0 : 2.0) * rng.normal()) + "\n";
  return parse_csv(text, "shift.csv");
}

// A quantile forecaster whose every quantile is the training mean (all weights 0): its interval
// is the mean +- the adjustment.
Sequential point_model(const ForecastSetup& s) {
  Sequential m = default_forecast_model(s, 2);
  m.set_weights(std::vector<float>(size_t(m.count_params()), 0.0f));
  return m;
}

// Interval tracking: after the calibration on validation, each revealed test value moves the
// adjustment by η (miss - α), only once its row is observed (here K = 2: a window's targets are
// revealed one and two rows after it), and the coverage follows the nominal share when the
// spread changes, where the calibrated interval alone does not.
TEST(ForecastQuantiles, IntervalsTrackedOnlineHoldTheirShareThroughAShift) {
  const ForecastOptions o{.target = "y", .lookback = 5, .horizon = 2, .test_fraction = 0.25,
                          .transform = Transform::level, .quantiles = {0.1f, 0.9f}};
  auto train = [](const ForecastSetup& setup, const Tensor&, const Tensor&, const Tensor&, const Tensor&, History&) {
    return point_model(setup);
  };
  double coverage[2];
  for (int tracking = 0; tracking < 2; ++tracking) {
    ForecastOptions ot = o;
    ot.tracking_rate = tracking ? 0.2f : 0.0f;
    TrainedForecaster tf = train_forecaster(shifting_table(), ot, {Transform::level}, 0.25, train);
    const ForecastSetup& s = tf.data.setup;
    ASSERT_EQ(s.interval_adjust.size(), 1u);
    EXPECT_NEAR(s.interval_adjust[0], 1.28, 0.25);  // the 80% interval of N(0, 1) noise: +-1.28
    if (!tracking) {
      EXPECT_TRUE(s.interval_step.empty());
      coverage[0] = evaluate_forecast(tf.model, tf.data).intervals[0].coverage;
      continue;
    }
    ASSERT_EQ(s.interval_step.size(), 1u);
    EXPECT_NEAR(s.interval_step[0], 0.2 * 2 * s.interval_adjust[0], 1e-4);  // 0.2 x the calibrated width
    EXPECT_EQ(forecast_setup(tf.model).interval_step, s.interval_step);  // saved with the model
    const ForecastEvaluation ev = evaluate_forecast(tf.model, tf.data);
    coverage[1] = ev.intervals[0].coverage;
    // replay: window n (last row t) uses the adjustment after every value of a row <= t
    const float mean = s.target.center[0], eta = s.interval_step[0];
    double a = s.interval_adjust[0];
    std::multimap<int64_t, bool> pending;  // target row -> missed
    for (size_t p = 0; p < ev.predictions.size(); ++p) {
      const PredictionRow& r = ev.predictions[p];
      const int64_t t = r.row - r.step;
      for (auto it = pending.begin(); it != pending.end() && it->first <= t; it = pending.erase(it))
        a += eta * ((it->second ? 1.0 : 0.0) - 0.2);
      const double half = std::max(0.0, a);
      ASSERT_NEAR(r.quantiles[2] - mean, half, 1e-3) << "prediction " << p;
      ASSERT_NEAR(mean - r.quantiles[0], half, 1e-3) << "prediction " << p;
      pending.emplace(r.row, !(r.quantiles[0] <= r.actual && r.actual <= r.quantiles[2]));
    }
    for (auto& [row, missed] : pending) a += eta * ((missed ? 1.0 : 0.0) - 0.2);
    ASSERT_EQ(ev.tracked_adjust.size(), 1u);
    EXPECT_NEAR(ev.tracked_adjust[0], a, 1e-3);
    // a forecast from the data's end uses the adjustment tracked through its test part
    const std::vector<ForecastPoint> f = forecast_future(tf.model, tf.data, 1);
    EXPECT_NEAR(f[0].quantiles[2] - f[0].quantiles[1], std::max(0.0, a), 1e-3);
    char says[160];  // out by η(1 - α) after a miss, in by ηα after a hit
    std::snprintf(says, sizeof says, "then tracked online as actual values arrive: after each one its ends move out by "
                  "%.4f if it missed, in by %.4f if not", double(eta) * 0.8, double(eta) * 0.2);
    EXPECT_NE(tf.selection.summary().find(says), std::string::npos) << tf.selection.summary();
  }
  EXPECT_LT(coverage[0], 0.6);                // calibrated on N(0, 1), tested on N(0, 4)
  EXPECT_NEAR(coverage[1], 0.8, 0.05);        // tracked
}

// Backtest folds: each fold's scaling and windows come from the rows before its origin only, and
// its predictions are the rows from its origin to the next one.
TEST(Backtest, NoFoldSeesItsTestRows) {
  const CsvTable table = seasonal_table(150);
  std::vector<double> y;
  for (const auto& row : table.rows) y.push_back(std::stod(row[0]));
  const ForecastOptions o{.target = "y", .lookback = 6, .horizon = 2};
  for (bool expanding : {false, true}) {
    SCOPED_TRACE(expanding ? "expanding" : "rolling");
    std::vector<float> centers;
    std::vector<int64_t> fitted;
    auto record = [&](const ForecastSetup& setup, const Tensor& X, const Tensor&, const Tensor&, const Tensor&, History&) {
      centers.push_back(setup.target.center[0]), fitted.push_back(X.dim(0));
      Sequential m = default_forecast_model(setup, 2);
      m.set_weights(std::vector<float>(size_t(m.count_params()), 0.0f));
      return m;
    };
    std::vector<std::array<int64_t, 3>> seen;  // fold, begin, origin
    const Backtest bt = backtest_forecaster(table, o, {.folds = 3, .step = 10, .expanding = expanding}, {Transform::level},
                                            0.25, record, [&](int f, int64_t b, int64_t origin, int64_t) { seen.push_back({f, b, origin}); });
    ASSERT_EQ(bt.folds.size(), 3u);
    for (int f = 0; f < 3; ++f) {
      const int64_t origin = 120 + 10 * f, begin = expanding ? 0 : 10 * f;
      EXPECT_EQ(seen[size_t(f)], (std::array<int64_t, 3>{f, begin, origin}));
      EXPECT_EQ(bt.folds[size_t(f)].origin, origin);
      EXPECT_EQ(bt.folds[size_t(f)].train_begin, begin);
      double mean = 0;  // the scaling: fitted on the fold's rows before its origin
      for (int64_t r = begin; r < origin; ++r) mean += y[size_t(r)];
      EXPECT_NEAR(centers[size_t(f)], mean / double(origin - begin), 1e-4);
      // windows ending before origin - 2 (their targets before the origin), a quarter of them
      // validation, the one before those not fitted
      const int64_t windows = origin - begin - 2 - 5, n_val = windows / 4;
      EXPECT_EQ(fitted[size_t(f)], windows - n_val - 1);
      const ForecastEvaluation& ev = bt.folds[size_t(f)].evaluation;
      EXPECT_EQ(ev.predictions.front().row, origin);
      int64_t last = 0;
      for (const PredictionRow& p : ev.predictions) {
        EXPECT_GE(p.row, origin);
        EXPECT_NEAR(p.actual, y[size_t(p.row)], 1e-4);
        last = std::max(last, p.row - p.step + 1);  // the first target of its window
      }
      EXPECT_EQ(last, std::min<int64_t>(origin + 9, 148));  // the last fold stops where two targets fit
    }
    int64_t count = 0;
    for (const BacktestFold& f : bt.folds) count += f.evaluation.model.count;
    EXPECT_EQ(bt.model.count, count);
  }
  EXPECT_ERROR_WITH(backtest_forecaster(table, o, {.folds = 20, .step = 10}, {Transform::level}, 0.25, nullptr),
                    "fewer than 20 folds of 10 rows need");
  EXPECT_ERROR_WITH(backtest_forecaster(table, o, {.folds = 3, .step = 47}, {Transform::level}, 0.25,
                                        [](const ForecastSetup& s, const Tensor&, const Tensor&, const Tensor&, const Tensor&, History&) {
                                          return default_forecast_model(s, 2);
                                        }),
                    "fold 1 of 3 (training rows 0..8, testing from row 9): ");
}

TEST(Calendar, DatesStepAndCycle) {
  const CivilDate sunday = civil_date(parse_date("2012-01-01"));
  EXPECT_EQ(sunday.weekday, 6);
  EXPECT_EQ(sunday.yearday, 1);
  const CivilDate c = civil_date(parse_date("2012-12-31 18:30"));
  EXPECT_EQ(c.yearday, 366);
  EXPECT_EQ(c.year_days, 366);
  EXPECT_EQ(c.second, 18 * 3600 + 30 * 60);
  EXPECT_EQ(c.weekday, 0);  // a Monday
  auto date = [](int64_t s, const char* like) { return format_date(s, like); };
  // monthly data continues by months, a day past the month's end clamped; else by the step
  EXPECT_EQ(date(step_date(parse_date("2016-04-01"), parse_date("2016-05-01"), 2), "2016-05-01"), "2016-07-01");
  EXPECT_EQ(date(step_date(parse_date("2015-12-31"), parse_date("2016-01-31"), 1), "2016-01-31"), "2016-02-29");
  EXPECT_EQ(date(step_date(parse_date("2015-01-01"), parse_date("2016-01-01"), 3), "2016-01-01"), "2019-01-01");
  EXPECT_EQ(date(step_date(parse_date("2010/12/31 22:00"), parse_date("2010/12/31 23:00"), 2), "2010/12/31 23:00"),
            "2011/01/01 01:00");
  EXPECT_EQ(date(step_date(parse_date("19580329"), parse_date("19580405"), 1), "19580405"), "19580412");
  float v[10];
  calendar_values({"hour", "dow", "dom", "doy", "month"}, parse_date("2012-03-01 12:00"), v);
  EXPECT_NEAR(v[0], 0.0f, 1e-6);  // noon: half a day
  EXPECT_NEAR(v[1], -1.0f, 1e-6);
  EXPECT_NEAR(v[2], std::sin(2 * M_PI * 3.5 / 7), 1e-6);  // a Thursday, at noon
  EXPECT_NEAR(v[4], std::sin(2 * M_PI * 0.5 / 31), 1e-6);
  EXPECT_NEAR(v[6], std::sin(2 * M_PI * 60.5 / 366), 1e-6);  // 1 March of a leap year is its 61st day
  EXPECT_NEAR(v[8], std::sin(2 * M_PI * 2 / 12), 1e-6);
  EXPECT_NEAR(v[9], std::cos(2 * M_PI * 2 / 12), 1e-6);
  EXPECT_ERROR_WITH(check_calendar({"weekday"}), "unknown calendar feature 'weekday': use hour, dow");
  EXPECT_ERROR_WITH(check_calendar({"hour", "hour"}), "listed twice");
}

// Gaps in the dates: named unless filled; filled by inserting the missing dates' rows.
TEST(Calendar, DateGapsAreNamedOrFilled) {
  auto table = [](const std::vector<std::string>& dates) {
    std::string text = "date,y\n";
    for (size_t i = 0; i < dates.size(); ++i) text += dates[i] + "," + std::to_string(10 * i) + "\n";
    return parse_csv(text, "gaps.csv");
  };
  std::vector<std::string> months;
  for (int m = 0; m < 20; ++m)
    if (m != 7 && m != 8) months.push_back(format_date(add_months(parse_date("2019-01-31"), m), "2019-01-31"));
  EXPECT_ERROR_WITH(prepare_forecast(table(months), {.target = "y", .lookback = 3, .date_column = "date"}),
                    "they step by 1 month, but jump from '2019-07-31' (row 6, line 8) to '2019-10-31' (row 7, line 9), "
                    "2 dates missing (1 gap, 2 missing dates in all): give --fill previous or --fill linear");
  ForecastData d = prepare_forecast(table(months), {.target = "y", .lookback = 3, .test_fraction = 0.2,
                                                    .date_column = "date", .fill = Fill::linear});
  ASSERT_EQ(d.series.rows(), 20);
  EXPECT_EQ(d.series.dates[7], "2019-08-31");
  EXPECT_EQ(d.series.dates[8], "2019-09-30");  // clamped to the month's end
  EXPECT_NEAR(d.target[7], 60 + 10.0 / 3, 1e-4);  // a third of the way from row 6's 60 to row 7's 70
  EXPECT_NEAR(d.target[8], 60 + 20.0 / 3, 1e-4);
  d = prepare_forecast(table(months), {.target = "y", .lookback = 3, .date_column = "date", .fill = Fill::previous});
  EXPECT_EQ(d.target[8], 60.0f);
  // weekdays only: Friday to Monday is no gap; a missing Wednesday is
  std::vector<std::string> days;
  for (int k = 0; k < 30; ++k) {
    const CivilDate c = civil_date(parse_date("2024-01-01") + k * 86400);
    if (c.weekday < 5) days.push_back(format_date(parse_date("2024-01-01") + k * 86400, "2024-01-01"));
  }
  EXPECT_EQ(prepare_forecast(table(days), {.target = "y", .lookback = 3, .date_column = "date"}).series.rows(), 22);
  days.erase(days.begin() + 2);  // Wednesday 3 January
  EXPECT_ERROR_WITH(prepare_forecast(table(days), {.target = "y", .lookback = 3, .date_column = "date"}),
                    "they step by 1 day, but jump from '2024-01-02'");
}

// Calendar inputs: each input row holds the calendar of the date `horizon` rows later; a
// univariate model with them forecasts recursively past its horizon, dates stepping by months.
TEST(Calendar, WindowsSeeTheStepsTheyPredict) {
  std::string text = "date,y\n";
  for (int r = 0; r < 60; ++r)
    text += format_date(add_months(parse_date("2010-01-01"), r), "2010-01-01") + "," + std::to_string(10 + r % 12) + "\n";
  const CsvTable table = parse_csv(text, "monthly.csv");
  ForecastData d = prepare_forecast(table, {.target = "y", .lookback = 4, .horizon = 2, .test_fraction = 0.2,
                                            .date_column = "date", .calendar = {"month"}});
  ASSERT_EQ(d.setup.input_width(), 3);
  ASSERT_EQ(d.X_train.dim(2), 3);
  EXPECT_EQ(d.setup.lead_rows(), 2);
  for (int64_t n = 0; n < d.X_train.dim(0); ++n)
    for (int64_t l = 0; l < 4; ++l) {
      const int64_t row = n + l + 2;  // window n's input row l (rows n..n+3), its calendar 2 rows on
      EXPECT_NEAR(d.X_train.at({n, l, 1}), std::sin(2 * M_PI * double(row % 12) / 12), 1e-5);
      EXPECT_NEAR(d.X_train.at({n, l, 2}), std::cos(2 * M_PI * double(row % 12) / 12), 1e-5);
    }
  Sequential model = default_forecast_model(d.setup, 3);
  EXPECT_EQ(model.input_shape(), (std::vector<int64_t>{4, 3}));
  const std::vector<ForecastPoint> next = forecast_future(model, d, 5);
  ASSERT_EQ(next.size(), 5u);
  EXPECT_EQ(next[0].date, "2015-01-01");
  EXPECT_EQ(next[4].date, "2015-05-01");
  for (const ForecastPoint& p : next) EXPECT_TRUE(std::isfinite(p.value));
  EXPECT_EQ(ForecastSetup::from_json(d.setup.to_json()).options.calendar, std::vector<std::string>{"month"});
  EXPECT_ERROR_WITH(prepare_forecast(table, {.target = "y", .calendar = {"month"}}), "name the date column (--date-column)");
}

// Future features: each input row carries their values `horizon` rows later; the rows after the
// target's last value, with it empty, give the future that forecasts read.
TEST(Calendar, FutureFeaturesComeFromTheRowsAfterTheData) {
  std::string text = "date,y,promo\n";
  for (int r = 0; r < 50; ++r) {
    const int promo = (r * 7) % 3 == 0;
    text += format_date(parse_date("2020-01-01") + r * 86400, "2020-01-01") + "," +
            (r < 47 ? std::to_string(10 + 5 * promo) : std::string()) + "," + std::to_string(promo) + "\n";
  }
  const CsvTable table = parse_csv(text, "promo.csv");
  const ForecastOptions o{.target = "y", .lookback = 4, .horizon = 2, .test_fraction = 0.2, .date_column = "date",
                          .future_features = {"promo"}};
  ForecastData d = prepare_forecast(table, o);
  ASSERT_EQ(d.series.rows(), 47);
  ASSERT_EQ(d.future.rows(), 3);
  EXPECT_EQ(d.future.dates.front(), "2020-02-17");
  ASSERT_EQ(d.X_train.dim(2), 2);
  for (int64_t n = 0; n < d.X_train.dim(0); ++n)
    for (int64_t l = 0; l < 4; ++l) {
      const int64_t ahead = n + l + 2;  // input row n + l, its future features two rows on
      EXPECT_NEAR(d.X_train.at({n, l, 1}), d.setup.known.apply(float((ahead * 7) % 3 == 0), 0), 1e-6);
    }
  Sequential model = default_forecast_model(d.setup, 3);
  EXPECT_EQ(forecast_future(model, d, 2).size(), 2u);
  // recursion by whole horizons: 3 steps read 4 future rows
  EXPECT_ERROR_WITH(forecast_future(model, d, 3), "reads the future features (promo) of the 4 rows after the data, "
                                                  "but the CSV has 3: add them as rows after the last value of 'y'");
  // the future rows continue the data's dates, one per step: a skipped day is named
  std::string skipped = text;
  skipped.replace(skipped.find("2020-02-18"), 10, "2020-02-19");
  skipped.replace(skipped.rfind("2020-02-19"), 10, "2020-02-20");
  ForecastData gap = prepare_forecast(parse_csv(skipped, "promo.csv"), o);
  EXPECT_ERROR_WITH(forecast_future(model, gap, 2), "the row after the data that holds the known future of step 2 is "
                                                     "dated '2020-02-19', but the data steps to '2020-02-18' there");
  const ForecastSetup back = ForecastSetup::from_json(d.setup.to_json());
  EXPECT_EQ(back.options.future_features, std::vector<std::string>{"promo"});
  EXPECT_EQ(back.known.center, d.setup.known.center);
  // a future row without its future value, a column in both lists
  std::string missing = text;
  missing.replace(missing.rfind(",0\n") != std::string::npos && missing.rfind(",0\n") > missing.rfind("2020-02-19") ? missing.rfind(",0\n") : missing.rfind(",1\n"), 3, ",\n");
  EXPECT_ERROR_WITH(prepare_forecast(parse_csv(missing, "promo.csv"), o), "holds the known future, and needs every --future-features column");
  ForecastOptions both = o;
  both.features = {"y", "promo"};
  EXPECT_ERROR_WITH(prepare_forecast(table, both), "'promo' is both a feature and a future feature");
}

}  // namespace
}  // namespace lstm
