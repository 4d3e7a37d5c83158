// lstm/seq2seq.h - sequence to sequence: encoder-decoder LSTMs with attention, for translation
// and pronunciation (Sutskever et al. 2014; Bahdanau et al. 2015; Luong et al. 2015).
//
//   lstm::Seq2seqArchitecture a{.source_vocabulary = 30, .target_vocabulary = 72,
//                               .attention = lstm::AttentionKind::general};
//   lstm::Model model = lstm::seq2seq_model(a);        // inputs "source", "target_in"
//   model.compile(lstm::Adam(), {lstm::LossKind::scce, false, 0.1f});   // label smoothing 0.1
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
//   out -> Dropout "output_dropout" -> Dense(V, softmax) "output": (Tt, V) probabilities
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
// batch; a step allocates nothing.
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

}  // namespace lstm
