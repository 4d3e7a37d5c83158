// Audio in and features out (lstm/audio.h): WAV and raw PCM reading, resampling, streaming
// features equal to whole-signal ones, options round-tripping, and every bad file named.
// Feature values against an independent NumPy reference: tests/parity/test_feature_parity.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/rng.h"
#include "lstm/audio.h"
#include "lstm/speech.h"
#include "lstm/error.h"
#include "test_util.h"

namespace lstm {
namespace {

void put16(std::string& s, uint16_t v) { s += char(v & 0xFF), s += char(v >> 8); }
void put32(std::string& s, uint32_t v) { put16(s, uint16_t(v & 0xFFFF)), put16(s, uint16_t(v >> 16)); }

// A canonical WAV: 16-bit PCM unless format_tag says otherwise.
std::string wav_bytes(const std::vector<int16_t>& pcm, int rate, int channels = 1, uint16_t format_tag = 1) {
  std::string s = "RIFF";
  const uint32_t data = uint32_t(pcm.size() * 2);
  put32(s, 36 + data);
  s += "WAVEfmt ";
  put32(s, 16);
  put16(s, format_tag);
  put16(s, uint16_t(channels));
  put32(s, uint32_t(rate));
  put32(s, uint32_t(rate * channels * 2));
  put16(s, uint16_t(channels * 2));
  put16(s, 16);
  s += "data";
  put32(s, data);
  for (int16_t v : pcm) put16(s, uint16_t(v));
  return s;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<int16_t> tone(int rate, double seconds, double hz, double amplitude = 0.5) {
  std::vector<int16_t> pcm;
  for (int64_t n = 0; n < int64_t(rate * seconds); ++n)
    pcm.push_back(int16_t(std::lround(amplitude * 32767 * std::sin(2 * M_PI * hz * double(n) / rate))));
  return pcm;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Audio, ReadsWavAndMixesChannelsToMono) {
  test::TempDir dir;
  std::vector<int16_t> stereo;
  for (int i = 0; i < 100; ++i) stereo.push_back(int16_t(100 * i)), stereo.push_back(int16_t(-100 * i + 2000));
  write(dir.file("s.wav"), wav_bytes(stereo, 8000, 2));
  const Audio a = read_audio(dir.file("s.wav"));
  EXPECT_EQ(a.sample_rate, 8000);
  ASSERT_EQ(a.samples.size(), 100u);
  for (float v : a.samples) EXPECT_FLOAT_EQ(v, 1000.0f / 32768.0f);  // (100i + 2000 - 100i) / 2
  EXPECT_NEAR(a.seconds(), 100.0 / 8000.0, 1e-12);
}

TEST(Audio, BadFilesAreNamed) {
  test::TempDir dir;
  write(dir.file("text.wav"), "four one seven\n");
  EXPECT_NE(error_of([&] { read_audio(dir.file("text.wav")); }).find("is not audio that libsndfile can read"),
            std::string::npos);
  const std::string good = wav_bytes(tone(8000, 0.5, 440), 8000);
  write(dir.file("cut.wav"), good.substr(0, good.size() / 2));
  EXPECT_NE(error_of([&] { read_audio(dir.file("cut.wav")); }).find("is truncated"), std::string::npos);
  write(dir.file("mp3.wav"), wav_bytes(tone(8000, 0.1, 440), 8000, 1, 0x55));  // MPEG layer 3 in WAV
  EXPECT_NE(error_of([&] { read_audio(dir.file("mp3.wav")); }).find("libsndfile"), std::string::npos);
  EXPECT_NE(error_of([&] { read_audio(dir.file("missing.wav")); }).find("not a file"), std::string::npos);
  write(dir.file("rate.wav"), wav_bytes(tone(8000, 0.1, 440), 500));
  EXPECT_NE(error_of([&] { read_audio(dir.file("rate.wav")); }).find("outside 1000..384000"), std::string::npos);
}

TEST(Audio, RawEncodings) {
  RawFormat f{8000, 1, "s16le"};
  std::vector<float> out;
  const unsigned char s16[] = {0x00, 0x40, 0x00, 0xC0, 0x01};  // 16384, -16384, half a frame
  EXPECT_EQ(decode_raw_audio(s16, f, out), 4u);
  EXPECT_EQ(out, (std::vector<float>{0.5f, -0.5f}));
  out.clear();
  f.encoding = "mulaw";
  const unsigned char mu[] = {0xFF, 0x7F, 0x00, 0x80};  // +0, -0, the extremes
  decode_raw_audio(mu, f, out);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_NEAR(out[2], -32124.0f / 32768.0f, 1e-7);
  EXPECT_NEAR(out[3], 32124.0f / 32768.0f, 1e-7);
  out.clear();
  f.encoding = "alaw";
  const unsigned char a[] = {0xD5, 0x55, 0xAA};  // +8, -8, the largest
  decode_raw_audio(a, f, out);
  EXPECT_NEAR(out[0], 8.0f / 32768.0f, 1e-9);
  EXPECT_NEAR(out[1], -8.0f / 32768.0f, 1e-9);
  EXPECT_NEAR(out[2], 32256.0f / 32768.0f, 1e-7);
  out.clear();
  f = {8000, 2, "s24le"};
  const unsigned char s24[] = {0x00, 0x00, 0x40, 0x00, 0x00, 0x20};  // 0.5 and 0.25 -> 0.375
  decode_raw_audio(s24, f, out);
  EXPECT_EQ(out, (std::vector<float>{0.375f}));
  EXPECT_NE(error_of([&] { raw_sample_bytes("mp3"); }).find("s16le"), std::string::npos);
  test::TempDir dir;
  write(dir.file("odd.raw"), std::string("\x01\x02\x03", 3));
  EXPECT_NE(error_of([&] { read_raw_audio(dir.file("odd.raw"), {8000, 1, "s16le"}); }).find("partial frame"),
            std::string::npos);
}

TEST(Audio, ResamplingKeepsATone) {
  // 1 kHz at 22.05 kHz to 16 kHz and 8 kHz: the same sine, sample for sample, away from the ends.
  const int from = 22050;
  std::vector<float> x;
  for (int n = 0; n < from; ++n) x.push_back(0.5f * float(std::sin(2 * M_PI * 1000.0 * n / from)));
  for (int to : {16000, 8000}) {
    const std::vector<float> y = resample(x, from, to);
    EXPECT_NEAR(double(y.size()), double(to), 2.0);
    double worst = 0;
    for (size_t n = 200; n + 200 < y.size(); ++n)
      worst = std::max(worst, std::fabs(y[n] - 0.5 * std::sin(2 * M_PI * 1000.0 * double(n) / to)));
    EXPECT_LT(worst, 2e-3) << to;
    // streaming, in uneven blocks: the same samples
    Resampler r(from, to);
    std::vector<float> z;
    for (size_t at = 0; at < x.size();) {
      const size_t n = std::min<size_t>(x.size() - at, 37 + (at % 1000));
      r.push({x.data() + at, n}, z);
      at += n;
    }
    r.finish(z);
    ASSERT_EQ(z.size(), y.size());
    for (size_t n = 0; n < y.size(); ++n) ASSERT_NEAR(z[n], y[n], 1e-6) << n;
  }
  EXPECT_EQ(resample(x, 8000, 8000), x);
}

TEST(Features, StreamingEqualsWholeSignal) {
  Rng rng(2);
  std::vector<float> x;
  for (int n = 0; n < 16000; ++n) x.push_back(0.3f * float(std::sin(0.05 * n)) + rng.uniform(-0.05f, 0.05f));
  for (int deltas : {0, 1, 2}) {
    SCOPED_TRACE(deltas);
    FeatureOptions o{.kind = FeatureKind::mfcc, .deltas = deltas, .normalization = Normalization::none};
    FeatureExtractor whole(o);
    const Tensor want = whole.compute(x);
    FeatureExtractor stream(o);
    std::vector<float> got;
    int64_t frames = 0;
    for (size_t at = 0; at < x.size();) {
      const size_t n = std::min<size_t>(x.size() - at, 1 + (at * 7919) % 700);
      const int64_t before = int64_t(got.size());
      frames += stream.push({x.data() + at, n}, got);
      EXPECT_EQ(int64_t(got.size()) - before, (frames - (before / stream.dims())) * stream.dims());
      at += n;
    }
    frames += stream.finish(got);
    ASSERT_EQ(frames, want.dim(0));
    ASSERT_EQ(int64_t(got.size()), want.size());
    for (int64_t k = 0; k < want.size(); ++k) ASSERT_EQ(got[size_t(k)], want[k]) << k;  // bit for bit
    stream.reset();  // a new signal gives the same again
    std::vector<float> again;
    stream.push(x, again);
    stream.finish(again);
    EXPECT_EQ(again, got);
  }
}

TEST(Features, GlobalNormalisationAndShapes) {
  FeatureOptions o{.sample_rate = 8000, .mel_bands = 23, .deltas = 1, .normalization = Normalization::none};
  FeatureExtractor fx(o);
  EXPECT_EQ(fx.dims(), 46);
  EXPECT_EQ(fx.frame_length(), 200);
  EXPECT_EQ(fx.hop_length(), 80);
  EXPECT_EQ(fx.frames(199), 0);
  EXPECT_EQ(fx.frames(200), 1);
  EXPECT_EQ(fx.frames(8000), 98);
  std::vector<float> x(8000);
  for (size_t n = 0; n < x.size(); ++n) x[n] = 0.2f * float(std::sin(0.3 * double(n)));
  const Tensor raw = fx.compute(x);
  o.normalization = Normalization::global;
  o.mean.assign(46, 1.0f), o.stddev.assign(46, 2.0f);
  const Tensor g = FeatureExtractor(o).compute(x);
  for (int64_t k = 0; k < raw.size(); ++k) EXPECT_FLOAT_EQ(g[k], (raw[k] - 1.0f) / 2.0f);
  EXPECT_EQ(feature_options_to_json(feature_options_from_json(feature_options_to_json(o))), feature_options_to_json(o));
  EXPECT_NE(error_of([&] { fx.compute(std::vector<float>(150)); }).find("shorter than one frame"), std::string::npos);
  o.stddev[3] = 0.0f;
  EXPECT_NE(error_of([&] { FeatureExtractor bad(o); }).find("deviations > 0"), std::string::npos);
  EXPECT_NE(error_of([&] { FeatureExtractor bad({.fft_size = 300}); }).find("power of two"), std::string::npos);
  EXPECT_NE(error_of([&] { FeatureExtractor bad({.high_hz = 9000}); }).find("Nyquist"), std::string::npos);
  EXPECT_NE(error_of([&] { feature_options_from_json("{\"sample_rate\": 8000}"); }).find("not valid"), std::string::npos);
  FeatureExtractor utterance({});
  std::vector<float> out;
  EXPECT_NE(error_of([&] { utterance.push(x, out); }).find("none or global"), std::string::npos);
}

}  // namespace
}  // namespace lstm

namespace lstm {
namespace {

// Recordings of tone "words" ("do" 400 Hz, "re" 800 Hz, "mi" 1600 Hz) written as WAV files, with
// their transcripts: a language a small recogniser learns in seconds.
std::vector<Utterance> tone_recordings(const test::TempDir& dir, const std::string& name, int count, uint64_t seed) {
  const char* words[] = {"do", "re", "mi"};
  const double hz[] = {400, 800, 1600};
  Rng rng(seed);
  std::vector<Utterance> out;
  for (int i = 0; i < count; ++i) {
    std::vector<int16_t> pcm(size_t(400 + rng.below(800)), 0);
    std::string text;
    for (int w = 0, n = 1 + int(rng.below(3)); w < n; ++w) {
      const int k = int(rng.below(3));
      text += (w ? " " : "") + std::string(words[k]);
      for (const int16_t v : tone(8000, 0.15 + 0.1 * rng.uniform(0, 1), hz[k], 0.3)) pcm.push_back(v);
      pcm.insert(pcm.end(), size_t(400 + rng.below(800)), 0);
    }
    for (int16_t& v : pcm) v = int16_t(v + int(rng.below(64)) - 32);  // a little noise: never silent
    const std::string path = dir.file(name + std::to_string(i) + ".wav");
    write(path, wav_bytes(pcm, 8000));
    out.push_back({path, text, i + 1});
  }
  return out;
}

TEST(Speech, StreamingEqualsOfflineForAnyBlockSize) {
  test::TempDir dir;
  const std::vector<Utterance> train = tone_recordings(dir, "t", 120, 1), valid = tone_recordings(dir, "v", 6, 2);
  SpeechOptions o;
  o.features = {.sample_rate = 8000, .mel_bands = 16, .deltas = 1, .normalization = Normalization::global};
  o.architecture = {.layers = 1, .units = 16, .bidirectional = false, .stack = 3};
  o.epochs = 15, o.batch_size = 16, o.learning_rate = 0.01f, o.verbose = 0;
  SpeechRecognizer r = train_speech(train, valid, o);
  int right = 0;
  for (const Utterance& u : valid) {
    const Audio audio = read_audio(u.path);
    const std::string offline = r.transcribe(audio);
    right += offline == u.text;
    for (size_t block : {size_t(1), size_t(7), size_t(333), audio.samples.size()}) {
      SpeechStream stream(r, 8000);
      std::string text;
      for (size_t at = 0; at < audio.samples.size(); at += block)
        text += stream.push({audio.samples.data() + at, std::min(block, audio.samples.size() - at)});
      text += stream.finish();
      EXPECT_EQ(text, offline) << u.path << " in blocks of " << block;
      EXPECT_EQ(stream.frames(), r.input_of(audio).dim(0));
    }
  }
  EXPECT_GE(right, 4) << "the model did not learn the tones, so the comparison means little";
  // at another input rate the stream resamples (the text may differ from 8 kHz's by rounding)
  SpeechStream up(r, 16000);
  const std::vector<float> x = resample(read_audio(valid[0].path).samples, 8000, 16000);
  EXPECT_EQ(up.push(x) + up.finish(), r.transcribe(Audio{x, 16000}));
  // a bidirectional model, or per-utterance statistics, cannot stream: named
  o.architecture.bidirectional = true;
  o.epochs = 1;
  SpeechRecognizer bi = train_speech(train, valid, o);
  EXPECT_NE(error_of([&] { SpeechStream s(bi, 8000); }).find("bidirectional"), std::string::npos);
  // save and load keep everything transcribe needs
  r.save(dir.file("m.safetensors"));
  SpeechRecognizer again = SpeechRecognizer::load(dir.file("m.safetensors"));
  EXPECT_EQ(again.transcribe(read_audio(valid[1].path)), r.transcribe(read_audio(valid[1].path)));
  EXPECT_EQ(again.labels, r.labels);
  EXPECT_NE(error_of([&] { SpeechRecognizer::load(dir.file("nothing.safetensors")); }).find("nothing"), std::string::npos);
}

TEST(Speech, TranscriptsAreReadAndNormalised) {
  test::TempDir dir;
  write(dir.file("t.tsv"), "a.wav\t  Four  ONE\tseven\n");
  EXPECT_NE(error_of([&] { read_transcripts(dir.file("t.tsv"), dir.path.string()); }).find("line 1: expected path<TAB>text"),
            std::string::npos);
  write(dir.file("t.tsv"), "\n/abs/a.wav\t  Four  ONE seven \r\nb.wav\tnine\n");
  const auto us = read_transcripts(dir.file("t.tsv"), dir.path.string());
  ASSERT_EQ(us.size(), 2u);
  EXPECT_EQ(us[0].path, "/abs/a.wav");
  EXPECT_EQ(us[0].text, "four one seven");
  EXPECT_EQ(us[0].line, 2);
  EXPECT_EQ(us[1].path, dir.file("b.wav"));
  write(dir.file("t.tsv"), "b.wav\t   \n");
  EXPECT_NE(error_of([&] { read_transcripts(dir.file("t.tsv"), "."); }).find("is empty"), std::string::npos);
  write(dir.file("t.tsv"), "\n\n");
  EXPECT_NE(error_of([&] { read_transcripts(dir.file("t.tsv"), "."); }).find("holds no utterance"), std::string::npos);
}

}  // namespace
}  // namespace lstm
