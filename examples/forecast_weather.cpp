// Next-day maximum temperature in Seattle from the last 30 days of weather, in C++: the same
// work as the first step of scripts/demo.sh (lstm train --csv ...), through the library.
//
//   build/bin/forecast_weather [data/seattle-weather.csv]
#include <lstm/forecast.h>
#include <lstm/lstm.h>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) try {
  const std::string csv = argc > 1 ? argv[1] : "data/seattle-weather.csv";
  lstm::ForecastData data = lstm::prepare_forecast(
      lstm::read_csv(csv), {.target = "temp_max",
                            .features = {"temp_max", "temp_min", "precipitation", "wind"},
                            .lookback = 30,
                            .horizon = 1,
                            .test_fraction = 0.2,
                            .season = 365,
                            .date_column = "date"});

  lstm::Sequential model = lstm::default_forecast_model(data.setup);  // LSTM(50) -> Dense(1)
  model.compile(lstm::Adam(), lstm::loss::mse);
  auto stop = std::make_shared<lstm::EarlyStopping>(
      lstm::EarlyStoppingOptions{.patience = 5, .restore_best_weights = true});
  model.fit(data.X_train, data.y_train,
            {.epochs = 50, .batch_size = 32, .validation_split = 0.2, .callbacks = {stop}});

  lstm::ForecastEvaluation ev = lstm::evaluate_forecast(model, data);
  std::cout << "\n" << lstm::metrics_table(ev);
  lstm::attach_forecast_setup(model, data.setup);  // `lstm evaluate` / `lstm forecast` can use it
  model.save("forecast_weather.safetensors");
  return ev.model.rmse < ev.naive.rmse ? 0 : 1;
} catch (const lstm::Error& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
