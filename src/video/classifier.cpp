// Activity recognition: labelled clips in, a classifier of clips out (include/lstm/video.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numeric>

#include "core/json.h"
#include "core/limits.h"
#include "core/rng.h"
#include "lstm/data.h"
#include "lstm/error.h"
#include "lstm/io.h"
#include "lstm/video.h"

namespace lstm {

namespace {

const char* const kVideoKey = "lstm.video";

bool is_npy(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}

// The first `frames` frames of one file as [frames, H, W, C], checked against the options' size.
Tensor clip_of(const std::string& path, int64_t frames, const VideoOptions& o,
               const std::string& where) {
  Tensor f;
  if (is_npy(path)) {
    f = load_npy(path);
    if (f.rank() == 3) f = f.reshaped({f.dim(0), f.dim(1), f.dim(2), 1});
    if (f.rank() != 4)
      throw Error(where + ": " + path + " has shape " + f.shape_string() +
                  ": a clip is [T, H, W] or [T, H, W, C]");
    if ((o.height > 0 && f.dim(1) != o.height) || (o.width > 0 && f.dim(2) != o.width) ||
        f.dim(3) != o.channels)
      throw Error(where + ": " + path + " has frames of " + std::to_string(f.dim(1)) + " x " +
                  std::to_string(f.dim(2)) + " x " + std::to_string(f.dim(3)) +
                  " but the clips are " + std::to_string(o.height) + " x " +
                  std::to_string(o.width) + " x " + std::to_string(o.channels) +
                  " (height x width x channels)");
  } else {
    VideoOptions v = o;
    v.max_frames = frames;
    try {
      std::error_code ec;
      f = std::filesystem::is_directory(path, ec) ? read_image_folder(path, o)
                                                  : read_video(path, v);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  if (f.dim(0) < frames)
    throw Error(where + ": " + path + " has " + std::to_string(f.dim(0)) +
                " frames, fewer than the " + std::to_string(frames) +
                " of a clip: give a shorter clip length or a longer clip");
  return f;
}

int64_t argmax_row(const Tensor& p, int64_t n, int64_t K) {
  int64_t best = 0;
  for (int64_t k = 1; k < K; ++k)
    if (p[n * K + k] > p[n * K + best]) best = k;
  return best;
}

}  // namespace

LabeledClips read_labeled_clips(const std::string& labels_csv, const std::string& dir,
                                int64_t frames, const VideoOptions& options) {
  if (frames < 1 || frames > 100000)
    throw Error("the clip length must be in 1..100000 frames, got " + std::to_string(frames));
  const CsvTable table = read_csv(labels_csv);
  const int file_col = table.column("file"), label_col = table.column("label");
  if (table.rows.empty()) throw Error(labels_csv + " has no clips: one row per clip, file,label");
  LabeledClips out;
  VideoOptions o = options;
  int64_t at = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::string where = labels_csv + " line " + std::to_string(table.lines[r]);
    const std::string& name = table.rows[r][size_t(file_col)];
    const std::string& label = table.rows[r][size_t(label_col)];
    if (name.empty() || label.empty())
      throw Error(where + ": the file and the label must not be empty");
    const std::string path = (std::filesystem::path(dir) / name).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw Error(where + " names " + name + ", which is not in " + dir +
                  ": fix the name or add the clip");
    const Tensor f = clip_of(path, frames, o, where);
    if (out.clips.size() == 0) {  // the first clip sets the size when the options have none
      o.height = f.dim(1), o.width = f.dim(2);
      const int64_t frame = f.dim(1) * f.dim(2) * f.dim(3);
      if (frame * frames * int64_t(table.rows.size()) > (int64_t(1) << 34))
        throw Error(labels_csv + ": " + std::to_string(table.rows.size()) +
                    " clips of this size are more than 64 GiB");
      out.clips = Tensor({int64_t(table.rows.size()), frames, f.dim(1), f.dim(2), f.dim(3)});
    }
    const int64_t n = frames * f.dim(1) * f.dim(2) * f.dim(3);
    std::memcpy(out.clips.data() + at, f.data(), sizeof(float) * size_t(n));
    at += n;
    out.files.push_back(name);
    out.labels.push_back(label);
  }
  return out;
}

VideoClassifier train_video_classifier(const LabeledClips& data, const VideoOptions& video,
                                       const VideoClassifierOptions& o) {
  const Tensor& X = data.clips;
  if (X.rank() != 5 || X.dim(0) != int64_t(data.labels.size()))
    throw Error("train_video_classifier: clips must be [N, T, H, W, C] with one label each, got " +
                X.shape_string() + " and " + std::to_string(data.labels.size()) + " labels");
  if (o.architecture != "convlstm" && o.architecture != "cnn-lstm")
    throw Error("unknown architecture \"" + o.architecture + "\" (use convlstm or cnn-lstm)");
  if (o.filters < 1 || o.filters > 1024 || o.units < 1 || o.units > limits::kWidth)
    throw Error("filters must be in 1..1024 and units at least 1");
  if (!(o.validation_fraction >= 0.0 && o.validation_fraction < 0.5))
    throw Error("validation_fraction must be in [0, 0.5), got " +
                std::to_string(o.validation_fraction));
  std::vector<std::string> labels = data.labels;
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() < 2)
    throw Error("the clips have one label only: a classifier needs at least two");
  std::map<std::string, int64_t> class_of;
  for (size_t k = 0; k < labels.size(); ++k) class_of[labels[k]] = int64_t(k);
  const int64_t N = X.dim(0), T = X.dim(1), H = X.dim(2), W = X.dim(3), C = X.dim(4),
                K = int64_t(labels.size());
  if (H < 4 || W < 4)
    throw Error("frames of " + std::to_string(H) + " x " + std::to_string(W) +
                " are too small: at least 4 x 4");

