// Learning-rate schedules, ReduceLROnPlateau and CSVLogger: values by hand, the rate a resumed
// fit goes on with, and the CSV a fit leaves.
#include <gtest/gtest.h>

#include <cmath>

#include "io/file.h"
#include "optim/optimizer.h"
#include "test_util.h"

namespace lstm {
namespace {

TEST(Schedules, KerasFormulasByHand) {
  Optimizer o = SGD({.learning_rate = 0.1f, .schedule = ExponentialDecay(10, 0.5f)});
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 0), 0.1f);
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 5), float(0.1 * std::pow(0.5, 0.5)));
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 20), 0.025f);
  o.schedule = ExponentialDecay(10, 0.5f, /*staircase=*/true);
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 19), 0.05f);
  o.schedule = CosineDecay(100, 0.1f);
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 0), 0.1f);
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 50), float(0.1 * (0.9 * 0.5 + 0.1)));
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 100), 0.01f);
  EXPECT_FLOAT_EQ(scheduled_learning_rate(o, 1000), 0.01f);
  // the updates use them: p -= lr_t g with g = 1, for t = 0, 1, 2
  o = SGD({.learning_rate = 0.1f, .schedule = ExponentialDecay(1, 0.5f)});
  OptimizerState s;
  float p = 1.0f, g = 1.0f;
  for (int t = 0; t < 3; ++t) {
    g = 1.0f;
    optimizer_step(o, s, &p, &g, 1);
  }
  EXPECT_FLOAT_EQ(p, 1.0f - 0.1f - 0.05f - 0.025f);
  Optimizer bad = Adam({.schedule = CosineDecay(0)});
  EXPECT_THROW(optimizer_check(bad), Error);
}

TEST(Schedules, ReduceLROnPlateauByHand) {
  Sequential model;
  model.compile(SGD({.learning_rate = 0.1f}), loss::mse);
  ReduceLROnPlateau r({.monitor = "loss", .factor = 0.5f, .patience = 2, .cooldown = 1, .min_lr = 0.02f});
  r.on_train_begin(model);
  std::vector<float> lrs;
  for (double loss : {1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 1.1, 1.2}) {
    r.on_epoch_end(model, 0, {{"loss", loss}});
    lrs.push_back(model.optimizer().learning_rate);
  }
  // Keras's order: two epochs without gain -> 0.05; the cooldown epoch ends the cooldown and
  // counts as one more without gain, so the next reduces again -> 0.025; then -> 0.02 (min_lr),
  // where it stays
  const std::vector<float> want = {0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.025f, 0.025f, 0.02f, 0.02f, 0.02f};
  EXPECT_EQ(lrs, want);
}

// Halves the learning rate after every epoch.
struct Halve : Callback {
  void on_epoch_end(Trainable& m, int, const Logs&) override {
    m.set_learning_rate(m.optimizer().learning_rate / 2);
  }
};

TEST(Schedules, ResumedFitGoesOnWithTheLoweredRate) {
  test::TempDir dir;
  const Tensor x = test::random_tensor({12, 5, 2}, 40), y = test::random_tensor({12, 1}, 41);
  auto make = [] {
    Sequential m;
    m.add(LSTM(4, {.input_shape = {5, 2}}));
    m.add(Dense(1));
    m.compile(Adam({.learning_rate = 0.05f}), loss::mse);
    return m;
  };
  Sequential whole = make();
  whole.fit(x, y, {.epochs = 4, .batch_size = 4, .callbacks = {std::make_shared<Halve>()}, .verbose = 0});
  Sequential part = make();
  const std::string ck = dir.file("ck.safetensors");
  part.fit(x, y, {.epochs = 2, .batch_size = 4, .callbacks = {std::make_shared<Halve>()}, .verbose = 0,
                  .checkpoint = ck});
  Sequential resumed = make();  // compiled with 0.05 again: the checkpoint says 0.0125
  resumed.fit(x, y, {.epochs = 4, .batch_size = 4, .callbacks = {std::make_shared<Halve>()}, .verbose = 0,
                     .checkpoint = ck, .resume = true});
  EXPECT_EQ(resumed.get_weights(), whole.get_weights());
  EXPECT_FLOAT_EQ(resumed.optimizer().learning_rate, 0.05f / 16);
}

TEST(Schedules, CSVLoggerRowsAndAppend) {
  test::TempDir dir;
  const std::string path = dir.file("log.csv");
  const Tensor x = test::random_tensor({8, 4, 1}, 42), y = test::random_tensor({8, 1}, 43);
  Sequential m;
  m.add(LSTM(3, {.input_shape = {4, 1}}));
  m.add(Dense(1));
  m.compile(Adam(), loss::mse, {.metrics = {"mae"}});
  History h = m.fit(x, y, {.epochs = 3, .batch_size = 4, .validation_split = 0.25,
                           .callbacks = {std::make_shared<CSVLogger>(path)}, .verbose = 0});
  std::string text = read_file(path, "log");
  EXPECT_EQ(text.substr(0, text.find('\n')), "epoch,loss,mae,val_loss,val_mae");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  char row[64];
  std::snprintf(row, sizeof row, "\n2,%.9g,", h.history["loss"][2]);
  EXPECT_NE(text.find(row), std::string::npos) << text;
  m.fit(x, y, {.epochs = 1, .batch_size = 4, .validation_split = 0.25,
               .callbacks = {std::make_shared<CSVLogger>(path, CSVLoggerOptions{.append = true})}, .verbose = 0});
  text = read_file(path, "log");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  m.fit(x, y, {.epochs = 1, .batch_size = 4, .callbacks = {std::make_shared<CSVLogger>(path)}, .verbose = 0});
  text = read_file(path, "log");  // not appending: the file starts afresh
  EXPECT_EQ(text.substr(0, text.find('\n')), "epoch,loss,mae");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

}  // namespace
}  // namespace lstm
