// Sequential: the Keras workflow, fit semantics, callbacks, save/load, summary and bad input.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/file.h"
#include "model/model_impl.h"
#include "optim/optimizer.h"
#include "train/divergence.h"
#include "test_util.h"

namespace lstm {
namespace {

Sequential seed_model(uint64_t seed = 42) {
  Sequential model({.seed = seed});
  model.add(LSTM(50, {.input_shape = {30, 1}}));
  model.add(Dense(1));
  model.compile(Adam(), loss::mse);
  return model;
}

Sequential small_model(uint64_t seed = 1) {
  Sequential model({.seed = seed});
  model.add(LSTM(8, {.input_shape = {5, 2}}));
  model.add(Dense(1));
  model.compile(Adam({.learning_rate = 0.01f}), loss::mse);
  return model;
}

// y = mean of the first feature over the window: learnable, so training must reduce the loss.
void window_data(int64_t N, Tensor& X, Tensor& y, uint64_t seed = 9) {
  X = test::random_tensor({N, 5, 2}, seed);
  y = Tensor({N, 1});
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t t = 0; t < 5; ++t) s += X.at({n, t, 0});
    y[n] = float(s / 5);
  }
}

TEST(Model, SeedExampleSummaryAndCounts) {
  Sequential model = seed_model();
  EXPECT_EQ(model.count_params(), 4 * (50 * (1 + 50) + 50) + 51);  // Keras: 10,400 + 51
  std::string s = model.summary();
  EXPECT_NE(s.find("lstm (LSTM)"), std::string::npos) << s;
  EXPECT_NE(s.find("(None, 50)"), std::string::npos) << s;
  EXPECT_NE(s.find("10,400"), std::string::npos) << s;
  EXPECT_NE(s.find("dense (Dense)"), std::string::npos) << s;
  EXPECT_NE(s.find("Total params: 10,451"), std::string::npos) << s;
}

TEST(Model, FitReducesLossAndIsReproducible) {
  Tensor X, y;
  window_data(64, X, y);
  Sequential a = small_model(), b = small_model(), c = small_model(2);
  History h = a.fit(X, y, {.epochs = 15, .batch_size = 16, .verbose = 0});
  b.fit(X, y, {.epochs = 15, .batch_size = 16, .verbose = 0});
  c.fit(X, y, {.epochs = 15, .batch_size = 16, .verbose = 0});
  ASSERT_EQ(h.epochs(), 15);
  EXPECT_LT(h.history["loss"].back(), 0.5 * h.history["loss"].front());
  EXPECT_EQ(a.get_weights(), b.get_weights());  // same seed, same run
  EXPECT_NE(a.get_weights(), c.get_weights());
}

TEST(Model, LastPartialBatchIsKept) {
  Tensor X, y;
  window_data(10, X, y);
  Sequential model = small_model();
  model.fit(X, y, {.epochs = 2, .batch_size = 4, .verbose = 0});
  EXPECT_EQ(model.impl().graph().opt_state.step, 6);  // ceil(10 / 4) = 3 updates per epoch
}

// Stops fit() after batch `at` of epoch `epoch` (Ctrl-C in the Python module does this).
struct StopAtBatch : Callback {
  int epoch_now = 0, epoch = 0, ends = 0;
  int64_t at = 0;
  void on_epoch_end(Trainable&, int, const Logs&) override { ++epoch_now; }
  void on_batch_end(Trainable& model, int64_t batch, double) override {
    if (epoch_now == epoch && batch == at) model.stop_training = true;
  }
  void on_train_end(Trainable&) override { ++ends; }
};

