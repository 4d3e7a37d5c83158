// Sequence to sequence (lstm/seq2seq.h): the scores against hand-computed cases, label
// smoothing's closed form, bucketing, and the network's layers.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "layers/loss_fn.h"
#include "lstm/error.h"
#include "lstm/seq2seq.h"
#include "test_util.h"

namespace lstm {
namespace {

using Words = std::vector<std::string>;

TEST(Seq2seqScores, EditDistance) {
  EXPECT_EQ(edit_distance(split_characters("kitten"), split_characters("sitting")), 3);  // k->s, e->i, +g
  EXPECT_EQ(edit_distance(Words{}, Words{"a", "b", "c"}), 3);
  EXPECT_EQ(edit_distance(Words{"a", "b"}, Words{}), 2);
  EXPECT_EQ(edit_distance(Words{"HH", "AH0", "L", "OW1"}, Words{"HH", "EH0", "L", "OW1"}), 1);
  EXPECT_EQ(edit_distance(Words{"a", "b", "c"}, Words{"b", "c", "a"}), 2);  // drop a, add a
  EXPECT_EQ(split_characters("déjà"), (Words{"d", "é", "j", "à"}));          // code points
  EXPECT_EQ(split_words("  a\tb \n c "), (Words{"a", "b", "c"}));
}

TEST(Seq2seqScores, BleuByHand) {
  // a b c d e  against  a b c d f g: n-gram matches 4/5, 3/4, 2/3, 1/2; 5 < 6 tokens
  const std::vector<Words> hyp = {{"a", "b", "c", "d", "e"}}, ref = {{"a", "b", "c", "d", "f", "g"}};
  EXPECT_NEAR(corpus_bleu(hyp, ref), 100.0 * std::exp(1.0 - 6.0 / 5.0) * std::pow(0.8 * 0.75 * (2.0 / 3) * 0.5, 0.25), 1e-9);
  EXPECT_NEAR(corpus_bleu(ref, ref), 100.0, 1e-9);
  // clipping: "the" counts once; orders 2..4 match nothing: 1/(2·3), 1/(4·2), 1/(8·1) (exp smoothing)
  const std::vector<Words> the = {{"the", "the", "the", "the"}}, cat = {{"the", "cat"}};
  EXPECT_NEAR(corpus_bleu(the, cat), 100.0 * std::pow(0.25 / 6.0 / 8.0 / 8.0, 0.25), 1e-9);
  // corpus level: counts summed before the ratios (not a mean of sentence scores)
  const std::vector<Words> hyps = {{"a", "b", "c", "d"}, {"w", "x", "y", "z"}};
  const std::vector<Words> refs = {{"a", "b", "c", "d"}, {"w", "x", "y", "q"}};
  // matches 7/8, 5/6, 3/4, 1/2; lengths equal
  EXPECT_NEAR(corpus_bleu(hyps, refs), 100.0 * std::pow(7.0 / 8 * 5.0 / 6 * 3.0 / 4 * 0.5, 0.25), 1e-9);
  EXPECT_EQ(corpus_bleu(std::vector<Words>{{"a", "b"}}, std::vector<Words>{{"a", "b"}}), 0.0);  // no 4-gram
  EXPECT_ERROR_WITH(corpus_bleu(hyps, cat), "one reference per hypothesis");
}

TEST(Seq2seqScores, ChrfByHand) {
  // "ab" against "abc": unigrams 2/2 matched of hyp, 2/3 of ref; bigrams 1/1, 1/2; no trigram in
  // the hypothesis, so two orders count: P = 1, R = (2/3 + 1/2) / 2 = 7/12, F2 = 5PR/(4P + R)
  const double R = 7.0 / 12;
  EXPECT_NEAR(corpus_chrf(Words{"ab"}, Words{"abc"}), 100.0 * 5 * R / (4 + R), 1e-9);
  EXPECT_NEAR(corpus_chrf(Words{"a b"}, Words{"abc"}), 100.0 * 5 * R / (4 + R), 1e-9);  // spaces out
  EXPECT_NEAR(corpus_chrf(Words{"chat noir"}, Words{"chat noir"}), 100.0, 1e-9);
  EXPECT_EQ(corpus_chrf(Words{"xy"}, Words{"ab"}), 0.0);
  EXPECT_EQ(corpus_chrf(Words{""}, Words{"ab"}), 0.0);
  // code points, not bytes: é is one character
  EXPECT_NEAR(corpus_chrf(Words{"é"}, Words{"é"}), 100.0, 1e-9);
}

TEST(Seq2seqScores, ScoreSequences) {
  const Words hyp = {"a b c", "x y"}, ref = {"a b c", "x z w"};
  const SequenceScores s = score_sequences(hyp, ref, TextLevel::word);
  EXPECT_EQ(s.sequences, 2);
  EXPECT_DOUBLE_EQ(s.exact_match, 0.5);
  EXPECT_DOUBLE_EQ(s.token_error_rate, 2.0 / 6.0);  // y -> z, + w
  EXPECT_DOUBLE_EQ(s.word_error_rate, 2.0 / 6.0);
  const SequenceScores c = score_sequences(Words{"kitten"}, Words{"sitting"}, TextLevel::character);
  EXPECT_DOUBLE_EQ(c.token_error_rate, 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(c.word_error_rate, 1.0);
  EXPECT_DOUBLE_EQ(c.exact_match, 0.0);
  EXPECT_NE(c.table().find("token error rate   0.4286"), std::string::npos) << c.table();
  EXPECT_ERROR_WITH(score_sequences(Words{}, Words{}, TextLevel::word), "at least one pair");
  EXPECT_ERROR_WITH(score_sequences(Words{"\xC3"}, Words{"a"}, TextLevel::word), "not UTF-8");
}

TEST(Loss, LabelSmoothingIsTheMixedTarget) {
  // from logits: (1 - ε)·(lse - z_y) + ε·mean_k(lse - z_k)
  const std::vector<float> z = {0.3f, -1.2f, 2.0f, 0.5f};
  const float label = 2.0f, eps = 0.1f;
  double lse = 0.0;
  for (float v : z) lse += std::exp(double(v));
  lse = std::log(lse);
  double mean = 0.0;
  for (float v : z) mean += (lse - v) / 4.0;
  const double want = 0.9 * (lse - z[2]) + 0.1 * mean;
  EXPECT_NEAR(loss_forward_backward({LossKind::scce, true, eps}, z.data(), &label, 1, 4, nullptr), want, 1e-6);
  // the same from probabilities, and from a one-hot target
  std::vector<float> p(4);
  for (size_t k = 0; k < 4; ++k) p[k] = float(std::exp(z[k] - lse));
  EXPECT_NEAR(loss_forward_backward({LossKind::scce, false, eps}, p.data(), &label, 1, 4, nullptr), want, 1e-6);
  const std::vector<float> onehot = {0, 0, 1, 0};
  EXPECT_NEAR(loss_forward_backward({LossKind::cce, true, eps}, z.data(), onehot.data(), 1, 4, nullptr), want, 1e-6);
  EXPECT_ERROR_WITH(loss_check_options({LossKind::mse, false, 0.1f}), "needs loss cce or scce");
  EXPECT_ERROR_WITH(loss_check_options({LossKind::scce, false, 1.0f}), "[0, 1)");
}

TEST(Seq2seqModel, LayersByNameAndParameterCount) {
  const Seq2seqArchitecture a{.source_vocabulary = 5, .target_vocabulary = 6, .embedding = 3, .units = 4};
  Model m = seq2seq_model(a);
  EXPECT_EQ(m.input_names(), (std::vector<std::string>{"source", "target_in"}));
  // embeddings 5·3 + 6·3; two LSTMs of 4·4·(3 + 4 + 1); key 4·4 (no bias); attentional
  // 4·8 + 4; output 6·4 + 6
  EXPECT_EQ(m.count_params(), 15 + 18 + 2 * 128 + 16 + 36 + 30);
  std::vector<std::string> names;
  for (const NamedWeight& w : m.weights()) names.push_back(w.name);
  EXPECT_EQ(names, (std::vector<std::string>{"target_embedding.weight", "source_embedding.weight", "encoder_1.weight_ih",
                                             "encoder_1.weight_hh", "encoder_1.bias", "decoder_1.weight_ih",
                                             "decoder_1.weight_hh", "decoder_1.bias", "attention_key.weight",
                                             "attentional.weight", "attentional.bias", "output.weight",
                                             "output.bias"}));
  // a bidirectional encoder: H/2 per direction, the decoder still H wide
  Model b = seq2seq_model({.source_vocabulary = 5, .target_vocabulary = 6, .embedding = 3, .units = 4,
                           .bidirectional = true, .attention = AttentionKind::additive});
  EXPECT_EQ(b.count_params(), 15 + 18 + 2 * (4 * 2 * (3 + 2 + 1)) + 128 + 2 * 16 + 4 + 36 + 30);
  EXPECT_ERROR_WITH(seq2seq_model({.source_vocabulary = 5, .target_vocabulary = 6, .units = 5, .bidirectional = true}),
                    "units must be even");
  EXPECT_ERROR_WITH(seq2seq_model({.source_vocabulary = 1, .target_vocabulary = 6}), "source_vocabulary");
  EXPECT_ERROR_WITH(attention_kind_from_name("luong"), "general");
  EXPECT_EQ(attention_kind_from_name("additive"), AttentionKind::additive);
}

// Source and target ids, right-padded with 0 to S and T steps though no sequence is longer
// than 5 and 4: a batch trimmed to its longest sequence drops the extra padding.
void padded_pairs(int64_t N, int64_t S, int64_t T, Tensor& src, Tensor& tgt_in, Tensor& tgt_out) {
  Rng rng(5);
  src = Tensor({N, S}), tgt_in = Tensor({N, T}), tgt_out = Tensor({N, T});
  for (int64_t n = 0; n < N; ++n) {
    const int64_t ls = 1 + rng.below(5), lt = 1 + rng.below(4);
    for (int64_t s = 0; s < ls; ++s) src[n * S + s] = float(1 + rng.below(6));
    for (int64_t t = 0; t < lt; ++t) {
      tgt_in[n * T + t] = float(1 + rng.below(5));
      tgt_out[n * T + t] = float(1 + rng.below(5));
    }
  }
}

TEST(Bucketing, ATrimmedBatchTrainsAsTheWholePaddedOne) {
  Tensor src, tgt_in, tgt_out;
  padded_pairs(9, 12, 10, src, tgt_in, tgt_out);
  std::vector<float> weights[2];
  double loss[2];
  for (int bucket = 0; bucket < 2; ++bucket) {
    Model m = seq2seq_model({.source_vocabulary = 7, .target_vocabulary = 6, .embedding = 3, .units = 4,
                             .bidirectional = true, .attention = AttentionKind::dot});
    m.compile(SGD({.learning_rate = 0.5f}), {LossKind::scce, true, 0.1f});
    const History h = m.fit({src, tgt_in}, tgt_out,
                            {.epochs = 3, .batch_size = 9, .shuffle = false, .verbose = 0, .bucket_by_length = bucket == 1});
    weights[bucket] = m.get_weights(), loss[bucket] = h.history.at("loss").back();
  }
  EXPECT_NEAR(loss[0], loss[1], 1e-5);
  for (size_t k = 0; k < weights[0].size(); ++k) ASSERT_NEAR(weights[0][k], weights[1][k], 1e-5) << k;
}

TEST(Bucketing, BatchesOfSimilarLengthTrainAndUnmaskedModelsAreRefused) {
  Tensor src, tgt_in, tgt_out;
  padded_pairs(64, 12, 10, src, tgt_in, tgt_out);
  Model m = seq2seq_model({.source_vocabulary = 7, .target_vocabulary = 6, .embedding = 3, .units = 4});
  m.compile(Adam(), loss::sparse_categorical_crossentropy_from_logits);
  const History h = m.fit({src, tgt_in}, tgt_out, {.epochs = 4, .batch_size = 8, .verbose = 0, .bucket_by_length = true});
  const std::vector<double>& l = h.history.at("loss");
  EXPECT_LT(l.back(), l.front());  // it learns (the targets' token frequencies at least)
  auto x = Input({kAnyLength, 2});
  Model plain(x, Dense(1)(LSTM(3, {.return_sequences = true})(x)));
  plain.compile(Adam(), loss::mse);
  const Tensor xs = test::random_tensor({4, 3, 2}, 1), ys = test::random_tensor({4, 3, 1}, 2);
  EXPECT_ERROR_WITH(plain.fit(xs, ys, {.verbose = 0, .bucket_by_length = true}), "no input of this model has a mask");
}

// A network with weights large enough that its distributions are far from uniform.
Model peaky_model(const Seq2seqArchitecture& a, uint64_t seed, float factor = 3.0f) {
  Model m = seq2seq_model(a, seed);
  std::vector<float> w = m.get_weights();
  for (float& v : w) v *= factor;
  m.set_weights(w);
  return m;
}

// log P(target, end | source) from the training graph, teacher-forced: [start, target] in,
// the log-softmax of the logits at [target, end] out.
double graph_log_probability(Model& m, const std::vector<int64_t>& source, const std::vector<int64_t>& target,
                             int64_t start, int64_t end) {
  const int64_t Ls = int64_t(source.size()), T = int64_t(target.size()) + 1;
  Tensor src({1, Ls}), tgt({1, T});
  for (int64_t s = 0; s < Ls; ++s) src[s] = float(source[size_t(s)]);
  tgt[0] = float(start);
  for (int64_t t = 1; t < T; ++t) tgt[t] = float(target[size_t(t - 1)]);
  const Tensor z = m.predict({src, tgt})[0];  // [1, T, V] logits
  const int64_t V = z.dim(2);
  double total = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    double sum = 0.0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[t * V + v]));
    total += double(z[t * V + (t + 1 < T ? target[size_t(t)] : end)]) - std::log(sum);
  }
  return total;
}

