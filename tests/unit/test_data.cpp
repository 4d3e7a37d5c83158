// The data module and the forecaster: CSV parsing, named errors, filling, dates, scaling,
// chronological windows, metrics against baselines and forecasts past the data.
#include <gtest/gtest.h>

#include <cmath>

#include "lstm/data.h"
#include "lstm/forecast.h"
#include "test_util.h"

namespace lstm {
namespace {

TEST(Csv, QuotesCrlfBomAndBlankLines) {
  CsvTable t = parse_csv("\xEF\xBB\xBF" "a,\"b, with comma\",c\r\n1,\"x\"\"y\",3\r\n\r\n4,\"multi\nline\",6\n", "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b, with comma", "c"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "x\"y");
  EXPECT_EQ(t.rows[1][1], "multi\nline");
  EXPECT_EQ(t.lines[1], 4);  // the blank line 3 is skipped
}

TEST(Csv, BrokenFilesNameTheLine) {
  EXPECT_ERROR_WITH(parse_csv("a,b\n1,2\n3\n", "t.csv"), "line 3 has 1 cells but the header has 2");
  EXPECT_ERROR_WITH(parse_csv("a,a\n1,2\n", "t.csv"), "names column 'a' twice");
  EXPECT_ERROR_WITH(parse_csv("a,b\n", "t.csv"), "no data rows");
  EXPECT_ERROR_WITH(parse_csv("", "t.csv"), "is empty");
  EXPECT_ERROR_WITH(parse_csv("a\n\"open\n", "t.csv"), "never closes");
  CsvTable t = parse_csv("x,y\n1,2\n", "t.csv");
  EXPECT_ERROR_WITH(t.column("z"), "has no column 'z' (its columns: x, y)");
}

TEST(Series, MissingAndNonNumericCellsAreNamed) {
  CsvTable t = parse_csv("d,v,w\n2020-01-01,1,5\n2020-01-02,,6\n2020-01-03,abc,7\n", "t.csv");
  EXPECT_ERROR_WITH(select_columns(t, {"v"}), "data row 1 (line 3), column 'v' is missing");
  EXPECT_ERROR_WITH(select_columns(t, {"v"}, {.fill = Fill::linear}), "data row 2 (line 4), column 'v': 'abc' is not a number");
  EXPECT_ERROR_WITH(select_columns(t, {"d"}), "'2020-01-01' is not a number");
  CsvTable bad_date = parse_csv("d,v\n2020-01-01,1\nyesterday,2\n", "t.csv");
  EXPECT_ERROR_WITH(select_columns(bad_date, {"v"}, {.date_column = "d"}), "data row 1 (line 3), column 'd'");
}

TEST(Series, FillPreviousAndLinear) {
  CsvTable t = parse_csv("v\nNA\n1\nnull\n?\n4\nNaN\n", "t.csv");  // blank lines are skipped, as in pandas
  EXPECT_EQ(select_columns(t, {"v"}, {.fill = Fill::previous}).values, (std::vector<float>{1, 1, 1, 1, 4, 4}));
  EXPECT_EQ(select_columns(t, {"v"}, {.fill = Fill::linear}).values, (std::vector<float>{1, 1, 2, 3, 4, 4}));
}

TEST(Dates, ParseAndContinue) {
  EXPECT_EQ(parse_date("1970-01-02"), 86400);
  EXPECT_EQ(parse_date("2012/01/01"), parse_date("2012-01-01"));
  EXPECT_EQ(parse_date("20120101"), parse_date("2012-01-01"));
  EXPECT_EQ(parse_date("2010/01/01 01:30"), parse_date("2010-01-01") + 5400);
  EXPECT_EQ(format_date(parse_date("2015-12-31") + 86400, "2015/12/31"), "2016/01/01");
  EXPECT_EQ(format_date(parse_date("2016-02-28") + 86400, "2016-02-28"), "2016-02-29");
  EXPECT_EQ(format_date(parse_date("20011229") + 7 * 86400, "20011229"), "20020105");
  EXPECT_EQ(format_date(parse_date("2010/12/31 23:00") + 3600, "2010/12/31 23:00"), "2011/01/01 00:00");
  EXPECT_ERROR_WITH(parse_date("31.12.2015"), "is not a date");
  EXPECT_ERROR_WITH(parse_date("2015-13-01"), "is not a date");
}

TEST(Dates, MustGoForwardOncePerRow) {
  CsvTable ok = parse_csv("d,v\n2012-01-01,1\n2012-01-02,2\n2012-01-04,3\n", "ok.csv");
  EXPECT_EQ(select_columns(ok, {"v"}, {.date_column = "d"}).dates.size(), 3u);
  EXPECT_ERROR_WITH(select_columns(parse_csv("d,v\n2012-01-01,1\n2012-01-02,2\n2012-01-02,3\n", "dup.csv"),
                                   {"v"}, {.date_column = "d"}),
                    "data row 2 (line 4), column 'd': 2012-01-02 repeats the date of the row before");
  EXPECT_ERROR_WITH(select_columns(parse_csv("d,v\n2012-01-03,1\n2012-01-02,2\n", "back.csv"), {"v"},
                                   {.date_column = "d"}),
                    "is before the date of the row before (2012-01-03): the rows must be in time order");
}

TEST(Scaler, FittedOnTheGivenRowsOnly) {
  std::vector<float> v = {1, 10, 3, 10, 5, 10, 1000, -1000};  // 4 rows x 2 columns
  Scaler s = Scaler::fit(v, 2, 0, 3, Scaling::standard);
  EXPECT_NEAR(s.center[0], 3.0f, 1e-6);
  EXPECT_NEAR(s.scale[0], std::sqrt(8.0f / 3.0f), 1e-6);
  EXPECT_EQ(s.scale[1], 1.0f);  // constant column
  Scaler m = Scaler::fit(v, 2, 0, 3, Scaling::minmax);
  EXPECT_EQ(m.apply(5, 0), 1.0f);
  EXPECT_EQ(m.invert(0.5f, 0), 3.0f);
}

// A table with columns t (0..R-1), v = sin, w = 2t.
CsvTable ramp_table(int R) {
  std::string text = "t,v,w\n";
  for (int r = 0; r < R; ++r)
    text += std::to_string(r) + "," + std::to_string(std::sin(0.3 * r)) + "," + std::to_string(2 * r) + "\n";
  return parse_csv(text, "ramp.csv");
}

TEST(Forecast, ChronologicalWindowsAndSplit) {
  // 20 rows, test fraction 0.25: rows 15..19 are the test part.
  ForecastData d = prepare_forecast(ramp_table(20), {.target = "t", .features = {"t", "w"}, .lookback = 4,
                                                     .horizon = 2, .test_fraction = 0.25});
  EXPECT_EQ(d.split_row, 15);
  // training windows: last input row t from 3 to 12 (targets t+1, t+2 <= 14)
  ASSERT_EQ(d.X_train.shape(), (std::vector<int64_t>{10, 4, 2}));
  ASSERT_EQ(d.y_train.shape(), (std::vector<int64_t>{10, 2}));
  // test windows: first target at 15..18 (t = 14..17)
  EXPECT_EQ(d.test_rows, (std::vector<int64_t>{15, 16, 17, 18}));
  // Scaling was fitted on rows 0..14 only: the target t has mean 7 there.
  EXPECT_NEAR(d.setup.target.center[0], 7.0f, 1e-5);
  const ForecastSetup& s = d.setup;
  EXPECT_NEAR(s.target.invert(d.y_train.at({0, 0}), 0), 4.0f, 1e-4);    // window 0 predicts rows 4, 5
  EXPECT_NEAR(s.target.invert(d.y_train.at({9, 1}), 0), 14.0f, 1e-4);   // the last training target
  EXPECT_NEAR(s.features.invert(d.X_test.at({0, 3, 1}), 1), 28.0f, 1e-4);  // input row 14, column w
  EXPECT_NEAR(s.target.invert(d.y_test.at({3, 1}), 0), 19.0f, 1e-4);
  // Relative mode: targets and the target's inputs become changes from the last value.
  ForecastData r = prepare_forecast(ramp_table(20), {.target = "t", .features = {"t", "w"}, .lookback = 4,
                                                     .horizon = 2, .test_fraction = 0.25, .transform = Transform::relative});
  const float window[] = {11, 22, 12, 24, 13, 26, 14, 28};  // rows 11..14 of t, w
  EXPECT_NEAR(r.setup.decode(r.y_test.at({0, 1}), 2, window), 16.0f, 1e-4);
  EXPECT_NEAR(r.X_test.at({0, 3, 0}), 0.0f, 1e-6);  // the last value, relative to itself
}

TEST(Forecast, TooLittleDataIsAClearError) {
  EXPECT_ERROR_WITH(prepare_forecast(ramp_table(10), {.target = "v", .lookback = 8, .test_fraction = 0.2}),
                    "needs 9: use more data");
  EXPECT_ERROR_WITH(prepare_forecast(ramp_table(30), {.target = "v", .lookback = 3, .horizon = 4, .test_fraction = 0.1}),
                    "shorter than the horizon 4");
  EXPECT_ERROR_WITH(prepare_forecast(ramp_table(30), {.target = "v", .features = {"w"}, .transform = Transform::relative}),
                    "must be one of the features");
  EXPECT_ERROR_WITH(prepare_forecast(ramp_table(30), {.target = "nope"}), "has no column 'nope'");
}

TEST(Forecast, MetricsBaselinesAndFuture) {
  ForecastData d = prepare_forecast(ramp_table(200), {.target = "v", .lookback = 10, .season = 21});
  Sequential model = default_forecast_model(d.setup, 8, 1, 5);
  model.compile(Adam({.learning_rate = 0.01f}), loss::mse);
  model.fit(d.X_train, d.y_train, {.epochs = 30, .batch_size = 16, .verbose = 0});
  ForecastEvaluation ev = evaluate_forecast(model, d);
  EXPECT_EQ(ev.model.count, int64_t(d.test_rows.size()));
  // sin(0.3 r) has period 20.94 rows: the seasonal baseline at 21 is nearly exact, the naive one
  // is not, and a trained model is far better than naive.
  EXPECT_TRUE(ev.has_seasonal);
  EXPECT_LT(ev.seasonal.rmse, 0.05);
  EXPECT_GT(ev.naive.rmse, 0.15);
  EXPECT_LT(ev.model.rmse, 0.5 * ev.naive.rmse);
  // naive by hand for the first test prediction
  const PredictionRow& p = ev.predictions[0];
  EXPECT_EQ(p.row, d.test_rows[0]);
  EXPECT_NEAR(p.actual, std::sin(0.3 * double(p.row)), 1e-5);
  EXPECT_NE(metrics_table(ev).find("seasonal naive (S=21)"), std::string::npos);
  EXPECT_NE(metrics_json(ev).find("\"rmse\""), std::string::npos);
  // Univariate: recursive forecasts of any length, close to the continuation of the sine.
  std::vector<ForecastPoint> f = forecast_future(model, d, 5);
  ASSERT_EQ(f.size(), 5u);
  for (const ForecastPoint& pt : f) EXPECT_NEAR(pt.value, std::sin(0.3 * (199 + pt.step)), 0.2);
}

TEST(Forecast, MaseDriftAndMeanBaselinesByHand) {
  // The target t = r on rows 0..19 plus a square wave, horizon 2, season 4: every metric of
  // every baseline computed here from its definition.
  std::string text = "t\n";
  std::vector<double> y;
  for (int r = 0; r < 20; ++r) y.push_back(r + (r % 4 < 2 ? 3.0 : 0.0)), text += std::to_string(y.back()) + "\n";
  ForecastData d = prepare_forecast(parse_csv(text, "y.csv"), {.target = "t", .lookback = 3, .horizon = 2,
                                                               .test_fraction = 0.25, .season = 4});
  Sequential model = default_forecast_model(d.setup, 4, 1, 3);
  ForecastEvaluation ev = evaluate_forecast(model, d);
  ASSERT_EQ(d.split_row, 15);
  double scale = 0;  // the training part's mean |y_t - y_{t-4}|: rows 4..14
  for (int r = 4; r < 15; ++r) scale += std::fabs(y[size_t(r)] - y[size_t(r - 4)]);
  scale /= 11.0;
  EXPECT_EQ(ev.mase_period, 4);
  EXPECT_NEAR(ev.mase_scale, scale, 1e-9);
  double drift_ae = 0, drift_se = 0, mean_ae = 0, model_ae = 0;
  int64_t n = 0;
  for (int64_t first : d.test_rows) {
    const int64_t t = first - 1;
    double sum = 0;
    for (int64_t r = 0; r <= t; ++r) sum += y[size_t(r)];
    for (int64_t k = 1; k <= 2; ++k, ++n) {
      const double actual = y[size_t(t + k)];
      const double drift = y[size_t(t)] + double(k) * (y[size_t(t)] - y[0]) / double(t);
      drift_ae += std::fabs(drift - actual), drift_se += (drift - actual) * (drift - actual);
      mean_ae += std::fabs(sum / double(t + 1) - actual);
      model_ae += std::fabs(double(ev.predictions[size_t(n)].predicted) - actual);
    }
  }
  EXPECT_EQ(ev.drift.count, n);
  EXPECT_NEAR(ev.drift.mae, drift_ae / double(n), 1e-5);
  EXPECT_NEAR(ev.drift.rmse, std::sqrt(drift_se / double(n)), 1e-5);
  EXPECT_NEAR(ev.mean.mae, mean_ae / double(n), 1e-5);
  EXPECT_NEAR(ev.model.mase, model_ae / double(n) / scale, 1e-5);
  EXPECT_NEAR(ev.drift.mase, ev.drift.mae / scale, 1e-9);
  // ranked by RMSE, best first; the table and the JSON say so
  const auto b = ev.baselines();
  ASSERT_EQ(b.size(), 4u);
  for (size_t k = 1; k < b.size(); ++k) EXPECT_LE(b[k - 1].second.rmse, b[k].second.rmse);
  EXPECT_NE(metrics_table(ev).find("best baseline: " + b[0].first), std::string::npos) << metrics_table(ev);
  EXPECT_NE(metrics_table(ev).find("MASE"), std::string::npos);
  EXPECT_NE(metrics_json(ev).find("\"baselines_by_rmse\""), std::string::npos);
  // a constant training part: no scale, MASE undefined (shown as "-", JSON null)
  std::string flat = "t\n";
  for (int r = 0; r < 20; ++r) flat += (r < 15 ? "1" : std::to_string(r)) + std::string("\n");
  ForecastData f = prepare_forecast(parse_csv(flat, "f.csv"), {.target = "t", .lookback = 3, .test_fraction = 0.25});
  Sequential fm = default_forecast_model(f.setup, 4, 1, 3);
  ForecastEvaluation fe = evaluate_forecast(fm, f);
  EXPECT_FALSE(std::isfinite(fe.model.mase));
  EXPECT_NE(metrics_json(fe).find("\"mase\": null"), std::string::npos);
}

TEST(Forecast, MultivariateForecastsOnlyItsHorizon) {
  ForecastData d = prepare_forecast(ramp_table(60), {.target = "v", .features = {"v", "w"}, .lookback = 5, .horizon = 3});
  Sequential model = default_forecast_model(d.setup, 4);
  EXPECT_EQ(forecast_future(model, d, 3).size(), 3u);
  EXPECT_ERROR_WITH(forecast_future(model, d, 4), "forecasts at most its horizon of 3 steps");
}

TEST(Forecast, SetupTravelsWithTheModelFile) {
  test::TempDir dir;
  ForecastData d = prepare_forecast(ramp_table(40), {.target = "v", .features = {"v", "w"}, .lookback = 5,
                                                     .season = 7, .fill = Fill::linear, .transform = Transform::relative});
  Sequential model = default_forecast_model(d.setup, 4);
  attach_forecast_setup(model, d.setup);
  model.save(dir.file("f.safetensors"));
  ForecastSetup back = forecast_setup(Sequential::load(dir.file("f.safetensors")));
  EXPECT_EQ(back.to_json(), d.setup.to_json());
  EXPECT_EQ(back.options.transform, Transform::relative);
  EXPECT_EQ(back.options.fill, Fill::linear);
  Sequential plain = default_forecast_model(d.setup, 4);
  EXPECT_ERROR_WITH(forecast_setup(plain), "not trained as a forecaster");
}

}  // namespace
}  // namespace lstm
