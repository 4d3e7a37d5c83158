// The vocabulary of text models (lstm/text.h): Keras's TextVectorization ids and rules, round
// trips of characters, padding and truncation, the JSON a model file carries, and UTF-8 checks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/text.h"
#include "test_util.h"

namespace lstm {
namespace {

using Ids = std::vector<int64_t>;

TEST(Vocabulary, WordsAsKerasTextVectorization) {
  const std::vector<std::string> texts = {"The cat sat.", "the CAT ran!", "a  dog\n"};
  const Vocabulary v = Vocabulary::fit(texts);
  // 0 padding, 1 [UNK], then by count (the, cat: 2) and first appearance (sat, ran, a, dog)
  ASSERT_EQ(v.size(), 8);
  const std::vector<std::string> want = {"", "[UNK]", "the", "cat", "sat", "ran", "a", "dog"};
  for (int64_t k = 0; k < v.size(); ++k) EXPECT_EQ(v.token(k), want[size_t(k)]) << k;
  EXPECT_EQ(v.encode("The dog, flew?"), (Ids{2, 7, 1}));
  EXPECT_EQ(v.decode(Ids{2, 7, 1, 0, 0}), "the dog [UNK]");
  EXPECT_EQ(v.split("It's e-mail"), (std::vector<std::string>{"its", "email"}));  // Keras strips ' and -
  EXPECT_TRUE(v.encode(" .,! ").empty());
  EXPECT_THROW(v.decode(Ids{8}), Error);
  EXPECT_THROW(v.decode(Ids{-1}), Error);
}

TEST(Vocabulary, MaxTokensAndMinCount) {
  const std::vector<std::string> texts = {"b a b c a b"};
  const Vocabulary capped = Vocabulary::fit(texts, {.max_tokens = 4});  // pad, [UNK], b, a
  ASSERT_EQ(capped.size(), 4);
  EXPECT_EQ(capped.token(2), "b");
  EXPECT_EQ(capped.token(3), "a");
  EXPECT_EQ(capped.id("c"), Vocabulary::kUnknown);
  const Vocabulary common = Vocabulary::fit(texts, {.min_count = 3});
  ASSERT_EQ(common.size(), 3);
  EXPECT_EQ(common.token(2), "b");
  EXPECT_THROW(Vocabulary::fit(texts, {.max_tokens = 2}), Error);
  EXPECT_THROW(Vocabulary::fit(texts, {.min_count = 0}), Error);
}

TEST(Vocabulary, CharactersRoundTripUnicode) {
  const std::string text = "Naïve café — 日本語, ok? 🎵\n";
  const std::vector<std::string> texts = {text};
  const Vocabulary v = Vocabulary::fit(texts, {.level = TextLevel::character});
  EXPECT_EQ(v.standardize(), Standardize::none);  // characters keep capitals and punctuation
  const Ids ids = v.encode(text);
  EXPECT_EQ(ids.size(), 24u);  // code points, not bytes
  EXPECT_EQ(v.decode(ids), text);
  EXPECT_EQ(v.decode(Ids{v.id("N"), Vocabulary::kUnknown, 0}), "N\xEF\xBF\xBD");  // [UNK]: U+FFFD
  const Vocabulary lower = Vocabulary::fit(texts, {.level = TextLevel::character, .standardize = Standardize::lower});
  EXPECT_EQ(lower.encode("N"), lower.encode("n"));  // lower-cased before lookup
  EXPECT_EQ(lower.id("N"), Vocabulary::kUnknown);    // id() looks up a token as given
  EXPECT_NE(lower.id("n"), Vocabulary::kUnknown);
}

TEST(Vocabulary, BatchesTruncateAtTheEndAndPadWithZero) {
  const std::vector<std::string> train = {"one two three four"};
  const Vocabulary v = Vocabulary::fit(train);
  const std::vector<std::string> texts = {"one two three four", "two", "", "seven eight"};
  const Tensor X = v.encode_batch(texts, 3);
  ASSERT_EQ(X.shape(), (std::vector<int64_t>{4, 3}));
  const std::vector<float> want = {2, 3, 4,   // the first 3 tokens
                                   3, 0, 0,   // right-padded
                                   0, 0, 0,   // no token: all padding
                                   1, 1, 0};  // unknown words are [UNK], not padding (Keras)
  for (int64_t k = 0; k < X.size(); ++k) EXPECT_EQ(X[k], want[size_t(k)]) << k;
  EXPECT_THROW(v.encode_batch(texts, 0), Error);
}

TEST(Vocabulary, TravelsAsJson) {
  const std::vector<std::string> texts = {"Hello, world. Hello again"};
  const Vocabulary v = Vocabulary::fit(texts, {.standardize = Standardize::lower});
  const Vocabulary back = Vocabulary::from_json(v.to_json());
  EXPECT_EQ(back.to_json(), v.to_json());
  EXPECT_EQ(back.size(), v.size());
  EXPECT_EQ(back.standardize(), Standardize::lower);
  EXPECT_EQ(back.encode("hello WORLD."), v.encode("hello WORLD."));

  auto refused = [](const std::string& json, const std::string& needle) {
    try {
      Vocabulary::from_json(json);
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused(R"({"level":"word","standardize":"none","tokens":["a","b","a"]})", "token 4 repeats token 2");
  refused(R"({"level":"word","standardize":"none","tokens":["a",3]})", "not a string");
  refused(R"({"level":"word","standardize":"none","tokens":[""]})", "is empty");
  refused(R"({"level":"word","standardize":"none","tokens":["a b"]})", "whitespace");
  refused(R"({"level":"char","standardize":"none","tokens":["ab"]})", "not one character");
  refused(R"({"level":"byte","standardize":"none","tokens":[]})", "\"word\" or \"char\"");
  refused(R"({"level":"word","standardize":"upper","tokens":[]})", "lower_and_strip_punctuation");
  refused(R"({"level":"word","tokens":[]})", "an object with");
  refused(R"([1,2])", "an object with");
  refused("{\"level\":\"word\",\"standardize\":\"none\",\"tokens\":[\"\xC3(\"]}", "not valid JSON");
}

TEST(Vocabulary, RefusesTextThatIsNotUtf8WithItsOffset) {
  auto refused = [](const std::string& text, const std::string& needle) {
    try {
      check_utf8(text, "book.txt");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("book.txt is not UTF-8"), std::string::npos) << e.what();
    }
  };
  refused("ab\xC3(", "byte 0xC3 at offset 2");        // a lead byte without its continuation
  refused("\xC0\xAF", "byte 0xC0 at offset 0");       // overlong '/'
  refused("x\xED\xA0\x80", "byte 0xED at offset 1");  // a surrogate
  refused("\xF4\x90\x80\x80", "at offset 0");         // past U+10FFFF
  refused("ok\x80", "byte 0x80 at offset 2");         // a stray continuation byte
  refused("\xE2\x82", "at offset 0");                 // cut off at the end
  refused(std::string(1234, 'a') + "\xFF", "offset 1,234");
  EXPECT_NO_THROW(check_utf8("é€🎵", "x"));
  const std::vector<std::string> latin1 = {"caf\xE9"};
  EXPECT_THROW(Vocabulary::fit(latin1), Error);
}


TEST(LanguageModel, NextTokenWindows) {
  std::vector<int64_t> ids(10);
  for (int64_t k = 0; k < 10; ++k) ids[size_t(k)] = k + 2;
  Tensor X, y;
  next_token_windows(ids, 3, 3, X, y);
  ASSERT_EQ(X.shape(), (std::vector<int64_t>{3, 3}));
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{3, 3}));
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t t = 0; t < 3; ++t) {
      EXPECT_EQ(X[n * 3 + t], float(n * 3 + t + 2));
      EXPECT_EQ(y[n * 3 + t], float(n * 3 + t + 3));  // the next token
    }
  next_token_windows(ids, 4, 1, X, y);  // overlapping windows: one per start
  EXPECT_EQ(X.dim(0), 6);
  EXPECT_THROW(next_token_windows(std::vector<int64_t>(3, 2), 3, 3, X, y), Error);
  EXPECT_THROW(next_token_windows(ids, 3, 0, X, y), Error);
}

