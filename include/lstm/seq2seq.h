// lstm/seq2seq.h - sequence to sequence: encoder-decoder LSTMs with attention, for translation
// and pronunciation (Sutskever et al. 2014; Bahdanau et al. 2015; Luong et al. 2015).
//
//   lstm::Seq2seqArchitecture a{.source_vocabulary = 30, .target_vocabulary = 72,
//                               .attention = lstm::AttentionKind::general};
//   lstm::Model model = lstm::seq2seq_model(a);        // inputs "source", "target_in"
//   model.compile(lstm::Adam(), {lstm::LossKind::scce, true, 0.1f});   // logits, label smoothing 0.1
//   model.fit({X_source, X_target_in}, y_target_out, {.epochs = 10, .bucket_by_length = true});
//
// Token ids: 0 is padding on both sides (sequences right-padded with 0); the target side's
// sequences start with a start token and its outputs end with an end token, ids the caller
// chooses inside target_vocabulary (the job below takes the vocabulary's size and size + 1).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstm/functional.h"
#include "lstm/text.h"

namespace lstm {

// ---- the network -------------------------------------------------------------------------
//
// Built from the public layers (lstm/functional.h), so that the graph is a Model like any
// other: summary(), save(), fit(). Dimensions: Ts, Tt = source and target steps, E = embedding,
// H = units, V = target_vocabulary.
//
//   source [Ts] -> Embedding(mask_zero) "source_embedding" -> Dropout "source_dropout"
//     -> LSTM(H) "encoder_1" .. "encoder_<layers>"   (bidirectional: Bidirectional(LSTM(H/2)),
//        each returning its sequence and final states; a bidirectional layer's states are the
//        two directions' joined, "encoder_<k>_h" / "encoder_<k>_c" Concatenate layers)
//     -> enc (Ts, H)
//   target_in [Tt] -> Embedding(mask_zero) "target_embedding" -> Dropout "target_dropout"
//     -> LSTM(H) "decoder_1" .. "decoder_<layers>", layer k started from encoder k's final states
//     -> dec (Tt, H)
//   attention (Luong et al.'s global attention, on the decoder's output; no input feeding):
//     none        out = dec                                         (Sutskever et al.)
//     dot         ctx = Attention "attention" (dec, enc)            score = dec_t · enc_s
//     general     ctx = Attention "attention" (dec, enc, Wk·enc)    score = dec_tᵀ·Wk·enc_s
//                 Wk: Dense(H, no bias) "attention_key"
//     additive    ctx = AdditiveAttention "attention" (Wq·dec, enc, Wk·enc)
//                 score = vᵀ·tanh(Wq·dec_t + Wk·enc_s)              (Bahdanau et al.'s score)
//                 Wq, Wk: Dense(H, no bias) "attention_query", "attention_key",
//                 v: the attention layer's learned "scale"
//     then        out = Dense(H, tanh) "attentional" ([ctx, dec])   (Luong's h̃_t; the join is
//                 the Concatenate "context_and_state")
//   out -> Dropout "output_dropout" -> Dense(V) "output": (Tt, V) logits, to train with
//          sparse categorical cross-entropy from logits (PyTorch's CrossEntropyLoss); their
//          softmax is the next token's probabilities
//
// Padding: the source's mask leaves padded keys out of the attention and its padded steps out
// of the encoder (each sequence's final state is its last valid step's); the target's mask
// leaves padded steps out of the loss.
enum class AttentionKind { none, dot, general, additive };
const char* attention_kind_name(AttentionKind kind);  // "none", "dot", "general", "additive"
// Throws lstm::Error listing the four names.
AttentionKind attention_kind_from_name(const std::string& name);

struct Seq2seqArchitecture {
  int64_t source_vocabulary = 0;  // source ids 0..source_vocabulary-1 (0 padding)
  int64_t target_vocabulary = 0;  // target ids 0..target_vocabulary-1 (0 padding; start, end)
  int embedding = 64;             // E, both sides
  int units = 128;                // H: the encoder's output width and the decoder's units
  int layers = 1;                 // encoder and decoder LSTMs, stacked
  bool bidirectional = false;     // the encoder reads both ways, H/2 units each (H even)
  AttentionKind attention = AttentionKind::general;
  float dropout = 0.0f;           // the three Dropout layers' rate, in [0, 1)
};

// The network above (weights from `seed`); throws lstm::Error naming a field out of range.
Model seq2seq_model(const Seq2seqArchitecture& a, uint64_t seed = 42);

// ---- decoding ----------------------------------------------------------------------------
//
//   lstm::Seq2seqDecoder decoder(model, a, start_id, end_id);
//   std::vector<lstm::Decoded> out = decoder.decode(sources, {.beam = 5});   // out[n].ids
//
// The encoder runs once per batch of sources (a Model of its own, the trained weights copied by
// name); the decoder then advances every hypothesis of the batch one token per step: the
// target embedding, the LSTM layers (the fused step kernel), the attention over that source's
// valid steps, the attentional and output layers, log-softmax. Its buffers are sized once per
// batch, so a step allocates nothing of its own (the GEMM library may keep scratch of its own;
// the beam's bookkeeping holds each hypothesis's tokens).
//
// Beam search keeps the `beam` best hypotheses of each source: every live one extended by every
// token (padding and the start token excepted), the candidates ranked by log P; an end token
// ranked among the first `beam` finishes its hypothesis (score = log P / length^length_penalty,
// the length counting the end token), and the best `beam` candidates that do not end go on. A
// source is done once `beam` hypotheses have finished, or none is live, or - without length
// normalisation - none live is more likely than the best finished (log P only falls as a
// hypothesis grows); after max_length tokens only the end token may follow. The result is the
// best-scoring finished hypothesis. Beam 1 is greedy decoding: the most likely token each step.
struct DecodeOptions {
  int beam = 1;                 // 1: greedy
  int64_t max_length = 0;       // most tokens before the end token; 0: 2 × the source's + 10
  float length_penalty = 1.0f;  // α >= 0: hypotheses compared by log P / length^α
  int64_t batch_size = 64;      // sources decoded together
  bool attention = false;       // keep each output step's attention weights
};

struct Decoded {
  std::vector<int64_t> ids;      // target ids, without the start and end tokens
  double log_probability = 0.0;  // log P(ids, end | source): Σ of the steps' log-probabilities
  double score = 0.0;            // log_probability / (ids.size() + 1)^α
  // (ids.size() + 1, source length) row-major: the weights each output step (the end token's
  // last) gave the source's tokens, when DecodeOptions::attention and the model has attention
  std::vector<float> attention;
};

class Seq2seqDecoder {
 public:
  // A decoder for `model`, a network of seq2seq_model(a) (its layers found by name; throws
  // lstm::Error naming one that is missing or of the wrong shape). start_id and end_id are
  // target ids in 1..target_vocabulary-1.
  Seq2seqDecoder(const Model& model, const Seq2seqArchitecture& a, int64_t start_id, int64_t end_id);
  ~Seq2seqDecoder();
  Seq2seqDecoder(Seq2seqDecoder&&) noexcept;
  Seq2seqDecoder& operator=(Seq2seqDecoder&&) noexcept;

