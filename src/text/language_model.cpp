// What a language model needs beyond its vocabulary (include/lstm/text.h): next-token windows
// for training and a sampler for generation.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/json.h"
#include "core/limits.h"
#include "core/rng.h"
#include "lstm/error.h"
#include "lstm/text.h"

namespace lstm {

void next_token_windows(std::span<const int64_t> ids, int64_t T, int64_t stride, Tensor& X, Tensor& y) {
  if (T < 1 || T > limits::kTimeSteps) throw Error("the window length must be at least 1, got " + std::to_string(T));
  if (stride < 1) throw Error("the window stride must be at least 1, got " + std::to_string(stride));
  const int64_t n_ids = int64_t(ids.size());
  if (n_ids < T + 1)
    throw Error("the text has " + std::to_string(n_ids) + " tokens, fewer than one window of " +
                std::to_string(T) + " plus the token after it: give more text or a shorter lookback");
  const int64_t N = (n_ids - T - 1) / stride + 1;
  X = Tensor({N, T});
  y = Tensor({N, T});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      X[n * T + t] = float(ids[size_t(n * stride + t)]);
      y[n * T + t] = float(ids[size_t(n * stride + t + 1)]);
    }
}

Sampler::Sampler(int64_t V, SamplingOptions o) : o_(o), weight_(size_t(std::max<int64_t>(V, 0))), order_(weight_.size()) {
  if (V < 2) throw Error("sampling needs a vocabulary of at least 2 ids, got " + std::to_string(V));
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature))
    throw Error("temperature must be a number >= 0, got " + std::to_string(o.temperature));
  if (o.top_k < 0) throw Error("top_k must be >= 0 (0: every token), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f))
    throw Error("top_p must be in (0, 1] (1: every token), got " + std::to_string(o.top_p));
  Rng seeded(o.seed);
  state_ = (uint64_t(seeded.next_u32()) << 32) | seeded.next_u32();
}

int64_t Sampler::next(std::span<const float> p) {
  const int64_t V = int64_t(weight_.size());
  if (int64_t(p.size()) != V)
    throw Error("the model gave " + std::to_string(p.size()) + " probabilities for a vocabulary of " +
                std::to_string(V));
  // the most likely token first (padding last and never drawn); ties by id
  std::iota(order_.begin(), order_.end(), 0);
  auto likely = [&](int64_t a, int64_t b) {
    const float pa = a == 0 ? -1.0f : p[size_t(a)], pb = b == 0 ? -1.0f : p[size_t(b)];
    return pa != pb ? pa > pb : a < b;
  };
  if (o_.temperature == 0.0f) return *std::min_element(order_.begin(), order_.end(), likely);
  int64_t keep = V - 1;  // all but padding
  if (o_.top_k > 0) keep = std::min(keep, o_.top_k);
  std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(), likely);
  // p^(1/T) relative to the most likely, so that low temperatures do not underflow to zero
  const double top = std::max(double(p[size_t(order_[0])]), 1e-30), inv = 1.0 / double(o_.temperature);
  double total = 0.0;
  for (int64_t k = 0; k < keep; ++k) {
    const double q = std::max(double(p[size_t(order_[size_t(k)])]), 0.0);
    total += weight_[size_t(k)] = std::pow(q / top, inv);
  }
  if (!(total > 0.0) || !std::isfinite(total)) return order_[0];
  if (o_.top_p < 1.0f) {  // the smallest head whose share reaches top_p
    double head = 0.0;
    for (int64_t k = 0; k < keep; ++k) {
      head += weight_[size_t(k)];
      if (head >= double(o_.top_p) * total) {
        keep = k + 1, total = head;
        break;
      }
    }
  }
  // a uniform draw from 53 random bits (splitmix64), scaled to the kept total
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  double u = double(z >> 11) * (1.0 / 9007199254740992.0) * total;
  for (int64_t k = 0; k < keep; ++k) {
    u -= weight_[size_t(k)];
    if (u < 0.0) return order_[size_t(k)];
  }
  return order_[size_t(keep - 1)];
}

}  // namespace lstm

// ---- language models -------------------------------------------------------------------------