TEST(Model, ACallbackStopsFitAfterABatchWithThatBatchsWeights) {
  Tensor X, y;
  window_data(40, X, y);
  Sequential stopped = small_model(), counted = small_model();
  auto stop = std::make_shared<StopAtBatch>();
  stop->epoch = 1, stop->at = 2;  // batch 2 of the second epoch (5 batches of 8 per epoch)
  History h = stopped.fit(X, y, {.epochs = 4, .batch_size = 8, .callbacks = {stop}, .verbose = 0});
  EXPECT_EQ(h.epochs(), 1);  // the stopped epoch is not logged
  EXPECT_EQ(stop->ends, 1);
  EXPECT_EQ(stopped.impl().graph().opt_state.step, 7);
  // the same 7 updates, run as a full epoch then 2 batches of the next: same weights
  struct CountBatches : Callback {
    int64_t n = 0;
    void on_batch_end(Trainable& model, int64_t, double) override {
      if (++n == 7) model.stop_training = true;
    }
  };
  counted.fit(X, y, {.epochs = 4, .batch_size = 8, .callbacks = {std::make_shared<CountBatches>()},
                     .verbose = 0});
  EXPECT_EQ(counted.get_weights(), stopped.get_weights());
  // a stop at an epoch's last batch keeps that epoch
  Sequential last = small_model();
  auto at_end = std::make_shared<StopAtBatch>();
  at_end->epoch = 0, at_end->at = 5;
  EXPECT_EQ(last.fit(X, y, {.epochs = 3, .batch_size = 8, .callbacks = {at_end}, .verbose = 0}).epochs(), 1);
}

TEST(Model, ATensorViewIsNotCopiedAndPredictsAsACopy) {
  Tensor X, y;
  window_data(12, X, y);
  std::vector<float> memory(X.data(), X.data() + X.size());
  Tensor view = Tensor::view(X.shape(), memory.data());
  EXPECT_TRUE(view.is_view());
  EXPECT_EQ(view.data(), memory.data());
  EXPECT_EQ(view.reshaped({12, 10}).data(), memory.data());
  Tensor copy = view;  // copies own their data
  EXPECT_FALSE(copy.is_view());
  EXPECT_NE(copy.data(), memory.data());
  EXPECT_EQ(copy.storage(), memory);
  EXPECT_THROW((void)view.storage(), Error);
  Tensor moved = std::move(view);
  EXPECT_EQ(moved.data(), memory.data());
  EXPECT_EQ(view.size(), 0);  // NOLINT: moved-from is empty
  Sequential model = small_model();
  EXPECT_EQ(model.predict(moved).storage(), model.predict(X).storage());
  EXPECT_THROW(Tensor::view({2, 3}, nullptr), Error);
}

TEST(Model, ValidationSplitTakesTheLastSamplesBeforeShuffling) {
  Tensor X, y;
  window_data(40, X, y);
  Sequential model = small_model();
  History h = model.fit(X, y, {.epochs = 1, .batch_size = 8, .validation_split = 0.25, .verbose = 0});
  // val_loss is the loss on samples 30..39 with the weights at the end of the epoch.
  Tensor Xv({10, 5, 2}), yv({10, 1});
  std::copy(X.data() + 30 * 10, X.data() + 40 * 10, Xv.data());
  std::copy(y.data() + 30, y.data() + 40, yv.data());
  EXPECT_NEAR(h.history["val_loss"][0], model.evaluate(Xv, yv), 1e-7);
  // and those samples were not trained on: 3 full batches of 8 from 30 samples = 4 updates
  EXPECT_EQ(model.impl().graph().opt_state.step, 4);
}

TEST(Model, ValidationDataAndEarlyStoppingRestoresBest) {
  EarlyStopping stopper({.monitor = "val_loss", .patience = 2, .restore_best_weights = true});
  Sequential model = small_model();
  stopper.on_train_begin(model);
  const double vals[] = {1.0, 0.5, 0.7, 0.6, 0.4};
  std::vector<float> best;
  for (int e = 0; e < 5 && !model.stop_training; ++e) {
    std::vector<float> w(size_t(model.count_params()), float(e));
    model.set_weights(w);
    if (e == 1) best = w;
    stopper.on_epoch_end(model, e, {{"val_loss", vals[e]}});
  }
  EXPECT_TRUE(model.stop_training);
  EXPECT_EQ(stopper.stopped_epoch(), 3);  // two epochs (2, 3) without improving on epoch 1
  EXPECT_EQ(stopper.best_epoch(), 1);
  stopper.on_train_end(model);
  EXPECT_EQ(model.get_weights(), best);
}

