// text.h - from raw text to token ids and back: the vocabulary a text model carries.
//
//   lstm::Vocabulary v = lstm::Vocabulary::fit(train_texts, {.level = lstm::TextLevel::word,
//                                                             .max_tokens = 20000});
//   std::vector<int64_t> ids = v.encode("The cat sat.");   // {the, cat, sat} -> e.g. {2, 57, 301}
//   lstm::Tensor X = v.encode_batch(texts, 100);            // [N, 100], right-padded with 0
//   std::string back = v.decode(ids);                       // "the cat sat"
//
// Keras's TextVectorization is the anchor (output_mode "int"):
//   id 0       padding (""): never produced by encode(), skipped by decode()
//   id 1       out of vocabulary ("[UNK]"): any token the vocabulary lacks
//   id 2...    the tokens, most frequent first; equal counts in order of first appearance
// Text is UTF-8; anything else is refused with the byte offset of the first bad byte.
//
// Standardisation, then splitting:
//   none                         the text as it is
//   lower                        ASCII A-Z lower-cased (as Keras's default; other letters kept)
//   lower_and_strip_punctuation  lower, then ASCII punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
//                                removed (Keras's default for words)
//   word level                   tokens are the runs between ASCII whitespace (space, \t, \n,
//                                \v, \f, \r); empty runs are dropped
//   char level                   every Unicode code point is a token (whitespace included)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstm/model.h"
#include "lstm/tensor.h"

namespace lstm {

enum class TextLevel { character, word };
enum class Standardize { none, lower, lower_and_strip_punctuation };

struct VocabularyOptions {
  TextLevel level = TextLevel::word;
  // Unset: lower_and_strip_punctuation for words, none for characters (a character model
  // learns capitals and punctuation too).
  std::optional<Standardize> standardize;
  // The vocabulary's size at most, padding and "[UNK]" included (Keras's max_tokens): the
  // max_tokens - 2 most frequent tokens are kept. 0: no cap.
  int64_t max_tokens = 0;
  int64_t min_count = 1;  // tokens seen fewer times in the training text are left out ("[UNK]")
};

class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kUnknown = 1;

  // The vocabulary of `texts` (each UTF-8; `what` names them in messages, e.g. "book.txt").
  static Vocabulary fit(std::span<const std::string> texts, VocabularyOptions options = {},
                        const std::string& what = "the text");

  // Token ids of one text (no padding, [UNK] for unknown tokens); empty for a text with no token.
  std::vector<int64_t> encode(std::string_view text) const;
  // [N, length] ids, each text's first `length` tokens (longer texts are cut at the end, as
  // Keras's output_sequence_length), right-padded with 0. A text with no token is all padding.
  Tensor encode_batch(std::span<const std::string> texts, int64_t length) const;
  // The text of ids: characters concatenated, or words joined by one space; padding skipped;
  // [UNK] written "[UNK]" (words) or U+FFFD (characters). Ids outside 0..size()-1 are refused.
  std::string decode(std::span<const int64_t> ids) const;

  int64_t size() const { return int64_t(tokens_.size()); }  // padding and [UNK] included
  const std::string& token(int64_t id) const;               // "" for padding, "[UNK]" for 1
  int64_t id(std::string_view token) const;                 // kUnknown when absent
  TextLevel level() const { return level_; }
  Standardize standardize() const { return standardize_; }

  // The tokens after the standardisation and split of this vocabulary, before lookup.
  std::vector<std::string> split(std::string_view text) const;

  // {"level": "word", "standardize": "lower_and_strip_punctuation", "tokens": [ids 2...]}: what
  // a model file stores (its metadata "lstm.vocabulary"). from_json checks every entry (UTF-8,
  // no duplicates, one code point per character token, at most 2^24 tokens).
  std::string to_json() const;
  static Vocabulary from_json(const std::string& json, const std::string& what = "the vocabulary");

 private:
  Vocabulary(TextLevel level, Standardize standardize, std::vector<std::string> tokens);
  TextLevel level_ = TextLevel::word;
  Standardize standardize_ = Standardize::none;
  std::vector<std::string> tokens_;  // by id
  std::unordered_map<std::string, int64_t> ids_;
};

// Next-token pairs for a language model from one stream of ids: windows of T + 1 tokens, one
// every `stride` tokens from the start (stride T: the windows meet end to end); X [N, T] the
// window's first T tokens, y [N, T] the T after them (y[n][t] = ids[n*stride + t + 1]). The
// tokens after the last whole window are not used. Throws lstm::Error when ids hold fewer than
// T + 1 tokens.
void next_token_windows(std::span<const int64_t> ids, int64_t T, int64_t stride, Tensor& X, Tensor& y);