const Seq2seqArchitecture kDecoderCases[] = {
    {.source_vocabulary = 7, .target_vocabulary = 8, .embedding = 3, .units = 6, .attention = AttentionKind::none},
    {.source_vocabulary = 7, .target_vocabulary = 8, .embedding = 3, .units = 6, .layers = 2, .attention = AttentionKind::dot},
    {.source_vocabulary = 7, .target_vocabulary = 8, .embedding = 3, .units = 6, .bidirectional = true,
     .attention = AttentionKind::general},
    {.source_vocabulary = 7, .target_vocabulary = 8, .embedding = 3, .units = 6, .layers = 2, .bidirectional = true,
     .attention = AttentionKind::additive}};

TEST(Seq2seqDecoder, ItsStepsGiveTheTrainingGraphsProbabilities) {
  const std::vector<std::vector<int64_t>> sources = {{1, 2, 3, 4, 5}, {6}, {3, 3, 1}};
  const std::vector<std::vector<int64_t>> targets = {{1, 2, 5, 5}, {}, {4, 1, 2, 3, 6, 5, 4}};
  for (const Seq2seqArchitecture& a : kDecoderCases) {
    SCOPED_TRACE(attention_kind_name(a.attention));
    Model m = peaky_model(a, 3);
    Seq2seqDecoder decoder(m, a, 6, 7);
    for (size_t k = 0; k < sources.size(); ++k)
      EXPECT_NEAR(decoder.log_probability(sources[k], targets[k]), graph_log_probability(m, sources[k], targets[k], 6, 7),
                  1e-4) << "pair " << k;
  }
}

