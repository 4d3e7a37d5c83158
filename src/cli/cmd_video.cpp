// lstm video train | classify: activity recognition on video clips (lstm/video.h).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "lstm/video.h"
#include "report/report.h"

namespace lstm::cli {

const Command kVideoTrain{
    "video train",
    "Train an activity classifier on labelled clips (videos or .npy frames): a ConvLSTM2D (or "
    "per-frame "
    "convolutions into an LSTM); with --test-clips, accuracy, per-class scores and a confusion "
    "matrix on them.",
    {{"clips", "DIR",
      "the folder of the clips (.mp4, .avi, .mkv, ..., folders of images, or .npy frames [T, H, "
      "W(, C)])"},
     {"labels", "FILE", "a CSV with the columns file (in DIR) and label (default DIR/labels.csv)"},
     {"out", "FILE", "the model to write (.safetensors)"},
     {"frames", "N", "frames per clip: each clip's first N (default 10)"},
     {"width", "N",
      "resize video frames to this width (with --height; default: the first clip's size)"},
     {"height", "N", "resize video frames to this height"},
     {"channels", "N", "1 (grey, default) or 3 (RGB)"},
     {"fps", "X", "sample videos at this many frames per second (default: every frame)"},
     {"architecture", "NAME", "convlstm (default) or cnn-lstm"},
     {"filters", "N", "convolution filters (default 16)"},
     {"units", "N", "LSTM units of cnn-lstm (default 64)"},
     {"epochs", "N", "passes over the clips (default 20)"},
     {"batch-size", "N", "clips per batch (default 16)"},
     {"lr", "X", "Adam's learning rate (default 0.003)"},
     {"validation-fraction", "F",
      "of the clips held out for per-epoch scores, in [0, 0.5) (default 0.1)"},
     {"test-clips", "DIR", "held-out clips to score after training"},
     {"test-labels", "FILE", "their labels (default TEST-DIR/labels.csv)"},
     {"seed", "N", "the split, the initial weights and shuffling (default 42)"},
     {"report", "FILE",
      "write an HTML report: loss curves, the per-class table, the confusion matrix"},
     {"threads", "N", "threads (default: all cores)"},
     {"quiet", "", "print nothing but errors and the test scores"}}};

const Command kVideoClassify{
    "video classify",
    "Label video files with a trained classifier: a CSV of each clip's label and every class's "
    "probability; "
    "with --stream, a label for each window of the clip length as the video plays.",
    {{"model", "FILE", "the classifier (lstm video train --out)"},
     {"file", "FILE", "a video (or .npy frames) to classify; repeat, or give them bare", true},
     {"stream", "", "slide a window over each whole video: one row per window"},
     {"every", "N", "with --stream, frames between windows (default: half the clip length)"},
     {"out", "FILE", "write the CSV here instead of printing it"},
     {"threads", "N", "threads (default: all cores)"}},
    "file"};

const Command kVideoPredictFrames{
    "video predict-frames",
    "Next-frame prediction with a ConvLSTM2D. With --data: train on sequences of frames and score "
    "the "
    "held-out --test ones (per-pixel cross-entropy and MSE, one step ahead and rolled out, beside "
    "copying "
    "the last frame). With --model: continue each given clip by --steps predicted frames (.npy "
    "out).",
    {{"data", "FILE",
      "training sequences, .npy [N, T, H, W(, C)] in [0, 1] (scripts/moving_digits.py: "
      "bouncing.npy)"},
     {"test", "FILE", "held-out sequences to score, the same shape but N"},
     {"out", "FILE",
      "with --data: the model to write (.safetensors); with --model: the frames (.npy)"},
     {"filters", "N", "ConvLSTM2D filters (default 8)"},
     {"layers", "N", "ConvLSTM2D layers (default 1)"},
     {"epochs", "N", "passes over the sequences (default 10)"},
     {"batch-size", "N", "sequences per batch (default 8)"},
     {"lr", "X", "Adam's learning rate (default 0.003)"},
     {"context", "N", "frames given before the rollout (default: half the sequence)"},
     {"seed", "N", "the split, the initial weights and shuffling (default 42)"},
     {"report", "FILE",
      "write an HTML report: loss curves, the scores, predicted against true frames"},
     {"model", "FILE", "a frame predictor to run (lstm video predict-frames --data ... --out)"},
     {"input", "FILE",
      "with --model: a video, .npy frames [T, H, W(, C)] or sequences [N, T, H, W, C]"},
     {"steps", "N", "with --model: frames to predict after the input (default 5)"},
     {"threads", "N", "threads (default: all cores)"},
     {"quiet", "", "print nothing but errors and the scores"}}};

namespace {

VideoOptions video_options(const Args& a) {
  VideoOptions v;
  v.width = a.integer("width", 0, 1, 16384);
  v.height = a.integer("height", 0, 1, 16384);
  if (a.has("width") != a.has("height")) throw UsageError("give --width and --height together");
  v.channels = a.integer("channels", 1, 1, 3);
  if (v.channels == 2) throw UsageError("--channels must be 1 (grey) or 3 (RGB)");
  v.fps = a.number("fps", 0.0);
  if (v.fps < 0.0) throw UsageError("--fps must be > 0");
  return v;
}

std::string labels_of(const Args& a, const char* file_option, const std::string& dir) {
  return a.has(file_option) ? a.str(file_option)
                            : (std::filesystem::path(dir) / "labels.csv").string();
}

std::string number(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.6f", v);
  return s;
}

// The frames of one file at the classifier's size: a video through FFmpeg, or .npy frames.
// (The first `max_frames` of a video; 0: all.)
Tensor frames_of(const std::string& path, const VideoClassifier& c, int64_t max_frames) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    Tensor f = load_npy(path);
    if (f.rank() == 3) f = f.reshaped({f.dim(0), f.dim(1), f.dim(2), 1});
    if (f.rank() != 4 || f.dim(1) != c.video.height || f.dim(2) != c.video.width ||
        f.dim(3) != c.video.channels)
      throw Error(path + " has shape " + f.shape_string() + " but the model takes frames [T, " +
                  std::to_string(c.video.height) + ", " + std::to_string(c.video.width) + ", " +
                  std::to_string(c.video.channels) + "]");
    return f;
  }
  VideoOptions v = c.video;
  v.max_frames = max_frames;
  return read_video(path, v);
}

}  // namespace

