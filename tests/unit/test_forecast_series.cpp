// Many series, one model (ForecastOptions::series_column, include/lstm/forecast.h): every
// series scaled on its own training rows, the one-hot series inputs, the setup through JSON,
// short series skipped, bad series named, validation windows per series, and metrics per
// series and over all of them.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/rng.h"
#include "forecast/windows.h"
#include "lstm/data.h"
#include "lstm/forecast.h"
#include "test_util.h"

namespace lstm {
namespace {

// Long format: id,t,y (t the row number). Series "small" near 10, series "large" near 1000 with ten times the
// swing, both with a period of 12 rows; `short_rows` rows of a third series "short".
CsvTable long_table(int rows, int short_rows = 0) {
  Rng rng(3);
  std::string text = "id,t,y\n";
  auto add = [&](const std::string& id, int n, double level, double swing) {
    for (int r = 0; r < n; ++r) {
      const double y = level + swing * std::sin(2 * M_PI * r / 12) + 0.1 * swing * rng.normal();
      text += id + "," + std::to_string(r) + "," + std::to_string(y) + "\n";
    }
  };
  add("small", rows, 10, 1);
  add("large", rows, 1000, 10);
  add("short", short_rows, 5, 1);
  return parse_csv(text, "long.csv");
}

double mean_of(const std::vector<float>& v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += v[size_t(i)];
  return s / double(n);
}

const ForecastOptions kOptions{.target = "y", .lookback = 6, .horizon = 2, .test_fraction = 0.2,
                               .season = 12, .series_column = "id"};

TEST(ManySeries, EverySeriesIsScaledOnItsOwnTrainingRows) {
  const ForecastData d = prepare_forecast(long_table(100), kOptions);
  ASSERT_TRUE(d.many());
  ASSERT_EQ(d.parts.size(), 2u);
  ASSERT_EQ(d.setup.series.size(), 2u);
  EXPECT_EQ(d.setup.series[0].id, "small");
  EXPECT_EQ(d.setup.series[1].id, "large");
  int64_t windows = 0, tests = 0;
  for (size_t i = 0; i < 2; ++i) {
    const ForecastData& p = d.parts[i];
    EXPECT_EQ(series_id(d, i), d.setup.series[i].id);
    EXPECT_EQ(p.split_row, 80);  // each series split at its own 20%
    const double mean = mean_of(p.target, p.split_row);
    EXPECT_NEAR(p.setup.target.center[0], mean, 1e-3 * std::fabs(mean));
    EXPECT_NEAR(d.setup.series[i].target.center[0], mean, 1e-3 * std::fabs(mean));
    EXPECT_NEAR(d.setup.series[i].features.center[0], mean, 1e-3 * std::fabs(mean));
    // scaled inputs are near 0 whatever the series' level
    double sum = 0;
    for (int64_t n = 0; n < p.X_train.size(); ++n) sum += p.X_train[n];
    EXPECT_LT(std::fabs(sum / double(p.X_train.size())), 0.5);
    windows += p.X_train.dim(0), tests += p.X_test.dim(0);
  }
  EXPECT_NEAR(d.setup.series[1].target.center[0] / d.setup.series[0].target.center[0], 100.0, 2.0);
  // the global model's windows: every series' in turn
  ASSERT_EQ(d.X_train.dim(0), windows);
  ASSERT_EQ(d.X_test.dim(0), tests);
  const int64_t per = d.X_train.size() / windows, first = d.parts[0].X_train.dim(0);
  for (int64_t k = 0; k < per; ++k) {
    EXPECT_EQ(d.X_train[k], d.parts[0].X_train[k]);
    EXPECT_EQ(d.X_train[first * per + k], d.parts[1].X_train[k]);
  }
  EXPECT_EQ(d.setup.input_width(), 1);  // no series inputs without the embedding
}

TEST(ManySeries, TheSetupTravelsThroughJsonAndAppliesPerSeries) {
  const CsvTable table = long_table(100);
  ForecastOptions o = kOptions;
  o.series_embedding = true;
  const ForecastData d = prepare_forecast(table, o);
  const ForecastSetup back = ForecastSetup::from_json(d.setup.to_json());
  ASSERT_EQ(back.series.size(), 2u);
  EXPECT_EQ(back.series_count, 2);
  EXPECT_EQ(back.options.series_column, "id");
  EXPECT_TRUE(back.options.series_embedding);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.series[i].id, d.setup.series[i].id);
    EXPECT_EQ(back.series[i].target.center, d.setup.series[i].target.center);
    EXPECT_EQ(back.series[i].features.scale, d.setup.series[i].features.scale);
  }
  const ForecastSetup large = back.for_series(1);
  EXPECT_EQ(large.series_index, 1);
  EXPECT_TRUE(large.series.empty());
  EXPECT_EQ(large.target.center, d.setup.series[1].target.center);
  // applied to the same table, the windows are the ones it was fitted on
  const ForecastData again = prepare_forecast(table, back, -1.0);
  ASSERT_EQ(again.parts.size(), 2u);
  ASSERT_EQ(again.X_test.shape(), d.X_test.shape());
  for (int64_t k = 0; k < d.X_test.size(); ++k) ASSERT_EQ(again.X_test[k], d.X_test[k]);
  // a model with the setup attached reads it back
  Sequential model = default_forecast_model(d.setup, 3);
  attach_forecast_setup(model, d.setup);
  EXPECT_EQ(forecast_setup(model).series.size(), 2u);
  EXPECT_THROW(back.for_series(2), Error);
}

