// A character language model, from a text file to generated text: fit a vocabulary, train on
// the first 90% of the characters, score the last 10% in bits per character, save the model
// with its vocabulary, and write 300 characters after a prompt, one step() at a time.
//
//   build/bin/char_lm [TEXT_FILE] [EPOCHS]      (default: data/text/sotu-1989-2021.txt, 1)
#include <lstm/lstm.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "data/text/sotu-1989-2021.txt";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 1;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot read %s (run from the repository root, or give a text file)\n", path.c_str());
    return 1;
  }
  std::stringstream text;
  text << file.rdbuf();
  try {
    // Embedding(V, 64) -> LSTM(256, sequences) -> Dense(V, softmax) per step, on windows of 100
    lstm::LanguageModel lm = lstm::train_language_model(
        text.str(), {.vocabulary = {.level = lstm::TextLevel::character}, .lookback = 100, .units = 256,
                     .epochs = epochs}, path);
    std::printf("%lld characters in the vocabulary; held-out: %.3f bits per character\n",
                static_cast<long long>(lm.vocabulary.size()), lm.heldout.bits_per_token());
    lm.save("char_lm.safetensors");
    const std::string prompt = "My fellow Americans,";
    std::printf("%s", prompt.c_str());
    lm.generate(prompt, 300, {.temperature = 0.8f, .seed = 1},
                [](const std::string& piece) { std::fputs(piece.c_str(), stdout), std::fflush(stdout); });
    std::printf("\n");
  } catch (const lstm::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
