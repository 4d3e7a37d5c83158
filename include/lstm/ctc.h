// lstm/ctc.h - connectionist temporal classification (Graves et al. 2006): a loss that trains
// a network emitting one distribution over labels per frame to output a label sequence shorter
// than its input, without knowing which frames carry which label; and the two ways to read its
// output back as text.
//
//   model.compile(lstm::Adam(), lstm::loss::ctc);        // last layer: Dense(labels + 1), logits
//   model.fit(X, Y, {.lengths = frames});                // Y [N, L]: label ids 1.., 0 padding
//   std::vector<int> ids = lstm::ctc_greedy_decode(logits, T, C);
//   auto best = lstm::ctc_beam_search(logits, T, C, {.beam = 16});
//
// Notation, for one sequence: T frames, C classes (class 0 is the blank, 1..C-1 the labels),
// y_t(k) = log softmax(z_t)(k) the log-probability of class k at frame t from the logits z_t,
// l = (l_1 .. l_L) the target labels (each in 1..C-1), l' = (0, l_1, 0, l_2, .., 0, l_L, 0) the
// target with blanks around every label (S = 2L + 1 entries).
//
// A path π (one class per frame) reads as B(π): repeated classes merged, then blanks dropped
// ("aa_ab" -> "aab" with _ the blank). P(l | z) = Σ_{π: B(π) = l} Π_t exp(y_t(π_t)), and the loss
// is -log P(l | z). It is computed in log space by the forward-backward recursions:
//   α_0(0) = y_0(0), α_0(1) = y_0(l_1), α_0(s) = -inf for s >= 2
//   α_t(s) = y_t(l'_s) + log( e^{α_{t-1}(s)} + e^{α_{t-1}(s-1)} [+ e^{α_{t-1}(s-2)}] )
//   β_{T-1}(S-1) = y_{T-1}(0), β_{T-1}(S-2) = y_{T-1}(l_L), others -inf
//   β_t(s) = y_t(l'_s) + log( e^{β_{t+1}(s)} + e^{β_{t+1}(s+1)} [+ e^{β_{t+1}(s+2)}] )
// where the bracketed term (a skip over a blank) is there only when l'_s is a label different
// from l'_{s-2} (resp. l'_{s+2}): two equal labels in a row need a blank between them.
//   log P = log( e^{α_{T-1}(S-1)} + e^{α_{T-1}(S-2)} )
// The gradient with respect to the logits (the softmax folded in):
//   ∂(-log P)/∂z_t(k) = e^{y_t(k)} - γ_t(k),  γ_t(k) = Σ_{s: l'_s = k} e^{α_t(s) + β_t(s) - y_t(k) - log P}
// γ_t(k) is the probability that frame t emits class k, given the target.
//
// A sequence needs T >= L + (the number of adjacent equal labels) frames; with fewer, no path
// reads as l, P = 0 and the loss is +infinity (PyTorch's ctc_loss with zero_infinity = false).
// Same numbers as torch.nn.functional.ctc_loss(log_softmax(z), ..., blank = 0) per sequence
// (reduction 'none'); tested to 1e-5, loss and gradient.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lstm {

// The frames a label sequence needs under CTC: L plus one blank between each pair of equal
// neighbours.
int64_t ctc_min_frames(std::span<const int> labels);

// -log P(labels | logits) for one sequence. logits: T rows of C values, row t at
// logits + t * row_stride (row_stride >= C; C for a dense [T, C] array, B·C for the time-major
// [T, B, C] batch a model keeps). When dlogits is not null, writes ∂(-log P)/∂z in the same
// layout, multiplied by `scale` (the frames' rows only; a row's other entries untouched);
// an impossible target (too few frames) gives +infinity and zero gradient there.
// Throws lstm::Error for a label outside 1..C-1, T < 1, C < 2 or row_stride < C.
double ctc_loss(const float* logits, int64_t T, int64_t C, int64_t row_stride,
                std::span<const int> labels, float* dlogits = nullptr, float scale = 1.0f);

// ---- decoding ------------------------------------------------------------------------------
//
// Best path (greedy): the most likely class per frame, repeats merged, blanks dropped. Fast and
// usually within a little of beam search for a well-trained model.
std::vector<int> ctc_greedy_decode(const float* logits, int64_t T, int64_t C, int64_t row_stride = 0);

// A lexicon: words as label sequences, and the label that separates words (a space). With one,
// beam search only outputs sequences of its words joined by single separators: a digit
// recogniser that can say nothing but digits.
struct CtcLexicon {
  std::vector<std::vector<int>> words;  // each non-empty, labels in 1..C-1, none the separator
  int separator = -1;                   // the label between words, in 1..C-1
};

struct CtcBeamOptions {
  int beam = 16;                   // prefixes kept after each frame
  const CtcLexicon* lexicon = nullptr;  // optional constraint (must outlive the call)
  // Classes whose probability at a frame is below this are not tried as extensions there
  // (a prune on the frame's own distribution; 0: every class). Log-probability threshold.
  float prune_log_probability = -20.0f;
  // With a lexicon: added to a prefix's score for each word it holds (the "word insertion
  // penalty" of classic decoders when negative: pocketsphinx's -wip, pyctcdecode's beta).
  // The beam ranks prefixes by log P + word_score × words; log_probability stays log P.
  float word_score = 0.0f;
};

struct CtcHypothesis {
  std::vector<int> labels;
  double log_probability = 0.0;  // log P(labels | logits) summed over the paths the beam kept
};

// Prefix beam search (Graves 2012 §7.5; Hannun et al. 2014): a beam over label prefixes, each
// with the log-probability of the kept paths that read as it and end in a blank (p_b) or in its
// last label (p_nb), so that paths merging into one prefix add up (which best-path decoding
// cannot do). Each frame, every prefix stays (a blank, or its last label repeated) or grows by
// one label (its last label again only after a blank); the `beam` most likely prefixes go on.
// Returns the hypotheses found, best first (at most `beam`); with a lexicon, only those that end
// on a whole word (an empty result when no prefix in the beam does).
std::vector<CtcHypothesis> ctc_beam_search(const float* logits, int64_t T, int64_t C,
                                           const CtcBeamOptions& options = {},
                                           int64_t row_stride = 0);

}  // namespace lstm
