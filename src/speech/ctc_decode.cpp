// Reading CTC outputs back as labels: best path and prefix beam search. See include/lstm/ctc.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lstm/ctc.h"
#include "lstm/error.h"
#include "speech/log_space.h"

namespace lstm {


static void check_shape(const char* what, int64_t T, int64_t C, int64_t row_stride) {
  if (T < 0 || C < 2 || row_stride < C)
    throw Error(std::string(what) + ": needs T >= 0, C >= 2 (the blank and a label) and row_stride >= C; got T = " +
                std::to_string(T) + ", C = " + std::to_string(C) + ", row_stride = " + std::to_string(row_stride));
}

std::vector<int> ctc_greedy_decode(const float* logits, int64_t T, int64_t C, int64_t row_stride) {
  if (row_stride == 0) row_stride = C;
  check_shape("ctc_greedy_decode", T, C, row_stride);
  std::vector<int> out;
  int previous = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* z = logits + t * row_stride;
    const int k = int(std::max_element(z, z + C) - z);
    if (k != 0 && k != previous) out.push_back(k);
    previous = k;
  }
  return out;
}

namespace {

// The lexicon as a trie over labels; node 0 is the start of a word.
struct LexiconTrie {
  std::vector<std::vector<int>> next;  // next[node][label] = child, -1 none
  std::vector<char> word_end;
  int separator = -1;

  LexiconTrie(const CtcLexicon& lex, int64_t C) : separator(lex.separator) {
    if (lex.separator < 1 || lex.separator >= C)
      throw Error("ctc_beam_search: the lexicon's separator " + std::to_string(lex.separator) +
                  " is not a label in 1.." + std::to_string(C - 1));
    if (lex.words.empty()) throw Error("ctc_beam_search: the lexicon has no words");
    next.emplace_back(size_t(C), -1);
    word_end.push_back(0);
    for (size_t w = 0; w < lex.words.size(); ++w) {
      const std::vector<int>& word = lex.words[w];
      if (word.empty()) throw Error("ctc_beam_search: lexicon word " + std::to_string(w) + " is empty");
      int node = 0;
      for (int label : word) {
        if (label < 1 || label >= C || label == lex.separator)
          throw Error("ctc_beam_search: lexicon word " + std::to_string(w) + " holds label " + std::to_string(label) +
                      ", which is the separator or outside 1.." + std::to_string(C - 1));
        int& child = next[size_t(node)][size_t(label)];
        if (child < 0) {
          child = int(next.size());
          next.emplace_back(size_t(C), -1);
          word_end.push_back(0);
        }
        node = next[size_t(node)][size_t(label)];
      }
      word_end[size_t(node)] = 1;
    }
  }
  // The trie node after `label` from `node`, or -1 when the lexicon does not allow it.
  int step(int node, int label) const {
    if (label == separator) return word_end[size_t(node)] ? 0 : -1;
    return next[size_t(node)][size_t(label)];
  }
};

// A prefix: a node of the tree of every prefix seen, so that extending one copies nothing.
struct PrefixNode {
  int parent;
  int label;    // its last label (0 for the empty prefix)
  int lexicon;  // the trie node it ends in (0 without a lexicon)
  int words;    // the words it holds (with a lexicon; a word counts from its first label)
};

struct Scores {
  double blank = kNegInf, label = kNegInf;  // log P of the paths ending in a blank / its last label
  double total() const { return log_add(blank, label); }
};

}  // namespace

std::vector<CtcHypothesis> ctc_beam_search(const float* logits, int64_t T, int64_t C,
                                           const CtcBeamOptions& options, int64_t row_stride) {
  if (row_stride == 0) row_stride = C;
  check_shape("ctc_beam_search", T, C, row_stride);
  if (options.beam < 1) throw Error("ctc_beam_search: beam must be at least 1, got " + std::to_string(options.beam));
  std::unique_ptr<LexiconTrie> trie;
  if (options.lexicon) trie = std::make_unique<LexiconTrie>(*options.lexicon, C);
  if (!std::isfinite(options.word_score) || (options.word_score != 0.0f && !trie))
    throw Error("ctc_beam_search: word_score must be finite and needs a lexicon (it scores words), got " +
                std::to_string(options.word_score));

  std::vector<PrefixNode> nodes = {{-1, 0, 0, 0}};
  std::unordered_map<int64_t, int> children;  // parent * C + label -> node
  auto child = [&](int parent, int label, int lexicon) {
    const int64_t key = int64_t(parent) * C + label;
    auto it = children.find(key);
    if (it != children.end()) return it->second;
    const PrefixNode& p = nodes[size_t(parent)];
    const bool starts_word = trie && label != trie->separator && (p.label == 0 || p.label == trie->separator);
    nodes.push_back({parent, label, lexicon, p.words + (starts_word ? 1 : 0)});
    children.emplace(key, int(nodes.size()) - 1);
    return int(nodes.size()) - 1;
  };
  std::vector<std::pair<int, Scores>> beam = {{0, Scores{0.0, kNegInf}}};
  std::unordered_map<int, Scores> next;
  std::vector<double> y(static_cast<size_t>(C));
  for (int64_t t = 0; t < T; ++t) {
    const float* z = logits + t * row_stride;
    const double mx = *std::max_element(z, z + C);
    double sum = 0.0;
    for (int64_t k = 0; k < C; ++k) sum += std::exp(double(z[k]) - mx);
    const double lse = mx + std::log(sum);
    for (int64_t k = 0; k < C; ++k) y[size_t(k)] = double(z[k]) - lse;
    next.clear();
    for (const auto& [n, sc] : beam) {
      const PrefixNode node = nodes[size_t(n)];  // a copy: child() may grow `nodes`
      const double total = sc.total();
      Scores& stay = next[n];
      stay.blank = log_add(stay.blank, total + y[0]);                                   // a blank
      if (node.label != 0) stay.label = log_add(stay.label, sc.label + y[size_t(node.label)]);  // the last label again
      for (int k = 1; k < C; ++k) {
        if (y[size_t(k)] < options.prune_log_probability) continue;
        int lexicon = 0;
        if (trie) {
          lexicon = trie->step(node.lexicon, k);
          if (lexicon < 0) continue;
        }
        // the last label again starts a new one only after a blank
        const double from = k == node.label ? sc.blank : total;
        if (from == kNegInf) continue;
        const int c = child(n, k, lexicon);
        Scores& grow = next[c];
        grow.label = log_add(grow.label, from + y[size_t(k)]);
      }
    }
    beam.assign(next.begin(), next.end());
    const size_t keep = std::min(beam.size(), size_t(options.beam));
    auto better = [&](const std::pair<int, Scores>& a, const std::pair<int, Scores>& b) {
      const double ta = a.second.total() + options.word_score * nodes[size_t(a.first)].words,
                   tb = b.second.total() + options.word_score * nodes[size_t(b.first)].words;
      return ta != tb ? ta > tb : a.first < b.first;  // ties by node: the same run to run
    };
    std::partial_sort(beam.begin(), beam.begin() + ptrdiff_t(keep), beam.end(), better);
    beam.resize(keep);
  }
  std::vector<CtcHypothesis> out;
  for (const auto& [n, sc] : beam) {
    const PrefixNode& node = nodes[size_t(n)];
    if (trie && n != 0 && (node.label == trie->separator || !trie->word_end[size_t(node.lexicon)])) continue;
    CtcHypothesis h;
    h.log_probability = sc.total();
    for (int m = n; m > 0; m = nodes[size_t(m)].parent) h.labels.push_back(nodes[size_t(m)].label);
    std::reverse(h.labels.begin(), h.labels.end());
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace lstm
