// Pronunciation (grapheme to phoneme): from CMUdict's words to their phonemes with an
// encoder-decoder LSTM and attention. Reads the pairs scripts/g2p_data.py writes (WORD<TAB>PH
// ON EMES), trains on train.tsv, prints the phoneme and word error rates on test.tsv (greedy and
// beam 5), then pronounces words it never saw, with the attention of the first as a table.
//
//   python3 scripts/g2p_data.py data/g2p/cmudict.txt build/g2p
//   build/bin/pronounce [DIR] [EPOCHS]          (default: build/g2p, 10)
#include <lstm/lstm.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "build/g2p";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 10;
  try {
    const lstm::TextPairs train = lstm::read_pairs(dir + "/train.tsv");
    lstm::Seq2seqOptions o;
    o.target.level = lstm::TextLevel::word;  // phonemes are the target's "words"
    o.architecture = {.embedding = 64, .units = 256, .bidirectional = true, .attention = lstm::AttentionKind::general};
    o.epochs = epochs;
    o.test = lstm::read_pairs(dir + "/test.tsv");
    lstm::Translator g2p = lstm::train_seq2seq(train, o, dir + "/train.tsv");
    // Yao & Zweig's word error rate is the share of words with any phoneme wrong
    std::printf("greedy:  phoneme error rate %.4f, word error rate %.4f\n", g2p.test.token_error_rate,
                1.0 - g2p.test.exact_match);
    const lstm::SequenceScores beam = g2p.evaluate(o.test, {.beam = 5});
    std::printf("beam 5:  phoneme error rate %.4f, word error rate %.4f\n", beam.token_error_rate, 1.0 - beam.exact_match);
    const std::vector<std::string> words = {"LSTM", "SEQUENCE", "ENCODER", "ATTENTIONAL", "GRAPHEME"};
    const std::vector<lstm::Decoded> out = g2p.decode(words, {.beam = 5, .attention = true});
    for (size_t k = 0; k < words.size(); ++k)
      std::printf("%-12s %s\n", words[k].c_str(), g2p.target_vocabulary.decode(out[k].ids).c_str());
    // what each phoneme of the first word looked at
    const std::vector<std::string> letters = g2p.source_vocabulary.split(words[0]);
    std::printf("\nattention of %s:\n%6s", words[0].c_str(), "");
    for (const std::string& l : letters) std::printf("%6s", l.c_str());
    for (size_t t = 0; t <= out[0].ids.size(); ++t) {
      std::printf("\n%6s", t < out[0].ids.size() ? g2p.target_vocabulary.token(out[0].ids[t]).c_str() : "(end)");
      for (size_t j = 0; j < letters.size(); ++j) std::printf("%6.2f", double(out[0].attention[t * letters.size() + j]));
    }
    std::printf("\n");
    g2p.save("pronounce.safetensors");
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
