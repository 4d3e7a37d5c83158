// Next-frame prediction with convolutional LSTMs (include/lstm/video.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/rng.h"
#include "lstm/error.h"
#include "lstm/video.h"

namespace lstm {

namespace {

const char* const kFramesKey = "lstm.frames";

void check_clips(const Tensor& clips, const char* what, int64_t min_steps) {
  if (clips.rank() != 5)
    throw Error(std::string(what) + ": sequences of frames are [N, T, H, W, C], got " +
                clips.shape_string());
  if (clips.dim(0) < 1 || clips.dim(1) < min_steps)
    throw Error(std::string(what) + ": " + clips.shape_string() +
                " needs at least one sequence of " + std::to_string(min_steps) + " frames");
  for (int64_t k = 0; k < clips.size(); ++k)
    if (!(clips[k] >= 0.0f && clips[k] <= 1.0f))
      throw Error(std::string(what) + ": frame values are in [0, 1] (a byte / 255), got " +
                  std::to_string(clips[k]) + " at flat index " + std::to_string(k));
}

// Frames [from, from + count) of every clip: [N, count, H, W, C].
Tensor steps_of(const Tensor& clips, int64_t from, int64_t count) {
  const int64_t N = clips.dim(0), T = clips.dim(1), frame = clips.size() / (N * T);
  Tensor out({N, count, clips.dim(2), clips.dim(3), clips.dim(4)});
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(out.data() + n * count * frame, clips.data() + (n * T + from) * frame,
                sizeof(float) * size_t(count * frame));
  return out;
}

double bce(float p, float y) {
  const double q = std::clamp(double(p), 1e-7, 1.0 - 1e-7);
  return -(double(y) * std::log(q) + (1.0 - double(y)) * std::log(1.0 - q));
}

}  // namespace

FramePredictor train_frame_predictor(const Tensor& seqs, const FramePredictorOptions& o) {
  check_clips(seqs, "train_frame_predictor", 2);
  if (o.filters < 1 || o.filters > 1024 || o.layers < 1 || o.layers > 8)
    throw Error("train_frame_predictor: filters must be in 1..1024 and layers in 1..8");
  if (!(o.validation_fraction >= 0.0 && o.validation_fraction < 0.5))
    throw Error("validation_fraction must be in [0, 0.5), got " +
                std::to_string(o.validation_fraction));
  const int64_t T = seqs.dim(1), H = seqs.dim(2), W = seqs.dim(3), C = seqs.dim(4);
  auto in = Input({kAnyLength, H, W, C}, {.name = "frames"});
  SymbolicTensor h = in;
  for (int64_t l = 0; l < o.layers; ++l)
    h = ConvLSTM2D(o.filters, {3, 3}, {.padding = ConvPadding::same, .return_sequences = true})(h);
  auto next = Conv2D(C, {1, 1}, {.activation = Activation::sigmoid})(h);
  FramePredictor p{Model(in, next, {.name = "frame_predictor", .seed = o.seed}), {}};
  p.model.compile(Adam({.learning_rate = o.learning_rate}), loss::binary_crossentropy);
  const Tensor x = steps_of(seqs, 0, T - 1), y = steps_of(seqs, 1, T - 1);
  p.history = p.model.fit(x, y,
                          {.epochs = o.epochs,
                           .batch_size = o.batch_size,
                           .validation_split = o.validation_fraction,
                           .verbose = o.verbose});
  return p;
}

Tensor FramePredictor::next_frames(const Tensor& clips) {
  check_clips(clips, "next_frames", 1);
  return model.predict(clips, 8)[0];
}

Tensor FramePredictor::rollout(const Tensor& clips, int64_t context, int64_t steps) {
  check_clips(clips, "rollout", 1);
  if (context < 1 || context > clips.dim(1) || steps < 1 || steps > 10000)
    throw Error("rollout: context must be in 1.." + std::to_string(clips.dim(1)) +
                " and steps in 1..10000, got " + std::to_string(context) + " and " +
                std::to_string(steps));
  const int64_t N = clips.dim(0), frame = clips.size() / (N * clips.dim(1));
  Tensor seen = steps_of(clips, 0, context);
  Tensor out({N, steps, clips.dim(2), clips.dim(3), clips.dim(4)});
  for (int64_t s = 0; s < steps; ++s) {
    const Tensor pred =
        model.predict(seen, 8)[0];  // [N, context + s, ...]: the last is the next frame
    const int64_t L = seen.dim(1);
    Tensor longer({N, L + 1, clips.dim(2), clips.dim(3), clips.dim(4)});
    for (int64_t n = 0; n < N; ++n) {
      std::memcpy(longer.data() + n * (L + 1) * frame, seen.data() + n * L * frame,
                  sizeof(float) * size_t(L * frame));
      const float* next = pred.data() + (n * L + L - 1) * frame;
      std::memcpy(longer.data() + (n * (L + 1) + L) * frame, next, sizeof(float) * size_t(frame));
      std::memcpy(out.data() + (n * steps + s) * frame, next, sizeof(float) * size_t(frame));
    }
    seen = std::move(longer);
  }
  return out;
}

FrameScores FramePredictor::evaluate(const Tensor& clips, int64_t context) {
  check_clips(clips, "evaluate", 2);
  const int64_t N = clips.dim(0), T = clips.dim(1), frame = clips.size() / (N * T);
  if (context < 0 || context >= T)
    throw Error("evaluate: context must be in 0.." + std::to_string(T - 1) + ", got " +
                std::to_string(context));
  FrameScores s;
  // pred(n, t): the prediction of frame t (t >= 1); last(n, t): the last frame seen before it
  Tensor pred;
  if (context == 0)
    pred = next_frames(steps_of(clips, 0, T - 1));  // frame t from 0..t-1
  else
    pred = rollout(clips, context, T - context);  // frame t from 0..context-1
  const int64_t first = context == 0 ? 1 : context;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = first; t < T; ++t) {
      const float* truth = clips.data() + (n * T + t) * frame;
      const float* guess = context == 0 ? pred.data() + (n * (T - 1) + t - 1) * frame
                                        : pred.data() + (n * (T - context) + t - context) * frame;
      const float* last = clips.data() + (n * T + (context == 0 ? t - 1 : context - 1)) * frame;
      for (int64_t k = 0; k < frame; ++k) {
        s.bce += bce(guess[k], truth[k]), s.copy_bce += bce(last[k], truth[k]);
        s.mse += double(guess[k] - truth[k]) * (guess[k] - truth[k]);
        s.copy_mse += double(last[k] - truth[k]) * (last[k] - truth[k]);
      }
      ++s.frames;
    }
  const double values = double(s.frames) * double(frame);
  s.bce /= values, s.copy_bce /= values, s.mse /= values, s.copy_mse /= values;
  return s;
}

void FramePredictor::save(const std::string& path) {
  model.metadata()[kFramesKey] = "1";
  model.save(path);
}

FramePredictor FramePredictor::load(const std::string& path) {
  Model m = Model::load(path);
  if (m.metadata().find(kFramesKey) == m.metadata().end())
    throw Error(path + " is not a frame predictor (no \"" + std::string(kFramesKey) +
                "\" metadata): train one with lstm video predict-frames --data");
  return FramePredictor{std::move(m), {}};
}

}  // namespace lstm
