"""The forecasting quality tables of docs/forecasting.md: on each real series below, the model of
`lstm train --csv` (LSTM(50) -> Dense(1), its target transform chosen on validation) against
the naive and seasonal-naive forecasts and statsmodels' Holt-Winters exponential smoothing, all
scored on the same test rows (the last 20%), one step ahead from the actual history; then the
same trained with --quantiles 0.1,0.5,0.9: how much of the test part its 80% intervals hold.
Then many series, one model: `--series-column city` on the hourly temperatures of two cities,
scored per series the same way. Exits 1 unless the model beats the best of naive and seasonal
naive on every series and every 80% interval holds 75-85% of its test values.

    scripts/install-deps.sh quality          # python3-statsmodels, besides the build
    /usr/bin/python3 scripts/forecast_quality.py [--lstm build/bin/lstm] [--out FILE.md]

Holt-Winters: additive or multiplicative (positive series) seasonality, with or without a
damped additive trend, the form with the lowest AIC on the training rows; its parameters and
initial states are fitted on the training rows only, then held fixed while it filters the test
rows (each prediction sees the actual values before it, as the model's windows do). A season of
365 is beyond Holt-Winters' reach here (365 seasonal states from four years), so the daily series
uses its trend-only form, noted in the table.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
# file, target, extra lstm options, season, frequency
SERIES = [
    ("seattle-weather.csv", "temp_max", ["--features", "temp_max,temp_min,precipitation,wind"], 365, "daily"),
    ("co2-weekly.csv", "co2", ["--fill", "linear"], 52, "weekly"),
    ("seattle-temps-hourly.csv", "temp", ["--fill", "linear"], 24, "hourly"),  # 2010/03/14 03:00 is absent
    ("elec-equip-monthly.csv", "index", [], 12, "monthly"),
    ("elnino-monthly.csv", "sst", [], 12, "monthly"),
]
# many series: file, series column, target, extra lstm options, season, frequency
MANY = ("city-temps-hourly.csv", "city", "temp", ["--fill", "linear"], 24, "hourly")
COMMON = ["--date-column", "date", "--lookback", "30", "--test-fraction", "0.2", "--epochs", "50",
          "--batch-size", "32", "--early-stopping", "5"]


def target_column(path, target):
    """The target as floats, empty cells and the rows of missing dates (in data that steps by a
    fixed number of seconds) filled linearly, as lstm's --fill linear does."""
    import collections
    import datetime
    with open(path) as f:
        rows = list(csv.DictReader(f))
    y = [float(r[target]) if r[target].strip() else np.nan for r in rows]
    for fmt in ("%Y/%m/%d %H:%M", "%Y%m%d", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            t = [datetime.datetime.strptime(r["date"], fmt).replace(tzinfo=datetime.timezone.utc).timestamp() for r in rows]
            break
        except ValueError:
            continue
    diffs = [b - a for a, b in zip(t, t[1:])]
    step = collections.Counter(diffs).most_common(1)[0][0]
    if all(d in (step, 2 * step, 3 * step) for d in diffs) and fmt != "%Y-%m-%d":  # not months
        filled = [y[0]]
        for d, v in zip(diffs, y[1:]):
            m = int(round(d / step))
            filled += [filled[-1] + (v - filled[-1]) * i / m for i in range(1, m)] + [v]
        y = filled
    y = np.array(y)
    bad = np.isnan(y)
    if bad.any():
        y[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), y[~bad])
    return y