// Draws the next token from a model's probabilities (a softmax output over the vocabulary):
// p_i^(1/temperature), renormalised, then only the top_k most likely (0: all), then only the
// smallest set of the most likely whose probability reaches top_p (1: all); padding (id 0) is
// never drawn. Temperature 0 is the most likely token. The same seed gives the same draws on
// every platform; after construction, next() allocates nothing (a generation loop with
// Model::step stays allocation-free).
struct SamplingOptions {
  float temperature = 1.0f;  // >= 0
  int64_t top_k = 0;         // >= 0
  float top_p = 1.0f;        // in (0, 1]
  uint64_t seed = 42;
};
class Sampler {
 public:
  Sampler(int64_t vocabulary_size, SamplingOptions options);
  int64_t next(std::span<const float> probabilities);

 private:
  SamplingOptions o_;
  uint64_t state_;
  std::vector<double> weight_;  // (V)
  std::vector<int64_t> order_;  // (V)
};

// The vocabulary a text model carries in its file (metadata "lstm.vocabulary").
constexpr const char* kVocabularyKey = "lstm.vocabulary";

// ---- language models ---------------------------------------------------------------------
//
//   lstm::LanguageModel lm = lstm::train_language_model(text, {.epochs = 4});
//   std::printf("%.3f bits per character\n", lm.heldout.bits_per_token());
//   lm.save("lm.safetensors");
//   std::string more = lm.generate("The ", 200, {.temperature = 0.8f, .seed = 1});
//
// The model: Embedding(V, embedding) -> LSTM(units, sequences) x layers (Dropout between them
// when dropout > 0) -> TimeDistributed(Dense(V, softmax)), trained with sparse categorical
// cross-entropy on next_token_windows of `lookback` tokens (stride lookback) of the first
// 1 - holdout of the text's tokens, Adam with global_clipnorm; the held-out score is the same
// loss on windows of the rest.
//
// Initial weights (from the seed): `pytorch` (the default) starts the Embedding N(0, 1) and
// every LSTM weight U(-1/sqrt(units), 1/sqrt(units)), its bias the sum of two such draws (as
// PyTorch's nn.Embedding and nn.LSTM with its two biases); `keras` keeps the layers' Keras
// initialisers (Embedding U(-0.05, 0.05); glorot, orthogonal, forget bias 1). The Dense head is
// Keras's (glorot, zero bias) either way. On the 1.2 MB character benchmark of
// docs/text-and-music.md, 2,000 steps reach 2.11 bits per character from `pytorch` and 2.35
// from `keras`: with small input vectors the LSTM learns slowly at first.
enum class LanguageModelInit { pytorch, keras };
struct LanguageModelOptions {
  VocabularyOptions vocabulary = {.level = TextLevel::character};
  int64_t lookback = 100;
  int units = 256, layers = 1, embedding = 64;
  float dropout = 0.0f;
  int epochs = 1, batch_size = 32;
  float learning_rate = 2e-3f, clipnorm = 5.0f;
  double holdout = 0.1;  // in (0, 0.5]: the last fraction of the tokens, never trained on
  // In [0, 0.5): the last fraction of the training part, held apart to stop training once its
  // loss has not improved for `patience` epochs and keep the best epoch's weights (Keras's
  // EarlyStopping with restore_best_weights). 0: none: every epoch runs, and the curves'
  // val_loss is the held-out part's.
  double validation = 0.0;
  int patience = 3;
  uint64_t seed = 42;
  int verbose = 1;  // as FitOptions::verbose
  LanguageModelInit init = LanguageModelInit::pytorch;
};

// Mean cross-entropy of the next token over `tokens` predictions, in nats; bits per token is
// bits per character for a character model, perplexity the word models' figure.
struct TextScore {
  int64_t tokens = 0;
  double nats_per_token = 0.0;
  double bits_per_token() const { return nats_per_token / 0.6931471805599453; }
  double perplexity() const;
};

struct LanguageModel {
  Sequential model;
  Vocabulary vocabulary;
  int64_t lookback = 100;  // the training windows' length, which score() uses too
  History history;          // of training (empty after load)
  TextScore heldout;        // of training (tokens = 0 after load)

  // The next-token loss on `text` (windows of lookback tokens, each from a fresh state).
  TextScore score(const std::string& text);
  // `length` tokens after the prompt, drawn one at a time through Model::step (the prompt is
  // fed first; its tokens the vocabulary lacks are read as [UNK]); on_piece (optional) gets
  // each token's text as it is drawn. Returns the generated text without the prompt.
  std::string generate(std::string_view prompt, int64_t length, SamplingOptions sampling = {},
                       const std::function<void(const std::string&)>& on_piece = {});
  // The model file with the vocabulary in its metadata (kVocabularyKey) and "lstm.text"
  // ({"lookback": ...}); load refuses a model file without them.
  void save(const std::string& path);
  static LanguageModel load(const std::string& path);
};

// Trains a language model on one text (UTF-8; `what` names it in messages).
LanguageModel train_language_model(const std::string& text, const LanguageModelOptions& options = {},
                                   const std::string& what = "the text");

