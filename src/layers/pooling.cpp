// MaxPooling2D and GlobalAveragePooling2D (include/lstm/layers/conv.h), on images (B, H, W, C)
// or on the T·B frames of a clip.
// MaxPooling2D:  y[oy, ox, c] = max over the window's pixels inside the image of x[iy, ix, c];
//                backward routes dy to the pixel that was the max (the first, on ties).
// GlobalAveragePooling2D:  y[c] = (1 / H·W) Σ_{iy, ix} x[iy, ix, c];  dx[iy, ix, c] = dy[c] / H·W
#include <cmath>
#include <limits>

#include "core/json.h"
#include "layers/config_json.h"
#include "layers/image_layer.h"
#include "lstm/error.h"

namespace lstm {

namespace {

struct MaxPoolConfig {
  std::array<int64_t, 2> pool_size = {2, 2};
  MaxPooling2DOptions options;
  std::array<int64_t, 2> strides() const {
    return {options.strides[0] > 0 ? options.strides[0] : pool_size[0],
            options.strides[1] > 0 ? options.strides[1] : pool_size[1]};
  }
};

class MaxPoolOp final : public Op {
 public:
  explicit MaxPoolOp(Conv2dShape s) : s_(s) {}
  Stepping stepping() const override { return Stepping::by_forward; }
  void plan(const Pass& pass, std::span<const Value>, std::span<const Value> out,
            Workspace& ws) override {
    argmax_ = ws.kept.take(out[0].size(pass.B));  // pixel indices, exact as floats below 2^24
  }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t frames = in[0].rows(pass.B), OH = s_.out_h(), OW = s_.out_w(), C = s_.C;
    const int64_t top = s_.pad_top(), left = s_.pad_left();
    for (int64_t b = 0; b < frames; ++b) {
      const float* x = in[0].data + b * s_.H * s_.W * C;
      float* y = out[0].data + b * OH * OW * C;
      float* arg = argmax_ + b * OH * OW * C;
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          for (int64_t c = 0; c < C; ++c) {
            float best = -std::numeric_limits<float>::infinity();
            int64_t at = -1;
            for (int64_t ky = 0; ky < s_.KH; ++ky) {
              const int64_t iy = oy * s_.stride_h + ky - top;
              if (iy < 0 || iy >= s_.H) continue;
              for (int64_t kx = 0; kx < s_.KW; ++kx) {
                const int64_t ix = ox * s_.stride_w + kx - left;
                if (ix < 0 || ix >= s_.W) continue;
                const int64_t p = (iy * s_.W + ix) * C + c;
                if (at < 0 || x[p] > best || (std::isnan(x[p]) && !std::isnan(best)))
                  best = x[p], at = p;
              }
            }
            const int64_t o = (oy * OW + ox) * C + c;
            y[o] = best, arg[o] = float(at);
          }
    }
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const int64_t frames = in[0].rows(pass.B), n_in = s_.H * s_.W * s_.C, n_out = out[0].F;
    std::fill(din[0], din[0] + frames * n_in, 0.0f);
    for (int64_t b = 0; b < frames; ++b)
      for (int64_t o = 0; o < n_out; ++o)
        din[0][b * n_in + int64_t(argmax_[b * n_out + o])] += dout[0][b * n_out + o];
  }

 private:
  const Conv2dShape s_;
  float* argmax_ = nullptr;  // (frames, OH, OW, C): the input pixel each output took
};

class MaxPoolRoom final : public PerFrameRoom {
 public:
  const char* type() const override { return "max_pooling2d"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    const auto image = image_input(call);
    check_time_distributed(call);
    const Conv2dShape s = window(call, image);
    return {image_output(call.inputs[0], {s.out_h(), s.out_w(), s.C})};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<MaxPoolOp>(window(call, image_input(call)));
  }
  nlohmann::json config_json(const LayerConfig& l) const override {
    const MaxPoolConfig& c = std::any_cast<const MaxPoolConfig&>(l.options);
    return {{"type", type()},
            {"pool_size", json_pair(c.pool_size)},
            {"strides", json_pair(c.strides())},
            {"padding", conv_padding_name(c.options.padding)}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j, {"type", "pool_size", "strides", "padding"}, where);
    const auto pool = json_pair(j, "pool_size", {2, 2}, where);
    return MaxPooling2D(
        pool, {.strides = json_pair(j, "strides", pool, where), .padding = json_padding(j, where)});
  }

 private:
  std::string layer_class() const override { return "MaxPooling2D"; }
  // A pooling window is a one-filter kernel over each channel: conv2d.h's geometry with F = 1.
  static Conv2dShape window(const Call& call, std::array<int64_t, 3> image) {
    const MaxPoolConfig& c = std::any_cast<const MaxPoolConfig&>(call.layer.options);
    Conv2dShape s = image_window(call, image, c.pool_size, c.strides(), c.options.padding, 1);
    return s;
  }
};

class GlobalAveragePoolOp final : public Op {
 public:
  GlobalAveragePoolOp(int64_t pixels, int64_t C) : P_(pixels), C_(C) {}
  Stepping stepping() const override { return Stepping::by_forward; }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const float scale = 1.0f / float(P_);
    for (int64_t b = 0, frames = in[0].rows(pass.B); b < frames; ++b) {
      float* y = out[0].data + b * C_;
      std::fill(y, y + C_, 0.0f);
      const float* x = in[0].data + b * P_ * C_;
      for (int64_t p = 0; p < P_; ++p)
        for (int64_t c = 0; c < C_; ++c) y[c] += x[p * C_ + c];
      for (int64_t c = 0; c < C_; ++c) y[c] *= scale;
    }
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const float scale = 1.0f / float(P_);
    for (int64_t b = 0, frames = in[0].rows(pass.B); b < frames; ++b)
      for (int64_t p = 0; p < P_; ++p)
        for (int64_t c = 0; c < C_; ++c)
          din[0][(b * P_ + p) * C_ + c] = dout[0][b * C_ + c] * scale;
  }

 private:
  const int64_t P_, C_;  // pixels per image, channels
};

class GlobalAveragePoolRoom final : public PerFrameRoom {
 public:
  const char* type() const override { return "global_average_pooling2d"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    const auto image = image_input(call);
    check_time_distributed(call);
    ValueSpec y = call.inputs[0];
    y.image.clear(), y.ids = false;
    y.F = image[2];
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    const auto image = image_input(call);
    return std::make_unique<GlobalAveragePoolOp>(image[0] * image[1], image[2]);
  }

 private:
  std::string layer_class() const override { return "GlobalAveragePooling2D"; }
};

}  // namespace

LayerConfig MaxPooling2D(std::array<int64_t, 2> pool_size, MaxPooling2DOptions options) {
  LayerConfig c;
  c.kind = "max_pooling2d";
  c.options = MaxPoolConfig{pool_size, options};
  return c;
}

LayerConfig GlobalAveragePooling2D() {
  LayerConfig c;
  c.kind = "global_average_pooling2d";
  return c;
}

const Room& max_pooling2d_room() {
  static const MaxPoolRoom r;
  return r;
}

const Room& global_average_pooling2d_room() {
  static const GlobalAveragePoolRoom r;
  return r;
}

}  // namespace lstm