TEST(Seq2seqDecoder, BeamOfOneIsGreedy) {
  const std::vector<std::vector<int64_t>> sources = {{1, 2, 3, 4, 5}, {6}, {3, 3, 1}, {2, 4}};
  for (int c = 0; c < 8; ++c) {  // each case with peaky and with flat distributions
    const Seq2seqArchitecture& a = kDecoderCases[c % 4];
    SCOPED_TRACE(std::string(attention_kind_name(a.attention)) + (c < 4 ? " peaky" : " flat"));
    Model m = peaky_model(a, 4, c < 4 ? 3.0f : 1.0f);
    Seq2seqDecoder decoder(m, a, 6, 7);
    const std::vector<Decoded> beam = decoder.decode(sources, {.beam = 1, .max_length = 12, .batch_size = 3});
    for (size_t k = 0; k < sources.size(); ++k) {
      // greedy through the training graph: the most likely token given the prefix, again and again
      std::vector<int64_t> greedy;
      const int64_t Ls = int64_t(sources[k].size());
      Tensor src({1, Ls});
      for (int64_t s = 0; s < Ls; ++s) src[s] = float(sources[k][size_t(s)]);
      for (int64_t t = 0; t <= 12; ++t) {
        Tensor tgt({1, t + 1});
        tgt[0] = 6.0f;
        for (int64_t j = 0; j < t; ++j) tgt[j + 1] = float(greedy[size_t(j)]);
        const Tensor p = m.predict({src, tgt})[0];
        int64_t best = 7;
        if (t < 12) {
          best = 1;
          for (int64_t v = 1; v < 8; ++v)
            if (v != 6 && p[t * 8 + v] > p[t * 8 + best]) best = v;
        }
        if (best == 7) break;
        greedy.push_back(best);
      }
      EXPECT_EQ(beam[k].ids, greedy) << "source " << k;
      EXPECT_NEAR(beam[k].log_probability, graph_log_probability(m, sources[k], greedy, 6, 7), 1e-4);
    }
  }
}