TEST(Model, EarlyStoppingInFitAndMissingValidationIsAnError) {
  Tensor X, y;
  window_data(32, X, y);
  Sequential model = small_model();
  Tensor Xv, yv;
  window_data(8, Xv, yv, 77);
  auto stop = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 1});
  History h = model.fit(X, y, {.epochs = 300, .batch_size = 8, .validation_x = Xv, .validation_y = yv,
                               .callbacks = {stop}, .verbose = 0});
  EXPECT_LT(h.epochs(), 300);  // it stopped
  EXPECT_EQ(h.history["val_loss"].size(), size_t(h.epochs()));
  EXPECT_ERROR_WITH(model.fit(X, y, {.epochs = 1, .callbacks = {stop}, .verbose = 0}), "validation");
}

TEST(Model, ModelCheckpointWritesEveryEpoch) {
  test::TempDir dir;
  Tensor X, y;
  window_data(16, X, y);
  Sequential model = small_model();
  auto ckpt = std::make_shared<ModelCheckpoint>(dir.file("ckpt-{epoch}.safetensors"),
                                                ModelCheckpointOptions{.monitor = "loss"});
  model.fit(X, y, {.epochs = 2, .batch_size = 8, .callbacks = {ckpt}, .verbose = 0});
  EXPECT_TRUE(std::filesystem::exists(dir.file("ckpt-1.safetensors")));
  ASSERT_TRUE(std::filesystem::exists(dir.file("ckpt-2.safetensors")));
  EXPECT_EQ(Sequential::load(dir.file("ckpt-2.safetensors")).get_weights(), model.get_weights());
}

TEST(Model, SaveLoadGivesIdenticalPredictions) {
  test::TempDir dir;
  Sequential model({.seed = 4});
  model.add(LSTM(6, {.return_sequences = true, .input_shape = {7, 3}}));
  model.add(LSTM(5));
  model.add(Dense(3, {.activation = Activation::softmax}));
  Tensor X = test::random_tensor({9, 7, 3}, 5);
  model.save(dir.file("m.safetensors"));
  Sequential loaded = Sequential::load(dir.file("m.safetensors"));
  Tensor a = model.predict(X), b = loaded.predict(X);
  ASSERT_EQ(a.shape(), (std::vector<int64_t>{9, 3}));
  EXPECT_EQ(a.storage(), b.storage());
  EXPECT_EQ(loaded.to_json(), model.to_json());
  EXPECT_EQ(loaded.summary(), model.summary());
}