  // One result per source (ids in 1..source_vocabulary-1, at least one each).
  std::vector<Decoded> decode(std::span<const std::vector<int64_t>> sources, const DecodeOptions& options = {});
  // log P(target, end | source), the target fed one token at a time through the same steps.
  double log_probability(const std::vector<int64_t>& source, const std::vector<int64_t>& target);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- scores ------------------------------------------------------------------------------
//
// Tokens: at the word level the runs between ASCII whitespace, at the character level every
// Unicode code point (whitespace included), as lstm::Vocabulary splits them (no
// standardisation: compare texts as the model writes them).

// The words of a text (runs between ASCII whitespace) and its code points.
std::vector<std::string> split_words(std::string_view text);
std::vector<std::string> split_characters(std::string_view text);

// Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b.
int64_t edit_distance(std::span<const std::string> a, std::span<const std::string> b);

// Corpus BLEU-4 in 0..100 on tokenised text, as sacreBLEU's corpus_bleu(tokenize="none") with
// its default "exp" smoothing: clipped n-gram matches and hypothesis n-grams (n = 1..4) summed
// over the corpus, geometric mean of their ratios (an order without match counts 1/(2^k·total)
// for its k-th occurrence), times the brevity penalty exp(1 - ref/hyp tokens) when the
// hypotheses are shorter. 0 when the hypotheses hold no 4-gram. One reference per hypothesis.
double corpus_bleu(std::span<const std::vector<std::string>> hypotheses,
                   std::span<const std::vector<std::string>> references);

// Corpus chrF in 0..100, as sacreBLEU 2's CHRF() default: character n-grams n = 1..6 without
// whitespace, their counts summed over the corpus; precision and recall averaged over the
// orders both sides have, then F_β with β = 2.
double corpus_chrf(std::span<const std::string> hypotheses, std::span<const std::string> references);

struct SequenceScores {
  int64_t sequences = 0;
  double exact_match = 0.0;       // the fraction of outputs equal to their reference, token by token
  double token_error_rate = 0.0;  // Σ edit distance / Σ reference tokens (e.g. phoneme error rate)
  double word_error_rate = 0.0;   // the same on words
  double bleu = 0.0, chrf = 0.0;  // corpus BLEU-4 on words, corpus chrF
  std::string table() const;      // one metric per line
};

// The scores of outputs against references (UTF-8, one each), tokens at `level`. Throws
// lstm::Error for unequal counts, no pair, or text that is not UTF-8.
SequenceScores score_sequences(std::span<const std::string> hypotheses, std::span<const std::string> references,
                               TextLevel level);

// ---- the job: pairs of texts to a translator -----------------------------------------------
//
//   lstm::TextPairs pairs = lstm::read_pairs("cmudict.tsv");          // source<TAB>target lines
//   lstm::Translator t = lstm::train_seq2seq(pairs, {.target = {.level = lstm::TextLevel::word}});
//   std::cout << t.test.table();                                      // held-out scores
//   std::string out = t.translate({"HELLO"}, {.beam = 5})[0];         // "HH AH0 L OW1"
//   t.save("g2p.safetensors");
//
// Each side has its own vocabulary (lstm/text.h: ids 0 padding, 1 "[UNK]", then the tokens);
// the target side adds a start token (id V) and an end token (id V + 1), V its vocabulary's
// size, so the network's target_vocabulary is V + 2. The pairs are shuffled with the seed and
// the last test_fraction held out: never trained on, decoded at the end (test) and, up to
// monitor_pairs of them, greedily after every epoch (History "test_exact_match",
// "test_token_error_rate", "test_bleu", "test_chrf"). With validation > 0 that fraction of the
// training pairs stops training once its loss has not improved for `patience` epochs, the best
// epoch's weights kept. Training: Adam with global_clipnorm, label-smoothed cross-entropy from
// the logits on the valid target steps, batches bucketed by length (FitOptions::bucket_by_length).
//
// Tokens a vocabulary lacks read as [UNK] (id 1); a source with no token at all is refused.

// The pairs of a file of lines "source<TAB>target" (UTF-8; a line ending "\r\n" is read
// without the "\r"; a last line without a newline counts). Throws lstm::Error naming the line
// and the fix for a line without exactly one tab, an empty source or target, or bytes that are
// not UTF-8; and for a file with no pair.
struct TextPairs {
  std::vector<std::string> sources, targets;
};
TextPairs read_pairs(const std::string& path);
// The same on a file's bytes; `what` names it in messages.
TextPairs parse_pairs(std::string_view text, const std::string& what);

// Initial weights: `pytorch` (the default) draws as PyTorch's modules do - embeddings N(0, 1),
// LSTM weights U(-1/sqrt(h), 1/sqrt(h)) for h units per direction (the bias the sum of two
// such draws, for PyTorch's two), Dense weights and biases U(-1/sqrt(in), 1/sqrt(in)), the
// additive attention's v U(-1/sqrt(H), 1/sqrt(H)); `keras` keeps the layers' Keras initialisers.
// On 8,000 of CMUdict's words, 5 epochs reach a phoneme error rate of 0.303 from pytorch and
// 0.334 from keras (the small Keras embeddings learn slowly at first).
enum class Seq2seqInit { pytorch, keras };
// Redraws every weight of a seq2seq_model network as `pytorch` says, from `seed`.
void init_seq2seq_like_pytorch(Model& model, uint64_t seed);

struct Seq2seqOptions {
  VocabularyOptions source = {.level = TextLevel::character, .standardize = Standardize::none};
  VocabularyOptions target = {.level = TextLevel::character, .standardize = Standardize::none};
  // The network; its vocabulary sizes come from the data.
  Seq2seqArchitecture architecture;
  // Tokens at most per source and per target (0: no limit): a longer one is refused, naming
  // its pair, so that nothing is cut silently.
  int64_t max_source_length = 0, max_target_length = 0;
  int epochs = 10, batch_size = 64;
  float learning_rate = 2e-3f, clipnorm = 5.0f, label_smoothing = 0.1f;
  double test_fraction = 0.1;  // in (0, 0.5]
  // Held-out pairs given apart (a fixed split): then every pair given to train_seq2seq is
  // trained on (less the validation part) and test_fraction is not used.
  TextPairs test;
  double validation = 0.0;     // in [0, 0.5): a part of the training pairs, for early stopping
  int patience = 3;
  int64_t monitor_pairs = 200;  // held-out pairs decoded after each epoch (0: none)
  DecodeOptions decode;         // for the test scores
  Seq2seqInit init = Seq2seqInit::pytorch;
  uint64_t seed = 42;
  int verbose = 1;  // as FitOptions::verbose
};

struct Translator {
  Model model;
  Seq2seqArchitecture architecture;
  Vocabulary source_vocabulary, target_vocabulary;
  int64_t max_source_length = 0, max_target_length = 0;  // as trained (0: no limit)
  History history;               // of training (empty after load)
  double train_seconds = 0.0;    // fit()'s wall time, the held-out decoding left out (0 after load)
  SequenceScores test;           // of training, on the held-out pairs (sequences 0 after load)
  TextPairs test_pairs;          // those pairs, and what the translator made of them
  std::vector<std::string> test_outputs;

