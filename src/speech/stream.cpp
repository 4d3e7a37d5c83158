// Streaming recognition: resampler -> streaming features -> stacked frames -> Sequential::step
// -> greedy CTC decoding as the frames come. See lstm/speech.h.
#include <algorithm>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/speech.h"

namespace lstm {

struct SpeechStream::Impl {
  Sequential model;
  std::vector<std::string> labels;
  int input_rate, model_rate;
  std::unique_ptr<Resampler> resampler;
  FeatureExtractor fx;
  int64_t dims, stack;
  double latency;
  std::vector<float> resampled, rows, group, logits;
  size_t rows_at = 0;
  int64_t in_group = 0, frames = 0;
  int previous = 0;  // the last frame's best class, for merging repeats

  Impl(const SpeechRecognizer& r, int rate)
      : model(r.model.clone()), labels(r.labels), input_rate(rate), model_rate(r.features.sample_rate),
        resampler(std::make_unique<Resampler>(rate, r.features.sample_rate)), fx(r.features),
        dims(fx.dims()), stack(r.architecture.stack) {
    if (r.architecture.bidirectional)
      throw Error("this model is bidirectional: it reads each recording from both ends, so it cannot "
                  "stream; train a streaming one with lstm speech train --unidirectional");
    if (r.features.normalization == Normalization::utterance)
      throw Error("this model normalises each recording by its own statistics, known only at its end, "
                  "so it cannot stream; train with --normalization global");
    group.assign(size_t(dims * stack), 0.0f);
    logits.assign(labels.size() + 1, 0.0f);
    const FeatureOptions& o = r.features;
    latency = o.frame_ms / 1000.0 + double(2 * o.deltas + (stack - 1)) * o.hop_ms / 1000.0;
    model.reset_states();
  }

  void step(std::string& out) {
    model.step(group.data(), logits.data());
    ++frames;
    const int k = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (k != 0 && k != previous) out += labels[size_t(k - 1)];
    previous = k;
  }

  // The feature rows not yet taken, into groups of `stack`, each group a model step.
  void drain(std::string& out) {
    const size_t n = rows.size() / size_t(dims);
    for (; rows_at < n; ++rows_at) {
      std::copy(rows.begin() + ptrdiff_t(rows_at * size_t(dims)), rows.begin() + ptrdiff_t((rows_at + 1) * size_t(dims)),
                group.begin() + ptrdiff_t(in_group * dims));
      if (++in_group == stack) {
        step(out);
        in_group = 0;
      }
    }
    rows.clear();
    rows_at = 0;
  }
};

SpeechStream::SpeechStream(const SpeechRecognizer& recognizer, int input_rate)
    : impl_(std::make_unique<Impl>(recognizer, input_rate)) {}
SpeechStream::~SpeechStream() = default;

std::string SpeechStream::push(std::span<const float> samples) {
  Impl& s = *impl_;
  std::string out;
  s.resampled.clear();
  s.resampler->push(samples, s.resampled);
  s.fx.push(s.resampled, s.rows);
  s.drain(out);
  return out;
}

std::string SpeechStream::finish() {
  Impl& s = *impl_;
  std::string out;
  s.resampled.clear();
  s.resampler->finish(s.resampled);
  s.fx.push(s.resampled, s.rows);
  s.fx.finish(s.rows);
  s.drain(out);
  if (s.in_group > 0) {  // the last group padded with zeros, as the offline input
    std::fill(s.group.begin() + ptrdiff_t(s.in_group * s.dims), s.group.end(), 0.0f);
    s.step(out);
  }
  // a new recording from here
  s.in_group = 0, s.previous = 0;
  s.fx.reset();
  s.resampler = std::make_unique<Resampler>(s.input_rate, s.model_rate);
  s.model.reset_states();
  return out;
}

int64_t SpeechStream::frames() const { return impl_->frames; }
double SpeechStream::latency_seconds() const { return impl_->latency; }

}  // namespace lstm