TEST(Model, SequenceOutputsVariableLengthAndDenseFirst) {
  Sequential seq;
  seq.add(LSTM(4, {.return_sequences = true, .input_shape = {0, 2}}));  // any length
  seq.add(Dense(2));
  EXPECT_EQ(seq.predict(test::random_tensor({3, 5, 2}, 1)).shape(), (std::vector<int64_t>{3, 5, 2}));
  EXPECT_EQ(seq.predict(test::random_tensor({2, 11, 2}, 1)).shape(), (std::vector<int64_t>{2, 11, 2}));
  Sequential mlp;
  mlp.add(Dense(4, {.activation = Activation::relu, .input_shape = {3}}));
  mlp.add(Dense(1));
  EXPECT_EQ(mlp.predict(test::random_tensor({6, 3}, 1)).shape(), (std::vector<int64_t>{6, 1}));
  // Built on first use when no input_shape is given.
  Sequential lazy;
  lazy.add(LSTM(3));
  lazy.add(Dense(1));
  EXPECT_FALSE(lazy.built());
  EXPECT_EQ(lazy.predict(test::random_tensor({2, 4, 5}, 1)).shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(lazy.input_shape(), (std::vector<int64_t>{4, 5}));
}

TEST(Model, CloneCopiesWeightsAndTheFirstPredictionsMatch) {
  Sequential a = small_model();
  Sequential b = a.clone();
  Tensor X = test::random_tensor({3, 5, 2}, 3);
  EXPECT_EQ(a.predict(X).storage(), b.predict(X).storage());
}

TEST(Model, ConfigJsonRoundTripAndErrors) {
  const std::string json =
      R"({"input_shape": [30, 4], "layers": [{"type": "lstm", "units": 16, "return_sequences": true},)"
      R"({"type": "lstm", "units": 8}, {"type": "dense", "units": 2, "activation": "sigmoid"}]})";
  Sequential model = Sequential::from_json(json);
  EXPECT_EQ(model.count_params(), 4 * (16 * 20 + 16) + 4 * (8 * 24 + 8) + 18);
  EXPECT_EQ(Sequential::from_json(model.to_json()).to_json(), model.to_json());
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "lstm", "unit": 5}]})"), "unknown key \"unit\"");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "lstm"}]})"), "missing key \"units\"");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "lstm", "units": 5, "return_sequence": true}]})"),
                    "unknown key \"return_sequence\"");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layer": []})"), "unknown key \"layer\"");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "cudnn_lstm", "units": 5}]})"), "unknown layer type");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "dense", "units": 5, "activation": "swish"}]})"),
                    "unknown activation 'swish'");
  EXPECT_ERROR_WITH(Sequential::from_json("{not json"), "not valid JSON");
  // every built-in type's entry is its room's: read back as written
  const std::string all =
      R"({"input_shape": [null], "layers": [{"type": "embedding", "input_dim": 20, "output_dim": 4, "mask_zero": true},)"
      R"({"type": "dropout", "rate": 0.25}, {"type": "gru", "units": 3, "return_sequences": true, "dropout": 0.5},)"
      R"({"type": "bidirectional", "merge_mode": "sum", "layer": {"type": "simple_rnn", "units": 3,)"
      R"( "return_sequences": true, "activation": "relu"}}, {"type": "lstm", "units": 6, "return_sequences": true,)"
      R"( "proj_size": 2, "use_peepholes": true, "recurrent_activation": "hard_sigmoid"},)"
      R"({"type": "time_distributed", "layer": {"type": "dense", "units": 2, "activation": "tanh"}}]})";
  Sequential every = Sequential::from_json(all);
  EXPECT_EQ(Sequential::from_json(every.to_json()).to_json(), every.to_json());
  EXPECT_NE(every.to_json().find(R"("proj_size":2)"), std::string::npos);
  EXPECT_NE(every.to_json().find(R"("merge_mode":"sum")"), std::string::npos);
  // a graph's keys and types are refused with what to do instead
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [{"type": "lstm", "units": 2,)"
                                          R"( "return_state": true}]})"),
                    "build the model with lstm::Input and lstm::Model");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [{"type": "attention"}]})"),
                    "runs in graphs only");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"layers": [{"type": "bidirectional", "layer": {"type": "dense",)"
                                          R"( "units": 2}}]})"),
                    "wraps one recurrent layer");
  EXPECT_ERROR_WITH(Sequential::from_json(R"({"input_shape": [3, 1], "layers": [{"type": "lstm", "units": 2},)"
                                          R"({"type": "lstm", "units": 2}]})"),
                    "return_sequences");
}

