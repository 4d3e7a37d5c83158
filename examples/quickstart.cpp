// The seed's Keras example, line for line, in C++: an LSTM(50) -> Dense(1) forecaster trained
// with Adam on mean squared error, here on a generated noisy sine series.
//
//   build/bin/quickstart
#include <lstm/lstm.h>

#include <cmath>
#include <cstdio>
#include <iostream>

int main() {
  const int timesteps = 30, features = 1, n_series = 1000;
  // Windows of 30 steps of a noisy sine predict the next value.
  std::vector<float> series(n_series + timesteps);
  uint32_t state = 12345;
  for (size_t k = 0; k < series.size(); ++k) {
    state = state * 1664525u + 1013904223u;
    float noise = (float(state >> 8) / 16777216.0f - 0.5f) * 0.1f;
    series[k] = std::sin(0.1f * float(k)) + 0.5f * std::sin(0.031f * float(k)) + noise;
  }
  const int n = n_series, n_train = 800;
  lstm::Tensor X({n, timesteps, features}), y({n, 1});
  for (int i = 0; i < n; ++i) {
    for (int t = 0; t < timesteps; ++t) X.at({i, t, 0}) = series[size_t(i + t)];
    y.at({i, 0}) = series[size_t(i + timesteps)];
  }
  lstm::Tensor X_train({n_train, timesteps, features}), y_train({n_train, 1});
  lstm::Tensor X_test({n - n_train, timesteps, features}), y_test({n - n_train, 1});
  std::copy(X.data(), X.data() + X_train.size(), X_train.data());
  std::copy(X.data() + X_train.size(), X.data() + X.size(), X_test.data());
  std::copy(y.data(), y.data() + n_train, y_train.data());
  std::copy(y.data() + n_train, y.data() + n, y_test.data());

  // Define the model
  lstm::Sequential model;
  model.add(lstm::LSTM(50, {.input_shape = {timesteps, features}}));  // 50 LSTM units
  model.add(lstm::Dense(1));                                           // Output layer

  // Compile the model
  model.compile(lstm::Adam(), lstm::loss::mse);
  std::cout << model.summary();

  // Fit the model
  lstm::History history = model.fit(X_train, y_train, {.epochs = 50, .batch_size = 32});

  // Predict, evaluate, save, load
  double test_mse = model.evaluate(X_test, y_test);
  double mean = 0, var = 0;
  for (int i = 0; i < y_test.size(); ++i) mean += y_test[i] / double(y_test.size());
  for (int i = 0; i < y_test.size(); ++i) var += (y_test[i] - mean) * (y_test[i] - mean) / double(y_test.size());
  model.save("quickstart.safetensors");
  lstm::Sequential loaded = lstm::Sequential::load("quickstart.safetensors");
  lstm::Tensor forecast = loaded.predict(X_test);
  std::printf("\nfirst loss %.5f, last loss %.5f\n", history.history["loss"].front(),
              history.history["loss"].back());
  std::printf("test MSE %.5f vs %.5f for predicting the mean (%.1fx better)\n", test_mse, var,
              var / test_mse);
  std::printf("next value: predicted %.4f, actual %.4f\n", forecast[0], y_test[0]);
  std::printf("saved and reloaded quickstart.safetensors\n");
  return test_mse < var ? 0 : 1;
}