TEST(ManySeries, TheEmbeddingIsAOneHotInputPerSeries) {
  ForecastOptions o = kOptions;
  o.series_embedding = true;
  o.features = {"y"};
  const ForecastData d = prepare_forecast(long_table(100), o);
  ASSERT_EQ(d.setup.input_width(), 3);  // y, then one input per series
  for (size_t i = 0; i < 2; ++i) {
    const ForecastData& p = d.parts[i];
    ASSERT_EQ(p.setup.input_width(), 3);
    for (int64_t n = 0; n < p.X_train.dim(0); ++n)
      for (int64_t l = 0; l < 6; ++l) {
        const float* x = p.X_train.data() + (n * 6 + l) * 3;
        EXPECT_EQ(x[1], i == 0 ? 1.0f : 0.0f);
        EXPECT_EQ(x[2], i == 1 ? 1.0f : 0.0f);
      }
  }
  EXPECT_EQ(default_forecast_model(d.setup, 4).input_shape(), (std::vector<int64_t>{6, 3}));
}

TEST(ManySeries, ShortSeriesAreSkippedAndNamed) {
  // "short" has 7 rows: 6 before its test part, fewer than a window of 6 + 2 needs (10 would do)
  ForecastOptions o = kOptions;
  o.series_embedding = true;
  EXPECT_EQ(prepare_forecast(long_table(100, 10), o).parts.size(), 3u);
  const ForecastData d = prepare_forecast(long_table(100, 7), o);
  ASSERT_EQ(d.parts.size(), 2u);
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_NE(d.skipped[0].find("series short is skipped"), std::string::npos) << d.skipped[0];
  EXPECT_NE(d.skipped[0].find("long.csv, series short"), std::string::npos) << d.skipped[0];
  EXPECT_EQ(d.setup.series_count, 2);  // the one-hot inputs count the series kept
  EXPECT_EQ(d.parts[1].setup.series_count, 2);
  EXPECT_EQ(d.setup.input_width(), 3);
  // every series too short: an error
  ForecastOptions longer = kOptions;
  longer.lookback = 200;
  EXPECT_ERROR_WITH(prepare_forecast(long_table(100, 7), longer), "every one of its 3 series in 'id' is too short");
}

