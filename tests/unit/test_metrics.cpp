// Metrics (src/train/metrics.h): exact values on hand-made predictions, what each loss allows,
// and metrics in History, on masked sequences, per graph output and as what callbacks monitor.
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"
#include "train/metrics.h"

namespace lstm {
namespace {

double metric(const std::string& name, const Loss& loss, const std::vector<float>& pred,
              const std::vector<float>& target, int64_t E) {
  std::vector<MetricState> m = metric_states(resolve_metrics({name}, loss, E, "test"), loss);
  m[0].reset();
  const int64_t R = int64_t(pred.size()) / E;
  m[0].update(pred.data(), target.data(), R, E);
  return m[0].result();
}

TEST(Metrics, ExactValues) {
  // binary: probabilities cut at 0.5, logits at 0
  EXPECT_DOUBLE_EQ(metric("accuracy", loss::binary_crossentropy, {0.9f, 0.4f, 0.6f, 0.1f}, {1, 1, 0, 0}, 1), 0.5);
  EXPECT_DOUBLE_EQ(metric("accuracy", loss::binary_crossentropy_from_logits, {2, -1, 0.5f, -3}, {1, 1, 0, 0}, 1), 0.5);
  // categorical and sparse: argmax
  EXPECT_DOUBLE_EQ(metric("accuracy", loss::categorical_crossentropy, {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f},
                          {0, 1, 0, 0, 0, 1}, 3), 0.5);
  EXPECT_DOUBLE_EQ(metric("accuracy", loss::sparse_categorical_crossentropy, {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f},
                          {1, 0}, 3), 1.0);
  EXPECT_NEAR(metric("mae", loss::mse, {1, 2, 3, 4}, {1, 1, 1, 1}, 2), 1.5, 1e-12);
  EXPECT_NEAR(metric("mse", loss::mse, {1, 2, 3, 4}, {1, 1, 1, 1}, 2), 3.5, 1e-12);
  EXPECT_NEAR(metric("rmse", loss::mse, {1, 2, 3, 4}, {1, 1, 1, 1}, 2), std::sqrt(3.5), 1e-12);
  // AUC: 3 positives, 2 negatives; pairs ranked right: (0.9 > 0.3, 0.2), (0.5 > 0.3, 0.2),
  // (0.3 = 0.3: half, > 0.2) -> 5.5 / 6
  EXPECT_NEAR(metric("auc", loss::binary_crossentropy, {0.9f, 0.5f, 0.3f, 0.3f, 0.2f}, {1, 1, 1, 0, 0}, 1),
              5.5 / 6.0, 1e-12);
  EXPECT_TRUE(std::isnan(metric("auc", loss::binary_crossentropy, {0.9f, 0.5f}, {1, 1}, 1)));
}

TEST(Metrics, WhatEachLossAllows) {
  auto fails = [](const std::string& name, const Loss& loss, int64_t E, const std::string& part) {
    try {
      resolve_metrics({name}, loss, E, "compile");
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  fails("accuracy", loss::mse, 1, "a regression: use mae, mse or rmse");
  fails("precision", loss::mse, 1, "is unknown");
  fails("categorical_accuracy", loss::sparse_categorical_crossentropy, 3, "targets are class indices");
  fails("auc", loss::binary_crossentropy, 2, "one binary output");
  EXPECT_EQ(resolve_metrics({"acc"}, loss::sparse_categorical_crossentropy, 3, "c")[0].kind,
            MetricKind::sparse_categorical_accuracy);
}

TEST(Metrics, InHistoryOnMaskedStepsAndForCallbacks) {
  // a per-step classifier on right-padded sequences: accuracy counts valid steps only
  const int64_t N = 6, T = 5;
  Tensor x = test::random_tensor({N, T, 2}, 30, 0.1f, 1.0f), y({N, T});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      y.at({n, t}) = x.at({n, t, 0}) > 0.55f ? 1.0f : 0.0f;
      if (t >= 2 + n % 3) x.at({n, t, 0}) = x.at({n, t, 1}) = 0.0f;  // padding
    }
  Sequential model;
  model.add(Masking(0.0f, {.input_shape = {T, 2}}));
  model.add(LSTM(8, {.return_sequences = true}));
  model.add(Dense(2, {.activation = Activation::softmax}));
  model.compile(Adam({.learning_rate = 0.02f}), loss::sparse_categorical_crossentropy,
                {.metrics = {"accuracy"}});
  auto stop = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.monitor = "val_accuracy", .patience = 2});
  History h = model.fit(x, y, {.epochs = 6, .batch_size = 3, .validation_split = 0.5,
                               .callbacks = {stop}, .verbose = 0});
  ASSERT_EQ(h.history["accuracy"].size(), h.history["loss"].size());
  ASSERT_EQ(h.history["val_accuracy"].size(), h.history["loss"].size());
  // evaluate's accuracy is the share of valid steps predicted right, computed here by hand
  model.evaluate(x, y, 4);
  const Tensor p = model.predict(x);
  int64_t right = 0, valid = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < 2 + n % 3; ++t, ++valid)
      right += (p.at({n, t, 1}) > p.at({n, t, 0})) == (y.at({n, t}) == 1.0f);
  EXPECT_NEAR(model.last_logs().at("accuracy"), double(right) / double(valid), 1e-12);
  // graphs: per output
  auto in = Input({T, 2});
  auto s = LSTM(4, {.return_sequences = true})(in);
  Model g(in, {Dense(1)(s), Dense(2, {.activation = Activation::softmax})(LSTM(3)(in))});
  g.compile(Adam(), std::vector<Loss>{loss::mse, loss::mse}, {.metrics = {"mae"}});
  const Tensor x2 = test::random_tensor({N, T, 2}, 31), y1 = test::random_tensor({N, T, 1}, 32),
               y2 = test::random_tensor({N, 2}, 33);
  History hg = g.fit(x2, {y1, y2}, {.epochs = 1, .batch_size = 3, .validation_split = 0.5, .verbose = 0});
  EXPECT_EQ(hg.history.count("dense_mae"), 1u);
  EXPECT_EQ(hg.history.count("val_dense_1_mae"), 1u);
}

TEST(Metrics, CallbacksMaximiseAccuracies) {
  Sequential model;
  auto run = [&](EarlyStoppingOptions o, std::vector<double> values) {
    EarlyStopping es(o);
    model.stop_training = false;
    es.on_train_begin(model);
    for (size_t e = 0; e < values.size() && !model.stop_training; ++e)
      es.on_epoch_end(model, int(e), {{o.monitor, values[e]}});
    return es.stopped_epoch();
  };
  // auto: accuracy rising is improvement; the first fall stops (patience 1)
  EXPECT_EQ(run({.monitor = "val_accuracy", .patience = 1}, {0.5, 0.6, 0.7, 0.65}), 3);
  EXPECT_EQ(run({.monitor = "val_accuracy", .patience = 1, .mode = "min"}, {0.5, 0.6, 0.7}), 1);
  EXPECT_EQ(run({.monitor = "val_loss", .patience = 1}, {0.5, 0.4, 0.45}), 2);
  EXPECT_THROW(EarlyStopping({.mode = "up"}), Error);
}

}  // namespace
}  // namespace lstm
