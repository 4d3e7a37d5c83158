// Scores of output sequences against references (include/lstm/seq2seq.h): edit distance, exact
// match, token and word error rates, corpus BLEU-4 and chrF as sacreBLEU computes them.
//
// BLEU (Papineni et al. 2002, sacreBLEU's corpus_bleu with tokenize="none", smooth "exp"):
//   m_n, t_n   clipped n-gram matches and hypothesis n-grams, summed over the corpus (n = 1..4)
//   p_n        m_n / t_n; where m_n = 0, 1 / (2^k · t_n) for the k-th such order
//   BLEU       100 · BP · exp(mean_n log p_n), BP = exp(1 - r / c) when c < r, else 1
//              (c, r: hypothesis and reference tokens); 0 when some t_n = 0
// chrF (Popović 2015, sacreBLEU 2's CHRF(): character 6-grams, β = 2, whitespace removed):
//   per order n, hypothesis, reference and matched n-grams summed over the corpus;
//   P, R       the means of m_n / h_n and m_n / r_n over the orders with h_n > 0 and r_n > 0
//   chrF       100 · (1 + β²)·P·R / (β²·P + R)   (0 when no order counts, or P = R = 0)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <unordered_map>

#include "core/json.h"
#include "lstm/error.h"
#include "lstm/seq2seq.h"

namespace lstm {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// n-grams of a token sequence, counted; a key holds each token with its length in front, so two
// different n-grams never share a key whatever bytes the tokens hold.
std::unordered_map<std::string, int64_t> count_ngrams(const std::vector<std::string>& tokens, size_t n) {
  std::unordered_map<std::string, int64_t> counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    std::string key;
    for (size_t k = i; k < i + n; ++k) key += std::to_string(tokens[k].size()) + ':' + tokens[k];
    ++counts[key];
  }
  return counts;
}

// Σ over hypothesis n-grams of min(count in hypothesis, count in reference).
int64_t clipped_matches(const std::unordered_map<std::string, int64_t>& hyp,
                        const std::unordered_map<std::string, int64_t>& ref) {
  int64_t matched = 0;
  for (const auto& [key, count] : hyp) {
    auto it = ref.find(key);
    if (it != ref.end()) matched += std::min(count, it->second);
  }
  return matched;
}

void check_same_count(size_t hypotheses, size_t references, const char* metric) {
  if (hypotheses != references)
    throw Error(std::string(metric) + ": " + std::to_string(hypotheses) + " hypotheses but " +
                std::to_string(references) + " references: give one reference per hypothesis");
}

// The code points of a text without its whitespace, each as its UTF-8 bytes.
std::vector<std::string> characters_without_spaces(std::string_view text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::max<size_t>(1, utf8_sequence_length(text, at));
    if (!(n == 1 && is_space(text[at]))) out.emplace_back(text.substr(at, n));
    at += n;
  }
  return out;
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && is_space(text[at])) ++at;
    const size_t start = at;
    while (at < text.size() && !is_space(text[at])) ++at;
    if (at > start) out.emplace_back(text.substr(start, at - start));
  }
  return out;
}

std::vector<std::string> split_characters(std::string_view text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    const size_t n = std::max<size_t>(1, utf8_sequence_length(text, at));
    out.emplace_back(text.substr(at, n));
    at += n;
  }
  return out;
}

