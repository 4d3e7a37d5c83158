// The team of threads (core/threads.h): the ThreadGovernor's choices on given batch times (a
// quiet machine, a busy one, load that comes and goes), and training whose every weight is the
// same bit for bit whichever team runs it, over every kind of layer.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "core/threads.h"
#include "lstm/layers/attention.h"
#include "lstm/layers/layer_normalization.h"
#include "lstm/lstm.h"
#include "test_util.h"

namespace lstm {
namespace {

// Runs `batches` batches of 32 rows through a governor, each taking rate(team, now) seconds a
// row; returns the seconds spent on each team (index = team).
std::vector<double> simulate(ThreadGovernor& g, int batches, const std::function<double(int, double)>& rate,
                             double* total = nullptr) {
  std::vector<double> spent(size_t(num_threads()) + 1, 0.0);
  double now = 0.0;
  for (int k = 0; k < batches; ++k) {
    const int team = g.choose(now);
    const double seconds = rate(team, now) * 32;
    now += seconds;
    g.measured(now, seconds, 32);
    spent[size_t(team)] += seconds;
  }
  if (total) *total = now;
  return spent;
}

struct GovernorTest : ::testing::Test {
  void SetUp() override {
    set_num_threads(2);
    pin_team(0);  // forgets what earlier governors settled on
  }
  void TearDown() override {
    pin_team(0);
    set_num_threads(0);
  }
};

TEST_F(GovernorTest, QuietMachineKeepsEveryCore) {
  ThreadGovernor g;
  double total = 0.0;  // 2 threads 1.9x one: trials of one thread must stay rare
  const auto spent = simulate(g, 2000, [](int team, double) { return team == 2 ? 1e-3 : 1.9e-3; }, &total);
  EXPECT_EQ(g.team(), 2);
  EXPECT_LT(spent[1] / total, 0.03) << spent[1] << " of " << total << " s on one thread";
}

TEST_F(GovernorTest, BusyMachineDropsToOneThread) {
  ThreadGovernor g;
  double total = 0.0;  // a barrier per step waiting on a descheduled thread: 2 threads 7x slower
  const auto spent = simulate(g, 2000, [](int team, double) { return team == 2 ? 7e-3 : 1e-3; }, &total);
  EXPECT_EQ(g.team(), 1);
  // the warm-up batch, one measured, one hopeless trial back up, then trials 30x their cost apart
  const double one_thread_run = 2000 * 32 * 1e-3;
  EXPECT_LT(total, 1.1 * one_thread_run) << spent[2] << " s on two threads";
}

TEST_F(GovernorTest, FollowsLoadThatComesAndGoes) {
  ThreadGovernor g;  // busy from 10 s to 40 s
  auto busy = [](double now) { return now >= 10.0 && now < 40.0; };
  double now = 0.0;
  std::vector<std::pair<double, int>> teams;
  while (now < 80.0) {
    const int team = g.choose(now);
    const double seconds = 32 * (team == 2 ? (busy(now) ? 5e-3 : 0.5e-3) : 0.9e-3);
    now += seconds;
    g.measured(now, seconds, 32);
    teams.emplace_back(now, g.team());
  }
  auto team_at = [&](double t) {
    for (auto& [when, team] : teams)
      if (when >= t) return team;
    return 0;
  };
  EXPECT_EQ(team_at(9.0), 2);
  EXPECT_EQ(team_at(12.0), 1);  // found within 2 s
  EXPECT_EQ(team_at(38.0), 1);
  EXPECT_EQ(team_at(79.0), 2);  // back once the load went (trials at most 30 s apart)
}

TEST_F(GovernorTest, PinnedOrOffNeverTries) {
  pin_team(1);
  {
    ThreadGovernor g;
    simulate(g, 200, [](int team, double) { return team == 1 ? 9e-3 : 1e-3; });
    EXPECT_EQ(g.team(), 1);
  }
  pin_team(0);
  ::setenv("LSTM_THREAD_GOVERNOR", "0", 1);
  {
    ThreadGovernor g;
    simulate(g, 200, [](int team, double) { return team == 2 ? 9e-3 : 1e-3; });
    EXPECT_EQ(g.team(), 2);
  }
  ::unsetenv("LSTM_THREAD_GOVERNOR");
  EXPECT_EQ(team_threads(), 2);  // each governor gave the team back
}

// Every layer kind trained (fit, then predict and evaluate, which have governors too) with 2
// and 3 configured threads, on teams of 1 and of all of them: the same weights and outputs bit
// for bit. Sizes reach the threaded paths: split GEMMs (>= 2^20 multiply-adds), a step team
// (by rows and by blocks), element passes of >= 2^15.
struct Trained {
  std::vector<float> weights, predictions;
  double loss = 0.0;
};

Trained train_on_team(const std::function<Model()>& make, const TensorList& x, const Tensor& y, int batch,
                      int threads, int team) {
  set_num_threads(threads);
  pin_team(team);
  Model m = make();
  m.fit(x, {y}, {.epochs = 2, .batch_size = batch, .verbose = 0});
  const Tensor p = m.predict(x)[0];
  Trained out{m.get_weights(), std::vector<float>(p.data(), p.data() + p.size()), m.evaluate(x, {y})};
  pin_team(0);
  set_num_threads(0);
  return out;
}

TEST(TeamInvariance, EveryLayerKindTrainsAlikeOnAnyTeam) {
  const int64_t N = 32, T = 24, F = 48;
  const Tensor x = test::random_tensor({N, T, F}, 3), ids = [&] {
    Tensor t({N, T});
    Rng rng(4);
    for (int64_t k = 0; k < t.size(); ++k) t[k] = float(1 + rng.below(40));
    return t;
  }();
  const Tensor y_seq = test::random_tensor({N, T, 8}, 5), y_vec = test::random_tensor({N, 1}, 6);
  // 400 x 50 = 20,000 rows into Dense(1): its weight gradient (64 x 1, summed over the rows) is
  // a product oneDNN's own threads split along the sum (test_gemm.cpp)
  const Tensor x_long = test::random_tensor({400, 50, 4}, 7), y_long = test::random_tensor({400, 50, 1}, 8);
  Tensor classes({N, T});
  for (int64_t k = 0; k < classes.size(); ++k) classes[k] = float(k % 7);
  struct Case {
    const char* name;
    std::function<Model()> make;
    TensorList x;
    Tensor y;
    int batch = 16;
  };
  const std::vector<Case> cases = {
      {"lstm-blocks+dense", [&] {  // B = 16 rows, H = 384: the step team splits blocks (barriers)
         auto in = Input({T, F});
         Model m(in, TimeDistributed(Dense(8))(LSTM(384, {.return_sequences = true})(in)));
         m.compile(Adam({.global_clipnorm = 1.0f}), loss::mse);
         return m;
       }, {x}, y_seq},
      {"gru+dropout+simplernn", [&] {
         auto in = Input({T, F});
         auto h = SimpleRNN(160, {.return_sequences = true})(Dropout(0.2f)(GRU(192, {.return_sequences = true})(in)));
         Model m(in, Dense(1)(LSTM(96)(h)));
         m.compile(AdamW({.weight_decay = 0.01f}), loss::mse);
         return m;
       }, {x}, y_vec},
      {"embedding+bidirectional+attention+layernorm", [&] {
         auto in = Input({T});
         auto e = Embedding(41, 32, {.mask_zero = true})(in);
         auto h = Bidirectional(LSTM(128, {.return_sequences = true}))(e);
         auto a = Attention()({h, h});
         auto z = LayerNormalization()(Concatenate()({h, a}));
         Model m(in, TimeDistributed(Dense(7))(z));
         m.compile(RMSprop(), loss::sparse_categorical_crossentropy_from_logits);
         return m;
       }, {ids}, classes},
      {"lstm+dense(1) over 20,000 rows", [&] {
         auto in = Input({50, 4});
         Model m(in, TimeDistributed(Dense(1))(LSTM(64, {.return_sequences = true})(in)));
         m.compile(SGD({.learning_rate = 0.1f, .momentum = 0.9f}), loss::mse);
         return m;
       }, {x_long}, y_long, 400},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (int threads : {2, 3}) {
      const Trained all = train_on_team(c.make, c.x, c.y, c.batch, threads, threads);
      const Trained one = train_on_team(c.make, c.x, c.y, c.batch, threads, 1);
      EXPECT_EQ(all.weights, one.weights) << threads << " threads";
      EXPECT_EQ(all.predictions, one.predictions) << threads << " threads";
      EXPECT_EQ(all.loss, one.loss) << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace lstm