TEST(Seq2seqDecoder, WideBeamFindsTheMostLikelySequenceOfAllThereAre) {
  // target ids: 1, 2 tokens, 3 start, 4 end; at most 3 tokens: 1 + 2 + 4 + 8 = 15 sequences
  const Seq2seqArchitecture a{.source_vocabulary = 5, .target_vocabulary = 5, .embedding = 3, .units = 4,
                              .attention = AttentionKind::general};
  int wins_over_greedy = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Model m = peaky_model(a, seed);
    Seq2seqDecoder decoder(m, a, 3, 4);
    const std::vector<int64_t> source = {1, 3, 2, 4};
    std::vector<int64_t> best_ids;
    double best = -INFINITY;
    for (int len = 0; len <= 3; ++len)
      for (int code = 0; code < (1 << len); ++code) {
        std::vector<int64_t> ids;
        for (int j = 0; j < len; ++j) ids.push_back(1 + ((code >> j) & 1));
        const double lp = graph_log_probability(m, source, ids, 3, 4);
        if (lp > best) best = lp, best_ids = ids;
      }
    const std::vector<std::vector<int64_t>> one = {source};
    const Decoded beam = decoder.decode(one, {.beam = 32, .max_length = 3, .length_penalty = 0.0f})[0];
    EXPECT_EQ(beam.ids, best_ids) << "seed " << seed;
    EXPECT_NEAR(beam.log_probability, best, 1e-4);
    const Decoded greedy = decoder.decode(one, {.beam = 1, .max_length = 3})[0];
    EXPECT_LE(greedy.log_probability, beam.log_probability + 1e-9);
    wins_over_greedy += greedy.log_probability < beam.log_probability - 1e-6;
  }
  EXPECT_GT(wins_over_greedy, 0) << "no seed where greedy misses the best: the case tests nothing";
}