  // shuffled once with the seed; the last validation_fraction is for the per-epoch scores
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(o.seed);
  for (int64_t k = N - 1; k > 0; --k)
    std::swap(order[size_t(k)], order[rng.below(uint32_t(k + 1))]);
  const int64_t n_val = o.validation_fraction > 0.0
                            ? std::max<int64_t>(1, int64_t(double(N) * o.validation_fraction))
                            : 0;
  if (N - n_val < 1) throw Error("too few clips to train on");
  const int64_t frame = H * W * C;
  Tensor xs({N, T, H, W, C}), ys({N, 1});
  for (int64_t k = 0; k < N; ++k) {
    const int64_t r = order[size_t(k)];
    std::memcpy(xs.data() + k * T * frame, X.data() + r * T * frame,
                sizeof(float) * size_t(T * frame));
    ys[k] = float(class_of[data.labels[size_t(r)]]);
  }

  auto in = Input({T, H, W, C}, {.name = "clips"});
  SymbolicTensor h;
  if (o.architecture == "convlstm") {
    h = GlobalAveragePooling2D()(
        ConvLSTM2D(o.filters, {3, 3}, {.padding = ConvPadding::same})(MaxPooling2D({2, 2})(in)));
  } else {
    auto f = MaxPooling2D({2, 2})(Conv2D(
        o.filters, {3, 3}, {.padding = ConvPadding::same, .activation = Activation::relu})(in));
    f = MaxPooling2D({2, 2}, {.padding = ConvPadding::same})(Conv2D(
        2 * o.filters, {3, 3}, {.padding = ConvPadding::same, .activation = Activation::relu})(f));
    h = LSTM(int(o.units))(TimeDistributed(Flatten())(f));
  }
  auto y = Dense(int(K), {.activation = Activation::softmax})(h);
  VideoClassifier c{
      Model(in, y, {.name = "video_classifier", .seed = o.seed}), labels, T, video, {}};
  c.video.height = H, c.video.width = W, c.video.channels = C;
  c.model.compile(Adam({.learning_rate = o.learning_rate}), loss::sparse_categorical_crossentropy,
                  {.metrics = {"accuracy"}});
  c.history = c.model.fit(xs, ys,
                          {.epochs = o.epochs,
                           .batch_size = o.batch_size,
                           .validation_split = n_val > 0 ? double(n_val) / double(N) : 0.0,
                           .verbose = o.verbose});
  return c;
}

Tensor VideoClassifier::probabilities(const Tensor& clips) {
  if (clips.rank() != 5 || clips.dim(1) != frames || clips.dim(2) != video.height ||
      clips.dim(3) != video.width || clips.dim(4) != video.channels)
    throw Error("the classifier takes clips [N, " + std::to_string(frames) + ", " +
                std::to_string(video.height) + ", " + std::to_string(video.width) + ", " +
                std::to_string(video.channels) + "], got " + clips.shape_string());
  if (clips.dim(0) == 0) return Tensor({0, int64_t(labels.size())});
  return model.predict(clips, 16)[0];
}

std::vector<std::string> VideoClassifier::predict(const Tensor& clips) {
  const int64_t K = int64_t(labels.size());
  const Tensor p = probabilities(clips);
  std::vector<std::string> out;
  for (int64_t n = 0; n < clips.dim(0); ++n) out.push_back(labels[size_t(argmax_row(p, n, K))]);
  return out;
}

ClassificationReport VideoClassifier::evaluate(const Tensor& clips,
                                               std::span<const std::string> truth) {
  if (clips.rank() != 5 || clips.dim(0) != int64_t(truth.size()))
    throw Error("evaluate: " + clips.shape_string() + " clips but " + std::to_string(truth.size()) +
                " labels");
  return classification_report(labels, probabilities(clips), truth, "clip");
}

void VideoClassifier::save(const std::string& path) {
  model.metadata()[kVideoKey] =
      nlohmann::json{{"labels", labels},     {"frames", frames},           {"height", video.height},
                     {"width", video.width}, {"channels", video.channels}, {"fps", video.fps}}
          .dump();
  model.save(path);
}

VideoClassifier VideoClassifier::load(const std::string& path) {
  Model m = Model::load(path);
  const auto it = m.metadata().find(kVideoKey);
  if (it == m.metadata().end())
    throw Error(path + " is not a video classifier (no \"" + kVideoKey +
                "\" metadata): train one with lstm video train");
  const std::string where = path + ": its \"" + kVideoKey + "\" metadata";
  const nlohmann::json meta = parse_json(it->second, where);
  if (!meta.is_object() || !meta.contains("labels") || !meta["labels"].is_array())
    throw Error(where + " needs \"labels\", a list of strings");
  std::vector<std::string> labels;
  for (const nlohmann::json& l : meta["labels"]) {
    if (!l.is_string()) throw Error(where + ": every label must be a string");
    labels.push_back(l.get<std::string>());
  }
  VideoOptions v;
  auto integer = [&](const char* key, int64_t lo, int64_t hi) {
    if (!meta.contains(key)) throw Error(where + " needs \"" + key + "\"");
    return json_integer(meta[key], lo, hi, where + ": \"" + key + "\"");
  };
  const int64_t frames = integer("frames", 1, 100000);
  v.height = integer("height", 1, 16384), v.width = integer("width", 1, 16384),
  v.channels = integer("channels", 1, 3);
  if (meta.contains("fps")) {
    if (!meta["fps"].is_number() || !(meta["fps"].get<double>() >= 0.0))
      throw Error(where + ": \"fps\" must be >= 0");
    v.fps = meta["fps"].get<double>();
  }
  const std::vector<NamedWeight> w = m.weights();  // the head's bias last: one per class
  if (labels.size() < 2 || w.empty() ||
      w.back().shape != std::vector<int64_t>{int64_t(labels.size())})
    throw Error(where + " has " + std::to_string(labels.size()) +
                " labels but the model's head has another width");
  return VideoClassifier{std::move(m), std::move(labels), frames, v, {}};
}

}  // namespace lstm
