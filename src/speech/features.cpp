// Log-mel and MFCC features with deltas, whole-signal and streaming. Definitions: lstm/audio.h.
#include <kiss_fftr.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lstm/audio.h"
#include "lstm/error.h"

namespace lstm {

const char* feature_kind_name(FeatureKind kind) { return kind == FeatureKind::mfcc ? "mfcc" : "log_mel"; }

const char* normalization_name(Normalization kind) {
  switch (kind) {
    case Normalization::none: return "none";
    case Normalization::utterance: return "utterance";
    case Normalization::global: return "global";
  }
  return "?";
}

FeatureKind feature_kind_from_name(const std::string& name) {
  if (name == "log_mel" || name == "fbank") return FeatureKind::log_mel;
  if (name == "mfcc") return FeatureKind::mfcc;
  throw Error("unknown features '" + name + "': use log_mel or mfcc");
}

Normalization normalization_from_name(const std::string& name) {
  for (Normalization n : {Normalization::none, Normalization::utterance, Normalization::global})
    if (name == normalization_name(n)) return n;
  throw Error("unknown normalisation '" + name + "': use none, utterance or global");
}

static int64_t round_samples(double rate, double ms) { return int64_t(std::llround(rate * ms / 1000.0)); }

static int64_t base_dims(const FeatureOptions& o) { return o.kind == FeatureKind::mfcc ? o.mfcc : o.mel_bands; }

void check_feature_options(const FeatureOptions& o) {
  auto bad = [](const std::string& what) { throw Error("feature options: " + what); };
  if (o.sample_rate < 1000 || o.sample_rate > 384000)
    bad("sample_rate " + std::to_string(o.sample_rate) + " is outside 1000..384000 Hz");
  if (!(o.frame_ms > 0 && o.frame_ms <= 1000) || !(o.hop_ms > 0 && o.hop_ms <= 1000))
    bad("frame_ms and hop_ms must be in (0, 1000]");
  const int64_t W = round_samples(o.sample_rate, o.frame_ms), H = round_samples(o.sample_rate, o.hop_ms);
  if (W < 2 || H < 1) bad("a frame of " + std::to_string(W) + " samples every " + std::to_string(H) + " is too short");
  if (o.fft_size != 0 && (o.fft_size < W || (o.fft_size & (o.fft_size - 1)) != 0 || o.fft_size > (1 << 20)))
    bad("fft_size " + std::to_string(o.fft_size) + " must be a power of two >= the frame (" + std::to_string(W) +
        " samples), or 0 for the smallest such");
  if (o.mel_bands < 1 || o.mel_bands > 1024) bad("mel_bands must be in 1..1024");
  const double nyquist = o.sample_rate / 2.0, high = o.high_hz > 0 ? o.high_hz : nyquist;
  if (!(o.low_hz >= 0 && o.low_hz < high && high <= nyquist))
    bad("the mel bands' edges " + std::to_string(o.low_hz) + ".." + std::to_string(high) +
        " Hz must satisfy 0 <= low < high <= " + std::to_string(nyquist) + " (the Nyquist frequency)");
  if (!(o.preemphasis >= 0 && o.preemphasis < 1)) bad("preemphasis must be in [0, 1)");
  if (o.kind == FeatureKind::mfcc && (o.mfcc < 1 || o.mfcc > o.mel_bands))
    bad("mfcc " + std::to_string(o.mfcc) + " coefficients must be in 1..mel_bands (" + std::to_string(o.mel_bands) + ")");
  if (o.deltas < 0 || o.deltas > 2) bad("deltas must be 0, 1 or 2");
  const size_t dims = size_t(base_dims(o) * (1 + o.deltas));
  if (o.normalization == Normalization::global) {
    if (o.mean.size() != dims || o.stddev.size() != dims)
      bad("global normalisation needs a mean and a standard deviation per feature (" + std::to_string(dims) +
          "), got " + std::to_string(o.mean.size()) + " and " + std::to_string(o.stddev.size()));
    for (size_t i = 0; i < dims; ++i)
      if (!std::isfinite(o.mean[i]) || !(o.stddev[i] > 0) || !std::isfinite(o.stddev[i]))
        bad("global statistics must be finite, deviations > 0 (feature " + std::to_string(i) + ")");
  }
}

std::string feature_options_to_json(const FeatureOptions& o) {
  nlohmann::json j = {{"sample_rate", o.sample_rate}, {"frame_ms", o.frame_ms}, {"hop_ms", o.hop_ms},
                      {"fft_size", o.fft_size}, {"mel_bands", o.mel_bands}, {"low_hz", o.low_hz},
                      {"high_hz", o.high_hz}, {"preemphasis", o.preemphasis},
                      {"kind", feature_kind_name(o.kind)}, {"mfcc", o.mfcc}, {"deltas", o.deltas},
                      {"normalization", normalization_name(o.normalization)},
                      {"mean", o.mean}, {"stddev", o.stddev}};
  return j.dump();
}

FeatureOptions feature_options_from_json(const std::string& text) {
  FeatureOptions o;
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    o.sample_rate = j.at("sample_rate").get<int>();
    o.frame_ms = j.at("frame_ms").get<double>();
    o.hop_ms = j.at("hop_ms").get<double>();
    o.fft_size = j.at("fft_size").get<int>();
    o.mel_bands = j.at("mel_bands").get<int>();
    o.low_hz = j.at("low_hz").get<double>();
    o.high_hz = j.at("high_hz").get<double>();
    o.preemphasis = j.at("preemphasis").get<double>();
    o.kind = feature_kind_from_name(j.at("kind").get<std::string>());
    o.mfcc = j.at("mfcc").get<int>();
    o.deltas = j.at("deltas").get<int>();
    o.normalization = normalization_from_name(j.at("normalization").get<std::string>());
    if (j.at("mean").size() > 1 << 16 || j.at("stddev").size() > 1 << 16) throw Error("statistics too long");
    o.mean = j.at("mean").get<std::vector<float>>();
    o.stddev = j.at("stddev").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("feature options: not valid: ") + e.what());
  }
  check_feature_options(o);
  return o;
}