// The network and training of train_language_model on streams of ids already made (music.h
// trains on note tokens with it): the model above (options.vocabulary is not used), trained on
// next_token_windows of train_ids (less the validation part, when options.validation > 0) and
// scored on windows of held_ids (at most lookback tokens each, from a fresh state). Throws
// lstm::Error when the training ids hold less than one window, or the validation or held-out
// ids fewer than 2.
struct NextTokenModel {
  Sequential model;
  History history;
  TextScore heldout;
};
NextTokenModel train_next_token_model(std::span<const int64_t> train_ids, std::span<const int64_t> held_ids,
                                      int64_t vocabulary_size, const LanguageModelOptions& options,
                                      const std::string& name = "language_model");
// The next-token loss of `model` on ids, in windows of `lookback` (one shorter window when ids
// are fewer than lookback + 1); at least 2 ids.
TextScore score_next_tokens(Sequential& model, std::span<const int64_t> ids, int64_t lookback);

// ---- text classification -----------------------------------------------------------------
//
//   lstm::LabeledTexts data = lstm::read_labeled_texts("reviews.tsv", "text", "label");
//   lstm::TextClassifier c = lstm::train_text_classifier(data, {.epochs = 10});
//   std::cout << c.test.table();                       // accuracy, per-class P/R/F1, confusion
//   std::vector<std::string> labels = c.predict(new_texts);
//
// The model: Embedding(V, embedding, mask_zero) -> LSTM(units) -> Dense(1, sigmoid) for two
// classes (binary cross-entropy) or Dense(K, softmax) for more (sparse categorical
// cross-entropy), on the first max_length words of each text; labels are kept as strings, in
// sorted order (the first is class 0). The samples are shuffled with the seed and the last
// test_fraction held out: never trained on, scored at the end (and as val_loss every epoch).

// The text and label of every row of a .csv (RFC 4180), .tsv (a header, tab-separated, no
// quoting) or .jsonl (one JSON object per line) file. label_column empty: texts only.
// `where`: only the rows whose column holds one of the values (every filter must hold; a JSON
// value that is not a string compares as its JSON text), e.g. {{"source", {"amazon", "yelp"}}}.
struct LabeledTexts {
  std::vector<std::string> texts, labels;
};
struct RowFilter {
  std::string column;
  std::vector<std::string> values;
};
LabeledTexts read_labeled_texts(const std::string& path, const std::string& text_column,
                                const std::string& label_column, std::span<const RowFilter> where = {});

struct ClassifierOptions {
  VocabularyOptions vocabulary = {.max_tokens = 20000};
  int64_t max_length = 100;
  int embedding = 32, units = 64;
  int epochs = 10, batch_size = 32;
  float learning_rate = 0.005f;
  double test_fraction = 0.2;  // in (0, 0.5]
  uint64_t seed = 42;
  int verbose = 1;
};

struct ClassificationReport {
  std::vector<std::string> labels;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  double accuracy = 0.0;
  std::vector<double> precision, recall, f1;  // per class (0 where undefined)
  int64_t samples() const;
  std::string table() const;  // accuracy, the per-class table and the confusion matrix
};
// The report of `predicted` against `truth` (indices into labels).
ClassificationReport classification_report(const std::vector<std::string>& labels,
                                           const std::vector<int64_t>& truth,
                                           const std::vector<int64_t>& predicted);
// The report of each row's most probable class (probabilities [N, K], K = labels.size(), labels
// sorted) against the true labels; throws lstm::Error for a label that is not among them,
// naming the `sample` ("text", "clip") and its index.
ClassificationReport classification_report(const std::vector<std::string>& labels,
                                           const Tensor& probabilities,
                                           std::span<const std::string> truth,
                                           const std::string& sample);

struct TextClassifier {
  Sequential model;
  Vocabulary vocabulary;
  std::vector<std::string> labels;
  int64_t max_length = 100;
  History history;            // of training (empty after load)
  ClassificationReport test;  // of training, on the held-out part (empty after load)

  // [N, K] class probabilities of each text (K = labels.size()).
  Tensor probabilities(std::span<const std::string> texts);
  std::vector<std::string> predict(std::span<const std::string> texts);
  ClassificationReport evaluate(std::span<const std::string> texts, std::span<const std::string> labels);
  // The model file with the vocabulary (kVocabularyKey) and "lstm.classifier" ({"labels",
  // "max_length"}) in its metadata.
  void save(const std::string& path);
  static TextClassifier load(const std::string& path);
};

TextClassifier train_text_classifier(const LabeledTexts& data, const ClassifierOptions& options = {},
                                     const std::string& what = "the data");

// Throws lstm::Error "<what> is not UTF-8: byte 0xC3 at offset 1,204 ... save it as UTF-8" at
// the first byte that does not start or continue a well-formed sequence.
void check_utf8(std::string_view text, const std::string& what);
// The lines of a text file's bytes: split at '\n', a line's trailing '\r' dropped; a last line
// without a newline counts, and a text ending in '\n' has no empty line after it. Views into
// `text`.
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace lstm
