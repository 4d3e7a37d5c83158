// CTC (lstm/ctc.h): decoding on constructed posteriors with known answers, the loss's edge
// cases against hand-computed values, training with loss::ctc through fit(), and bad input.
// PyTorch parity and central differences: tests/parity/test_parity.cpp, test_gradcheck.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "lstm/lstm.h"

namespace lstm {
namespace {

// Logits whose softmax is the given probabilities (rows of C).
std::vector<float> logits_of(const std::vector<std::vector<double>>& probs) {
  std::vector<float> z;
  for (const auto& row : probs)
    for (double p : row) z.push_back(float(std::log(p)));
  return z;
}

TEST(Ctc, MinimumFramesCountTheBlanksBetweenRepeats) {
  EXPECT_EQ(ctc_min_frames(std::vector<int>{}), 0);
  EXPECT_EQ(ctc_min_frames(std::vector<int>{1, 2, 3}), 3);
  EXPECT_EQ(ctc_min_frames(std::vector<int>{1, 1, 2, 2, 2}), 8);
}

TEST(Ctc, LossOfHandCountedPaths) {
  // T = 2, classes blank and a, each frame P(blank) = 0.6, P(a) = 0.4.
  const std::vector<float> z = logits_of({{0.6, 0.4}, {0.6, 0.4}});
  // "a": paths aa, a_, _a
  EXPECT_NEAR(ctc_loss(z.data(), 2, 2, 2, std::vector<int>{1}), -std::log(0.16 + 0.24 + 0.24), 1e-6);
  // "": the one path __
  EXPECT_NEAR(ctc_loss(z.data(), 2, 2, 2, std::vector<int>{}), -std::log(0.36), 1e-6);
  // "aa" needs a_a: three frames; in two it is impossible
  EXPECT_TRUE(std::isinf(ctc_loss(z.data(), 2, 2, 2, std::vector<int>{1, 1})));
  const std::vector<float> z3 = logits_of({{0.6, 0.4}, {0.6, 0.4}, {0.6, 0.4}});
  EXPECT_NEAR(ctc_loss(z3.data(), 3, 2, 2, std::vector<int>{1, 1}), -std::log(0.4 * 0.6 * 0.4), 1e-6);
  std::vector<float> grad(2 * 2, 1.0f);
  ctc_loss(z.data(), 2, 2, 2, std::vector<int>{1, 1}, grad.data());
  for (float g : grad) EXPECT_EQ(g, 0.0f);  // impossible: no gradient
}

TEST(Ctc, GreedyMergesRepeatsAndDropsBlanks) {
  // argmax per frame: a a _ a b b _ b  ->  a a b b
  const int path[] = {1, 1, 0, 1, 2, 2, 0, 2};
  std::vector<float> z(8 * 3, 0.0f);
  for (int t = 0; t < 8; ++t) z[size_t(t * 3 + path[t])] = 5.0f;
  EXPECT_EQ(ctc_greedy_decode(z.data(), 8, 3), (std::vector<int>{1, 1, 2, 2}));
  EXPECT_TRUE(ctc_greedy_decode(z.data(), 0, 3).empty());
}

TEST(Ctc, BeamSearchAddsUpThePathsGreedyCannot) {
  // Greedy reads "" (P = 0.36); "a" has three paths adding to 0.64.
  const std::vector<float> z = logits_of({{0.6, 0.4}, {0.6, 0.4}});
  EXPECT_TRUE(ctc_greedy_decode(z.data(), 2, 2).empty());
  const std::vector<CtcHypothesis> h = ctc_beam_search(z.data(), 2, 2, {.beam = 4});
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h[0].labels, (std::vector<int>{1}));
  EXPECT_NEAR(h[0].log_probability, std::log(0.64), 1e-6);
  EXPECT_TRUE(h[1].labels.empty());
  EXPECT_NEAR(h[1].log_probability, std::log(0.36), 1e-6);
}

TEST(Ctc, WideBeamScoresEqualTheLoss) {
  // With a beam that keeps every prefix, each hypothesis's log P is exactly -ctc_loss.
  Rng rng(3);
  const int64_t T = 7, C = 3;
  std::vector<float> z(size_t(T * C));
  for (float& v : z) v = rng.uniform(-2, 2);
  const auto hyps = ctc_beam_search(z.data(), T, C, {.beam = 100000, .prune_log_probability = -1e30f});
  ASSERT_GT(hyps.size(), 10u);
  double total = 0;
  for (const CtcHypothesis& h : hyps) {
    EXPECT_NEAR(h.log_probability, -ctc_loss(z.data(), T, C, C, h.labels), 1e-9);
    total += std::exp(h.log_probability);
  }
  EXPECT_NEAR(total, 1.0, 1e-9);  // every label sequence of T frames, once
}

TEST(Ctc, LexiconKeepsOnlyItsWords) {
  // labels: 1 ' ', 2 o, 3 n, 4 e, 5 t, 6 w. The frames say "o n" clearly and "e" faintly;
  // unconstrained the best reading is "on", with the lexicon {one, two} it is "one".
  const double lo = 0.02;
  auto frame = [&](int label, double p) {
    std::vector<double> row(7, lo);
    row[size_t(label)] = p;
    double rest = 1.0 - p - lo * 5;
    row[0] = rest;
    return row;
  };
  const std::vector<float> z = logits_of({frame(2, 0.8), frame(3, 0.8), frame(4, 0.25), frame(0, 0.0)});
  const auto free = ctc_beam_search(z.data(), 4, 7, {.beam = 8});
  ASSERT_FALSE(free.empty());
  EXPECT_EQ(free[0].labels, (std::vector<int>{2, 3}));
  const CtcLexicon lexicon{{{2, 3, 4}, {5, 6, 2}}, 1};
  const auto words = ctc_beam_search(z.data(), 4, 7, {.beam = 8, .lexicon = &lexicon});
  ASSERT_FALSE(words.empty());
  EXPECT_EQ(words[0].labels, (std::vector<int>{2, 3, 4}));
  for (const CtcHypothesis& h : words) {  // every answer is whole words of the lexicon
    std::vector<int> word;
    for (size_t i = 0; i <= h.labels.size(); ++i) {
      if (i < h.labels.size() && h.labels[i] != lexicon.separator) {
        word.push_back(h.labels[i]);
        continue;
      }
      EXPECT_TRUE(word == lexicon.words[0] || word == lexicon.words[1] || (word.empty() && h.labels.empty()))
          << "hypothesis " << ::testing::PrintToString(h.labels);
      word.clear();
    }
  }
  const CtcLexicon holds_separator{{{2, 1}}, 1};
  EXPECT_THROW(ctc_beam_search(z.data(), 4, 7, {.lexicon = &holds_separator}), Error);
}

TEST(Ctc, WordScoreTradesWordsForProbability) {
  // labels: 1 ' ', 2 o, 3 n, 4 e, 5 t, 6 w; frames "t w o _ o n e": "two one" is likelier than
  // "one" by some Δ. A word score below -Δ makes "one" the answer, above it "two one" stays;
  // the hypotheses' log P does not change.
  auto frame = [](int label, double p) {
    std::vector<double> row(7, 0.01);
    row[size_t(label)] = p;
    row[0] = 1.0 - p - 0.05;
    return row;
  };
  const std::vector<float> z = logits_of({frame(5, 0.7), frame(6, 0.7), frame(2, 0.7), frame(1, 0.7),
                                          frame(2, 0.8), frame(3, 0.8), frame(4, 0.8)});
  const CtcLexicon lexicon{{{2, 3, 4}, {5, 6, 2}}, 1};
  const std::vector<int> two_one = {5, 6, 2, 1, 2, 3, 4}, one = {2, 3, 4};
  auto search = [&](float word_score) {
    return ctc_beam_search(z.data(), 7, 7, {.beam = 256, .lexicon = &lexicon, .prune_log_probability = -1e30f,
                                            .word_score = word_score});
  };
  auto log_p = [](const std::vector<CtcHypothesis>& hs, const std::vector<int>& labels) {
    for (const CtcHypothesis& h : hs)
      if (h.labels == labels) return h.log_probability;
    ADD_FAILURE() << "not among the hypotheses";
    return 0.0;
  };
  const auto plain = search(0.0f);
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(plain[0].labels, two_one);
  const double delta = log_p(plain, two_one) - log_p(plain, one);
  ASSERT_GT(delta, 1.0);
  const auto strict = search(float(-delta - 0.1));
  EXPECT_EQ(strict[0].labels, one);
  EXPECT_NEAR(log_p(strict, one), log_p(plain, one), 1e-9);
  EXPECT_EQ(search(float(-delta + 0.1))[0].labels, two_one);
  EXPECT_THROW(ctc_beam_search(z.data(), 7, 7, {.word_score = -1.0f}), Error);  // no lexicon
}

TEST(Ctc, FitLearnsToReadHeldSymbols) {
  // Each sample: 1-4 symbols of 3, each held for 2-3 frames, with 0-2 silent frames between;
  // the target is the symbols. A small BiLSTM trained with loss::ctc reads them back.
  Rng rng(5);
  const int64_t N = 256, T = 20, F = 4;
  Tensor X({N, T, F}), y({N, 4});
  std::vector<int64_t> lengths(static_cast<size_t>(N));
  std::vector<std::vector<int>> truth(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t t = int64_t(rng.below(2));
    const int count = 1 + int(rng.below(4));
    for (int i = 0; i < count; ++i) {
      const int symbol = 1 + int(rng.below(3));
      truth[size_t(n)].push_back(symbol);
      y[n * 4 + i] = float(symbol);
      for (int h = 0, hold = 2 + int(rng.below(2)); h < hold && t < T; ++h, ++t)
        X[(n * T + t) * F + symbol] = 1.0f;
      t += 1 + int64_t(rng.below(2));  // at least one silent frame: repeats stay apart
    }
    for (int64_t s = 0; s < T; ++s)
      if (X[(n * T + s) * F + 1] + X[(n * T + s) * F + 2] + X[(n * T + s) * F + 3] == 0.0f)
        X[(n * T + s) * F] = 1.0f;  // silence
    lengths[size_t(n)] = std::min<int64_t>(t, T);
  }
  Sequential model({.seed = 1});
  model.add(Bidirectional(LSTM(16, {.return_sequences = true}), {.input_shape = {T, F}}));
  model.add(Dense(4));
  model.compile(Adam({.learning_rate = 0.02f}), loss::ctc);
  History h = model.fit(X, y, {.epochs = 25, .batch_size = 32, .verbose = 0, .lengths = lengths});
  EXPECT_LT(h.history["loss"].back(), 0.2 * h.history["loss"].front());
  const Tensor out = model.predict(X, lengths, 64);
  int right = 0;
  for (int64_t n = 0; n < N; ++n)
    right += ctc_greedy_decode(out.data() + n * T * 4, lengths[size_t(n)], 4) == truth[size_t(n)];
  EXPECT_GE(right, N * 9 / 10) << right << " of " << N << " read right";
  // evaluate() gives the same loss as the last training batches saw, near enough
  EXPECT_NEAR(model.evaluate(X, y, lengths, 64), h.history["loss"].back(), 0.5 * h.history["loss"].back() + 0.05);
}

TEST(Ctc, BadTargetsAndModelsAreNamed) {
  Sequential model({.seed = 1});
  model.add(LSTM(4, {.return_sequences = true, .input_shape = {5, 2}}));
  model.add(Dense(3));
  model.compile(Adam(), loss::ctc);
  const Tensor X({2, 5, 2});
  auto message = [&](const std::vector<float>& labels, int64_t L, std::vector<int64_t> lengths = {}) {
    Tensor y({2, L});
    std::copy(labels.begin(), labels.end(), y.data());
    try {
      model.fit(X, y, {.verbose = 0, .lengths = lengths});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({1, 3, 1, 0}, 2).find("is not a label"), std::string::npos);
  EXPECT_NE(message({0, 1, 2, 1}, 2).find("[0] has label"), std::string::npos);  // after padding
  EXPECT_NE(message({0, 0, 1, 2}, 2, {5, 1}).find("[1] holds 2 labels, which need at least 2 frames"),
            std::string::npos);
  const std::string repeat = message({1, 1, 1, 0, 0, 0}, 3, {2, 5});
  EXPECT_NE(repeat.find("[0] holds 3 labels, which need at least 5 frames"), std::string::npos) << repeat;
  try {
    model.fit(X, Tensor({2, 5, 3}), {.verbose = 0});
    ADD_FAILURE() << "per-step targets taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CTC loss takes label sequences [N, L]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model.compile(Adam(), Loss{LossKind::ctc, false}), Error);
  EXPECT_THROW(model.compile(Adam(), loss::ctc, {.metrics = {"accuracy"}}), Error);
  Sequential last_only({.seed = 1});
  last_only.add(LSTM(4, {.input_shape = {5, 2}}));
  last_only.add(Dense(3));
  EXPECT_THROW(last_only.compile(Adam(), loss::ctc), Error);
  EXPECT_EQ(loss_from_name("ctc").kind, LossKind::ctc);
  EXPECT_TRUE(loss_from_name("ctc").from_logits);
}

}  // namespace
}  // namespace lstm
