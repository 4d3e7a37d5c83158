// lstm seq2seq train | translate | evaluate: encoder-decoder models from files of text pairs
// (lstm/seq2seq.h).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "report/report.h"

namespace lstm::cli {

namespace {

const std::vector<Option> kDecodeOptions = {
    {"beam", "K", "beam width: 1 is greedy (default 1)"},
    {"length-penalty", "A", "hypotheses compared by log P / length^A (default 1)"},
    {"max-length", "N", "output tokens at most (default: the trained maximum, else 2 x the source's + 10)"}};

DecodeOptions decode_options(const Args& a) {
  DecodeOptions o;
  o.beam = int(a.integer("beam", 1, 1, 1024));
  o.length_penalty = float(a.number("length-penalty", 1.0));
  if (o.length_penalty < 0.0f || o.length_penalty > 10.0f)
    throw UsageError("--length-penalty must be in [0, 10], got " + a.str("length-penalty"));
  o.max_length = a.integer("max-length", 0, 0, limits::kTimeSteps);
  return o;
}

TextLevel level(const Args& a, const std::string& name) {
  const std::string v = a.str(name, "char");
  if (v == "char" || v == "character") return TextLevel::character;
  if (v == "word") return TextLevel::word;
  throw UsageError("--" + name + " must be char or word, got '" + v + "'");
}

Standardize standardize(const Args& a, const std::string& name) {
  const std::string v = a.str(name, "none");
  if (v == "none") return Standardize::none;
  if (v == "lower") return Standardize::lower;
  if (v == "lower_and_strip_punctuation") return Standardize::lower_and_strip_punctuation;
  throw UsageError("--" + name + " must be none, lower or lower_and_strip_punctuation, got '" + v + "'");
}

// The lines of a text file, one source each (a last line without newline counts; "\r" dropped).
std::vector<std::string> read_lines(const std::string& path) {
  const std::string text = read_file(path, "sources");
  std::vector<std::string> lines;
  for (const std::string_view line : split_lines(text)) {
    check_utf8(line, path + " line " + std::to_string(lines.size() + 1));
    lines.emplace_back(line);
  }
  return lines;
}

// The copy-the-source baseline's BLEU and chrF: what translating nothing scores.
std::string copy_baseline(const Translator& t, const TextPairs& pairs) {
  std::vector<std::string> sources, references;
  for (size_t k = 0; k < pairs.sources.size(); ++k) {
    sources.push_back(t.reference(pairs.sources[k]));  // read as the target side reads text
    references.push_back(t.reference(pairs.targets[k]));
  }
  const SequenceScores c = score_sequences(sources, references, t.target_vocabulary.level());
  return "copy-the-source baseline: BLEU-4 " + fixed(c.bleu, 2) + ", chrF " + fixed(c.chrf, 2) + "\n";
}

}  // namespace

const Command kSeq2seqTrain{
    "seq2seq train",
    "Train an encoder-decoder LSTM with attention on a file of pairs (source<TAB>target per "
    "line): held-out exact match, token and word error rates, BLEU and chrF; the model file "
    "carries both vocabularies.",
    with_shared_options(
        {{"pairs", "FILE", "the training pairs: source<TAB>target per line, UTF-8"},
         {"test", "FILE", "held-out pairs in a file of their own (default: --test-fraction of --pairs)"},
         {"out", "FILE", "the model to write (.safetensors)"},
         {"source-level", "char|word", "source tokens: characters or words (default char)"},
         {"target-level", "char|word", "target tokens: characters or words (default char)"},
         {"source-standardize", "HOW", "none, lower or lower_and_strip_punctuation (default none)"},
         {"target-standardize", "HOW", "the same for the targets (default none)"},
         {"max-tokens", "N", "vocabulary size at most per side, padding and [UNK] included (default: all)"},
         {"max-source-length", "N", "source tokens at most; a longer pair is an error (default: no limit)"},
         {"max-target-length", "N", "target tokens at most; a longer pair is an error (default: no limit)"},
         {"attention", "KIND", "none, dot, general (default) or additive"},
         {"embedding", "N", "token vector width, both sides (default 64)"},
         {"units", "N", "LSTM units: the encoder's output width and the decoder's (default 128)"},
         {"layers", "N", "stacked LSTM layers in the encoder and the decoder (default 1)"},
         {"bidirectional", "", "the encoder reads both ways (units/2 per direction)"},
         {"dropout", "X", "dropout after the embeddings and before the output layer (default 0)"},
         {"epochs", "N", "passes over the training pairs (default 10)"},
         {"batch-size", "N", "pairs per batch, bucketed by length (default 64)"},
         {"lr", "X", "Adam's learning rate (default 0.002)"},
         {"clipnorm", "X", "gradients' global norm at most (default 5)"},
         {"label-smoothing", "X", "in [0, 1) (default 0.1)"},
         {"test-fraction", "F", "held out for the test when no --test, in (0, 0.5] (default 0.1)"},
         {"validation", "F", "part of the training pairs for early stopping, in [0, 0.5) (default 0)"},
         {"patience", "N", "epochs without a better validation loss before stopping (default 3)"},
         {"monitor", "N", "held-out pairs decoded greedily after each epoch (default 200; 0 none)"},
         {"seed", "N", "the split, the initial weights and shuffling (default 42)"},
         {"report", "FILE", "write an HTML report: loss curves, scores per epoch, examples, an attention map"},
         {"quiet", "", "print nothing but errors and the test scores"},
         {"threads", "N", "threads (default: all cores)"}},
        kDecodeOptions)};

const Command kSeq2seqTranslate{
    "seq2seq translate",
    "Decode sources with a trained seq2seq model: each --input, then each line of --file; prints "
    "one output per line (or writes them with --out).",
    with_shared_options({{"model", "FILE", "the model (lstm seq2seq train --out)"},
                         {"input", "TEXT", "a source to translate (repeat for several)", true},
                         {"file", "FILE", "a text file of sources, one per line"},
                         {"out", "FILE", "write the outputs here, one per line"},
                         {"threads", "N", "threads (default: all cores)"}},
        kDecodeOptions)};

const Command kSeq2seqEvaluate{
    "seq2seq evaluate",
    "Score a trained seq2seq model on a file of pairs: exact match, token and word error rates, "
    "BLEU-4 and chrF.",
    with_shared_options({{"model", "FILE", "the model (lstm seq2seq train --out)"},
                         {"pairs", "FILE", "the pairs to score: source<TAB>target per line"},
                         {"out", "FILE", "also write source<TAB>reference<TAB>output per line"},
                         {"threads", "N", "threads (default: all cores)"}},
        kDecodeOptions)};

int run_seq2seq_train(const Args& a) {
  const std::string pairs_path = a.required("pairs"), out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"pairs", "test"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  Seq2seqOptions o;
  const int64_t max_tokens = a.integer("max-tokens", 0, 0, limits::kWidth);
  if (max_tokens > 0 && max_tokens < 3) throw UsageError("--max-tokens must be at least 3 (padding, [UNK], one token)");
  o.source = {.level = level(a, "source-level"), .standardize = standardize(a, "source-standardize"), .max_tokens = max_tokens};
  o.target = {.level = level(a, "target-level"), .standardize = standardize(a, "target-standardize"), .max_tokens = max_tokens};
  o.max_source_length = a.integer("max-source-length", 0, 0, limits::kTimeSteps);
  o.max_target_length = a.integer("max-target-length", 0, 0, limits::kTimeSteps);
  Seq2seqArchitecture& arch = o.architecture;
  try {
    arch.attention = attention_kind_from_name(a.str("attention", "general"));
  } catch (const Error& e) {
    throw UsageError(std::string("--attention: ") + e.what());
  }
  arch.embedding = int(a.integer("embedding", 64, 1, 1 << 16));
  arch.units = int(a.integer("units", 128, 1, 1 << 16));
  arch.layers = int(a.integer("layers", 1, 1, 16));
  arch.bidirectional = a.has("bidirectional");
  arch.dropout = float(a.number("dropout", 0.0));
  o.epochs = int(a.integer("epochs", 10, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 64, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.002));
  o.clipnorm = float(a.number("clipnorm", 5.0));
  o.label_smoothing = float(a.number("label-smoothing", 0.1));
  o.test_fraction = a.number("test-fraction", 0.1);
  o.validation = a.number("validation", 0.0);
  o.patience = int(a.integer("patience", 3, 0, 1 << 20));
  o.monitor_pairs = a.integer("monitor", 200, 0, int64_t(1) << 40);
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  o.decode = decode_options(a);
  const TextPairs pairs = read_pairs(pairs_path);
  if (a.has("test")) o.test = read_pairs(a.str("test"));
  Translator t = train_seq2seq(pairs, o, pairs_path);
  t.save(out);
  std::printf("trained in %.1f s (%d epochs)\ntest (%lld pairs, beam %d):\n%s%s", t.train_seconds,
              t.history.epochs(), (long long)t.test.sequences, o.decode.beam, t.test.table().c_str(),
              copy_baseline(t, t.test_pairs).c_str());
  if (!a.has("report")) return 0;
  ReportContent r;
  r.title = "Sequence to sequence";
  const std::string held = a.has("test") ? a.str("test") + " (" + std::to_string(t.test_pairs.sources.size()) + " pairs)"
                                         : "the last " + fixed(o.test_fraction * 100, 0) + "% of the shuffled pairs (seed " +
                                               std::to_string(o.seed) + "), never trained on";
  r.facts = {{"data", pairs_path + " (" + std::to_string(pairs.sources.size()) + " pairs)"},
             {"vocabularies", std::to_string(t.source_vocabulary.size()) + " source, " +
                                  std::to_string(t.target_vocabulary.size()) + " target tokens"},
             {"model", std::string(arch.bidirectional ? "bidirectional " : "") + "LSTM(" + std::to_string(arch.units) +
                           ") x " + std::to_string(arch.layers) + " encoder-decoder, embedding " +
                           std::to_string(arch.embedding) + ", attention " + attention_kind_name(arch.attention) + ", " +
                           std::to_string(t.model.count_params()) + " parameters"},
             {"test", held}};
  r.history = t.history.history;
  r.metric_keys = {"test_exact_match", "test_token_error_rate", "test_word_error_rate"};
  r.metric_title = "Held-out sample per epoch (greedy): exact match, token and word error rates";
  r.tables.push_back({"Test scores (beam " + std::to_string(o.decode.beam) + ")",
                      {"metric", "value"},
                      {{"pairs", std::to_string(t.test.sequences)},
                       {"exact match", fixed(t.test.exact_match, 4)},
                       {"token error rate", fixed(t.test.token_error_rate, 4)},
                       {"word error rate", fixed(t.test.word_error_rate, 4)},
                       {"BLEU-4", fixed(t.test.bleu, 2)},
                       {"chrF", fixed(t.test.chrf, 2)}}});
  ReportTable examples{"Example outputs (the first held-out pairs)", {"source", "reference", "output", "exact"}, {}};
  for (size_t k = 0; k < std::min<size_t>(20, t.test_outputs.size()); ++k) {
    const bool exact = score_sequences(std::vector<std::string>{t.test_outputs[k]},
                                       std::vector<std::string>{t.reference(t.test_pairs.targets[k])},
                                       t.target_vocabulary.level()).exact_match == 1.0;
    examples.rows.push_back({t.test_pairs.sources[k], t.test_pairs.targets[k], t.test_outputs[k], exact ? "yes" : "no"});
  }
  r.tables.push_back(std::move(examples));
  if (arch.attention != AttentionKind::none && !t.test_pairs.sources.empty()) {
    DecodeOptions d = o.decode;
    d.attention = true;
    const std::vector<std::string> first = {t.test_pairs.sources[0]};
    const Decoded dec = t.decode(first, d)[0];
    Heatmap h{"Attention: " + first[0], {}, t.source_vocabulary.split(first[0]), dec.attention};
    for (int64_t id : dec.ids) h.row_labels.push_back(t.target_vocabulary.token(id));
    h.row_labels.push_back("(end)");
    r.heatmaps.push_back(std::move(h));
  }
  write_file_atomic(a.str("report"), report_html(r), "report");
  return 0;
}

int run_seq2seq_translate(const Args& a) {
  check_outputs_distinct(a, {"out"}, {"model", "file"});
  if (a.has("out")) check_writable(a.str("out"));
  Translator t = Translator::load(a.required("model"));
  std::vector<std::string> sources = a.all("input");
  if (a.has("file")) {
    const std::vector<std::string> lines = read_lines(a.str("file"));
    sources.insert(sources.end(), lines.begin(), lines.end());
  }
  if (sources.empty()) throw UsageError("give --input TEXT (repeatable) or --file FILE");
  std::string text;
  for (const std::string& line : t.translate(sources, decode_options(a))) text += line + "\n";
  if (a.has("out")) write_file_atomic(a.str("out"), text, "outputs");
  else std::fputs(text.c_str(), stdout);
  return 0;
}

int run_seq2seq_evaluate(const Args& a) {
  check_outputs_distinct(a, {"out"}, {"model", "pairs"});
  if (a.has("out")) check_writable(a.str("out"));
  Translator t = Translator::load(a.required("model"));
  const TextPairs pairs = read_pairs(a.required("pairs"));
  std::vector<std::string> outputs;
  const DecodeOptions d = decode_options(a);
  const auto began = std::chrono::steady_clock::now();
  const SequenceScores s = t.evaluate(pairs, d, &outputs);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  int64_t tokens = 0;  // output tokens, the end token left out
  for (const std::string& o : outputs)
    tokens += int64_t(t.target_vocabulary.level() == TextLevel::word ? split_words(o).size() : split_characters(o).size());
  std::fputs(s.table().c_str(), stdout);
  std::fputs(copy_baseline(t, pairs).c_str(), stdout);
  std::printf("decoded in %.2f s (beam %d): %.0f sources/s, %.0f output tokens/s\n", seconds, d.beam,
              double(pairs.sources.size()) / seconds, double(tokens) / seconds);
  if (a.has("out")) {
    std::string tsv;
    for (size_t k = 0; k < outputs.size(); ++k) tsv += pairs.sources[k] + "\t" + pairs.targets[k] + "\t" + outputs[k] + "\n";
    write_file_atomic(a.str("out"), tsv, "outputs");
  }
  return 0;
}

}  // namespace lstm::cli
