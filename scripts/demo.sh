#!/usr/bin/env bash
# The main job: installs what is missing, builds (Release, build/), then forecasts Seattle's
# daily maximum temperature (data/seattle-weather.csv, NOAA, public domain) with the seed's
# model, LSTM(50) -> Dense, Adam, MSE, batch 32:
#   1. next day's temp_max from the last 30 days of temp_max, temp_min, precipitation, wind;
#      test metrics against naive baselines, and an HTML report (build/weather-report.html)
#   2. a week-ahead model on the same inputs and the day of the year of each day it predicts (a
#      calendar input, known in advance), and the forecast of the week after the data ends
#   3. Seattle's hourly temperature of 2010 (data/seattle-temps-hourly.csv, NOAA): one model per
#      target transform, the best on validation kept (seasonal differences: the daily cycle),
#      with an 80% interval (quantiles 0.1 and 0.9) calibrated on validation, and its coverage
#   4. a backtest of the main job's model: four origins over the last 20% of the weather data,
#      a model trained before each, scored against the baselines on the rows after it
#   5. many series, one model: the hourly temperatures of Seattle and San Francisco
#      (data/city-temps-hourly.csv, NOAA, long format city,date,temp), each series scaled on its
#      own, a one-hot input per city; metrics per city and over both, and a day-ahead forecast
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target lstm_cli
lstm=build/bin/lstm
data=(--csv data/seattle-weather.csv --target temp_max --features temp_max,temp_min,precipitation,wind
      --lookback 30 --date-column date --season 365 --test-fraction 0.2
      --epochs 50 --batch-size 32 --validation-split 0.2 --early-stopping 5)
echo "== 1. next day's temp_max in Seattle: the seed's LSTM(50) -> Dense(1)"
$lstm train "${data[@]}" --out build/weather.safetensors --report build/weather-report.html
echo
echo "== 2. the week after the data ends: the same inputs, horizon 7, predicting changes, with the"
echo "      day of the year of each day predicted as an input (--calendar doy)"
$lstm train "${data[@]}" --horizon 7 --relative --calendar doy --out build/weather-week.safetensors --quiet
$lstm evaluate --model build/weather-week.safetensors --csv data/seattle-weather.csv
echo
$lstm forecast --model build/weather-week.safetensors --csv data/seattle-weather.csv --steps 7 \
  --out build/weather-forecast.csv
echo
echo "== 3. hourly temperatures: the target transform chosen on validation (--transform auto)"
$lstm train --csv data/seattle-temps-hourly.csv --target temp --date-column date --season 24 \
  --fill linear --epochs 50 --early-stopping 5 --quantiles 0.1,0.9 --out build/hourly.safetensors \
  --report build/hourly-report.html | grep -v -E '^(Epoch|training on|early stopping)'
echo
echo "== 4. backtest: the main job's model trained before each of 4 origins, scored after it"
$lstm backtest "${data[@]}" --folds 4 --quiet
echo
echo "== 5. many series, one model: two cities' hourly temperatures (--series-column city)"
$lstm train --csv data/city-temps-hourly.csv --series-column city --series-embedding --target temp \
  --date-column date --season 24 --fill linear --transform seasonal --epochs 50 --early-stopping 5 \
  --out build/cities.safetensors --report build/cities-report.html --quiet
$lstm evaluate --model build/cities.safetensors --csv data/city-temps-hourly.csv
$lstm forecast --model build/cities.safetensors --csv data/city-temps-hourly.csv --steps 24 \
  --out build/cities-forecast.csv > /dev/null
echo "wrote build/cities-forecast.csv: the 24 hours after the data, per city"
echo
echo "reports: build/weather-report.html build/hourly-report.html build/cities-report.html"
echo "forecasts: build/weather-forecast.csv build/cities-forecast.csv"