TEST(ManySeries, BadSeriesAreNamed) {
  // a series the model does not know
  const ForecastData d = prepare_forecast(long_table(60), kOptions);
  const ForecastData more = prepare_forecast(long_table(60, 40), d.setup, -1.0);
  EXPECT_EQ(more.parts.size(), 2u);
  ASSERT_EQ(more.skipped.size(), 1u);
  EXPECT_NE(more.skipped[0].find("series 'short' (id) is skipped: it is not one the model was trained on"),
            std::string::npos) << more.skipped[0];
  EXPECT_ERROR_WITH(prepare_forecast(parse_csv("id,t,y\nnew,1,2\n", "n.csv"), d.setup, -1.0),
                    "none of its series can be forecast by this model (series 'new'");
  // an empty id
  EXPECT_ERROR_WITH(prepare_forecast(parse_csv("id,y\na,1\n,2\n", "e.csv"), kOptions),
                    "the series column 'id' is empty on line 3");
  // duplicated dates within a series (other series may share them)
  ForecastOptions dated = kOptions;
  dated.date_column = "date";
  dated.lookback = 2, dated.horizon = 1, dated.season = 0;
  std::string text = "id,date,y\n";
  for (int r = 0; r < 20; ++r) text += "a,2000-01-" + std::string(r < 9 ? "0" : "") + std::to_string(r + 1) + "," + std::to_string(r) + "\n";
  for (int r = 0; r < 20; ++r) text += "b,2000-01-" + std::string(r < 9 ? "0" : "") + std::to_string(r + 1) + "," + std::to_string(r) + "\n";
  EXPECT_EQ(prepare_forecast(parse_csv(text, "d.csv"), dated).parts.size(), 2u);
  text += "b,2000-01-20,5\n";
  EXPECT_ERROR_WITH(prepare_forecast(parse_csv(text, "d.csv"), dated), "d.csv, series b");
  // the series column cannot be the target, and the embedding needs it
  ForecastOptions bad = kOptions;
  bad.series_column = "y";
  EXPECT_ERROR_WITH(prepare_forecast(long_table(60), bad), "'y' names the series (--series-column)");
  bad = kOptions;
  bad.series_column.clear(), bad.series_embedding = true;
  EXPECT_ERROR_WITH(prepare_forecast(long_table(60), bad), "name the series column");
  // backtests take one series
  EXPECT_ERROR_WITH(backtest_forecaster(long_table(60), kOptions, {}, {Transform::level}, 0.2, nullptr),
                    "backtesting a forecaster of many series");
}

// A forecaster whose outputs are all 0 (each series' training mean, in its units).
Sequential zero_model(const ForecastSetup& s) {
  Sequential m = default_forecast_model(s, 2);
  m.set_weights(std::vector<float>(size_t(m.count_params()), 0.0f));
  return m;
}