TEST(Model, BadInputIsAClearError) {
  Sequential model = seed_model();
  EXPECT_ERROR_WITH(model.predict(Tensor({32, 30})), "did you forget the time axis");
  EXPECT_ERROR_WITH(model.predict(Tensor({4, 30, 3})), "3 features per step");
  EXPECT_ERROR_WITH(model.predict(Tensor({4, 20, 1})), "built for 30 time steps");
  EXPECT_ERROR_WITH(model.fit(Tensor({4, 30, 1}), Tensor({5, 1}), {.verbose = 0}), "4 samples but y has 5");
  EXPECT_ERROR_WITH(model.fit(Tensor({4, 30, 1}), Tensor({4, 30, 1}), {.verbose = 0}), "return_sequences = true");
  Tensor bad({4, 30, 1});
  bad.at({2, 7, 0}) = std::nanf("");
  EXPECT_ERROR_WITH(model.predict(bad), "NaN at index [2, 7, 0]");
  EXPECT_ERROR_WITH(model.fit(Tensor({4, 30, 1}), Tensor({4, 1}), {.batch_size = 0}), "batch_size");
  EXPECT_ERROR_WITH(model.fit(Tensor({4, 30, 1}), Tensor({4, 1}), {.validation_split = 0.9}), "leaves 0 for training");
  Sequential uncompiled;
  uncompiled.add(LSTM(2, {.input_shape = {3, 1}}));
  EXPECT_ERROR_WITH(uncompiled.fit(Tensor({2, 3, 1}), Tensor({2, 2})), "compile()");
  EXPECT_ERROR_WITH(uncompiled.add(LSTM(2, {.input_shape = {3, 1}})), "only the first layer");
  EXPECT_ERROR_WITH(uncompiled.add(Dense(0)), "units must be an integer in 1..16777216");
  Sequential classifier;
  classifier.add(LSTM(4, {.input_shape = {3, 1}}));
  classifier.add(Dense(3));
  classifier.compile(Adam(), loss::sparse_categorical_crossentropy_from_logits);
  Tensor labels({2}, std::vector<float>{1.0f, 3.0f});
  EXPECT_ERROR_WITH(classifier.evaluate(Tensor({2, 3, 1}), labels), "class indices in [0, 3)");
  EXPECT_NO_THROW(classifier.evaluate(Tensor({2, 3, 1}), Tensor({2}, std::vector<float>{1.0f, 2.0f})));
  Sequential unbuilt;
  unbuilt.add(LSTM(2));
  unbuilt.compile(Adam(), loss::mse);
  EXPECT_ERROR_WITH(unbuilt.fit(Tensor({2, 3, 4, 1}), Tensor({2, 2}), {.verbose = 0}), "[N, T, F] sequences");
  EXPECT_ERROR_WITH(unbuilt.predict(Tensor({5})), "[N, T, F] sequences");
  EXPECT_ERROR_WITH(unbuilt.summary(), "not built");
  EXPECT_ERROR_WITH(unbuilt.save("x.safetensors"), "not built");
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// A small regression problem: y = the last step's first feature.
void regression_data(Tensor& X, Tensor& y, float y_scale) {
  Rng rng(3);
  X = Tensor({64, 6, 2});
  y = Tensor({64, 1});
  for (int64_t k = 0; k < X.size(); ++k) X[k] = rng.uniform(-1.0f, 1.0f);
  for (int64_t n = 0; n < 64; ++n) y[n] = X[(n * 6 + 5) * 2] * y_scale;
}

Sequential small_regressor(const Optimizer& opt) {
  Sequential model;
  model.add(LSTM(8, {.input_shape = {6, 2}}));
  model.add(Dense(1));
  model.compile(opt, loss::mse);
  return model;
}

TEST(Divergence, AHugeLearningRateStopsAtTheBatchWithTheEpochStartWeights) {
  Tensor X, y;
  regression_data(X, y, 1.0f);
  for (Optimizer opt : {Adam({.learning_rate = 1e6f}), SGD({.learning_rate = 1e6f})}) {
    Sequential model = small_regressor(opt);
    const std::vector<float> initial = model.get_weights();
    try {
      model.fit(X, y, {.epochs = 5, .batch_size = 16, .verbose = 0});
      ADD_FAILURE() << "training with lr 1e6 did not stop";
    } catch (const TrainingDiverged& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("training diverged at epoch 1, batch "), std::string::npos) << m;
      EXPECT_NE(m.find("learning rate 1e+06 is far too high"), std::string::npos) << m;
    }
    EXPECT_EQ(model.get_weights(), initial);  // diverged in epoch 1: its start
  }
}