namespace lstm {

double TextScore::perplexity() const { return std::exp(nats_per_token); }

namespace {

// Windows of T tokens (stride T) of ids, or one shorter window when ids are fewer than T + 1.
void score_windows(std::span<const int64_t> ids, int64_t T, Tensor& X, Tensor& y) {
  if (ids.size() < 2)
    throw Error("the text has " + std::to_string(ids.size()) + " token(s): a score needs at least 2");
  next_token_windows(ids, std::min<int64_t>(T, int64_t(ids.size()) - 1), std::min<int64_t>(T, int64_t(ids.size()) - 1), X, y);
}

// LanguageModelInit::pytorch on the model built above. The weights are one buffer in layer order
// (model.h): Embedding [V, E]; per LSTM layer weight_ih [4H, I], weight_hh [4H, H], bias [4H];
// Dense [V, H] and [V] (left as they are). The total is checked, so a change of layout fails
// loudly here instead of initialising the wrong weights.
void init_like_pytorch(Sequential& model, int64_t V, const LanguageModelOptions& o) {
  model.build({0});
  std::vector<float> w = model.get_weights();
  const int64_t E = o.embedding, H = o.units;
  int64_t expected = V * E + V * H + V;
  for (int l = 0; l < o.layers; ++l) expected += 4 * H * ((l == 0 ? E : H) + H) + 4 * H;
  if (int64_t(w.size()) != expected)
    throw Error("language model: " + std::to_string(w.size()) + " weights where its layout has " +
                std::to_string(expected) + " (an internal error: please report it)");
  Rng rng(o.seed ^ 0x70797430726368ULL);  // "pyt0rch": its own stream, apart from the layers'
  size_t at = 0;
  for (int64_t k = 0; k < V * E; ++k) w[at++] = float(rng.normal());
  const float bound = 1.0f / std::sqrt(float(H));
  for (int l = 0; l < o.layers; ++l) {
    for (int64_t k = 0, n = 4 * H * ((l == 0 ? E : H) + H); k < n; ++k) w[at++] = rng.uniform(-bound, bound);
    for (int64_t k = 0; k < 4 * H; ++k) w[at++] = rng.uniform(-bound, bound) + rng.uniform(-bound, bound);
  }
  model.set_weights(w);
}

}  // namespace

TextScore score_next_tokens(Sequential& model, std::span<const int64_t> ids, int64_t lookback) {
  Tensor X, y;
  score_windows(ids, lookback, X, y);
  return {X.size(), model.evaluate(X, y, 32)};
}

NextTokenModel train_next_token_model(std::span<const int64_t> train_ids, std::span<const int64_t> held_ids,
                                      int64_t V, const LanguageModelOptions& o, const std::string& name) {
  if (o.lookback < 1 || o.lookback > limits::kTimeSteps)
    throw Error("lookback must be at least 1, got " + std::to_string(o.lookback));
  if (o.units < 1 || o.layers < 1 || o.embedding < 1)
    throw Error("units, layers and embedding must be at least 1, got " + std::to_string(o.units) + ", " +
                std::to_string(o.layers) + " and " + std::to_string(o.embedding));
  if (V < 2 || V > limits::kWidth) throw Error("the vocabulary must have 2 to 2^24 ids, got " + std::to_string(V));
  if (!(o.validation >= 0.0 && o.validation < 0.5))
    throw Error("validation must be in [0, 0.5), got " + std::to_string(o.validation));
  if (o.patience < 0) throw Error("patience must be >= 0, got " + std::to_string(o.patience));
  NextTokenModel m{Sequential({.seed = o.seed, .name = name}), {}, {}};
  m.model.add(Embedding(int(V), o.embedding, {.input_shape = {0}}));
  for (int l = 0; l < o.layers; ++l) {
    if (l > 0 && o.dropout > 0.0f) m.model.add(Dropout(o.dropout));
    m.model.add(LSTM(o.units, {.return_sequences = true}));
  }
  if (o.dropout > 0.0f) m.model.add(Dropout(o.dropout));
  m.model.add(TimeDistributed(Dense(int(V), {.activation = Activation::softmax})));
  m.model.compile(Adam({.learning_rate = o.learning_rate, .global_clipnorm = o.clipnorm}),
                  loss::sparse_categorical_crossentropy);
  if (o.init == LanguageModelInit::pytorch) init_like_pytorch(m.model, V, o);
  // the validation part: the last tokens of the training part, when asked for
  const int64_t n = int64_t(train_ids.size()), n_val = int64_t(std::ceil(double(n) * o.validation));
  if (o.validation > 0.0 && n_val < 2)
    throw Error("the validation part has " + std::to_string(n_val) + " token(s): give more data or a larger validation");
  Tensor X, y, vX, vy, hX, hy;
  next_token_windows(train_ids.first(size_t(n - n_val)), o.lookback, o.lookback, X, y);
  score_windows(held_ids, o.lookback, hX, hy);
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size, .validation_x = hX, .validation_y = hy,
                 .verbose = o.verbose};
  if (n_val > 0) {
    score_windows(train_ids.last(size_t(n_val)), o.lookback, vX, vy);
    fit.validation_x = vX, fit.validation_y = vy;
    fit.callbacks.push_back(std::make_shared<EarlyStopping>(
        EarlyStoppingOptions{.monitor = "val_loss", .patience = o.patience, .restore_best_weights = true}));
  }
  m.history = m.model.fit(X, y, fit);
  m.heldout = {hX.size(), m.model.evaluate(hX, hy, o.batch_size)};
  return m;
}