TEST(ManySeries, ValidationAndMetricsArePerSeries) {
  const CsvTable table = long_table(100);
  int64_t fitted = -1, validated = -1;
  auto train = [&](const ForecastSetup& setup, const Tensor& X, const Tensor&, const Tensor& Xv, const Tensor&, History&) {
    fitted = X.dim(0), validated = Xv.dim(0);
    return zero_model(setup);
  };
  TrainedForecaster tf = train_forecaster(table, kOptions, {Transform::level}, 0.25, train);
  // each series: 80 training rows -> 80 - 2 - 5 = 73 windows, 18 validate, 1 between, 54 fit
  EXPECT_EQ(validated, 2 * 18);
  EXPECT_EQ(fitted, 2 * 54);
  EXPECT_EQ(tf.selection.validation_windows, 36);
  ASSERT_EQ(tf.selection.series_ids, (std::vector<std::string>{"small", "large"}));
  ASSERT_EQ(tf.selection.series_validation.size(), 2u);
  // the trial's score: the mean over series of RMSE / the series' training standard deviation
  double score = 0;
  for (size_t i = 0; i < 2; ++i) {
    const ForecastData& p = tf.data.parts[i];
    double m = mean_of(p.target, p.split_row), var = 0;
    for (int64_t r = 0; r < p.split_row; ++r) var += (p.target[size_t(r)] - m) * (p.target[size_t(r)] - m);
    score += tf.selection.series_validation[i].model.rmse / std::sqrt(var / double(p.split_row)) / 2;
  }
  EXPECT_NEAR(tf.selection.trials[0].validation_rmse, score, 1e-9);
  EXPECT_NE(tf.selection.summary().find("the model beats the best baseline in"), std::string::npos);

  // test metrics: per series as evaluate_forecast on its own data, then their means
  const SeriesEvaluation ev = evaluate_series(tf.model, tf.data);
  ASSERT_EQ(ev.series.size(), 2u);
  EXPECT_EQ(ev.ids, (std::vector<std::string>{"small", "large"}));
  double log_ratio = 0, rmse = 0, smape = 0, mase = 0;
  int64_t beats = 0, count = 0;
  for (size_t i = 0; i < 2; ++i) {
    const ForecastEvaluation one = evaluate_forecast(tf.model, tf.data.parts[i]);
    EXPECT_EQ(ev.series[i].model.rmse, one.model.rmse);
    EXPECT_EQ(ev.series[i].naive.mae, one.naive.mae);
    // the zero model predicts the series' training mean
    const float mean = tf.data.parts[i].setup.target.center[0];
    for (const PredictionRow& p : one.predictions) EXPECT_NEAR(p.predicted, mean, 1e-3 * std::fabs(mean));
    const double best = one.baselines().front().second.rmse;
    log_ratio += std::log(one.model.rmse / best) / 2, beats += one.model.rmse < best;
    rmse += one.model.rmse / 2, smape += one.model.smape / 2, mase += one.model.mase / 2;
    count += one.model.count;
  }
  EXPECT_NEAR(ev.mean.model.rmse, rmse, 1e-9 * rmse);
  EXPECT_NEAR(ev.mean.model.smape, smape, 1e-9);
  EXPECT_NEAR(ev.mean.model.mase, mase, 1e-9);
  EXPECT_EQ(ev.mean.model.count, count);
  EXPECT_NEAR(ev.ratio, std::exp(log_ratio), 1e-9);
  EXPECT_EQ(ev.beats, beats);
  EXPECT_EQ(beats, 0);  // a constant forecast loses to the seasonal naive one on a seasonal series
  EXPECT_NE(metrics_table(ev).find("the model beats the best baseline in 0 of 2 series"), std::string::npos);
  EXPECT_NE(metrics_json(ev).find("\"beats_best_baseline_in\": 0"), std::string::npos);
}

TEST(ManySeries, QuantileIntervalsAreCalibratedPerSeries) {
  ForecastOptions o = kOptions;
  o.quantiles = {0.1f, 0.9f};
  auto train = [](const ForecastSetup& setup, const Tensor&, const Tensor&, const Tensor&, const Tensor&, History&) {
    return zero_model(setup);
  };
  TrainedForecaster tf = train_forecaster(long_table(100), o, {Transform::level}, 0.25, train);
  ASSERT_EQ(tf.data.setup.series.size(), 2u);
  // the zero model's interval is a point; each series widens it by its own swing
  const float small = tf.data.setup.series[0].interval_adjust.at(0), large = tf.data.setup.series[1].interval_adjust.at(0);
  EXPECT_GT(small, 0.1f);
  EXPECT_GT(large / small, 5.0f);
  EXPECT_EQ(tf.data.parts[1].setup.interval_adjust.at(0), large);
  ASSERT_EQ(tf.selection.raw_coverage.size(), 1u);
  EXPECT_LT(tf.selection.raw_coverage[0], 0.2);
  // the saved setup keeps them
  const ForecastSetup back = forecast_setup(tf.model);
  EXPECT_EQ(back.series[1].interval_adjust.at(0), large);
}

}  // namespace
}  // namespace lstm