TEST(Seq2seqDecoder, AttentionRowsAndBadInput) {
  const Seq2seqArchitecture a = kDecoderCases[2];
  Model m = peaky_model(a, 5);
  Seq2seqDecoder decoder(m, a, 6, 7);
  const std::vector<std::vector<int64_t>> sources = {{1, 2, 3}, {4, 5, 6, 1, 2}};
  const std::vector<Decoded> out = decoder.decode(sources, {.beam = 3, .attention = true});
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t Ls = sources[k].size(), steps = out[k].ids.size() + 1;
    ASSERT_EQ(out[k].attention.size(), steps * Ls);
    for (size_t t = 0; t < steps; ++t) {
      double sum = 0;
      for (size_t j = 0; j < Ls; ++j) sum += out[k].attention[t * Ls + j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
    EXPECT_NEAR(out[k].score, out[k].log_probability / double(steps), 1e-9);  // α = 1
  }
  const std::vector<std::vector<int64_t>> empty = {{}}, outside = {{1, 7}};
  EXPECT_ERROR_WITH(decoder.decode(empty), "source 1 is empty");
  EXPECT_ERROR_WITH(decoder.decode(outside), "outside the source vocabulary");
  EXPECT_ERROR_WITH(decoder.decode(sources, {.beam = 0}), "beam must be");
  EXPECT_ERROR_WITH(Seq2seqDecoder(m, a, 6, 8), "start and end ids");
  Seq2seqArchitecture other = a;
  other.units = 8;
  EXPECT_ERROR_WITH(Seq2seqDecoder(m, other, 6, 7), "the architecture the model was built with");
}

}  // namespace
}  // namespace lstm
