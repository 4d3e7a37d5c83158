"""Forecasting from a CSV through the CLI, as a practitioner uses it: run with
/usr/bin/python3 -m unittest test_forecast (ctest sets LSTM_BIN and LSTM_DATA).

The main job must beat the naive forecast, another real series must beat the seasonal-naive
one, documented outputs must have their columns and keys, bad CSVs must fail clearly, a run
killed with SIGKILL and resumed must end with the weights of an uninterrupted run, and the
report must render with its charts in headless Chromium."""
import csv
import json
import os
import pty
import subprocess
import unittest

from cli_util import HERE, LSTM, CliTest, screenshot

DATA = os.environ.get("LSTM_DATA", os.path.join(HERE, "../../data"))
WEATHER = os.path.join(DATA, "seattle-weather.csv")
CO2 = os.path.join(DATA, "co2-weekly.csv")
HOURLY = os.path.join(DATA, "seattle-temps-hourly.csv")
CITIES = os.path.join(DATA, "city-temps-hourly.csv")
# The main job's first step (scripts/demo.sh), exactly.
MAIN_JOB = ["--csv", WEATHER, "--target", "temp_max", "--features", "temp_max,temp_min,precipitation,wind",
            "--lookback", "30", "--date-column", "date", "--season", "365", "--test-fraction", "0.2",
            "--epochs", "50", "--batch-size", "32", "--validation-split", "0.2", "--early-stopping", "5"]


