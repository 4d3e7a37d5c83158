// The seq2seq job (include/lstm/seq2seq.h): pairs of texts read and checked, vocabularies,
// padded id tensors, training with bucketing and label smoothing, held-out scores, and the
// model file with everything decoding needs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "core/json.h"
#include "core/limits.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "lstm/error.h"
#include "lstm/seq2seq.h"

namespace lstm {

namespace {

constexpr const char* kSeq2seqKey = "lstm.seq2seq";
constexpr const char* kSourceVocabularyKey = "lstm.source_vocabulary";
constexpr const char* kTargetVocabularyKey = "lstm.target_vocabulary";

// Source ids of texts: unknown tokens [UNK]; a text with no token is refused (k counts from 1).
std::vector<std::vector<int64_t>> source_ids(const Vocabulary& v, std::span<const std::string> texts) {
  std::vector<std::vector<int64_t>> out;
  out.reserve(texts.size());
  for (size_t k = 0; k < texts.size(); ++k) {
    check_utf8(texts[k], "source " + std::to_string(k + 1));
    out.push_back(v.encode(texts[k]));
    if (out.back().empty())
      throw Error("source " + std::to_string(k + 1) + " ('" + texts[k] + "') has no token at the " +
                  (v.level() == TextLevel::word ? "word" : "character") + " level: give it some text");
  }
  return out;
}

// The decode options the translator uses: its trained target limit as the default max_length.
DecodeOptions with_limit(DecodeOptions o, int64_t max_target_length) {
  if (o.max_length == 0 && max_target_length > 0) o.max_length = max_target_length;
  return o;
}

// Held-out pairs decoded greedily after each epoch; the scores go to History afterwards.
class MonitorScores : public Callback {
 public:
  MonitorScores(Translator& t, std::vector<std::string> sources, std::vector<std::string> references)
      : t_(t), sources_(std::move(sources)), references_(std::move(references)) {}
  void on_epoch_end(Trainable&, int, const Logs&) override {
    const std::vector<std::string> out = t_.translate(sources_, {.beam = 1});
    const SequenceScores s = score_sequences(out, references_, t_.target_vocabulary.level());
    scores["test_exact_match"].push_back(s.exact_match);
    scores["test_token_error_rate"].push_back(s.token_error_rate);
    scores["test_word_error_rate"].push_back(s.word_error_rate);
    scores["test_bleu"].push_back(s.bleu);
    scores["test_chrf"].push_back(s.chrf);
    if (verbose)
      std::printf("  held-out sample (%zu pairs, greedy): exact match %.4f, token errors %.4f, BLEU %.2f, chrF %.2f\n",
                  sources_.size(), s.exact_match, s.token_error_rate, s.bleu, s.chrf);
  }
  std::map<std::string, std::vector<double>> scores;
  bool verbose = false;