TEST(Divergence, UnscaledTargetsStopAtTheFirstBatchAndNameTheTargets) {
  Tensor X, y;
  regression_data(X, y, 1e30f);
  Sequential model = small_regressor(Adam());
  EXPECT_ERROR_WITH(model.fit(X, y, {.epochs = 2, .verbose = 0}),
                    "epoch 1, batch 1: the loss is");
  EXPECT_ERROR_WITH(model.fit(X, y, {.epochs = 2, .verbose = 0}), "the targets reach");
}

TEST(Divergence, LaterEpochsKeepTheLastGoodEpochAndTheCheckpointIsNotNaN) {
  // Train well for 2 epochs into a checkpoint, then resume with a learning rate that blows
  // up: the error comes at epoch 3, the model holds the checkpoint's weights, and the
  // checkpoint is untouched.
  test::TempDir dir;
  const std::string ck = dir.file("ck.safetensors");
  Tensor X, y;
  regression_data(X, y, 1.0f);
  Sequential good = small_regressor(Adam());
  good.fit(X, y, {.epochs = 2, .verbose = 0, .checkpoint = ck});
  const std::string before = read_file(ck, "checkpoint");
  Sequential model = small_regressor(Adam({.learning_rate = 1e7f}));
  EXPECT_ERROR_WITH(model.fit(X, y, {.epochs = 4, .verbose = 0, .checkpoint = ck, .resume = true}),
                    "at epoch 3, batch");
  EXPECT_EQ(model.get_weights(), good.get_weights());
  EXPECT_EQ(read_file(ck, "checkpoint"), before);
  for (float w : model.get_weights()) ASSERT_TRUE(std::isfinite(w));
}

TEST(Divergence, AllFiniteFindsNaNAndInfAnywhere) {
  std::vector<float> v(1000, 1.0f);
  EXPECT_TRUE(all_finite(v.data(), 1000));
  for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    for (size_t at : {size_t(0), size_t(517), size_t(999)}) {
      std::vector<float> w = v;
      w[at] = bad;
      EXPECT_FALSE(all_finite(w.data(), 1000));
    }
  }
  v[3] = 3.4e38f;  // the largest floats are finite
  v[4] = -3.4e38f;
  EXPECT_TRUE(all_finite(v.data(), 1000));
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

TEST(Model, AddAfterBuildKeepsWeightsAndLearningRate) {
  // The earlier layers keep their weights, the optimizer the rate set_learning_rate gave it
  // (ReduceLROnPlateau's way), compile()'s own rate stays the one schedules and resume start from.
  Sequential model({.seed = 2});
  model.add(LSTM(3, {.input_shape = {4, 2}}));
  model.compile(Adam({.learning_rate = 0.01f}), loss::mse);
  const std::vector<float> before = model.get_weights();
  model.set_learning_rate(0.002f);
  model.add(Dense(1));
  const std::vector<float> after = model.get_weights();
  ASSERT_EQ(after.size(), before.size() + 4);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), after.begin()));
  EXPECT_FLOAT_EQ(model.optimizer().learning_rate, 0.002f);
  EXPECT_FLOAT_EQ(model.impl().graph().compiled_learning_rate, 0.01f);
  EXPECT_FLOAT_EQ(model.clone().impl().graph().compiled_learning_rate, 0.01f);
}

}  // namespace
}  // namespace lstm