// ---- the extractor -------------------------------------------------------------------------

struct FeatureExtractor::Impl {
  FeatureOptions o;
  int64_t W = 0, H = 0, K = 0, base = 0, dims = 0;
  std::vector<float> window;                   // W
  std::vector<std::pair<int, std::vector<float>>> mel;  // per band: first bin, weights
  std::vector<float> dct;                      // base × mel_bands (MFCC)
  kiss_fftr_cfg fft = nullptr;
  // streaming state
  float last_sample = 0.0f;      // for pre-emphasis
  bool started = false;
  std::vector<float> pending;    // pre-emphasised samples from the next frame's start
  size_t pending_at = 0;
  std::vector<float> frames;     // base features of frames first_frame .. computed-1
  int64_t first_frame = 0, computed = 0, emitted = 0;
  // scratch
  std::vector<float> buf, logmel;
  std::vector<kiss_fft_cpx> spectrum;
  std::vector<float> power;

  explicit Impl(FeatureOptions options) : o(std::move(options)) {
    check_feature_options(o);
    W = round_samples(o.sample_rate, o.frame_ms), H = round_samples(o.sample_rate, o.hop_ms);
    K = o.fft_size ? o.fft_size : 1;
    while (K < W) K *= 2;
    if (K < 2) K = 2;
    base = base_dims(o), dims = base * (1 + o.deltas);
    window.resize(size_t(W));
    for (int64_t n = 0; n < W; ++n) window[size_t(n)] = float(0.5 - 0.5 * std::cos(2.0 * M_PI * double(n) / double(W)));
    auto to_mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
    const double high = o.high_hz > 0 ? o.high_hz : o.sample_rate / 2.0;
    const double m_lo = to_mel(o.low_hz), m_hi = to_mel(high);
    const int J = o.mel_bands;
    std::vector<double> edge(size_t(J + 2));
    for (int j = 0; j < J + 2; ++j) {
      const double m = m_lo + (m_hi - m_lo) * j / (J + 1);
      edge[size_t(j)] = 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);  // back to Hz
    }
    const int64_t bins = K / 2 + 1;
    for (int j = 0; j < J; ++j) {
      const double lo = edge[size_t(j)], mid = edge[size_t(j + 1)], hi = edge[size_t(j + 2)];
      int first = -1;
      std::vector<float> w;
      for (int64_t k = 0; k < bins; ++k) {
        const double f = double(k) * o.sample_rate / double(K);
        const double v = std::max(0.0, std::min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
        if (v > 0) {
          if (first < 0) first = int(k);
          w.resize(size_t(k - first + 1), 0.0f);
          w[size_t(k - first)] = float(v);
        }
      }
      mel.emplace_back(std::max(first, 0), std::move(w));
    }
    if (o.kind == FeatureKind::mfcc) {
      dct.resize(size_t(base * J));
      for (int64_t i = 0; i < base; ++i)
        for (int j = 0; j < J; ++j)
          dct[size_t(i * J + j)] = float((i == 0 ? std::sqrt(1.0 / J) : std::sqrt(2.0 / J)) *
                                         std::cos(M_PI * double(i) * (j + 0.5) / J));
    }
    fft = kiss_fftr_alloc(int(K), 0, nullptr, nullptr);
    if (!fft) throw Error("features: KissFFT could not plan a transform of " + std::to_string(K) + " points");
    buf.resize(size_t(K)), spectrum.resize(size_t(bins)), power.resize(size_t(bins)), logmel.resize(size_t(J));
  }
  ~Impl() {
    if (fft) kiss_fftr_free(fft);
  }