int64_t edit_distance(std::span<const std::string> a, std::span<const std::string> b) {
  // one row of the Levenshtein table: row[j] = distance(a[0..i), b[0..j))
  std::vector<int64_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = int64_t(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diagonal = row[0];  // distance(a[0..i-1), b[0..j-1))
    row[0] = int64_t(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

double corpus_bleu(std::span<const std::vector<std::string>> hypotheses,
                   std::span<const std::vector<std::string>> references) {
  check_same_count(hypotheses.size(), references.size(), "BLEU");
  constexpr size_t kOrder = 4;
  int64_t matches[kOrder] = {}, totals[kOrder] = {}, hyp_length = 0, ref_length = 0;
  for (size_t s = 0; s < hypotheses.size(); ++s) {
    hyp_length += int64_t(hypotheses[s].size());
    ref_length += int64_t(references[s].size());
    for (size_t n = 1; n <= kOrder; ++n) {
      const auto hyp = count_ngrams(hypotheses[s], n);
      matches[n - 1] += clipped_matches(hyp, count_ngrams(references[s], n));
      totals[n - 1] += hypotheses[s].size() >= n ? int64_t(hypotheses[s].size() - n + 1) : 0;
    }
  }
  double log_sum = 0.0, smooth = 1.0;
  for (size_t n = 0; n < kOrder; ++n) {
    if (totals[n] == 0) return 0.0;  // no n-gram of this order at all: sacreBLEU's log(0)
    if (matches[n] == 0) {
      smooth *= 2.0;
      log_sum += std::log(1.0 / (smooth * double(totals[n])));
    } else {
      log_sum += std::log(double(matches[n]) / double(totals[n]));
    }
  }
  const double brevity = hyp_length < ref_length ? std::exp(1.0 - double(ref_length) / double(hyp_length)) : 1.0;
  return 100.0 * brevity * std::exp(log_sum / double(kOrder));
}

double corpus_chrf(std::span<const std::string> hypotheses, std::span<const std::string> references) {
  check_same_count(hypotheses.size(), references.size(), "chrF");
  constexpr size_t kOrder = 6;
  constexpr double kBeta2 = 4.0;  // β = 2: recall weighs twice precision
  int64_t hyp_count[kOrder] = {}, ref_count[kOrder] = {}, matched[kOrder] = {};
  for (size_t s = 0; s < hypotheses.size(); ++s) {
    const std::vector<std::string> hyp = characters_without_spaces(hypotheses[s]);
    const std::vector<std::string> ref = characters_without_spaces(references[s]);
    for (size_t n = 1; n <= kOrder; ++n) {
      const auto h = count_ngrams(hyp, n), r = count_ngrams(ref, n);
      matched[n - 1] += clipped_matches(h, r);
      hyp_count[n - 1] += hyp.size() >= n ? int64_t(hyp.size() - n + 1) : 0;
      ref_count[n - 1] += ref.size() >= n ? int64_t(ref.size() - n + 1) : 0;
    }
  }
  double precision = 0.0, recall = 0.0;
  int orders = 0;
  for (size_t n = 0; n < kOrder; ++n) {
    if (hyp_count[n] == 0 || ref_count[n] == 0) continue;
    precision += double(matched[n]) / double(hyp_count[n]);
    recall += double(matched[n]) / double(ref_count[n]);
    ++orders;
  }
  if (orders == 0) return 0.0;
  precision /= orders, recall /= orders;
  const double denominator = kBeta2 * precision + recall;
  return denominator > 0.0 ? 100.0 * (1.0 + kBeta2) * precision * recall / denominator : 0.0;
}

SequenceScores score_sequences(std::span<const std::string> hypotheses, std::span<const std::string> references,
                               TextLevel level) {
  check_same_count(hypotheses.size(), references.size(), "score_sequences");
  SequenceScores s;
  s.sequences = int64_t(hypotheses.size());
  if (s.sequences == 0) throw Error("score_sequences: no sequence to score: give at least one pair");
  std::vector<std::vector<std::string>> hyp_words, ref_words;
  int64_t exact = 0, token_edits = 0, ref_tokens = 0, word_edits = 0, ref_word_count = 0;
  for (size_t k = 0; k < hypotheses.size(); ++k) {
    check_utf8(hypotheses[k], "hypothesis " + std::to_string(k + 1));
    check_utf8(references[k], "reference " + std::to_string(k + 1));
    const auto split = [&](const std::string& t) {
      return level == TextLevel::character ? split_characters(t) : split_words(t);
    };
    const std::vector<std::string> h = split(hypotheses[k]), r = split(references[k]);
    exact += h == r;
    token_edits += edit_distance(h, r);
    ref_tokens += int64_t(r.size());
    hyp_words.push_back(split_words(hypotheses[k]));
    ref_words.push_back(split_words(references[k]));
    word_edits += edit_distance(hyp_words.back(), ref_words.back());
    ref_word_count += int64_t(ref_words.back().size());
  }
  s.exact_match = double(exact) / double(s.sequences);
  s.token_error_rate = ref_tokens ? double(token_edits) / double(ref_tokens) : 0.0;
  s.word_error_rate = ref_word_count ? double(word_edits) / double(ref_word_count) : 0.0;
  s.bleu = corpus_bleu(hyp_words, ref_words);
  s.chrf = corpus_chrf(hypotheses, references);
  return s;
}

std::string SequenceScores::table() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "sequences          %lld\n"
                "exact match        %.4f\n"
                "sequence errors    %.4f\n"
                "token error rate   %.4f\n"
                "word error rate    %.4f\n"
                "BLEU-4             %.2f\n"
                "chrF               %.2f\n",
                (long long)sequences, exact_match, 1.0 - exact_match, token_error_rate,
                word_error_rate, bleu, chrf);
  return buf;
}

}  // namespace lstm
