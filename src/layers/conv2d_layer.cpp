// Conv2D (include/lstm/layers/conv.h): on images (B, H, W, C) or on every frame of a clip, the
// T·B frames of a time-major batch at once (frames are rows, so the two are one op).
// Forward:   z = conv(x, kernel) + bias,  y = act(z)        (kernels/conv2d.h)
// Backward:  dz = dy ⊙ act'(y);  dkernel += Σ patchesᵀ·dz,  dbias += Σ dz,  dx = col2im(dz·kernelᵀ)
#include <cmath>

#include "core/json.h"
#include "layers/activation.h"
#include "layers/config_json.h"
#include "layers/image_layer.h"
#include "layers/init.h"
#include "lstm/error.h"

namespace lstm {

namespace {

struct Conv2DConfig {
  int64_t filters = 0;
  std::array<int64_t, 2> kernel_size = {1, 1};
  Conv2DOptions options;
};

class Conv2DOp final : public Op {
 public:
  Conv2DOp(Conv2dShape s, Activation act, bool use_bias) : s_(s), act_(act), use_bias_(use_bias) {}
  std::vector<ParamTensor> param_tensors() const override {
    const int64_t K = s_.patch() * s_.F;
    std::vector<ParamTensor> t = {{"kernel", {s_.KH, s_.KW, s_.C, s_.F}, 0}};
    if (use_bias_) t.push_back({"bias", {s_.F}, K});
    return t;
  }
  void init(Rng& rng) override {
    const int64_t K = s_.patch() * s_.F;
    init_glorot_uniform(params_, K, s_.patch(), s_.KH * s_.KW * s_.F, rng);
    if (use_bias_) std::fill(params_ + K, params_ + K + s_.F, 0.0f);
  }
  Stepping stepping() const override { return Stepping::by_forward; }  // frame by frame

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
            Workspace& ws) override {
    work_ = ws.kept.take(conv2d_workspace(s_, in[0].rows(pass.B)));
    dz_ = act_ == Activation::linear ? nullptr : ws.grad.take(out[0].size(pass.B));
  }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t frames = in[0].rows(pass.B), K = s_.patch() * s_.F;
    conv2d_forward(s_, frames, in[0].data, params_, use_bias_ ? params_ + K : nullptr, out[0].data,
                   work_);
    if (act_ == Activation::linear) return;
    float* y = out[0].data;
    for (int64_t k = 0, n = out[0].size(pass.B); k < n; ++k) y[k] = activate(act_, y[k]);
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t frames = in[0].rows(pass.B), K = s_.patch() * s_.F;
    const float* dz = dout[0];
    if (act_ != Activation::linear) {
      const float* y = out[0].data;
      for (int64_t k = 0, n = out[0].size(pass.B); k < n; ++k)
        dz_[k] = dout[0][k] * activation_slope(act_, y[k]);
      dz = dz_;
    }
    conv2d_backward(s_, frames, in[0].data, params_, dz, din[0], grads_,
                    use_bias_ ? grads_ + K : nullptr, work_);
  }

 private:
  const Conv2dShape s_;
  const Activation act_;
  const bool use_bias_;
  float* work_ = nullptr;  // a chunk of frames' patches
  float* dz_ = nullptr;    // (frames, OH, OW, F)
};

class Conv2DRoom final : public PerFrameRoom {
 public:
  const char* type() const override { return "conv2d"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    const auto image = image_input(call);
    const Conv2DConfig& c = std::any_cast<const Conv2DConfig&>(call.layer.options);
    if (c.options.activation == Activation::softmax)
      throw Error(call.where +
                  ": softmax is not an activation of Conv2D (it is not elementwise): use a "
                  "Dense layer after flattening or pooling");
    check_time_distributed(call);
    const Conv2dShape s = window(call, image);
    return {image_output(call.inputs[0], {s.out_h(), s.out_w(), s.F})};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    const Conv2DConfig& c = std::any_cast<const Conv2DConfig&>(call.layer.options);
    return std::make_unique<Conv2DOp>(window(call, image_input(call)), c.options.activation,
                                      c.options.use_bias);
  }
  nlohmann::json config_json(const LayerConfig& l) const override {
    const Conv2DConfig& c = std::any_cast<const Conv2DConfig&>(l.options);
    return {{"type", type()},
            {"filters", c.filters},
            {"kernel_size", json_pair(c.kernel_size)},
            {"strides", json_pair(c.options.strides)},
            {"padding", conv_padding_name(c.options.padding)},
            {"activation", activation_name(c.options.activation)},
            {"use_bias", c.options.use_bias}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j,
               {"type", "filters", "kernel_size", "strides", "padding", "activation", "use_bias"},
               where);
    if (!j.contains("filters")) throw Error(where + ": missing key \"filters\"");
    if (!j.contains("kernel_size"))
      throw Error(where + ": missing key \"kernel_size\", [height, width]");
    return Conv2D(json_units(j, "filters", where), json_pair(j, "kernel_size", {1, 1}, where),
                  {.strides = json_pair(j, "strides", {1, 1}, where),
                   .padding = json_padding(j, where),
                   .activation = json_activation(j, "activation", Activation::linear, where),
                   .use_bias = json_bool(j, "use_bias", true, where)});
  }

 private:
  std::string layer_class() const override { return "Conv2D"; }
  static Conv2dShape window(const Call& call, std::array<int64_t, 3> image) {
    const Conv2DConfig& c = std::any_cast<const Conv2DConfig&>(call.layer.options);
    return image_window(call, image, c.kernel_size, c.options.strides, c.options.padding,
                        c.filters);
  }
};

}  // namespace

LayerConfig Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Conv2DOptions options) {
  LayerConfig c;
  c.kind = "conv2d";
  c.options = Conv2DConfig{filters, kernel_size, options};
  return c;
}

const Room& conv2d_room() {
  static const Conv2DRoom r;
  return r;
}

}  // namespace lstm
