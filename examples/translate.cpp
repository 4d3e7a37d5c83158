// Translation, English to French, on the messages of the software Debian installs: reads the
// pairs scripts/translation_data.py extracts from /usr/share/locale/fr/LC_MESSAGES (GPL and LGPL
// catalogues, read at run time, never committed), trains an encoder-decoder LSTM with attention
// on train.tsv, and prints BLEU and chrF on test.tsv next to the copy-the-source baseline, then
// translates a few messages.
//
//   python3 scripts/translation_data.py /usr/share/locale/fr/LC_MESSAGES build/translation
//   build/bin/translate [DIR] [EPOCHS]          (default: build/translation, 10)
#include <lstm/lstm.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "build/translation";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 10;
  try {
    const lstm::TextPairs train = lstm::read_pairs(dir + "/train.tsv");
    lstm::Seq2seqOptions o;
    o.source = {.level = lstm::TextLevel::word, .standardize = lstm::Standardize::none, .max_tokens = 16000};
    o.target = {.level = lstm::TextLevel::word, .standardize = lstm::Standardize::none, .max_tokens = 16000};
    o.architecture = {.embedding = 128, .units = 256, .bidirectional = true, .attention = lstm::AttentionKind::general,
                      .dropout = 0.2f};
    o.epochs = epochs;
    o.test = lstm::read_pairs(dir + "/test.tsv");
    lstm::Translator t = lstm::train_seq2seq(train, o, dir + "/train.tsv");
    const lstm::SequenceScores beam = t.evaluate(o.test, {.beam = 5});
    const lstm::SequenceScores copy = lstm::score_sequences(o.test.sources, o.test.targets, lstm::TextLevel::word);
    std::printf("%-22s %8s %8s\n", "", "BLEU", "chrF");
    std::printf("%-22s %8.2f %8.2f\n", "copy the source", copy.bleu, copy.chrf);
    std::printf("%-22s %8.2f %8.2f\n", "lstm, greedy", t.test.bleu, t.test.chrf);
    std::printf("%-22s %8.2f %8.2f\n", "lstm, beam 5", beam.bleu, beam.chrf);
    const std::vector<std::string> messages = {"File not found", "Permission denied", "Do you want to continue ?",
                                               "cannot open %s", "Unknown option"};
    const std::vector<std::string> out = t.translate(messages, {.beam = 5});
    for (size_t k = 0; k < messages.size(); ++k) std::printf("%-28s -> %s\n", messages[k].c_str(), out[k].c_str());
    t.save("translate.safetensors");
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