  // The base features of the frame starting at x (W pre-emphasised samples), appended to frames.
  void compute_frame(const float* x) {
    for (int64_t n = 0; n < W; ++n) buf[size_t(n)] = x[n] * window[size_t(n)];
    std::fill(buf.begin() + W, buf.end(), 0.0f);
    kiss_fftr(fft, buf.data(), spectrum.data());
    for (size_t k = 0; k < spectrum.size(); ++k)
      power[k] = spectrum[k].r * spectrum[k].r + spectrum[k].i * spectrum[k].i;
    const int J = o.mel_bands;
    for (int j = 0; j < J; ++j) {
      const auto& [first, w] = mel[size_t(j)];
      double e = 0.0;
      for (size_t k = 0; k < w.size(); ++k) e += double(w[k]) * power[size_t(first) + k];
      logmel[size_t(j)] = float(std::log(std::max(e, 1e-10)));
    }
    if (o.kind == FeatureKind::log_mel) {
      frames.insert(frames.end(), logmel.begin(), logmel.end());
    } else {
      for (int64_t i = 0; i < base; ++i) {
        double c = 0.0;
        for (int j = 0; j < J; ++j) c += double(dct[size_t(i * J + j)]) * logmel[size_t(j)];
        frames.push_back(float(c));
      }
    }
    ++computed;
  }

  const float* base_row(int64_t t) const { return frames.data() + (t - first_frame) * base; }

  // Frame t's full feature row (base, Δ, ΔΔ), with `last` the last frame there will be (or the
  // last computed while streaming: never reached past, by the emission rule).
  void row(int64_t t, int64_t last, float* out) const {
    auto clamp = [&](int64_t s) { return std::clamp<int64_t>(s, 0, last); };
    const float* b = base_row(t);
    std::copy(b, b + base, out);
    if (o.deltas == 0) return;
    auto delta = [&](int64_t s, int64_t i) {  // Δ of base dimension i at frame s
      double d = 0.0;
      for (int n = 1; n <= 2; ++n) d += n * (double(base_row(clamp(s + n))[i]) - double(base_row(clamp(s - n))[i]));
      return d / 10.0;
    };
    for (int64_t i = 0; i < base; ++i) out[base + i] = float(delta(t, i));
    if (o.deltas == 1) return;
    for (int64_t i = 0; i < base; ++i) {
      double dd = 0.0;
      for (int n = 1; n <= 2; ++n) dd += n * (delta(clamp(t + n), i) - delta(clamp(t - n), i));
      out[2 * base + i] = float(dd / 10.0);
    }
  }

  void normalize_global(float* r) const {
    if (o.normalization != Normalization::global) return;
    for (int64_t i = 0; i < dims; ++i) r[i] = (r[i] - o.mean[size_t(i)]) / o.stddev[size_t(i)];
  }

  // Appends the frames now final (all of them when `at_end`), as rows of dims.
  int64_t emit(std::vector<float>& out, bool at_end) {
    const int64_t delay = 2 * o.deltas;
    const int64_t until = at_end ? computed : computed - delay;  // emit frames < until
    int64_t count = 0;
    for (; emitted < until; ++emitted, ++count) {
      const size_t at = out.size();
      out.resize(at + size_t(dims));
      row(emitted, computed - 1, out.data() + at);
      normalize_global(out.data() + at);
    }
    // frames no later emission reads: before emitted - delay
    const int64_t keep_from = std::max<int64_t>(first_frame, emitted - delay);
    if (keep_from - first_frame > 256) {
      frames.erase(frames.begin(), frames.begin() + (keep_from - first_frame) * base);
      first_frame = keep_from;
    }
    return count;
  }

