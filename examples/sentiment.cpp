// A sentiment classifier, from a file of labelled sentences to predictions: read the texts and
// labels, train Embedding(mask_zero) -> LSTM(64) -> Dense(1, sigmoid) on 80% of them, print the
// held-out accuracy, per-class precision/recall/F1 and confusion matrix, classify new sentences.
//
//   build/bin/sentiment [DATA_FILE] [EPOCHS]     (default: data/text/sentiment.tsv, 5)
#include <lstm/lstm.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "data/text/sentiment.tsv";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
  try {
    const lstm::LabeledTexts data = lstm::read_labeled_texts(path, "text", "label");
    lstm::TextClassifier c = lstm::train_text_classifier(data, {.epochs = epochs, .verbose = 0}, path);
    std::printf("held-out: %s", c.test.table().c_str());
    const std::vector<std::string> fresh = {"I would buy this again, it works great.",
                                            "The battery died after two days.", ""};
    const std::vector<std::string> labels = c.predict(fresh);
    const lstm::Tensor p = c.probabilities(fresh);
    for (size_t k = 0; k < fresh.size(); ++k)
      std::printf("%-8s (p(%s) = %.3f)  \"%s\"\n", labels[k].c_str(), c.labels[1].c_str(),
                  double(p[int64_t(k) * 2 + 1]), fresh[k].c_str());
    c.save("sentiment.safetensors");
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