  int64_t start_id() const { return target_vocabulary.size(); }
  int64_t end_id() const { return target_vocabulary.size() + 1; }
  // The outputs for the sources (UTF-8), decoded as `options` says.
  std::vector<std::string> translate(std::span<const std::string> sources, const DecodeOptions& options = {});
  // The same with their ids, scores and attention (for the picture: source tokens
  // source_vocabulary.split(source), output tokens target_vocabulary.token(id)).
  std::vector<Decoded> decode(std::span<const std::string> sources, const DecodeOptions& options = {});
  // The scores of the outputs for pairs.sources against reference(pairs.targets[k]); the
  // outputs, when asked for, in `outputs`.
  SequenceScores evaluate(const TextPairs& pairs, const DecodeOptions& options = {},
                          std::vector<std::string>* outputs = nullptr);
  // A target as the target vocabulary reads it (standardised, split, joined again): what an
  // output is compared with.
  std::string reference(const std::string& target) const;
  // The model file with both vocabularies and "lstm.seq2seq" (the architecture, the levels, the
  // limits) in its metadata; load refuses a file without them, naming what it is instead.
  void save(const std::string& path);
  static Translator load(const std::string& path);
};

Translator train_seq2seq(const TextPairs& pairs, const Seq2seqOptions& options = {},
                         const std::string& what = "the pairs");

}  // namespace lstm