int run_video_train(const Args& a) {
  const std::string dir = a.required("clips"), out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"labels", "test-labels"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  const VideoOptions video = video_options(a);
  const int64_t frames = a.integer("frames", 10, 1, 100000);
  VideoClassifierOptions o;
  o.architecture = a.str("architecture", "convlstm");
  if (o.architecture != "convlstm" && o.architecture != "cnn-lstm")
    throw UsageError("--architecture must be convlstm or cnn-lstm, got '" + o.architecture + "'");
  o.filters = a.integer("filters", 16, 1, 1024);
  o.units = a.integer("units", 64, 1, 1 << 16);
  o.epochs = int(a.integer("epochs", 20, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 16, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.003));
  o.validation_fraction = a.number("validation-fraction", 0.1);
  if (!(o.validation_fraction >= 0.0 && o.validation_fraction < 0.5))
    throw UsageError("--validation-fraction must be in [0, 0.5)");
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  const LabeledClips train = read_labeled_clips(labels_of(a, "labels", dir), dir, frames, video);
  LabeledClips test;
  if (a.has("test-clips")) {
    VideoOptions sized = video;  // the test clips at the training clips' size
    sized.height = train.clips.dim(2), sized.width = train.clips.dim(3);
    test = read_labeled_clips(labels_of(a, "test-labels", a.str("test-clips")), a.str("test-clips"),
                              frames, sized);
  }
  if (!a.has("quiet"))
    std::printf("%lld clips of %lld frames of %lld x %lld x %lld\n",
                static_cast<long long>(train.clips.dim(0)), static_cast<long long>(frames),
                static_cast<long long>(train.clips.dim(2)),
                static_cast<long long>(train.clips.dim(3)),
                static_cast<long long>(train.clips.dim(4)));
  VideoClassifier c = train_video_classifier(train, video, o);
  c.save(out);
  ClassificationReport scores;
  if (test.clips.size() > 0) {
    scores = c.evaluate(test.clips, test.labels);
    std::printf("test: %s", scores.table().c_str());
  }
  if (a.has("report")) {
    ReportContent r;
    r.title = "Video activity classifier";
    r.facts = {
        {"clips", dir + " (" + std::to_string(train.clips.dim(0)) + " clips of " +
                      std::to_string(frames) + " frames, " + std::to_string(train.clips.dim(2)) +
                      " x " + std::to_string(train.clips.dim(3)) + ")"},
        {"model", o.architecture == "convlstm"
                      ? "MaxPooling2D(2) -> ConvLSTM2D(" + std::to_string(o.filters) +
                            ", 3x3, same) -> GlobalAveragePooling2D -> Dense(" +
                            std::to_string(c.labels.size()) + ", softmax)"
                      : "per frame Conv2D(" + std::to_string(o.filters) +
                            ") -> MaxPooling2D -> Conv2D(" + std::to_string(2 * o.filters) +
                            ") -> MaxPooling2D -> Flatten, LSTM(" + std::to_string(o.units) +
                            ") -> Dense(" + std::to_string(c.labels.size()) + ", softmax)"}};
    if (test.clips.size() > 0) {
      r.facts.push_back({"test", a.str("test-clips") + " (" + std::to_string(test.clips.dim(0)) +
                                     " clips, never trained on)"});
      r.classification = &scores;
    }
    r.history = c.history.history;
    // one example clip of each class, from the test clips when given, with what the model said
    const LabeledClips& shown = test.clips.size() > 0 ? test : train;
    const int64_t frame = shown.clips.size() / (shown.clips.dim(0) * frames);
    FrameStrip strip{
        std::string("An example of each class") + (test.clips.size() > 0 ? " (test clips)" : ""),
        shown.clips.dim(2),
        shown.clips.dim(3),
        shown.clips.dim(4),
        {},
        {},
        {}};
    for (int64_t t = 0; t < frames; ++t)
      strip.column_labels.push_back("frame " + std::to_string(t + 1));
    for (const std::string& label : c.labels) {
      const auto at = std::find(shown.labels.begin(), shown.labels.end(), label);
      if (at == shown.labels.end()) continue;
      const int64_t n = int64_t(at - shown.labels.begin());
      const float* clip = shown.clips.data() + n * frames * frame;
      const Tensor one({1, frames, shown.clips.dim(2), shown.clips.dim(3), shown.clips.dim(4)},
                       std::vector<float>(clip, clip + frames * frame));
      strip.row_labels.push_back(label + " (said: " + c.predict(one)[0] + ")");
      strip.rows.emplace_back(clip, clip + frames * frame);
    }
    r.frame_strips.push_back(std::move(strip));
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  return 0;
}

int run_video_classify(const Args& a) {
  VideoClassifier c = VideoClassifier::load(a.required("model"));
  const std::vector<std::string> files = a.all("file");
  if (files.empty())
    throw UsageError(
        "give the video files to classify (lstm video classify --model M a.mp4 b.mp4)");
  const bool stream = a.has("stream");
  const int64_t every = a.integer("every", std::max<int64_t>(1, c.frames / 2), 1, 100000);
  if (a.has("every") && !stream) throw UsageError("--every applies with --stream");
  std::ostringstream csv;
  csv << "file" << (stream ? ",first_frame,last_frame" : "") << ",label";
  for (const std::string& l : c.labels) csv << "," << csv_cell("p_" + l);
  csv << "\n";
  const int64_t K = int64_t(c.labels.size());
  for (const std::string& file : files) {
    const Tensor f = frames_of(file, c, stream ? 0 : c.frames);  // without --stream, one clip
    if (f.dim(0) < c.frames)
      throw Error(file + " has " + std::to_string(f.dim(0)) +
                  " frames, fewer than the model's clips of " + std::to_string(c.frames));
    // --stream: a window every `every` frames; else the first clip (a stride past the end: one)
    const Tensor clips = video_clips(f, c.frames, stream ? every : f.dim(0));
    const int64_t n = clips.dim(0);
    const Tensor p = c.probabilities(clips);
    for (int64_t k = 0; k < n; ++k) {
      int64_t best = 0;
      for (int64_t j = 1; j < K; ++j)
        if (p[k * K + j] > p[k * K + best]) best = j;
      csv << csv_cell(file);
      if (stream) csv << "," << k * every << "," << k * every + c.frames - 1;
      csv << "," << csv_cell(c.labels[size_t(best)]);
      for (int64_t j = 0; j < K; ++j) csv << "," << number(p[k * K + j]);
      csv << "\n";
    }
  }
  if (a.has("out"))
    write_file_atomic(a.str("out"), csv.str(), "predictions");
  else
    std::fputs(csv.str().c_str(), stdout);
  return 0;
}

namespace {

// .npy sequences [N, T, H, W(, C)] (or one, [T, H, W(, C)]) as [N, T, H, W, C].
Tensor sequences_of(const std::string& path) {
  Tensor x = load_npy(path);
  if (x.rank() == 3)
    x = x.reshaped({1, x.dim(0), x.dim(1), x.dim(2), 1});
  else if (x.rank() == 4)
    x = x.reshaped({x.dim(0), x.dim(1), x.dim(2), x.dim(3), 1});
  if (x.rank() != 5 || (x.dim(4) != 1 && x.dim(4) != 3))
    throw Error(path + " has shape " + x.shape_string() +
                ": sequences of frames are [N, T, H, W] or [N, T, H, W, C] "
                "(C = 1 or 3)");
  return x;
}

std::string score(double v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.5f", v);
  return s;
}

}  // namespace

int run_video_predict_frames(const Args& a) {
  if (a.has("model") == a.has("data"))
    throw UsageError("give --data (to train a frame predictor) or --model (to run one), not both");
  const std::string out = a.required("out");
  if (a.has("model")) {
    check_outputs_distinct(a, {"out"}, {"model", "input"});
    check_writable(out);
    FramePredictor p = FramePredictor::load(a.str("model"));
    const std::string input = a.required("input");
    // a video, one clip of frames [T, H, W] or [T, H, W, C], or sequences [N, T, H, W, C]
    Tensor clips;
    if (input.size() > 4 && input.compare(input.size() - 4, 4, ".npy") == 0) {
      clips = load_npy(input);
      if (clips.rank() == 3)
        clips = clips.reshaped({1, clips.dim(0), clips.dim(1), clips.dim(2), 1});
      else if (clips.rank() == 4)
        clips = clips.reshaped({1, clips.dim(0), clips.dim(1), clips.dim(2), clips.dim(3)});
      else if (clips.rank() != 5)
        throw Error(input + " has shape " + clips.shape_string() +
                    ": give frames [T, H, W], [T, H, W, C] or "
                    "sequences [N, T, H, W, C]");
    } else {
      const Tensor f = read_video(input, {});
      clips = f.reshaped({1, f.dim(0), f.dim(1), f.dim(2), f.dim(3)});
    }
    const int64_t steps = a.integer("steps", 5, 1, 10000);
    const Tensor frames = p.rollout(clips, clips.dim(1), steps);
    save_npy(out, frames);
    return 0;
  }
  const std::string data = a.str("data");
  check_outputs_distinct(a, {"out", "report"}, {"data", "test"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  FramePredictorOptions o;
  o.filters = a.integer("filters", 8, 1, 1024);
  o.layers = a.integer("layers", 1, 1, 8);
  o.epochs = int(a.integer("epochs", 10, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 8, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.003));
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  const Tensor train = sequences_of(data);
  Tensor test;
  if (a.has("test")) {
    test = sequences_of(a.str("test"));
    if (test.dim(2) != train.dim(2) || test.dim(3) != train.dim(3) || test.dim(4) != train.dim(4))
      throw Error(a.str("test") + " has frames " + test.shape_string() + " of another size than " +
                  data + "'s " + train.shape_string());
  }
  const int64_t T = train.dim(1);
  const int64_t context =
      a.integer("context", std::max<int64_t>(1, T / 2), 1, std::max<int64_t>(1, T - 1));
  FramePredictor p = train_frame_predictor(train, o);
  p.save(out);
  ReportContent r;
  if (test.size() > 0) {
    const FrameScores one = p.evaluate(test, 0), roll = p.evaluate(test, context);
    std::printf("test: %lld sequences of %lld frames\n", static_cast<long long>(test.dim(0)),
                static_cast<long long>(test.dim(1)));
    std::printf("%-34s %12s %12s\n", "per pixel", "cross-ent.", "MSE");
    std::printf("%-34s %12.5f %12.5f\n", "one step ahead: the model", one.bce, one.mse);
    std::printf("%-34s %12.5f %12.5f\n", "one step ahead: copy the last", one.copy_bce,
                one.copy_mse);
    const std::string rolled =
        "from " + std::to_string(context) + " frames, " + std::to_string(T - context) + " on";
    std::printf("%-34s %12.5f %12.5f\n", (rolled + ": model").c_str(), roll.bce, roll.mse);
    std::printf("%-34s %12.5f %12.5f\n", (rolled + ": copy").c_str(), roll.copy_bce, roll.copy_mse);
    r.tables.push_back(
        {"Held-out frames, per pixel",
         {"prediction", "cross-entropy", "MSE"},
         {{"one step ahead: the model", score(one.bce), score(one.mse)},
          {"one step ahead: copy the last frame", score(one.copy_bce), score(one.copy_mse)},
          {rolled + ": the model", score(roll.bce), score(roll.mse)},
          {rolled + ": copy the last given frame", score(roll.copy_bce), score(roll.copy_mse)}}});
    // pictures: for a few sequences, the true frames after the context and the rollout beneath
    const int64_t show = std::min<int64_t>(3, test.dim(0)), frame = test.size() / (test.dim(0) * T);
    const Tensor some = Tensor({show, T, test.dim(2), test.dim(3), test.dim(4)},
                               std::vector<float>(test.data(), test.data() + show * T * frame));
    const Tensor rolled_frames = p.rollout(some, context, T - context);
    FrameStrip strip{
        "Rolled out from " + std::to_string(context) + " frames: true (above) and predicted",
        test.dim(2),
        test.dim(3),
        test.dim(4),
        {},
        {},
        {}};
    for (int64_t t = 0; t < T; ++t)
      strip.column_labels.push_back((t < context ? "seen " : "t=") + std::to_string(t + 1));
    for (int64_t n = 0; n < show; ++n) {
      const float* seq = some.data() + n * T * frame;
      strip.row_labels.push_back("true " + std::to_string(n + 1));
      strip.rows.emplace_back(seq, seq + T * frame);
      std::vector<float> row(seq, seq + context * frame);  // the context again, then the prediction
      const float* pr = rolled_frames.data() + n * (T - context) * frame;
      row.insert(row.end(), pr, pr + (T - context) * frame);
      strip.row_labels.push_back("predicted " + std::to_string(n + 1));
      strip.rows.push_back(std::move(row));
    }
    r.frame_strips.push_back(std::move(strip));
  }
  if (a.has("report")) {
    r.title = "Next-frame prediction";
    r.facts = {
        {"data", data + " (" + std::to_string(train.dim(0)) + " sequences of " + std::to_string(T) +
                     " frames, " + std::to_string(train.dim(2)) + " x " +
                     std::to_string(train.dim(3)) + ")"},
        {"model", std::to_string(o.layers) + " x ConvLSTM2D(" + std::to_string(o.filters) +
                      ", 3x3, same) -> Conv2D(1x1, sigmoid); binary cross-entropy per pixel"}};
    r.history = p.history.history;
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  return 0;
}

}  // namespace lstm::cli
