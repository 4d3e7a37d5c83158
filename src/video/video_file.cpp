// Frames from video files and image folders (include/lstm/video.h) through FFmpeg, decoded in
// a child process (io/sandbox.h). The child opens one file per "open" request and answers
// "next" with up to kBatch frames (fewer when they are large: batch_of), already resized and
// converted to grey or RGB bytes; this process checks every size before it allocates and turns
// bytes into floats.
//
// The child's libavformat reads local files only ("file" protocol) of the formats in kFormats,
// so a hostile playlist cannot make it open other files or the network; frames larger than
// kMaxSide on a side are refused before a decoder allocates for them.
#include "lstm/video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "io/sandbox.h"
#include "lstm/error.h"

namespace lstm {

namespace {

constexpr int64_t kBatch = 64;                      // frames per reply, at most
constexpr int64_t kReplyBytes = int64_t(64) << 20;  // and at most this much (at least one frame)
constexpr int64_t kMaxSide = 16384;     // pixels, in the file and asked for
constexpr int64_t kMaxFrames = 100000;  // per file, unless the caller asks for fewer
constexpr uint64_t kMaxBytes = uint64_t(1) << 31;  // of frames per file, as bytes (4x as floats)
// Containers: MP4/MOV, Matroska/WebM, AVI, MPEG, Ogg, FLV, raw H.264/HEVC/MJPEG, GIF, and
// the single images of image folders.
constexpr const char* kFormats =
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpeg,mpegts,mpegvideo,ogg,flv,h264,hevc,mjpeg,gif,"
    "image2,png_pipe,jpeg_pipe,bmp_pipe,gif_pipe,tiff_pipe,webp_pipe,pgm_pipe,ppm_pipe,pgmyuv_pipe";

// Frames per reply for frames of `frame_bytes`: both sides compute it.
int64_t batch_of(int64_t frame_bytes) {
  return std::max<int64_t>(
      1, std::min<int64_t>(kBatch, kReplyBytes / std::max<int64_t>(frame_bytes, 1)));
}

std::string av_message(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof(text));
  return text;
}

// The decoder, as the child holds it between requests.
class Decoder {
 public:
  ~Decoder() { close(); }

  // Opens `path`; returns "width height" of its frames.
  std::string open(const std::string& path, const VideoOptions& o) {
    close();
    o_ = o;
    AVDictionary* opts = nullptr;
    av_dict_set(&opts, "format_whitelist", kFormats, 0);
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    const int r = avformat_open_input(&fmt_, path.c_str(), nullptr, &opts);
    av_dict_free(&opts);
    if (r < 0)
      throw Error("not a video or image FFmpeg reads, or damaged or cut short (" + av_message(r) +
                  ")");
    if (const int s = avformat_find_stream_info(fmt_, nullptr); s < 0)
      throw Error("its streams cannot be read (" + av_message(s) + ")");
    const AVCodec* codec = nullptr;
    stream_ = av_find_best_stream(fmt_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_ < 0 || !codec) throw Error("it has no video stream FFmpeg can decode");
    const AVCodecParameters* par = fmt_->streams[stream_]->codecpar;
    if (par->width < 1 || par->height < 1 || par->width > kMaxSide || par->height > kMaxSide)
      throw Error("its frames are " + std::to_string(par->width) + " x " +
                  std::to_string(par->height) + " pixels; lstm reads frames of 1 to " +
                  std::to_string(kMaxSide) + " pixels a side");
    ctx_ = avcodec_alloc_context3(codec);
    if (!ctx_ || avcodec_parameters_to_context(ctx_, par) < 0)
      throw Error("its decoder cannot be set up");
    ctx_->max_pixels = kMaxSide * kMaxSide;
    ctx_->thread_count = 1;
    if (const int c = avcodec_open2(ctx_, codec, nullptr); c < 0)
      throw Error("its " + std::string(codec->name) + " decoder does not open (" + av_message(c) +
                  ")");
    packet_ = av_packet_alloc(), frame_ = av_frame_alloc();
    if (!packet_ || !frame_) throw Error("out of memory");
    width_ = o.width > 0 ? o.width : par->width;
    height_ = o.height > 0 ? o.height : par->height;
    next_time_ = -1e300;
    return std::to_string(width_) + " " + std::to_string(height_);
  }

  // Up to batch_of(frame bytes) more frames, as bytes; empty at the end.
  std::string next() {
    std::string out;
    const int64_t frame_bytes = width_ * height_ * o_.channels;
    while (int64_t(out.size()) < batch_of(frame_bytes) * frame_bytes && !done_) {
      if (!receive(out)) feed();
    }
    return out;
  }

 private:
  // Sends the next packet of the video stream to the decoder (or the end).
  void feed() {
    for (;;) {
      const int r = av_read_frame(fmt_, packet_);
      if (r == AVERROR_EOF || r == AVERROR(EIO)) {
        avcodec_send_packet(ctx_, nullptr);  // drain
        draining_ = true;
        return;
      }
      if (r < 0) throw Error("it is damaged (" + av_message(r) + ")");
      if (packet_->stream_index != stream_) {
        av_packet_unref(packet_);
        continue;
      }
      const int s = avcodec_send_packet(ctx_, packet_);
      av_packet_unref(packet_);
      // EAGAIN cannot happen here: feed() runs only after receive() found the decoder needing input
      if (s < 0 && s != AVERROR(EAGAIN))
        throw Error("its video cannot be decoded (" + av_message(s) + ")");
      return;
    }
  }

