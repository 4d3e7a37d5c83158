// lstm/audio.h - audio in, features out: what a speech model reads.
//
//   lstm::Audio a = lstm::read_audio("four.wav");            // any rate, mixed to mono
//   std::vector<float> x = lstm::resample(a.samples, a.sample_rate, 16000);
//   lstm::FeatureExtractor fx({.sample_rate = 16000, .mel_bands = 40});
//   lstm::Tensor f = fx.compute(x);                         // [frames, fx.dims()]
//
// Files are read through libsndfile (WAV in every PCM and float encoding, μ-law and A-law,
// FLAC, Ogg Vorbis, AIFF, AU, ...), resampled through libsoxr (its high-quality preset), and
// transformed with KissFFT. KissFFT rather than FFTW: both are in Debian; FFTW was 4-8x faster
// per frame here (0.3 against 1.5-2.4 µs for 256 and 512 points, docs/speech.md), but the
// whole FFT is then under 0.02% of a second of audio's compute, and KissFFT's BSD licence
// keeps the library free of FFTW's GPL.
//
// Features, per frame (the definitions the tests check against a NumPy reference):
//   pre-emphasis   x'[n] = x[n] - a·x[n-1]  (x'[0] = x[0])
//   frames         W = round(rate · frame_ms / 1000) samples every H = round(rate · hop_ms / 1000);
//                  frame t covers x'[tH .. tH + W); 1 + floor((N - W) / H) frames (none if N < W)
//   window         Hann, periodic: w[n] = 0.5 - 0.5 cos(2πn / W)
//   power          P[k] = |Σ_n w[n] x'[tH + n] e^{-2πikn/K}|², k = 0..K/2, K = fft_size (zero-padded)
//   mel            m(f) = 2595 log10(1 + f / 700) (HTK); mel_bands triangles with corners
//                  equally spaced in m between low_hz and high_hz, peak 1, evaluated at the bin
//                  frequencies k · rate / K
//   log-mel        e_j = log(max(Σ_k M_jk P[k], 1e-10))
//   MFCC           c_i = sqrt(2/J) Σ_j e_j cos(πi(j + 1/2)/J), c_0 with sqrt(1/J) (orthonormal
//                  DCT-II), i < mfcc
//   deltas         d_t = Σ_{n=1,2} n (c_{t+n} - c_{t-n}) / 10, frames past either end replaced by
//                  the first or last (HTK's regression); delta-deltas the same on d
//   normalisation  per utterance: each dimension minus its mean over the utterance, over its
//                  standard deviation (floored at 1e-5); global: the same with a mean and
//                  deviation fixed from training data; none.
// The features of a frame: the base (log-mel, or MFCC), then its deltas, then delta-deltas.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lstm/tensor.h"

namespace lstm {

struct Audio {
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  int sample_rate = 0;         // Hz
  double seconds() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

// Reads an audio file through libsndfile, channels averaged to mono. Throws lstm::Error naming
// the file and the problem: not audio (or a format libsndfile cannot read), an unsupported
// encoding, a truncated file (fewer frames than its header declares), a rate outside
// 1 kHz..384 kHz, more than limits::kAudioSamples samples. Reads in blocks, so that memory
// follows the samples actually present, never a count from the header.
Audio read_audio(const std::string& path);
// The same from bytes in memory (an upload, a network message); `name` is used in errors.
Audio decode_audio(std::span<const unsigned char> bytes, const std::string& name);

// Headerless PCM with stated parameters: encodings "s16le", "s24le", "s32le", "f32le", "u8",
// "mulaw", "alaw"; channels averaged to mono.
struct RawFormat {
  int sample_rate = 16000;
  int channels = 1;
  std::string encoding = "s16le";
};
Audio read_raw_audio(const std::string& path, const RawFormat& format);
// The bytes of one sample of `encoding` (throws lstm::Error listing the encodings).
int raw_sample_bytes(const std::string& encoding);
// Decodes whole frames of raw bytes (channels interleaved) to mono floats, appending to `out`;
// returns the bytes used (a partial last frame is left for the next call).
size_t decode_raw_audio(std::span<const unsigned char> bytes, const RawFormat& format,
                        std::vector<float>& out);

// Whole-signal sample-rate conversion (libsoxr, high quality). Same rate: a copy.
std::vector<float> resample(std::span<const float> x, int from_rate, int to_rate);

// Streaming sample-rate conversion: push() blocks as they arrive, finish() at the end; the
// samples out are those resample() gives for the whole signal (to float rounding). After
// finish() the resampler is spent: a new signal takes a new Resampler.
class Resampler {
 public:
  Resampler(int from_rate, int to_rate);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;
  void push(std::span<const float> in, std::vector<float>& out);  // appends to out
  void finish(std::vector<float>& out);