class Forecasting(CliTest):
    def metrics(self, model, data, *extra):
        return json.loads(self.run_lstm("evaluate", "--model", model, "--csv", data, "--json", *extra).stdout)

    def test_main_job_beats_naive_and_writes_the_report(self):
        model, report = self.path("weather.safetensors"), self.path("report.html")
        p = self.run_lstm("train", *MAIN_JOB, "--out", model, "--report", report)
        self.assertIn("naive (last value)", p.stdout)
        m = self.metrics(model, WEATHER)
        self.assertLess(m["model"]["rmse"], m["naive"]["rmse"])
        self.assertLess(m["model"]["rmse"], m["seasonal_naive"]["rmse"])
        self.assertEqual(m["model"]["count"], 292)
        self.assertTrue(os.path.getsize(report) > 1000)
        # A multivariate next-day model forecasts one day; more needs --horizon.
        out = self.run_lstm("forecast", "--model", model, "--csv", WEATHER, "--steps", 1).stdout
        self.assertIn("2016/01/01", out)
        err = self.run_lstm("forecast", "--model", model, "--csv", WEATHER, "--steps", 7, code=1).stderr
        self.assertIn("--horizon 7", err)
        self.render_and_check_report(report)

    def render_and_check_report(self, report):
        """Headless Chromium renders the report; the charts' line colors must be on screen."""
        pixels = screenshot(report, self.path("report.png"), self.path("chromium-profile"))
        for name, rgb in [("loss curve", (0x1f, 0x77, 0xb4)), ("val_loss curve", (0xff, 0x7f, 0x0e)),
                          ("test predictions", (0xd6, 0x27, 0x28)), ("test actuals", (0x44, 0x44, 0x44))]:
            self.assertIn(rgb, pixels, f"the report's {name} was not drawn")
        with open(report) as f:
            html = f.read()
        self.assertNotIn("http", html.replace('xmlns="http://www.w3.org/2000/svg"', ""), "the report must work offline")

    def test_other_real_series_beats_seasonal_naive(self):
        # Mauna Loa weekly CO2, yearly season of 52 weeks, the default model for 20 epochs.
        model = self.path("co2.safetensors")
        self.run_lstm("train", "--csv", CO2, "--target", "co2", "--date-column", "date", "--season", 52,
                      "--fill", "linear", "--epochs", 20, "--out", model, "--quiet")
        m = self.metrics(model, CO2)
        self.assertLess(m["model"]["rmse"], m["seasonal_naive"]["rmse"])
        # Predicting changes from the last value copes with the trend: it beats both baselines.
        self.run_lstm("train", "--csv", CO2, "--target", "co2", "--date-column", "date", "--season", 52,
                      "--fill", "linear", "--epochs", 20, "--relative", "--out", model, "--quiet")
        m = self.metrics(model, CO2)
        self.assertLess(m["model"]["rmse"], m["naive"]["rmse"])
        self.assertLess(m["model"]["rmse"], m["seasonal_naive"]["rmse"])
        # Forecasting needs only the last `lookback` rows, not a training set's worth.
        with open(CO2) as f:
            lines = f.readlines()
        with open(self.path("last30.csv"), "w") as f:
            f.writelines([lines[0]] + lines[-30:])
        self.run_lstm("forecast", "--model", model, "--csv", self.path("last30.csv"), "--steps", 2)
        with open(self.path("last29.csv"), "w") as f:
            f.writelines([lines[0]] + lines[-29:])
        self.assertIn("a window reads 30", self.run_lstm("forecast", "--model", model, "--csv",
                                                         self.path("last29.csv"), code=1).stderr)
        # Univariate: forecasts recursively, with weekly dates after the last one (20011229).
        self.run_lstm("forecast", "--model", model, "--csv", CO2, "--steps", 3, "--out", self.path("f.csv"))
        with open(self.path("f.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["date"] for r in rows], ["20020105", "20020112", "20020119"])
        self.assertTrue(all(365 < float(r["co2"]) < 380 for r in rows))

    def test_evaluate_outputs_documented_columns_and_keys(self):
        model = self.path("m.safetensors")
        common = ["--csv", WEATHER, "--target", "temp_max", "--lookback", 10, "--epochs", 2, "--units", 8, "--quiet"]
        self.run_lstm("train", *common, "--out", model)
        m = self.metrics(model, WEATHER)
        self.assertEqual(set(m), {"target", "model", "naive", "seasonal_naive", "season", "drift", "mean",
                                  "mase_scale", "mase_period", "baselines_by_rmse", "transform", "quantiles"})
        self.assertEqual(set(m["model"]), {"rmse", "mae", "smape", "count", "mase"})
        self.assertEqual(m["mase_period"], 1)  # no season: scaled by the one-step naive error
        self.assertAlmostEqual(m["model"]["mase"], m["model"]["mae"] / m["mase_scale"], places=9)
        ranked = [m[{"naive (last value)": "naive", "drift": "drift", "mean": "mean"}[b]]["rmse"]
                  for b in m["baselines_by_rmse"]]
        self.assertEqual(ranked, sorted(ranked))
        self.assertIsNone(m["seasonal_naive"])  # no --season given
        self.assertIsNotNone(self.metrics(model, WEATHER, "--season", 365)["seasonal_naive"])
        self.run_lstm("evaluate", "--model", model, "--csv", WEATHER, "--predictions", self.path("p.csv"))
        with open(self.path("p.csv")) as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["row", "actual", "predicted"])
        self.assertEqual(len(rows) - 1, m["model"]["count"])
        self.assertEqual(int(rows[1][0]), 1461 - 292)  # the first test row
        with open(WEATHER) as f:
            actual = [float(r["temp_max"]) for r in csv.DictReader(f)]
        self.assertEqual(float(rows[1][1]), actual[int(rows[1][0])])
        self.run_lstm("train", *common, "--horizon", 3, "--out", model)
        self.run_lstm("evaluate", "--model", model, "--csv", WEATHER, "--predictions", self.path("p3.csv"))
        with open(self.path("p3.csv")) as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["row", "step", "actual", "predicted"])
        self.assertEqual([r[1] for r in rows[1:4]], ["1", "2", "3"])
        self.assertEqual([int(r[0]) for r in rows[1:4]], [1169, 1170, 1171])

    def test_bad_csv_is_a_clear_error(self):
        def write(name, text):
            with open(self.path(name), "w") as f:
                f.write(text)
            return self.path(name)

        out = self.path("m.safetensors")
        rows = "".join(f"2020-01-{d:02d},{d},{d * 2}\n" for d in range(1, 29))

        def fails(csv_path, needle, *extra):
            err = self.run_lstm("train", "--csv", csv_path, "--target", "a", "--lookback", 5, "--out", out, *extra,
                                code=1).stderr
            self.assertIn(needle, err)
            self.assertFalse(os.path.exists(out))

        gap = write("gap.csv", "date,a,b\n" + rows + "2020-01-29,,3\n" + rows)
        fails(gap, "data row 28 (line 30), column 'a' is missing")
        fails(write("text.csv", "date,a,b\n" + rows + "2020-01-29,n/a?,3\n"), "'n/a?' is not a number")
        fails(write("cells.csv", "date,a,b\n" + rows + "2020-01-29,1\n"), "line 30 has 2 cells but the header has 3")
        lines = rows.splitlines(keepends=True)
        fails(write("short.csv", "date,a,b\n" + "".join(lines[:4])), "has 4 rows but a window reads 5")
        fails(write("short6.csv", "date,a,b\n" + "".join(lines[:6])), "needs 6: use more data")
        fails(gap, "has no column 'c' (its columns: date, a, b)", "--features", "a,c")
        fails(write("date.csv", "date,a,b\n" + rows.replace("2020-01-05", "5 Jan")), "'5 Jan' is not a date", "--date-column", "date")
        self.run_lstm("train", "--csv", gap, "--target", "a", "--lookback", 5, "--out", out, "--fill", "previous",
                      "--epochs", 1, "--quiet")
        self.assertIn("unknown fill", self.run_lstm("train", "--csv", gap, "--target", "a", "--out", out,
                                                    "--fill", "zero", code=2).stderr)

    def test_resume_after_sigkill_gives_the_uninterrupted_weights(self):
        self.check_resume_after_sigkill("train", *MAIN_JOB[:-8], "--epochs", 8, "--validation-split", 0.2,
                                        "--early-stopping", 50, "--transform", "level", "--quiet")
        # --transform auto trains several models; a checkpoint holds one
        err = self.run_lstm("train", *MAIN_JOB, "--checkpoint", self.path("c.ckpt"), "--out", self.path("m.safetensors"),
                            code=2).stderr
        self.assertIn("give --transform NAME with --checkpoint", err)

    def test_quantiles_give_intervals_and_their_coverage(self):
        model, report = self.path("q.safetensors"), self.path("q.html")
        p = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--date-column", "date", "--lookback", 10,
                          "--units", 16, "--epochs", 8, "--transform", "relative", "--horizon", 2,
                          "--quantiles", "0.1,0.9", "--out", model, "--report", report)
        self.assertRegex(p.stdout, r"80% interval \(q0.1..q0.9\) holds [0-9.]+% of the test values")
        m = self.metrics(model, WEATHER)
        q = m["quantiles"]
        self.assertEqual(q["levels"], [0.1, 0.5, 0.9])  # the median added: the point forecast
        self.assertEqual(len(q["intervals"]), 1)
        i = q["intervals"][0]
        self.assertAlmostEqual(i["nominal"], 0.8, places=6)
        self.assertGreater(i["coverage"], 0.6)  # a sane interval after 8 epochs
        self.assertLess(q["below"][0], q["below"][1])
        self.assertLess(q["below"][1], q["below"][2])
        # the predictions and the forecast carry every level; the intervals are ordered
        self.run_lstm("evaluate", "--model", model, "--csv", WEATHER, "--predictions", self.path("p.csv"))
        with open(self.path("p.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0]), ["row", "step", "actual", "predicted", "q0.1", "q0.5", "q0.9"])
        inside = 0
        for r in rows:
            self.assertLessEqual(float(r["q0.1"]), float(r["q0.5"]))
            self.assertLessEqual(float(r["q0.5"]), float(r["q0.9"]))
            self.assertEqual(r["predicted"], r["q0.5"])
            inside += float(r["q0.1"]) <= float(r["actual"]) <= float(r["q0.9"])
        self.assertAlmostEqual(inside / len(rows), i["coverage"], places=9)
        self.run_lstm("forecast", "--model", model, "--csv", WEATHER, "--steps", 4, "--out", self.path("f.csv"))
        with open(self.path("f.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0]), ["step", "date", "temp_max", "temp_max_q0.1", "temp_max_q0.5", "temp_max_q0.9"])
        self.assertTrue(all(r["temp_max_q0.1"] for r in rows[:2]))  # up to the horizon
        self.assertTrue(all(r["temp_max_q0.1"] == "" for r in rows[2:]))  # recursive past it: no interval
        with open(report) as f:
            html = f.read()
        self.assertIn('id="intervals"', html)
        self.assertIn('class="band"', html)
        # bad levels: named, exit 1 (or 2 for what is not a number), nothing written
        for levels, code, needle in [("0.9,0.1", 1, "increasing order without repeats"), ("0.1,1.5", 1, "is outside (0, 1)"),
                                     ("0.1,x", 2, "got 'x'")]:
            err = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--epochs", 1, "--quantiles", levels,
                                "--out", self.path("bad.safetensors"), code=code).stderr
            self.assertIn(needle, err)
        err = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--quantiles", "0.1,0.9", "--loss", "mae",
                            "--out", self.path("bad.safetensors"), code=2).stderr
        self.assertIn("drop --loss", err)
        err = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--no-calibration",
                            "--out", self.path("bad.safetensors"), code=2).stderr
        self.assertIn("--no-calibration applies with --quantiles", err)
        self.assertFalse(os.path.exists(self.path("bad.safetensors")))
        # with validation windows the intervals are calibrated there, and the output says by how much
        p = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--lookback", 10, "--units", 8,
                          "--epochs", 3, "--transform", "level", "--validation-split", 0.2, "--quantiles", "0.1,0.9",
                          "--out", model)
        self.assertRegex(p.stdout, r"calibrated on validation: the 80% interval held [0-9.]+% there, so both its ends "
                                   r"move (out|in) by [0-9.]+")
        # then tracked online through the test part: evaluate says where the adjustment ended
        self.assertRegex(p.stdout, r"then tracked online as actual values arrive: after each one its ends move out "
                                   r"by [0-9.]+ if it missed, in by [0-9.]+ if not")
        j = self.metrics(model, WEATHER)
        self.assertEqual(len(j["quantiles"]["tracked_adjust"]), 1)
        self.assertIn("then tracked online through the test values",
                      self.run_lstm("evaluate", "--model", model, "--csv", WEATHER).stdout)
        self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--lookback", 10, "--units", 8, "--epochs", 3,
                      "--transform", "level", "--validation-split", 0.2, "--quantiles", "0.1,0.9",
                      "--tracking-rate", 0, "--out", model)
        self.assertNotIn("tracked_adjust", self.metrics(model, WEATHER)["quantiles"])
        err = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_max", "--quantiles", "0.1,0.9",
                            "--tracking-rate", 2, "--out", self.path("bad.safetensors"), code=2).stderr
        self.assertIn("--tracking-rate must be in [0, 1]", err)

    def test_backtest_folds_and_baselines(self):
        common = ["--csv", WEATHER, "--target", "temp_max", "--date-column", "date", "--season", 365, "--lookback", 10,
                  "--units", 8, "--epochs", 2, "--transform", "level", "--validation-split", 0.2]
        p = self.run_lstm("backtest", *common, "--folds", 3, "--step", 20, "--predictions", self.path("bt.csv"))
        self.assertIn("== fold 3 of 3: training on rows 40..1440, testing rows 1441..1460", p.stdout)
        self.assertRegex(p.stdout, r"60 predictions in 3 folds; the model beats the fold's best baseline in [0-3] of them")
        j = json.loads(self.run_lstm("backtest", *common, "--folds", 3, "--step", 20, "--expanding", "--json").stdout)
        self.assertEqual([f["origin"] for f in j["folds"]], [1401, 1421, 1441])
        self.assertEqual([f["train_begin"] for f in j["folds"]], [0, 0, 0])
        self.assertEqual(j["folds"][0]["origin_date"], "2015/11/02")
        self.assertEqual(set(j), {"folds", "model", "naive", "seasonal_naive", "drift", "mean"})
        self.assertEqual(j["model"]["count"], 60)
        with open(self.path("bt.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(rows[0]), ["fold", "row", "step", "actual", "predicted"])
        self.assertEqual([int(r["row"]) for r in rows], list(range(1401, 1461)))
        self.assertEqual({r["fold"] for r in rows[:20]}, {"1"})
        err = self.run_lstm("backtest", *common, "--folds", 0, code=2).stderr
        self.assertIn("--folds", err)
        err = self.run_lstm("backtest", *common, "--folds", 100, "--step", 20, code=1).stderr
        self.assertIn("fewer than 100 folds of 20 rows need", err)

    def test_many_series_one_model(self):
        # the first 600 hours of each city, and a third series too short for a window
        with open(CITIES) as f:
            rows = list(csv.reader(f))
        head = [rows[0]] + [r for r in rows[1:] if r[0] == "Seattle"][:600] + \
               [r for r in rows[1:] if r[0] == "San Francisco"][:600] + [["Tiny", r[1], r[2]] for r in rows[1:6]]
        data, model = self.path("cities.csv"), self.path("cities.safetensors")
        with open(data, "w", newline="") as f:
            csv.writer(f).writerows(head)
        common = ["--csv", data, "--target", "temp", "--date-column", "date", "--series-column", "city",
                  "--season", 24, "--lookback", 24, "--units", 8, "--epochs", 3]
        p = self.run_lstm("train", *common, "--transform", "seasonal", "--validation-split", 0.2,
                          "--series-embedding", "--quantiles", "0.1,0.9", "--out", model)
        self.assertIn("warning: series Tiny is skipped: ", p.stderr)
        self.assertIn(", series Tiny' has 5 rows", p.stderr)
        self.assertRegex(p.stdout, r"\nSeattle +[0-9.]+  seasonal naive \(S=24\)")
        self.assertRegex(p.stdout, r"\nSan Francisco +[0-9.]+  ")
        self.assertRegex(p.stdout, r"the model beats the best baseline in [0-2] of 2 series")
        self.assertIn("mean of 2 series", p.stdout)
        # each series evaluated on its own last 20%, with its own scaling
        j = self.metrics(model, data, "--predictions", self.path("pred.csv"))
        self.assertEqual([s["id"] for s in j["series"]], ["Seattle", "San Francisco"])
        self.assertEqual([s["model"]["count"] for s in j["series"]], [120, 120])
        self.assertEqual(j["series_count"], 2)
        self.assertEqual(j["mean"]["model"]["count"], 240)
        self.assertAlmostEqual(j["mean"]["model"]["rmse"], sum(s["model"]["rmse"] for s in j["series"]) / 2, places=6)
        self.assertIn(j["beats_best_baseline_in"], [0, 1, 2])
        with open(self.path("pred.csv")) as f:
            pred = list(csv.DictReader(f))
        self.assertEqual(list(pred[0])[:4], ["city", "row", "actual", "predicted"])
        self.assertEqual({r["city"] for r in pred}, {"Seattle", "San Francisco"})
        sf = [float(r["actual"]) for r in pred if r["city"] == "San Francisco"]
        self.assertEqual(sf, [float(r[2]) for r in head[601 + 480:601 + 600]])
        # the forecast: a block per series, after each one's last date
        out = self.path("fc.csv")
        self.run_lstm("forecast", "--model", model, "--csv", data, "--steps", 3, "--out", out)
        with open(out) as f:
            fc = list(csv.reader(f))
        self.assertEqual(fc[0], ["city", "step", "date", "temp", "temp_q0.1", "temp_q0.5", "temp_q0.9"])
        self.assertEqual([(r[0], r[1]) for r in fc[1:]], [("Seattle", "1"), ("Seattle", "2"), ("Seattle", "3"),
                                                         ("San Francisco", "1"), ("San Francisco", "2"),
                                                         ("San Francisco", "3")])
        self.assertEqual(fc[1][2], "2010/01/26 00:00")
        # an error of one series' forecast names the series, and nothing is printed or written
        two = self.path("two.csv")
        with open(two, "w") as f:
            f.write("id,y,x\n" + "".join(f"{i},{(r % 7) + 3 * (i == 'b')},{r % 5}\n" for i in "ab" for r in range(60)))
        self.run_lstm("train", "--csv", two, "--series-column", "id", "--target", "y", "--features", "y,x",
                      "--lookback", 5, "--epochs", 1, "--transform", "level", "--out", self.path("two.safetensors"))
        p = self.run_lstm("forecast", "--model", self.path("two.safetensors"), "--csv", two, "--steps", 3,
                          "--out", self.path("two-fc.csv"), code=1)
        self.assertIn("series a: this model reads x besides y", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(self.path("two-fc.csv")))
        # bare windows name no series: predict refuses them (their scaling is per series)
        import numpy as np
        np.save(self.path("x.npy"), np.zeros((2, 24, 1), dtype=np.float32))
        err = self.run_lstm("predict", "--model", model, "--x", self.path("x.npy"), "--out", self.path("p.npy"),
                            code=1).stderr
        self.assertIn("this forecaster was trained on many series (--series-column city)", err)
        self.assertFalse(os.path.exists(self.path("p.npy")))
        # a series the model was not trained on: skipped with a warning naming it (so is Tiny, above)
        with open(data, "a") as f:
            f.write("Paris,2010/01/01 00:00,40\n")
        err = self.run_lstm("evaluate", "--model", model, "--csv", data).stderr
        self.assertIn("series 'Paris' (city) is skipped: it is not one the model was trained on (2 series: "
                      "Seattle, San Francisco)", err)
        with open(self.path("paris.csv"), "w") as f:
            f.write("city,date,temp\nParis,2010/01/01 00:00,40\n")
        err = self.run_lstm("forecast", "--model", model, "--csv", self.path("paris.csv"), code=1).stderr
        self.assertIn("none of its series can be forecast by this model (series 'Paris'", err)
        err = self.run_lstm("train", *common[:6], "--series-embedding", "--out", model, code=2).stderr
        self.assertIn("--series-embedding gives each series of --series-column an input", err)

    def test_calendar_inputs(self):
        model = self.path("cal.safetensors")
        # the hourly series skips 2010/03/14 03:00 (clocks went forward): a gap, named unless filled
        err = self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--date-column", "date", "--epochs", 1,
                            "--out", model, code=1).stderr
        self.assertIn("has gaps in its dates: they step by 1 hour, but jump from '2010/03/14 02:00' (row 1730, "
                      "line 1732) to '2010/03/14 04:00' (row 1731, line 1733), 1 date missing", err)
        self.assertIn("give --fill previous or --fill linear to insert the missing rows", err)
        self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--date-column", "date", "--lookback", 12,
                      "--units", 8, "--epochs", 1, "--transform", "level", "--calendar", "hour,dow", "--fill", "linear",
                      "--out", model, "--quiet")
        # known for every future date: a univariate model with them still forecasts recursively
        self.run_lstm("forecast", "--model", model, "--csv", HOURLY, "--steps", 30, "--out", self.path("f.csv"))
        with open(self.path("f.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual((rows[0]["date"], rows[-1]["date"]), ("2011/01/01 00:00", "2011/01/02 05:00"))
        import numpy as np
        np.save(self.path("x.npy"), np.ones((1, 12, 1), np.float32))
        err = self.run_lstm("predict", "--model", model, "--x", self.path("x.npy"), "--out", self.path("y.npy"),
                            code=1).stderr
        self.assertIn("reads calendar or future features", err)
        for extra, needle in [(["--calendar", "weekday", "--date-column", "date"], "unknown calendar feature 'weekday'"),
                              (["--calendar", "hour"], "name the date column (--date-column)")]:
            err = self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--epochs", 1, "--fill", "linear", *extra,
                                "--out", self.path("bad.safetensors"), code=1).stderr
            self.assertIn(needle, err)

    def test_future_features_known_in_advance(self):
        # wind as if forecast in advance: its value for the day predicted is an input; the rows after
        # the data (temp_max empty) give its future
        with open(WEATHER) as f:
            lines = f.read().splitlines()
        header = lines[0].split(",")
        t, w = header.index("temp_max"), header.index("wind")
        future = []
        for k, line in enumerate(lines[-3:]):
            cells = line.split(",")
            cells[0] = f"2016/01/0{k + 1}"
            cells[t] = ""
            future.append(",".join(cells))
        data = self.path("weather-future.csv")
        with open(data, "w") as f:
            f.write("\n".join(lines + future) + "\n")
        model = self.path("future.safetensors")
        self.run_lstm("train", "--csv", data, "--target", "temp_max", "--future-features", "wind", "--date-column", "date",
                      "--lookback", 10, "--units", 8, "--epochs", 1, "--transform", "level", "--out", model, "--quiet")
        self.run_lstm("forecast", "--model", model, "--csv", data, "--steps", 3, "--out", self.path("f.csv"))
        with open(self.path("f.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["date"] for r in rows], ["2016/01/01", "2016/01/02", "2016/01/03"])
        err = self.run_lstm("forecast", "--model", model, "--csv", data, "--steps", 4, code=1).stderr
        self.assertIn("reads the future features (wind) of the 4 rows after the data, but the CSV has 3", err)
        last = future[2].split(",")
        last[w] = ""  # a future row without its future value
        with open(data, "w") as f:
            f.write("\n".join(lines + future[:2] + [",".join(last)]) + "\n")
        err = self.run_lstm("train", "--csv", data, "--target", "temp_max", "--future-features", "wind", "--epochs", 1,
                            "--out", self.path("bad.safetensors"), code=1).stderr
        self.assertIn("needs every --future-features column", err)

    def test_transform_chosen_on_validation(self):
        # Hourly temperatures with a daily cycle: predicting the change from the same hour the day
        # before (the seasonal transform) wins on validation and beats seasonal naive on the test part.
        model, report = self.path("hourly.safetensors"), self.path("hourly.html")
        p = self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--date-column", "date", "--season", 24,
                          "--fill", "linear", "--epochs", 50, "--early-stopping", 5, "--out", model, "--report", report)
        for name in ("level", "relative", "seasonal", "log"):
            self.assertIn(f"== transform {name}", p.stdout)
        self.assertIn("kept the seasonal transform", p.stdout)
        self.assertRegex(p.stdout, r"validation \(the last 1395 training windows\): the model's RMSE [0-9.]+ is [0-9.]+% "
                                   r"of the best baseline's, seasonal naive \(S=24\)")
        m = self.metrics(model, HOURLY)
        self.assertEqual(m["transform"], "seasonal")
        self.assertLess(m["model"]["rmse"], 0.6 * m["seasonal_naive"]["rmse"])
        with open(report) as f:
            html = f.read()
        self.assertIn('id="transforms"', html)
        self.assertIn("kept the seasonal transform", html)
        # a seasonal model needs the season before each window: from the CSV, not from bare windows
        import numpy as np
        np.save(self.path("x.npy"), np.ones((2, 30, 1), np.float32))
        err = self.run_lstm("predict", "--model", model, "--x", self.path("x.npy"), "--out", self.path("y.npy"),
                            code=1).stderr
        self.assertIn("need the 24 rows before each window too", err)
        err = self.run_lstm("evaluate", "--model", model, "--csv", HOURLY, "--season", 12, code=2).stderr
        self.assertIn("predicts changes over its season of 24 rows", err)
        # forecasting continues the daily cycle past the data
        self.run_lstm("forecast", "--model", model, "--csv", HOURLY, "--steps", 48, "--out", self.path("f.csv"))
        with open(self.path("f.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual((rows[0]["date"], rows[-1]["date"]), ("2011/01/01 00:00", "2011/01/02 23:00"))
        temps = [float(r["temp"]) for r in rows]
        self.assertGreater(max(temps[:24]) - min(temps[:24]), 1.0)  # a day's swing
        self.assertLess(max(abs(a - b) for a, b in zip(temps[:24], temps[24:])), 1.0)  # and again the next day
        # a transform named explicitly is the only one trained; bad names and combinations are usage errors
        p = self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--season", 24, "--epochs", 1,
                          "--transform", "relative", "--validation-split", 0.2, "--out", self.path("r.safetensors"))
        self.assertNotIn("== transform", p.stdout)
        self.assertIn("validation (the last 1395 training windows)", p.stdout)
        self.assertEqual(self.metrics(self.path("r.safetensors"), HOURLY)["transform"], "relative")
        for bad, code, needle in [(["--transform", "diff"], 2, "use auto, level, relative, seasonal, log or boxcox"),
                                  (["--transform", "level", "--relative"], 2, "--relative is --transform relative"),
                                  (["--transform", "seasonal"], 1, "needs the season's length in rows (--season S)")]:
            err = self.run_lstm("train", "--csv", HOURLY, "--target", "temp", "--epochs", 1, *bad,
                                "--out", self.path("bad.safetensors"), code=code).stderr
            self.assertIn(needle, err)
        err = self.run_lstm("train", "--csv", WEATHER, "--target", "temp_min", "--transform", "log", "--epochs", 1,
                            "--out", self.path("bad.safetensors"), code=1).stderr
        self.assertRegex(err, r"the log transform needs a positive target, but 'temp_min' is -?[0-9.]+ at row [0-9]+ "
                              r"\(line [0-9]+\): use --transform level, relative or seasonal")
        self.assertFalse(os.path.exists(self.path("bad.safetensors")))

    def test_progress_bar_on_a_terminal(self):
        argv = [LSTM, "train", "--csv", WEATHER, "--target", "temp_max", "--lookback", "5", "--units", "4",
                "--epochs", "2", "--batch-size", "8", "--out", self.path("m.safetensors")]
        pid, fd = pty.fork()
        if pid == 0:  # the child: become lstm on the terminal, never return into the tests
            try:
                os.execv(LSTM, argv)
            finally:
                os._exit(127)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out.decode(errors="replace"))
        text = out.decode()
        self.assertIn("ETA", text)
        self.assertIn("\r", text)
        self.assertRegex(text, r"Epoch 2/2 - [0-9.]+s - loss: ")


if __name__ == "__main__":
    unittest.main()