TEST(LanguageModel, SamplerFollowsTemperatureTopKAndTopP) {
  const std::vector<float> p = {0.5f, 0.1f, 0.6f, 0.3f};  // id 0 (padding) is never drawn
  auto frequencies = [&](SamplingOptions o, int n = 20000) {
    Sampler s(4, o);
    std::vector<double> f(4, 0.0);
    for (int k = 0; k < n; ++k) f[size_t(s.next(p))] += 1.0;
    for (double& v : f) v /= n;
    return f;
  };
  const std::vector<double> plain = frequencies({});
  EXPECT_EQ(plain[0], 0.0);
  EXPECT_NEAR(plain[1], 0.1, 0.01);
  EXPECT_NEAR(plain[2], 0.6, 0.015);
  EXPECT_NEAR(plain[3], 0.3, 0.015);
  EXPECT_EQ(frequencies({.temperature = 0.0f})[2], 1.0);  // the most likely
  EXPECT_EQ(frequencies({.top_k = 1})[2], 1.0);
  EXPECT_EQ(frequencies({.top_p = 0.55f})[2], 1.0);  // 0.6 alone reaches 55%
  const std::vector<double> nucleus = frequencies({.top_p = 0.8f});  // 0.6 + 0.3
  EXPECT_EQ(nucleus[1], 0.0);
  EXPECT_NEAR(nucleus[2], 0.6 / 0.9, 0.015);
  const std::vector<double> hot = frequencies({.temperature = 2.0f});  // p^(1/2), flatter
  const double z = std::sqrt(0.1) + std::sqrt(0.6) + std::sqrt(0.3);
  EXPECT_NEAR(hot[1], std::sqrt(0.1) / z, 0.015);
  EXPECT_GT(frequencies({.temperature = 0.1f})[2], 0.99);

  // the same seed, the same draws; another seed, others
  Sampler a(4, {.seed = 7}), b(4, {.seed = 7}), c(4, {.seed = 8});
  std::vector<int64_t> da, db, dc;
  for (int k = 0; k < 64; ++k) da.push_back(a.next(p)), db.push_back(b.next(p)), dc.push_back(c.next(p));
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);

  EXPECT_THROW(Sampler(4, {.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler(4, {.top_k = -1}), Error);
  EXPECT_THROW(Sampler(4, {.top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler(1, {}), Error);
  EXPECT_THROW(a.next(std::vector<float>(3, 0.3f)), Error);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// The language model's initial weights: PyTorch's by default (Embedding N(0, 1), LSTM
// U(-1/sqrt(H), 1/sqrt(H)), bias the sum of two), Keras's on request; the same seed, the same.
TEST(LanguageModel, InitialisesLikePyTorchOrKeras) {
  std::vector<int64_t> ids(400);
  for (size_t k = 0; k < ids.size(); ++k) ids[k] = int64_t(2 + k % 7);
  auto weights = [&](LanguageModelInit init) {
    LanguageModelOptions o{.lookback = 10, .units = 16, .embedding = 8, .epochs = 1, .verbose = 0, .init = init};
    o.learning_rate = 1e-12f;  // steps too small to matter: the initial weights
    return train_next_token_model(ids, std::span<const int64_t>(ids).first(20), 9, o).model.get_weights();
  };
  const std::vector<float> torch = weights(LanguageModelInit::pytorch), keras = weights(LanguageModelInit::keras);
  ASSERT_EQ(torch.size(), keras.size());
  EXPECT_EQ(torch, weights(LanguageModelInit::pytorch));
  double square = 0;
  float largest = 0;
  for (int k = 0; k < 9 * 8; ++k) square += double(torch[size_t(k)]) * torch[size_t(k)], largest = std::max(largest, std::fabs(keras[size_t(k)]));
  EXPECT_GT(square / 72.0, 0.5);  // N(0, 1): mean square 1
  EXPECT_LE(largest, 0.05f);      // Keras: U(-0.05, 0.05)
  const size_t lstm_at = 72, lstm_weights = 4 * 16 * (8 + 16);
  for (size_t k = 0; k < lstm_weights; ++k) EXPECT_LE(std::fabs(torch[lstm_at + k]), 0.25f) << k;  // 1/sqrt(16)
  for (size_t k = 0; k < 64; ++k) EXPECT_LE(std::fabs(torch[lstm_at + lstm_weights + k]), 0.5f) << k;
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// options.validation: the last part of the training ids stops training once its loss has not
// improved for `patience` epochs, and the best epoch's weights are the model's. On random ids
// (nothing to learn but the sequence by heart) the validation loss soon rises.
TEST(LanguageModel, ValidationPartStopsTrainingAndKeepsTheBestEpoch) {
  Rng rng(3);
  std::vector<int64_t> ids(1200);
  for (int64_t& id : ids) id = 2 + int64_t(rng.below(6));
  LanguageModelOptions o{.lookback = 20, .units = 32, .embedding = 8, .epochs = 60, .learning_rate = 0.03f,
                         .validation = 0.2, .patience = 2, .verbose = 0};
  const std::span<const int64_t> all(ids);
  NextTokenModel m = train_next_token_model(all.first(1000), all.last(200), 8, o);
  const std::vector<double>& val = m.history.history.at("val_loss");
  ASSERT_LT(val.size(), 60u) << "did not stop";
  const size_t best = size_t(std::min_element(val.begin(), val.end()) - val.begin());
  EXPECT_EQ(val.size(), best + 3);  // patience 2: two epochs after the best, then the stop
  // the weights are the best epoch's: the validation part (ids 800..999) scores its val_loss
  EXPECT_NEAR(score_next_tokens(m.model, all.subspan(800, 200), 20).nats_per_token, val[best], 1e-5);

  o.validation = 0.5;
  EXPECT_ERROR_WITH(train_next_token_model(all.first(1000), all.last(200), 8, o), "validation must be in [0, 0.5)");
  o.validation = 0.001;
  EXPECT_ERROR_WITH(train_next_token_model(all.first(1000), all.last(200), 8, o), "the validation part has 1 token");
}

}  // namespace
}  // namespace lstm