LanguageModel train_language_model(const std::string& text, const LanguageModelOptions& o, const std::string& what) {
  if (!(o.holdout > 0.0 && o.holdout <= 0.5))
    throw Error("holdout must be in (0, 0.5], got " + std::to_string(o.holdout));
  if (o.lookback < 1 || o.lookback > limits::kTimeSteps)
    throw Error("lookback must be at least 1, got " + std::to_string(o.lookback));
  check_utf8(text, what);
  // the vocabulary of the training part only: held-out tokens it lacks are [UNK], as for new text
  const Vocabulary probe = Vocabulary::fit(std::span<const std::string>(), o.vocabulary);
  const std::vector<std::string> pieces = probe.split(text);
  const int64_t n = int64_t(pieces.size()), n_train = n - int64_t(std::ceil(double(n) * o.holdout));
  if (n_train < o.lookback + 1 || n - n_train < 2)
    throw Error(what + " has " + std::to_string(n) + " tokens: " + std::to_string(n_train) +
                " for training is less than one window of lookback " + std::to_string(o.lookback) +
                " + 1 (or the held-out part has fewer than 2): give more text or a smaller --lookback");
  std::string train_text;
  const bool words = o.vocabulary.level == TextLevel::word;
  for (int64_t k = 0; k < n_train; ++k) train_text += (words && k ? " " : "") + pieces[size_t(k)];
  const std::vector<std::string> train_texts = {train_text};
  Vocabulary vocabulary = Vocabulary::fit(train_texts, o.vocabulary, what);
  std::vector<int64_t> train_ids, held_ids;
  for (int64_t k = 0; k < n; ++k) (k < n_train ? train_ids : held_ids).push_back(vocabulary.id(pieces[size_t(k)]));
  NextTokenModel m = train_next_token_model(train_ids, held_ids, vocabulary.size(), o, "language_model");
  return LanguageModel{std::move(m.model), std::move(vocabulary), o.lookback, std::move(m.history), m.heldout};
}

TextScore LanguageModel::score(const std::string& text) {
  check_utf8(text, "the text");
  return score_next_tokens(model, vocabulary.encode(text), lookback);
}

std::string LanguageModel::generate(std::string_view prompt, int64_t length, SamplingOptions sampling,
                                    const std::function<void(const std::string&)>& on_piece) {
  if (length < 0) throw Error("the length to generate must be >= 0, got " + std::to_string(length));
  const int64_t V = vocabulary.size();
  Sampler sampler(V, sampling);
  std::vector<int64_t> ids = vocabulary.encode(prompt);
  if (ids.empty()) ids.push_back(Vocabulary::kUnknown);  // no prompt: start from [UNK]
  std::vector<float> probs(static_cast<size_t>(V));
  model.reset_states();
  for (int64_t id : ids) {
    const float x = float(id);
    model.step(&x, probs.data());
  }
  std::string out;
  const bool words = vocabulary.level() == TextLevel::word;
  for (int64_t k = 0; k < length; ++k) {
    const int64_t id = sampler.next(probs);
    std::string piece = vocabulary.decode(std::span<const int64_t>(&id, 1));
    if (words && (k > 0 || !prompt.empty())) piece = " " + piece;
    out += piece;
    if (on_piece) on_piece(piece);
    const float x = float(id);
    model.step(&x, probs.data());
  }
  return out;
}

void LanguageModel::save(const std::string& path) {
  model.metadata()[kVocabularyKey] = vocabulary.to_json();
  model.metadata()["lstm.text"] = nlohmann::json{{"lookback", lookback}}.dump();
  model.save(path);
}

LanguageModel LanguageModel::load(const std::string& path) {
  Sequential m = Sequential::load(path);
  const auto v = m.metadata().find(kVocabularyKey), t = m.metadata().find("lstm.text");
  if (v == m.metadata().end() || t == m.metadata().end())
    throw Error(path + " is a model without a vocabulary, not a text model: train one with lstm text train");
  Vocabulary vocabulary = Vocabulary::from_json(v->second, path + ": its vocabulary");
  const nlohmann::json meta = parse_json(t->second, path + ": its \"lstm.text\" metadata");
  if (!meta.is_object() || !meta.contains("lookback"))
    throw Error(path + ": its \"lstm.text\" metadata has no lookback");
  const int64_t lookback = json_integer(meta["lookback"], 1, limits::kTimeSteps, path + ": its lookback");
  m.compile(Adam(), loss::sparse_categorical_crossentropy);  // for score(): the training loss
  return LanguageModel{std::move(m), std::move(vocabulary), lookback, {}, {}};
}

}  // namespace lstm
