// lstm/video.h - frames from video files and image folders, for the video models of
// lstm/layers/conv.h (ConvLSTM2D, per-frame Conv2D into an LSTM):
//
//   lstm::Tensor frames = lstm::read_video("walk.mp4", {.width = 32, .height = 32, .fps = 10});
//   // [T, 32, 32, 1], values in [0, 1], 10 frames per second of the video
//   lstm::Tensor clips = lstm::video_clips(frames, 16, 8);   // [N, 16, 32, 32, 1], every 8 frames
//
// Decoding is Debian's FFmpeg (libavformat, libavcodec, libswscale), run in a child process
// (src/io/sandbox.h): a file that crashes or hangs the decoder is an lstm::Error here, not a
// crash or a hang of the caller. Only local files are read, as containers of the common video
// and image formats (docs/video.md lists them); playlists and network protocols are refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lstm/functional.h"
#include "lstm/tensor.h"
#include "lstm/text.h"  // ClassificationReport

namespace lstm {

struct VideoOptions {
  // Every frame resized to width x height (area averaging when smaller); 0: the file's size.
  int64_t width = 0, height = 0;
  int64_t channels = 1;  // 1: grey (luma), 3: RGB
  // Frames sampled at this rate (frames per second of the video's own clock): the first frame,
  // then the first at or after each 1/fps; 0: every frame the file has.
  double fps = 0.0;
  int64_t max_frames = 0;  // stop after this many; 0: at most 100,000
  double seconds = 60.0;   // the most the decoder may take per reply (64 frames, 64 MiB at most)
};

// The video's frames, [T, height, width, channels], each value a byte / 255. Throws
// lstm::Error naming the file and the problem: missing, not a video FFmpeg reads, no video
// stream, damaged (the decoder's message), no frames, frames larger than 16384 x 16384, more
// than 2 GiB of frames (as bytes) at the size asked for.
Tensor read_video(const std::string& path, const VideoOptions& options = {});

// A folder of images (PNG, JPEG, BMP, ...), in the order of their file names, as frames
// [T, height, width, channels]; every image resized to the options' size (without one, all must
// have the size of the first). Files of other kinds are errors, not skipped.
Tensor read_image_folder(const std::string& dir, const VideoOptions& options = {});

// Clips of `length` frames every `stride` frames: [N, length, H, W, C] from frames [T, H, W, C];
// N = (T - length) / stride + 1. Throws lstm::Error when T < length.
Tensor video_clips(const Tensor& frames, int64_t length, int64_t stride);

// ---- activity recognition: a label per clip ------------------------------------------------

// Clips with their labels, as `lstm video train --clips DIR --labels FILE` reads them: a CSV with
// the columns file (a video, a folder of images, or a .npy of frames [T, H, W] or [T, H, W, C],
// relative to dir) and label. Every clip is its first `frames` frames, at the options' size (videos
// are resized; .npy frames must have it) and rate.
struct LabeledClips {
  Tensor clips;                     // [N, frames, H, W, C]
  std::vector<std::string> labels;  // N
  std::vector<std::string> files;   // N, as the CSV names them
};
// Throws lstm::Error naming the CSV line and the fix: a missing column, a file that does not
// exist, a clip with fewer frames than `frames`, frames of another size, an unreadable video.
LabeledClips read_labeled_clips(const std::string& labels_csv, const std::string& dir,
                                int64_t frames, const VideoOptions& options);

struct VideoClassifierOptions {
  // "convlstm": MaxPooling2D(2) -> ConvLSTM2D(filters, 3x3, same) -> GlobalAveragePooling2D ->
  //             Dense(K, softmax)
  // "cnn-lstm": per frame Conv2D(filters, 3x3, relu) -> MaxPooling2D(2) -> Conv2D(2·filters,
  //             3x3, relu) -> MaxPooling2D(2) -> Flatten, then LSTM(units) -> Dense(K, softmax)
  std::string architecture = "convlstm";
  int64_t filters = 16, units = 64;
  int epochs = 10, batch_size = 16;
  float learning_rate = 0.003f;
  double validation_fraction = 0.1;  // of the training clips, for the per-epoch val_accuracy
  uint64_t seed = 42;
  int verbose = 1;
};

struct VideoClassifier {
  Model model;
  std::vector<std::string> labels;
  int64_t frames = 0;  // clip length
  VideoOptions video;  // size, channels and rate of its frames
  History history;     // of training (empty after load)

  // [N, K] probabilities of each clip [N, frames, H, W, C] (K = labels.size()).
  Tensor probabilities(const Tensor& clips);
  std::vector<std::string> predict(const Tensor& clips);
  ClassificationReport evaluate(const Tensor& clips, std::span<const std::string> labels);
  // The model file with "lstm.video" ({"labels", "frames", "height", "width", "channels",
  // "fps"}) in its metadata.
  void save(const std::string& path);
  static VideoClassifier load(const std::string& path);
};

VideoClassifier train_video_classifier(const LabeledClips& data, const VideoOptions& video,
                                       const VideoClassifierOptions& options = {});

// ---- next-frame prediction -------------------------------------------------------------------

// ConvLSTM2D(filters, 3x3, same, return_sequences) stacked `layers` deep -> Conv2D(C, 1x1,
// sigmoid): at every step, the next frame. Trained on sequences [N, T, H, W, C] (values in
// [0, 1]) to predict frames 2..T from frames 1..T-1, with per-pixel binary cross-entropy.
struct FramePredictorOptions {
  int64_t filters = 8, layers = 1;
  int epochs = 10, batch_size = 8;
  float learning_rate = 0.003f;
  double validation_fraction = 0.1;
  uint64_t seed = 42;
  int verbose = 1;
};

// Per-pixel scores of predicted against true frames, beside copying the last frame seen.
struct FrameScores {
  double bce = 0, mse = 0;            // the model's
  double copy_bce = 0, copy_mse = 0;  // the last frame seen, as the prediction
  int64_t frames = 0;                 // predicted frames scored
};

struct FramePredictor {
  Model model;
  History history;  // of training (empty after load)

  // After each step of clips [N, T, H, W, C], the next frame: [N, T, H, W, C].
  Tensor next_frames(const Tensor& clips);
  // From the first `context` frames of each clip, `steps` frames on, each predicted from the
  // frames before it (predictions fed back): [N, steps, H, W, C].
  Tensor rollout(const Tensor& clips, int64_t context, int64_t steps);
  // One step ahead (teacher forcing) on frames 2..T, or with context > 0 the rollout of frames
  // context+1..T; each beside copying the last frame seen.
  FrameScores evaluate(const Tensor& clips, int64_t context = 0);
  void save(const std::string& path);  // "lstm.frames" metadata marks it
  static FramePredictor load(const std::string& path);
};

FramePredictor train_frame_predictor(const Tensor& sequences,
                                     const FramePredictorOptions& options = {});

}  // namespace lstm
