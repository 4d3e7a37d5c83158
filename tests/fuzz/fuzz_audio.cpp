// Audio: any bytes as an audio file (libsndfile through lstm::decode_audio) and as raw PCM of
// each encoding. What is read has a rate in range and finite samples; its features, when it
// holds a frame, are finite.
#include <cmath>
#include <span>
#include <string>

#include "fuzz.h"
#include "lstm/audio.h"

LSTM_FUZZ_TARGET({
  const std::span<const unsigned char> raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  for (const char* encoding : {"s16le", "s24le", "s32le", "f32le", "u8", "mulaw", "alaw"}) {
    std::vector<float> out;
    try {
      const size_t used = lstm::decode_raw_audio(raw, {8000, 1 + int(bytes.size() % 3), encoding}, out);
      if (used > bytes.size()) __builtin_trap();
    } catch (const lstm::Error&) {
    }
    const bool fixed_point = std::string(encoding) != "f32le";  // floats may exceed full scale
    for (float v : out)
      if (!std::isfinite(v) || (fixed_point && std::fabs(v) > 1.0f)) __builtin_trap();
  }
  const lstm::Audio a = lstm::decode_audio(raw, "fuzz.wav");
  if (a.sample_rate < 1000 || a.sample_rate > 384000) __builtin_trap();
  std::vector<float> x;
  for (float v : a.samples) x.push_back(std::isfinite(v) ? std::fmax(-1.0f, std::fmin(1.0f, v)) : 0.0f);
  if (x.size() > 20000) x.resize(20000);
  lstm::FeatureExtractor fx({.sample_rate = 8000, .mel_bands = 23, .normalization = lstm::Normalization::utterance});
  if (fx.frames(int64_t(x.size())) == 0) return 0;
  const lstm::Tensor f = fx.compute(x);
  for (int64_t k = 0; k < f.size(); ++k)
    if (!std::isfinite(f[k])) __builtin_trap();
})
