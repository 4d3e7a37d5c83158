// Pairs files (lstm seq2seq train --pairs): any bytes as a file of source<TAB>target lines, and
// what it holds scored against itself shifted by one pair (edit distance, BLEU, chrF on
// hostile UTF-8): a clean rejection or finite scores in range.
#include <cmath>

#include "fuzz.h"
#include "lstm/seq2seq.h"

static void check(const std::string& bytes) {
  const lstm::TextPairs p = lstm::parse_pairs(bytes, "fuzz.tsv");
  std::vector<std::string> shifted(p.targets.begin() + 1, p.targets.end());
  shifted.push_back(p.targets.front());
  for (lstm::TextLevel level : {lstm::TextLevel::character, lstm::TextLevel::word}) {
    const lstm::SequenceScores s = lstm::score_sequences(p.sources, shifted, level);
    const double values[] = {s.exact_match, s.token_error_rate, s.word_error_rate, s.bleu, s.chrf};
    for (double v : values)
      if (!std::isfinite(v) || v < 0.0) __builtin_trap();
    if (s.bleu > 100.0 + 1e-9 || s.chrf > 100.0 + 1e-9 || s.exact_match > 1.0) __builtin_trap();
    const lstm::SequenceScores same = lstm::score_sequences(p.targets, p.targets, level);
    if (same.exact_match != 1.0 || same.token_error_rate != 0.0) __builtin_trap();
  }
}

LSTM_FUZZ_TARGET({ check(bytes); })