def holt_winters(y, split, season):
    """One-step-ahead predictions of rows split.. and a description of the form chosen."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    train = y[:split]
    forms = []
    seasonal_kinds = [None] if season > 2 * 52 else (["add", "mul"] if (y > 0).all() else ["add"])
    for seasonal in seasonal_kinds:
        for damped in (True, False):
            forms.append(dict(trend="add", damped_trend=damped, seasonal=seasonal,
                              seasonal_periods=season if seasonal else None))
        forms.append(dict(trend=None, seasonal=seasonal, seasonal_periods=season if seasonal else None))
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for form in forms:
            try:
                fit = ExponentialSmoothing(train, initialization_method="estimated", **form).fit()
            except Exception:  # a form statsmodels cannot fit here
                continue
            if np.isfinite(fit.aic) and (best is None or fit.aic < best[1].aic):
                best = (form, fit)
        form, fit = best
        p = fit.params
        known = dict(initialization_method="known", initial_level=p["initial_level"])
        if form.get("trend"):
            known["initial_trend"] = p["initial_trend"]
        if form.get("seasonal"):
            known["initial_seasonal"] = p["initial_seasons"]
        again = ExponentialSmoothing(y, **form, **known).fit(
            smoothing_level=p["smoothing_level"], smoothing_trend=p.get("smoothing_trend"),
            smoothing_seasonal=p.get("smoothing_seasonal"), damping_trend=p.get("damping_trend"),
            optimized=False)
    pred = np.asarray(again.fittedvalues)[split:]
    name = (("damped " if form.get("damped_trend") else "") + "trend" if form.get("trend") else "no trend")
    name += ", " + (f"{form['seasonal']} season {season}" if form.get("seasonal") else "no season")
    return pred, name


def many_series(lstm, tmp):
    """One global model over every series of MANY's file: per series, its RMSE against naive,
    seasonal naive and a Holt-Winters fitted to that series alone; then with --quantiles, the
    coverage of each series' 80% interval. Returns the table's lines, whether the model beats the
    best of naive and seasonal naive on every series, and whether every interval holds 75-85%."""
    name, column, target, extra, season, freq = MANY
    path = os.path.join(DATA, name)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    ids = list(dict.fromkeys(r[column] for r in rows))
    lines = [f"| {name}: series ({freq}, {target}) | rows | transform kept | model RMSE | naive | seasonal naive | "
             "Holt-Winters (form) | model / best baseline | model / Holt-Winters | 80% interval holds | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    runs = {}
    for quantiles in ([], ["--quantiles", "0.1,0.5,0.9"]):
        model = os.path.join(tmp, name + str(len(quantiles)) + ".safetensors")
        preds = os.path.join(tmp, name + ".pred.csv")
        start = time.time()
        subprocess.run([lstm, "train", "--csv", path, "--series-column", column, "--target", target,
                        "--season", str(season), *COMMON, *extra, *quantiles, "--out", model, "--quiet"], check=True)
        seconds = time.time() - start
        ev = json.loads(subprocess.run([lstm, "evaluate", "--model", model, "--csv", path, "--json",
                                        "--predictions", preds], check=True, capture_output=True, text=True).stdout)
        with open(preds) as f:
            pred_rows = list(csv.DictReader(f))
        runs[bool(quantiles)] = (ev, pred_rows, seconds)
    ev, pred_rows, seconds = runs[False]
    qev, _, qseconds = runs[True]
    win = cover = True
    for sid in ids:
        one = os.path.join(tmp, "series.csv")
        with open(one, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["date", target])
            w.writerows([r["date"], r[target]] for r in rows if r[column] == sid)
        y = target_column(one, target)
        test_rows = [int(r["row"]) for r in pred_rows if r[column] == sid]
        split = test_rows[0]
        assert test_rows == list(range(split, len(y))), "the test rows are the last ones, one step ahead"
        hw, form = holt_winters(y, split, season)
        hw_rmse = math.sqrt(float(np.mean((hw - y[split:]) ** 2)))
        e = next(s for s in ev["series"] if s["id"] == sid)
        q = next(s for s in qev["series"] if s["id"] == sid)["quantiles"]["intervals"][0]
        m, naive = e["model"]["rmse"], e["naive"]["rmse"]
        seasonal = e["seasonal_naive"]["rmse"] if e["seasonal_naive"] else float("nan")
        best = min(naive, seasonal) if math.isfinite(seasonal) else naive
        win &= m < best
        cover &= abs(q["coverage"] - q["nominal"]) <= 0.05
        lines.append(f"| {sid} | {len(y)} | {e['transform']} | {m:.4f} | {naive:.4f} | {seasonal:.4f} | "
                     f"{hw_rmse:.4f} ({form}) | {100 * m / best:.1f}% | {100 * m / hw_rmse:.1f}% | "
                     f"{100 * q['coverage']:.1f}% | {seconds:.1f} / {qseconds:.1f} |")
        print(lines[-1], flush=True)
    lines.append(f"| all {len(ids)} (one model) | | | | | | | geometric mean {100 * ev['rmse_ratio_to_best_baseline']:.1f}% "
                 f"| | {100 * qev['mean']['quantiles']['intervals'][0]['coverage']:.1f}% | |")
    return lines, win, cover


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lstm", default=os.path.join(HERE, "..", "build", "bin", "lstm"))
    ap.add_argument("--out", help="also write the table here (markdown)")
    args = ap.parse_args()
    intervals = ["| series | transform kept | median RMSE | 80% interval (q0.1..q0.9) holds | mean width | "
                 "share below q0.1 / q0.5 / q0.9 | train s |", "|---|---|---|---|---|---|---|"]
    lines = ["| series | rows | season | transform kept | model RMSE | naive | seasonal naive | "
             "Holt-Winters (form) | model / best baseline | model / Holt-Winters | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    all_win = all_cover = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, target, extra, season, freq in SERIES:
            path = os.path.join(DATA, name)
            model = os.path.join(tmp, name + ".safetensors")
            preds = os.path.join(tmp, name + ".pred.csv")
            start = time.time()
            subprocess.run([args.lstm, "train", "--csv", path, "--target", target, "--season", str(season),
                            *COMMON, *extra, "--out", model, "--quiet"], check=True)
            seconds = time.time() - start
            ev = json.loads(subprocess.run([args.lstm, "evaluate", "--model", model, "--csv", path, "--json",
                                            "--predictions", preds], check=True, capture_output=True,
                                           text=True).stdout)
            with open(preds) as f:
                rows = [int(r["row"]) for r in csv.DictReader(f)]
            y = target_column(path, target)
            split = rows[0]
            assert rows == list(range(split, len(y))), "the test rows are the last ones, one step ahead"
            hw, form = holt_winters(y, split, season)
            hw_rmse = math.sqrt(float(np.mean((hw - y[split:]) ** 2)))
            kept = ev["transform"]
            m, naive = ev["model"]["rmse"], ev["naive"]["rmse"]
            seasonal = ev["seasonal_naive"]["rmse"] if ev["seasonal_naive"] else float("nan")
            best = min(naive, seasonal) if math.isfinite(seasonal) else naive
            all_win &= m < best
            lines.append(f"| {name} ({freq}, {target}) | {len(y)} | {season} | {kept} | {m:.4f} | {naive:.4f} | "
                         f"{seasonal:.4f} | {hw_rmse:.4f} ({form}) | {100 * m / best:.1f}% | "
                         f"{100 * m / hw_rmse:.1f}% | {seconds:.1f} |")
            print(lines[-1], flush=True)
            # the same with --quantiles: the intervals' coverage on the test part
            start = time.time()
            subprocess.run([args.lstm, "train", "--csv", path, "--target", target, "--season", str(season),
                            *COMMON, *extra, "--quantiles", "0.1,0.5,0.9", "--out", model, "--quiet"], check=True)
            seconds = time.time() - start
            ev = json.loads(subprocess.run([args.lstm, "evaluate", "--model", model, "--csv", path, "--json"],
                                           check=True, capture_output=True, text=True).stdout)
            q = ev["quantiles"]
            i = q["intervals"][0]
            all_cover &= abs(i["coverage"] - i["nominal"]) <= 0.05
            below = " / ".join(f"{100 * b:.1f}%" for b in q["below"])
            intervals.append(f"| {name} | {ev['transform']} | {ev['model']['rmse']:.4f} | {100 * i['coverage']:.1f}% | "
                             f"{i['mean_width']:.4f} | {below} | {seconds:.1f} |")
            print(intervals[-1], flush=True)
        many, many_win, many_cover = many_series(args.lstm, tmp)
        all_win &= many_win
        all_cover &= many_cover
    table = "\n".join(lines) + "\n\n" + "\n".join(intervals) + "\n\n" + "\n".join(many) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    print("\n" + table)
    print("the model beats the best of naive and seasonal naive on every series" if all_win
          else "the model does NOT beat the best of naive and seasonal naive on every series")
    print("every 80% interval holds 75-85% of its test values" if all_cover
          else "some 80% interval holds less than 75% or more than 85% of its test values")
    return 0 if all_win and all_cover else 1


if __name__ == "__main__":
    sys.exit(main())