 private:
  Translator& t_;
  std::vector<std::string> sources_, references_;
};

nlohmann::json architecture_json(const Seq2seqArchitecture& a) {
  return {{"source_vocabulary", a.source_vocabulary}, {"target_vocabulary", a.target_vocabulary},
          {"embedding", a.embedding}, {"units", a.units}, {"layers", a.layers},
          {"bidirectional", a.bidirectional}, {"attention", attention_kind_name(a.attention)},
          {"dropout", a.dropout}};
}

}  // namespace

TextPairs read_pairs(const std::string& path) { return parse_pairs(read_file(path, "pairs"), path); }

TextPairs parse_pairs(std::string_view text, const std::string& path) {
  TextPairs pairs;
  int64_t line = 0;
  for (const std::string_view row : split_lines(text)) {
    const std::string where = path + " line " + std::to_string(++line);
    check_utf8(row, where);
    const size_t tab = row.find('\t');
    if (tab == std::string::npos || row.find('\t', tab + 1) != std::string::npos) {
      const size_t tabs = size_t(std::count(row.begin(), row.end(), '\t'));
      throw Error(where + " has " + std::to_string(tabs + 1) + " column" + (tabs ? "s" : "") +
                  ", but a pairs file needs two per line: source<TAB>target (a tab inside a text "
                  "must be replaced, e.g. by a space)");
    }
    if (tab == 0) throw Error(where + " has an empty source: every pair needs text on both sides of the tab");
    if (tab + 1 == row.size()) throw Error(where + " has an empty target: every pair needs text on both sides of the tab");
    pairs.sources.emplace_back(row.substr(0, tab));
    pairs.targets.emplace_back(row.substr(tab + 1));
  }
  if (pairs.sources.empty()) throw Error(path + " holds no pair: write one source<TAB>target per line");
  return pairs;
}

std::vector<Decoded> Translator::decode(std::span<const std::string> sources, const DecodeOptions& options) {
  Seq2seqDecoder decoder(model, architecture, start_id(), end_id());
  const std::vector<std::vector<int64_t>> ids = source_ids(source_vocabulary, sources);
  return decoder.decode(ids, with_limit(options, max_target_length));
}

std::vector<std::string> Translator::translate(std::span<const std::string> sources, const DecodeOptions& options) {
  std::vector<std::string> out;
  for (const Decoded& d : decode(sources, options)) out.push_back(target_vocabulary.decode(d.ids));
  return out;
}

std::string Translator::reference(const std::string& target) const {
  std::string out;
  for (const std::string& t : target_vocabulary.split(target))
    out += (target_vocabulary.level() == TextLevel::word && !out.empty() ? " " : "") + t;
  return out;
}

SequenceScores Translator::evaluate(const TextPairs& pairs, const DecodeOptions& options,
                                    std::vector<std::string>* outputs) {
  if (pairs.sources.size() != pairs.targets.size())
    throw Error("evaluate: " + std::to_string(pairs.sources.size()) + " sources but " +
                std::to_string(pairs.targets.size()) + " targets");
  std::vector<std::string> references;
  for (size_t k = 0; k < pairs.targets.size(); ++k) {
    check_utf8(pairs.targets[k], "target " + std::to_string(k + 1));
    references.push_back(reference(pairs.targets[k]));
  }
  std::vector<std::string> out = translate(pairs.sources, options);
  const SequenceScores s = score_sequences(out, references, target_vocabulary.level());
  if (outputs) *outputs = std::move(out);
  return s;
}

void Translator::save(const std::string& path) {
  model.metadata()[kSourceVocabularyKey] = source_vocabulary.to_json();
  model.metadata()[kTargetVocabularyKey] = target_vocabulary.to_json();
  model.metadata()[kSeq2seqKey] = nlohmann::json{{"architecture", architecture_json(architecture)},
                                                 {"max_source_length", max_source_length},
                                                 {"max_target_length", max_target_length}}.dump();
  model.save(path);
}

Translator Translator::load(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  const auto& md = file.metadata;
  if (!md.count(kSeq2seqKey) || !md.count(kSourceVocabularyKey) || !md.count(kTargetVocabularyKey)) {
    std::string is = "a model of another job";
    if (md.count("lstm.classifier")) is = "a text classifier (lstm classify)";
    else if (md.count("lstm.forecast")) is = "a forecaster (lstm forecast)";
    else if (md.count("lstm.music")) is = "a melody model (lstm music)";
    else if (md.count("lstm.text")) is = "a language model (lstm text)";
    throw Error(path + " is " + is + ", not a seq2seq model (no \"" + kSeq2seqKey +
                "\" metadata): train one with lstm seq2seq train");
  }
  Translator t{Model::load(path), {}, Vocabulary::from_json(md.at(kSourceVocabularyKey), path + ": its source vocabulary"),
               Vocabulary::from_json(md.at(kTargetVocabularyKey), path + ": its target vocabulary")};
  const nlohmann::json meta = parse_json(md.at(kSeq2seqKey), path + ": its \"lstm.seq2seq\" metadata");
  const std::string where = path + ": its \"lstm.seq2seq\" metadata";
  try {
    const nlohmann::json& a = meta.at("architecture");
    Seq2seqArchitecture& arch = t.architecture;
    arch.source_vocabulary = a.at("source_vocabulary").get<int64_t>();
    arch.target_vocabulary = a.at("target_vocabulary").get<int64_t>();
    arch.embedding = a.at("embedding").get<int>();
    arch.units = a.at("units").get<int>();
    arch.layers = a.at("layers").get<int>();
    arch.bidirectional = a.at("bidirectional").get<bool>();
    arch.attention = attention_kind_from_name(a.at("attention").get<std::string>());
    arch.dropout = a.at("dropout").get<float>();
    t.max_source_length = meta.at("max_source_length").get<int64_t>();
    t.max_target_length = meta.at("max_target_length").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + " is incomplete or of the wrong types (" + e.what() + "): the file is damaged");
  }
  if (t.architecture.source_vocabulary != t.source_vocabulary.size() ||
      t.architecture.target_vocabulary != t.target_vocabulary.size() + 2)
    throw Error(where + " does not match its vocabularies (" + std::to_string(t.source_vocabulary.size()) +
                " source and " + std::to_string(t.target_vocabulary.size()) + " target tokens): the file is damaged");
  Seq2seqDecoder check(t.model, t.architecture, t.start_id(), t.end_id());  // every layer where it belongs
  return t;
}