  // Takes a decoded frame into out if the decoder has one (false: it needs a packet first).
  bool receive(std::string& out) {
    const int r = avcodec_receive_frame(ctx_, frame_);
    if (r == AVERROR(EAGAIN)) {
      if (draining_) done_ = true;
      return false;
    }
    if (r == AVERROR_EOF) {
      done_ = true;
      return true;
    }
    if (r < 0) throw Error("its video cannot be decoded (" + av_message(r) + ")");
    const AVStream* st = fmt_->streams[stream_];
    double t = double(decoded_);
    if (frame_->best_effort_timestamp != AV_NOPTS_VALUE)
      t = double(frame_->best_effort_timestamp) * av_q2d(st->time_base);
    else if (st->avg_frame_rate.num > 0)
      t = double(decoded_) / av_q2d(st->avg_frame_rate);
    ++decoded_;
    const bool take = o_.fps <= 0.0 || t >= next_time_ - 1e-9;
    if (take) {
      if (o_.fps > 0.0) next_time_ = (next_time_ < -1e299 ? t : next_time_) + 1.0 / o_.fps;
      convert(out);
      if (++taken_ >= (o_.max_frames > 0 ? o_.max_frames : kMaxFrames)) done_ = true;
    }
    av_frame_unref(frame_);
    return true;
  }

  void convert(std::string& out) {
    if (frame_->width < 1 || frame_->height < 1 || frame_->width > kMaxSide ||
        frame_->height > kMaxSide)
      throw Error("a frame of " + std::to_string(frame_->width) + " x " +
                  std::to_string(frame_->height) + " pixels is out of range");
    const AVPixelFormat to = o_.channels == 3 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_GRAY8;
    sws_ = sws_getCachedContext(sws_, frame_->width, frame_->height, AVPixelFormat(frame_->format),
                                int(width_), int(height_), to, SWS_AREA, nullptr, nullptr, nullptr);
    if (!sws_) throw Error("its pixel format cannot be converted");
    const size_t at = out.size(), row = size_t(width_ * o_.channels);
    out.resize(at + row * size_t(height_));
    uint8_t* dst[4] = {reinterpret_cast<uint8_t*>(out.data() + at), nullptr, nullptr, nullptr};
    const int stride[4] = {int(row), 0, 0, 0};
    if (sws_scale(sws_, frame_->data, frame_->linesize, 0, frame_->height, dst, stride) !=
        int(height_))
      throw Error("a frame could not be resized");
  }

  void close() {
    if (sws_) sws_freeContext(sws_), sws_ = nullptr;
    if (frame_) av_frame_free(&frame_);
    if (packet_) av_packet_free(&packet_);
    if (ctx_) avcodec_free_context(&ctx_);
    if (fmt_) avformat_close_input(&fmt_);
    stream_ = -1, decoded_ = taken_ = 0, draining_ = done_ = false;
  }

  VideoOptions o_;
  AVFormatContext* fmt_ = nullptr;
  AVCodecContext* ctx_ = nullptr;
  SwsContext* sws_ = nullptr;
  AVPacket* packet_ = nullptr;
  AVFrame* frame_ = nullptr;
  int stream_ = -1;
  int64_t width_ = 0, height_ = 0, decoded_ = 0, taken_ = 0;
  double next_time_ = 0.0;
  bool draining_ = false, done_ = false;
};

void check_options(const VideoOptions& o, const std::string& what) {
  if (o.width < 0 || o.height < 0 || o.width > kMaxSide || o.height > kMaxSide ||
      (o.width == 0) != (o.height == 0))
    throw Error(what + ": width and height must both be in 1.." + std::to_string(kMaxSide) +
                " (or both 0: the file's size), got " + std::to_string(o.width) + " x " +
                std::to_string(o.height));
  if (o.channels != 1 && o.channels != 3)
    throw Error(what + ": channels must be 1 (grey) or 3 (RGB), got " + std::to_string(o.channels));
  if (!(o.fps >= 0.0) || !std::isfinite(o.fps))
    throw Error(what + ": fps must be a number >= 0 (0: every frame), got " +
                std::to_string(o.fps));
  if (o.max_frames < 0 || o.max_frames > kMaxFrames)
    throw Error(what + ": max_frames must be in 0.." + std::to_string(kMaxFrames) + ", got " +
                std::to_string(o.max_frames));
  if (!(o.seconds > 0.0)) throw Error(what + ": seconds must be > 0");
}

void check_readable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(path + ": no such file (give the path of a video file)");
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw Error(path + ": cannot be opened for reading (check its permissions)");
}

