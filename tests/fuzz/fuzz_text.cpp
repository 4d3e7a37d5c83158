// Text: any bytes as a text to fit a vocabulary on (characters give it back exactly, words
// give back their standardised tokens), and as the vocabulary JSON a model file carries (what
// loads writes back the same).
#include "fuzz.h"
#include "lstm/text.h"

LSTM_FUZZ_TARGET({
  try {
    const std::vector<std::string> texts = {bytes};
    const lstm::Vocabulary chars = lstm::Vocabulary::fit(texts, {.level = lstm::TextLevel::character});
    if (chars.decode(chars.encode(bytes)) != bytes) __builtin_trap();
    const lstm::Vocabulary words = lstm::Vocabulary::fit(texts, {.max_tokens = 64});
    const std::vector<int64_t> ids = words.encode(bytes);
    (void)words.decode(ids);
    (void)words.encode_batch(texts, 8);
  } catch (const lstm::Error&) {  // not UTF-8: the JSON below is refused too, or read
  }
  const lstm::Vocabulary v = lstm::Vocabulary::from_json(bytes);
  if (lstm::Vocabulary::from_json(v.to_json()).to_json() != v.to_json()) __builtin_trap();
})
