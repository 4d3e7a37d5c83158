// A graph model with the functional API: two inputs (a sensor sequence and a calendar vector),
// two outputs (a tag per step and one score per sequence), trained together with early
// stopping, saved, loaded and then streamed one step at a time. On generated data:
//   tags[t]  = 1 when the sensor rose at step t                      (needs the sequence)
//   score    = mean of the sensor + 2 * calendar[0]                  (needs both inputs)
//
//   build/bin/two_heads
#include <lstm/lstm.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

int main() {
  const int64_t N = 600, T = 20;
  lstm::Tensor seq({N, T, 1}), calendar({N, 4}), tags({N, T}), score({N, 1});
  uint32_t state = 7;
  auto uniform = [&] {  // in [-1, 1)
    state = state * 1664525u + 1013904223u;
    return float(state >> 8) / 8388608.0f - 1.0f;
  };
  for (int64_t n = 0; n < N; ++n) {
    float value = uniform(), sum = 0.0f;
    for (int64_t t = 0; t < T; ++t) {
      const float next = 0.8f * value + 0.5f * uniform();
      seq.at({n, t, 0}) = next;
      tags.at({n, t}) = next > value ? 1.0f : 0.0f;
      sum += next, value = next;
    }
    for (int64_t k = 0; k < 4; ++k) calendar.at({n, k}) = uniform();
    score.at({n, 0}) = sum / float(T) + 2.0f * calendar.at({n, 0});
  }

  // The graph: Keras's functional API, line for line.
  auto x = lstm::Input({lstm::kAnyLength, 1}, {.name = "sensor"});
  auto cal = lstm::Input({4}, {.name = "calendar"});
  auto [steps, h, c] = lstm::LSTM(32, {.return_sequences = true, .return_state = true})(x);
  lstm::LayerConfig tag_head = lstm::Dense(2, {.activation = lstm::Activation::softmax});
  tag_head.name = "tags";
  lstm::LayerConfig score_head = lstm::Dense(1);
  score_head.name = "score";
  auto tag_out = tag_head(steps);
  auto score_out = score_head(lstm::Concatenate()({h, lstm::Dense(8, {.activation = lstm::Activation::tanh})(cal)}));
  lstm::Model model({x, cal}, {tag_out, score_out}, {.name = "two_heads"});
  model.compile(lstm::Adam({.learning_rate = 0.005f}),
                {lstm::loss::sparse_categorical_crossentropy, lstm::loss::mse},
                {.output_metrics = {{"tags", {"accuracy"}}, {"score", {"mae"}}}});
  std::cout << model.summary();

  // Train on the first 500 (the last 20% of them validate), test on the last 100.
  auto rows = [](const lstm::Tensor& t, int64_t from, int64_t to) {
    std::vector<int64_t> shape = t.shape();
    const int64_t per = t.size() / shape[0];
    shape[0] = to - from;
    return lstm::Tensor(shape, std::vector<float>(t.data() + from * per, t.data() + to * per));
  };
  const lstm::Tensor seq_train = rows(seq, 0, 500), cal_train = rows(calendar, 0, 500);
  const lstm::Tensor tags_train = rows(tags, 0, 500), score_train = rows(score, 0, 500);
  const lstm::Tensor seq_test = rows(seq, 500, N), cal_test = rows(calendar, 500, N);
  const lstm::Tensor tags_test = rows(tags, 500, N), score_test = rows(score, 500, N);
  auto stop = std::make_shared<lstm::EarlyStopping>(
      lstm::EarlyStoppingOptions{.monitor = "val_loss", .patience = 5, .restore_best_weights = true});
  model.fit({seq_train, cal_train}, {tags_train, score_train},
            {.epochs = 40, .batch_size = 32, .validation_split = 0.2, .callbacks = {stop},
             .verbose = 1});

  model.evaluate({seq_test, cal_test}, {tags_test, score_test});
  const lstm::Logs test = model.last_logs();
  double mean = 0.0, var = 0.0;  // the score's baseline: always predict the training mean
  for (int64_t k = 0; k < score_train.size(); ++k) mean += score_train[k] / double(score_train.size());
  for (int64_t k = 0; k < score_test.size(); ++k) var += std::pow(score_test[k] - mean, 2) / double(score_test.size());
  double rises = 0.0;  // the tags' baseline: the majority class
  for (int64_t k = 0; k < tags_test.size(); ++k) rises += tags_test[k] / double(tags_test.size());
  const double majority = std::max(rises, 1.0 - rises);
  std::printf("\ntest: tags accuracy %.3f (majority class %.3f), score MSE %.4f (predicting the mean %.4f)\n",
              test.at("tags_accuracy"), majority, test.at("score_loss"), var);

  // Save, load, and stream the first test sequence one step at a time.
  model.save("two_heads.safetensors");
  lstm::Model loaded = lstm::Model::load("two_heads.safetensors");
  const std::vector<lstm::Tensor> whole = loaded.predict({seq_test, cal_test});
  loaded.reset_states();
  lstm::Tensor cal0({4}, std::vector<float>(cal_test.data(), cal_test.data() + 4));
  double worst = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    lstm::Tensor x_t({1}, std::vector<float>{seq_test.at({0, t, 0})});
    const std::vector<lstm::Tensor> y_t = loaded.step({x_t, cal0});
    worst = std::max(worst, double(std::fabs(y_t[0][1] - whole[0].at({0, t, 1}))));
    if (t == T - 1) worst = std::max(worst, double(std::fabs(y_t[1][0] - whole[1][0])));
  }
  std::printf("streamed the first test sequence step by step: largest difference from predict %.2g\n", worst);
  const bool learned = test.at("tags_accuracy") > majority + 0.1 && test.at("score_loss") < 0.5 * var;
  std::printf("%s\n", learned ? "both heads beat their baselines" : "a head did not beat its baseline");
  return learned && worst < 1e-4 ? 0 : 1;
}