 private:
  void* soxr_ = nullptr;
  int from_ = 0, to_ = 0;
};

enum class FeatureKind { log_mel, mfcc };
enum class Normalization { none, utterance, global };
const char* feature_kind_name(FeatureKind kind);        // "log_mel", "mfcc"
const char* normalization_name(Normalization kind);     // "none", "utterance", "global"
FeatureKind feature_kind_from_name(const std::string& name);       // throws, listing the names
Normalization normalization_from_name(const std::string& name);

struct FeatureOptions {
  int sample_rate = 16000;
  double frame_ms = 25.0, hop_ms = 10.0;
  int fft_size = 0;          // K; 0: the smallest power of two >= the frame
  int mel_bands = 40;        // J
  double low_hz = 20.0, high_hz = 0.0;  // 0: the Nyquist frequency
  double preemphasis = 0.97;  // a; 0: none
  FeatureKind kind = FeatureKind::log_mel;
  int mfcc = 13;             // coefficients kept, for kind mfcc (<= mel_bands)
  int deltas = 2;            // 0, 1 (Δ) or 2 (Δ and ΔΔ)
  Normalization normalization = Normalization::utterance;
  std::vector<float> mean, stddev;  // global normalisation: one per feature dimension
};

// Checks every field (ranges, a frame of at least 2 samples, fft_size a power of two >= the
// frame, band edges inside 0..Nyquist, global statistics of the right size); throws
// lstm::Error naming the field and the fix.
void check_feature_options(const FeatureOptions& o);
// The options as JSON (saved in a speech model's file), and back (checked).
std::string feature_options_to_json(const FeatureOptions& o);
FeatureOptions feature_options_from_json(const std::string& json);

class FeatureExtractor {
 public:
  explicit FeatureExtractor(FeatureOptions options);
  ~FeatureExtractor();
  FeatureExtractor(FeatureExtractor&&) noexcept;
  FeatureExtractor& operator=(FeatureExtractor&&) noexcept;

  const FeatureOptions& options() const;
  int64_t dims() const;          // features per frame
  int64_t frame_length() const;  // W
  int64_t hop_length() const;    // H
  int64_t frames(int64_t samples) const;  // 1 + (N - W) / H, or 0

  // Features of a whole signal at options().sample_rate: [frames, dims]. Throws lstm::Error
  // when the signal is shorter than one frame.
  Tensor compute(std::span<const float> samples) const;
  // Without normalisation (what global statistics are computed from): [frames, dims].
  Tensor compute_unnormalized(std::span<const float> samples) const;

  // Streaming (normalisation none or global): push samples as they arrive; each call appends
  // to `out` (rows of dims()) the frames now final - those whose deltas no longer wait on
  // later frames (2 frames per delta order) - and returns how many. finish() flushes the
  // rest as compute() would at the signal's end. The frames out equal compute()'s.
  int64_t push(std::span<const float> samples, std::vector<float>& out);
  int64_t finish(std::vector<float>& out);
  void reset();  // a new signal

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstm
