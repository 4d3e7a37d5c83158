// lstm text train | score | sample: language models from raw text (lstm/text.h).
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/models.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "report/report.h"

namespace lstm::cli {

const Command kTextTrain{
    "text train",
    "Train a language model on text files (UTF-8): the first part trains, the last --holdout "
    "scores (bits per character, or perplexity for words); the vocabulary goes in the model file.",
    options_of(options_of({{"text", "FILE", "a text file (repeat for several, read in order as one text)", true},
     {"out", "FILE", "the model to write (.safetensors)"},
     {"level", "char|word", "tokens: characters (default) or words"},
     {"max-tokens", "N", "vocabulary size at most, padding and [UNK] included (default: no cap)"},
     {"min-count", "N", "leave out tokens seen fewer times (default 1)"}}, next_token_flags(LanguageModelOptions{})),
               {{"report", "FILE", "write an HTML report: loss curves, the held-out score, a sample"},
                {"threads", "N", "threads (default: all cores)"},
                {"quiet", "", "print nothing but errors and the held-out score"}})};

const Command kTextScore{"text score",
                         "Print a language model's next-token loss on a text: bits per character, "
                         "or perplexity for a word model.",
                         {{"model", "FILE", "the model (lstm text train --out)"},
                          {"text", "FILE", "the text (UTF-8)"},
                          precision_option(),
                          {"threads", "N", "threads (default: all cores)"}}};

const Command kTextSample{
    "text sample",
    "Generate text with a language model, printed as it is drawn, one token at a time.",
    {{"model", "FILE", "the model (lstm text train --out)"},
     {"prompt", "TEXT", "the text to continue (default: none)"},
     {"length", "N", "tokens to generate (default 200)"},
     {"temperature", "T", "0 for the most likely token, 1 for the model's own odds (default 1)"},
     {"top-k", "K", "draw from the K most likely tokens only (default 0: all)"},
     {"top-p", "P", "draw from the most likely tokens that make up P of the odds (default 1: all)"},
     {"seed", "N", "the draws: the same seed, the same text (default 42)"},
     precision_option(),
     {"threads", "N", "threads (default: all cores)"}}};

static std::string texts_of(const Args& a) {
  std::string text;
  for (const std::string& path : a.all("text")) {
    const std::string t = read_file(path, "text file");
    check_utf8(t, path);
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    text += t;
  }
  return text;
}

static void print_score(const LanguageModel& lm, const TextScore& s, const char* what) {
  if (lm.vocabulary.level() == TextLevel::character)
    std::printf("%s: %.4f bits per character (%lld characters)\n", what, s.bits_per_token(),
                static_cast<long long>(s.tokens));
  else
    std::printf("%s: perplexity %.2f, %.4f bits per word (%lld words)\n", what, s.perplexity(),
                s.bits_per_token(), static_cast<long long>(s.tokens));
}

int run_text_train(const Args& a) {
  if (a.all("text").empty()) throw UsageError("--text FILE is required (repeat it for several files)");
  const std::string out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"text"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  LanguageModelOptions o;
  const std::string level = a.str("level", "char");
  if (level != "char" && level != "word") throw UsageError("--level must be char or word, got " + level);
  o.vocabulary = {.level = level == "char" ? TextLevel::character : TextLevel::word,
                  .max_tokens = a.integer("max-tokens", 0, 0, limits::kWidth),
                  .min_count = a.integer("min-count", 1, 1, int64_t(1) << 40)};
  read_next_token_flags(a, o);
  const std::string text = texts_of(a);
  LanguageModel lm = train_language_model(text, o, a.all("text").size() == 1 ? a.all("text")[0] : "the text");
  lm.save(out);
  print_score(lm, lm.heldout, "held-out");
  if (a.has("report")) {
    const bool chars = lm.vocabulary.level() == TextLevel::character;
    ReportContent r;
    r.title = std::string(chars ? "Character" : "Word") + " language model";
    std::string files;
    for (const std::string& f : a.all("text")) files += (files.empty() ? "" : ", ") + f;
    char score[96];
    if (chars) std::snprintf(score, sizeof score, "%.4f bits per character", lm.heldout.bits_per_token());
    else std::snprintf(score, sizeof score, "perplexity %.2f", lm.heldout.perplexity());
    const SamplingOptions sampling{.temperature = 0.8f, .seed = 1};
    r.facts = {{"text", files},
               {"vocabulary", std::to_string(lm.vocabulary.size()) + " tokens (" + (chars ? "characters" : "words") + ")"},
               {"model", "Embedding(" + std::to_string(o.embedding) + ") -> LSTM(" + std::to_string(o.units) + ") x " +
                             std::to_string(o.layers) + " -> Dense(" + std::to_string(lm.vocabulary.size()) + ", softmax)"},
               {"held-out", std::string(score) + " on the last " + std::to_string(int(o.holdout * 100 + 0.5)) +
                                "% (" + std::to_string(lm.heldout.tokens) + " predictions)"},
               {"sample (temperature 0.8, seed 1)", lm.generate("", chars ? 400 : 80, sampling)}};
    r.history = lm.history.history;
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  if (!a.has("quiet"))
    std::printf("vocabulary: %lld tokens; model written to %s\n", static_cast<long long>(lm.vocabulary.size()),
                out.c_str());
  return 0;
}

int run_text_score(const Args& a) {
  LanguageModel lm = LanguageModel::load(a.required("model"));
  apply_precision(a, lm.model);
  const std::string path = a.required("text");
  const std::string text = read_file(path, "text file");
  check_utf8(text, path);
  print_score(lm, lm.score(text), path.c_str());
  return 0;
}

int run_text_sample(const Args& a) {
  LanguageModel lm = LanguageModel::load(a.required("model"));
  apply_precision(a, lm.model);
  SamplingOptions s;
  s.temperature = float(a.number("temperature", 1.0));
  s.top_k = a.integer("top-k", 0, 0, limits::kWidth);
  s.top_p = float(a.number("top-p", 1.0));
  s.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  const std::string prompt = a.str("prompt", "");
  check_utf8(prompt, "--prompt");
  std::fputs(prompt.c_str(), stdout);
  lm.generate(prompt, a.integer("length", 200, 0, int64_t(1) << 30), s, [](const std::string& piece) {
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace lstm::cli