// One child for a run of files: "open <path>" then "next" until an empty reply.
class VideoChild {
 public:
  explicit VideoChild(const VideoOptions& o)
      : o_(o),
        child_("FFmpeg", [o, decoder = std::make_shared<Decoder>()](std::string_view request) {
          if (request.substr(0, 5) == "open ")
            return decoder->open(std::string(request.substr(5)), o);
          if (request == "next") return decoder->next();
          throw Error("unknown request");
        }) {}

  // The frames of `path` as bytes, with their size.
  std::string read(const std::string& path, int64_t& width, int64_t& height, int64_t& frames) {
    check_readable(path);
    std::string size;
    try {
      size = child_.call("open " + path, o_.seconds, 64);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    std::istringstream in(size);
    if (!(in >> width >> height) || width < 1 || height < 1 || width > kMaxSide ||
        height > kMaxSide)
      throw Error(path + ": the decoder answered an impossible frame size");
    const uint64_t frame_bytes = uint64_t(width * height * o_.channels);
    const int64_t limit = o_.max_frames > 0 ? o_.max_frames : kMaxFrames;
    std::string bytes;
    for (;;) {
      std::string more;
      try {
        more =
            child_.call("next", o_.seconds, frame_bytes * uint64_t(batch_of(int64_t(frame_bytes))));
      } catch (const Error& e) {
        throw Error(path + ": " + e.what());
      }
      if (more.empty()) break;
      if (more.size() % frame_bytes != 0)
        throw Error(path + ": the decoder answered a partial frame");
      if (bytes.size() / frame_bytes + more.size() / frame_bytes > uint64_t(limit))
        throw Error(path + ": the decoder answered more frames than asked for");
      if (bytes.size() + more.size() > kMaxBytes)
        throw Error(path + ": its frames at " + std::to_string(width) + " x " +
                    std::to_string(height) + " come to more than " +
                    std::to_string(kMaxBytes >> 30) +
                    " GiB: give a smaller width and height, a lower fps or fewer frames");
      bytes += more;
    }
    frames = int64_t(bytes.size() / frame_bytes);
    if (frames == 0) throw Error(path + ": the file has no video frames");
    return bytes;
  }

 private:
  VideoOptions o_;
  Sandbox child_;
};

Tensor to_frames(const std::string& bytes, int64_t T, int64_t H, int64_t W, int64_t C) {
  Tensor out({T, H, W, C});
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (int64_t k = 0; k < out.size(); ++k) out[k] = float(b[k]) * (1.0f / 255.0f);
  return out;
}

}  // namespace

Tensor read_video(const std::string& path, const VideoOptions& options) {
  check_options(options, path);
  VideoChild child(options);
  int64_t W = 0, H = 0, T = 0;
  const std::string bytes = child.read(path, W, H, T);
  return to_frames(bytes, T, H, W, options.channels);
}

Tensor read_image_folder(const std::string& dir, const VideoOptions& options) {
  check_options(options, dir);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(dir + ": no such folder (give a folder of images)");
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file()) files.push_back(e.path().string());
  if (ec) throw Error(dir + ": cannot be listed (" + ec.message() + ")");
  if (files.empty()) throw Error(dir + ": the folder has no image files");
  if (int64_t(files.size()) > kMaxFrames)
    throw Error(dir + ": " + std::to_string(files.size()) + " files are more than the " +
                std::to_string(kMaxFrames) + " frames lstm reads at once");
  std::sort(files.begin(), files.end());
  VideoOptions one = options;
  one.fps = 0.0, one.max_frames = 1;
  VideoChild child(one);
  std::string all;
  int64_t W0 = 0, H0 = 0;
  for (const std::string& f : files) {
    int64_t W = 0, H = 0, T = 0;
    std::string bytes = child.read(f, W, H, T);
    if (W0 == 0) W0 = W, H0 = H;
    if (W != W0 || H != H0)
      throw Error(f + ": its size " + std::to_string(W) + " x " + std::to_string(H) +
                  " differs from the first image's " + std::to_string(W0) + " x " +
                  std::to_string(H0) + ": give a width and height to resize every image");
    if (all.size() + bytes.size() > kMaxBytes)
      throw Error(dir + ": its images at this size come to more than " +
                  std::to_string(kMaxBytes >> 30) +
                  " GiB: give a smaller width and height or fewer images");
    all += bytes;
  }
  return to_frames(all, int64_t(files.size()), H0, W0, options.channels);
}

Tensor video_clips(const Tensor& frames, int64_t length, int64_t stride) {
  if (frames.rank() != 4)
    throw Error("video_clips takes frames [T, H, W, C], got " + frames.shape_string());
  if (length < 1 || stride < 1)
    throw Error("video_clips: length and stride must be at least 1, got " + std::to_string(length) +
                " and " + std::to_string(stride));
  const int64_t T = frames.dim(0);
  if (T < length)
    throw Error("video_clips: " + std::to_string(T) + " frames are fewer than one clip of " +
                std::to_string(length));
  const int64_t N = (T - length) / stride + 1, frame = frames.size() / T;
  Tensor out({N, length, frames.dim(1), frames.dim(2), frames.dim(3)});
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(out.data() + n * length * frame, frames.data() + n * stride * frame,
                sizeof(float) * size_t(length * frame));
  return out;
}

}  // namespace lstm