  int64_t push(std::span<const float> x, std::vector<float>& out) {
    for (float s : x) {
      const float y = started ? s - float(o.preemphasis) * last_sample : s;
      started = true;
      last_sample = s;
      pending.push_back(y);
    }
    // (a hop longer than the frame leaves pending_at past the end: those samples are skipped)
    while (pending_at + size_t(W) <= pending.size()) {
      compute_frame(pending.data() + pending_at);
      pending_at += size_t(H);
    }
    if (pending_at >= 4096 && pending_at <= pending.size()) {
      pending.erase(pending.begin(), pending.begin() + ptrdiff_t(pending_at));
      pending_at = 0;
    }
    return emit(out, false);
  }

  void reset() {
    last_sample = 0.0f, started = false;
    pending.clear(), pending_at = 0;
    frames.clear(), first_frame = computed = emitted = 0;
  }
};

FeatureExtractor::FeatureExtractor(FeatureOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FeatureExtractor::~FeatureExtractor() = default;
FeatureExtractor::FeatureExtractor(FeatureExtractor&&) noexcept = default;
FeatureExtractor& FeatureExtractor::operator=(FeatureExtractor&&) noexcept = default;

const FeatureOptions& FeatureExtractor::options() const { return impl_->o; }
int64_t FeatureExtractor::dims() const { return impl_->dims; }
int64_t FeatureExtractor::frame_length() const { return impl_->W; }
int64_t FeatureExtractor::hop_length() const { return impl_->H; }
int64_t FeatureExtractor::frames(int64_t samples) const {
  return samples < impl_->W ? 0 : 1 + (samples - impl_->W) / impl_->H;
}

int64_t FeatureExtractor::push(std::span<const float> samples, std::vector<float>& out) {
  if (impl_->o.normalization == Normalization::utterance)
    throw Error("streaming features need normalisation none or global: per-utterance statistics "
                "are known only at the end");
  return impl_->push(samples, out);
}

int64_t FeatureExtractor::finish(std::vector<float>& out) {
  const int64_t n = impl_->emit(out, true);
  return n;
}

void FeatureExtractor::reset() { impl_->reset(); }

Tensor FeatureExtractor::compute_unnormalized(std::span<const float> samples) const {
  const int64_t n = frames(int64_t(samples.size()));
  if (n == 0)
    throw Error("the audio is shorter than one frame: " + std::to_string(samples.size()) + " samples, a frame is " +
                std::to_string(impl_->W) + " (" + std::to_string(impl_->o.frame_ms) + " ms at " +
                std::to_string(impl_->o.sample_rate) + " Hz)");
  FeatureOptions plain = impl_->o;
  plain.normalization = Normalization::none;
  plain.mean.clear(), plain.stddev.clear();
  Impl work(plain);
  std::vector<float> rows;
  rows.reserve(size_t(n * work.dims));
  work.push(samples, rows);
  work.emit(rows, true);
  Tensor t({n, work.dims});
  std::copy(rows.begin(), rows.end(), t.data());
  return t;
}

Tensor FeatureExtractor::compute(std::span<const float> samples) const {
  Tensor t = compute_unnormalized(samples);
  const int64_t n = t.dim(0), d = t.dim(1);
  const FeatureOptions& o = impl_->o;
  if (o.normalization == Normalization::global) {
    for (int64_t r = 0; r < n; ++r) impl_->normalize_global(t.data() + r * d);
  } else if (o.normalization == Normalization::utterance) {
    for (int64_t i = 0; i < d; ++i) {
      double mean = 0.0, var = 0.0;
      for (int64_t r = 0; r < n; ++r) mean += t[r * d + i];
      mean /= double(n);
      for (int64_t r = 0; r < n; ++r) var += (t[r * d + i] - mean) * (t[r * d + i] - mean);
      const double sd = std::max(std::sqrt(var / double(n)), 1e-5);
      for (int64_t r = 0; r < n; ++r) t[r * d + i] = float((t[r * d + i] - mean) / sd);
    }
  }
  return t;
}

}  // namespace lstm