Translator train_seq2seq(const TextPairs& pairs, const Seq2seqOptions& o, const std::string& what) {
  const int64_t N = int64_t(pairs.sources.size());
  if (N != int64_t(pairs.targets.size()))
    throw Error(what + ": " + std::to_string(N) + " sources but " + std::to_string(pairs.targets.size()) + " targets");
  if (!(o.test_fraction > 0.0 && o.test_fraction <= 0.5))
    throw Error("test_fraction must be in (0, 0.5], got " + std::to_string(o.test_fraction));
  if (!(o.validation >= 0.0 && o.validation < 0.5))
    throw Error("validation must be in [0, 0.5), got " + std::to_string(o.validation));
  if (o.max_source_length < 0 || o.max_target_length < 0)
    throw Error("max_source_length and max_target_length must be >= 0 (0: no limit)");
  if (o.epochs < 1 || o.batch_size < 1) throw Error("epochs and batch_size must be at least 1");
  if (o.test.sources.size() != o.test.targets.size())
    throw Error("the test pairs hold " + std::to_string(o.test.sources.size()) + " sources but " +
                std::to_string(o.test.targets.size()) + " targets");
  const bool given_test = !o.test.sources.empty();
  const int64_t n_test = given_test ? 0 : std::max<int64_t>(1, int64_t(std::ceil(double(N) * o.test_fraction)));
  const int64_t n_train = N - n_test;
  const int64_t n_val = o.validation > 0.0 ? std::max<int64_t>(1, int64_t(std::ceil(double(n_train) * o.validation))) : 0;
  if (n_train - n_val < 1)
    throw Error(what + " has " + std::to_string(N) + " pairs: too few to hold out a test part (and a "
                "validation part) and train on the rest");
  // the split: shuffled with the seed, the last n_test held out
  std::vector<int64_t> order(static_cast<size_t>(N));
  for (int64_t k = 0; k < N; ++k) order[size_t(k)] = k;
  Rng rng(o.seed);
  for (int64_t k = N - 1; k > 0; --k) std::swap(order[size_t(k)], order[rng.below(uint32_t(k + 1))]);
  std::vector<std::string> train_sources, train_targets;
  for (int64_t k = 0; k < n_train; ++k) {
    const int64_t i = order[size_t(k)];
    check_utf8(pairs.sources[size_t(i)], what + " pair " + std::to_string(i + 1) + " (source)");
    check_utf8(pairs.targets[size_t(i)], what + " pair " + std::to_string(i + 1) + " (target)");
    train_sources.push_back(pairs.sources[size_t(i)]);
    train_targets.push_back(pairs.targets[size_t(i)]);
  }
  Vocabulary source_vocabulary = Vocabulary::fit(train_sources, o.source, what + " (sources)");
  Vocabulary target_vocabulary = Vocabulary::fit(train_targets, o.target, what + " (targets)");
  Seq2seqArchitecture arch = o.architecture;
  arch.source_vocabulary = source_vocabulary.size();
  arch.target_vocabulary = target_vocabulary.size() + 2;
  Translator t{seq2seq_model(arch, o.seed), arch, std::move(source_vocabulary), std::move(target_vocabulary)};
  t.max_source_length = o.max_source_length, t.max_target_length = o.max_target_length;

  // ids of every pair, lengths checked against the limits
  std::vector<std::vector<int64_t>> src(static_cast<size_t>(N)), tgt(static_cast<size_t>(N));
  int64_t Ts = 1, Tt = 1;
  for (int64_t i = 0; i < N; ++i) {
    const std::string at = what + " pair " + std::to_string(i + 1);
    src[size_t(i)] = t.source_vocabulary.encode(pairs.sources[size_t(i)]);
    tgt[size_t(i)] = t.target_vocabulary.encode(pairs.targets[size_t(i)]);
    if (src[size_t(i)].empty() || tgt[size_t(i)].empty())
      throw Error(at + " has no token in its " + (src[size_t(i)].empty() ? "source" : "target") +
                  " once read (standardised and split): give it some text, or drop the pair");
    const int64_t ls = int64_t(src[size_t(i)].size()), lt = int64_t(tgt[size_t(i)].size());
    if (o.max_source_length > 0 && ls > o.max_source_length)
      throw Error(at + ": its source has " + std::to_string(ls) + " tokens, more than the maximum " +
                  std::to_string(o.max_source_length) + ": raise the maximum, or drop the pair");
    if (o.max_target_length > 0 && lt > o.max_target_length)
      throw Error(at + ": its target has " + std::to_string(lt) + " tokens, more than the maximum " +
                  std::to_string(o.max_target_length) + ": raise the maximum, or drop the pair");
    Ts = std::max(Ts, ls), Tt = std::max(Tt, lt + 1);
  }
  // training tensors: the training pairs, the validation part last (validation_split)
  Tensor X_src({n_train, Ts}), X_tgt({n_train, Tt}), y({n_train, Tt});
  for (int64_t k = 0; k < n_train; ++k) {
    const std::vector<int64_t>& s = src[size_t(order[size_t(k)])];
    const std::vector<int64_t>& d = tgt[size_t(order[size_t(k)])];
    for (size_t j = 0; j < s.size(); ++j) X_src[k * Ts + int64_t(j)] = float(s[j]);
    X_tgt[k * Tt] = float(t.start_id());
    for (size_t j = 0; j < d.size(); ++j) {
      X_tgt[k * Tt + int64_t(j) + 1] = float(d[j]);
      y[k * Tt + int64_t(j)] = float(d[j]);
    }
    y[k * Tt + int64_t(d.size())] = float(t.end_id());
  }
  for (int64_t k = n_train; k < N; ++k) {
    t.test_pairs.sources.push_back(pairs.sources[size_t(order[size_t(k)])]);
    t.test_pairs.targets.push_back(pairs.targets[size_t(order[size_t(k)])]);
  }
  if (given_test) t.test_pairs = o.test;
  std::vector<std::string> references;
  for (size_t k = 0; k < t.test_pairs.targets.size(); ++k) {
    check_utf8(t.test_pairs.targets[k], "test pair " + std::to_string(k + 1) + " (target)");
    references.push_back(t.reference(t.test_pairs.targets[k]));
  }

  if (o.init == Seq2seqInit::pytorch) init_seq2seq_like_pytorch(t.model, o.seed);
  t.model.compile(Adam({.learning_rate = o.learning_rate, .global_clipnorm = o.clipnorm}),
                  Loss{LossKind::scce, true, o.label_smoothing});
  FitOptions fit{.epochs = o.epochs, .batch_size = o.batch_size,
                 .validation_split = double(n_val) / double(n_train), .verbose = o.verbose,
                 .bucket_by_length = true};
  if (n_val > 0)
    fit.callbacks.push_back(std::make_shared<EarlyStopping>(
        EarlyStoppingOptions{.monitor = "val_loss", .patience = o.patience, .restore_best_weights = true}));
  std::shared_ptr<MonitorScores> monitor;
  if (o.monitor_pairs > 0) {
    const size_t m = std::min(size_t(o.monitor_pairs), t.test_pairs.sources.size());
    monitor = std::make_shared<MonitorScores>(
        t, std::vector<std::string>(t.test_pairs.sources.begin(), t.test_pairs.sources.begin() + long(m)),
        std::vector<std::string>(references.begin(), references.begin() + long(m)));
    monitor->verbose = o.verbose > 0;
    fit.callbacks.push_back(monitor);
  }
  const auto began = std::chrono::steady_clock::now();
  t.history = t.model.fit({X_src, X_tgt}, y, fit);
  t.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (monitor)  // as many entries as epochs run: the best epoch's weights may be kept, not the last
    for (auto& [key, values] : monitor->scores) t.history.history[key] = values;
  t.test_outputs = t.translate(t.test_pairs.sources, o.decode);
  t.test = score_sequences(t.test_outputs, references, t.target_vocabulary.level());
  return t;
}

}  // namespace lstm
