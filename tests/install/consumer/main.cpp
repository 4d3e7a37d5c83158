// A program of an outside project: the seed's model, trained for a few epochs on a sine wave.
#include <lstm/lstm.h>

#include <cmath>
#include <cstdio>

int main() {
  const int n = 64, T = 10;
  lstm::Tensor X({n, T, 1}), y({n, 1});
  for (int i = 0; i < n; ++i) {
    for (int t = 0; t < T; ++t) X.at({i, t, 0}) = std::sin(0.3f * float(i + t));
    y.at({i, 0}) = std::sin(0.3f * float(i + T));
  }
  lstm::Sequential model;
  model.add(lstm::LSTM(8, {.input_shape = {T, 1}}));
  model.add(lstm::Dense(1));
  model.compile(lstm::Adam(), lstm::loss::mse);
  lstm::History h = model.fit(X, y, {.epochs = 20, .batch_size = 16, .verbose = 0});
  const double first = h.history["loss"].front(), last = h.history["loss"].back();
  std::printf("lstm %s: loss %.4f -> %.4f\n", lstm::version(), first, last);
  return last < first ? 0 : 1;
}
