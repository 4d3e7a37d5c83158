// ConvLSTM2D (include/lstm/layers/conv.h): the seed's cell with convolutions for products, over
// clips (T, B, H, W, C) time-major. S = OH·OW pixels of the state maps, F filters, G = 4F.
// Forward:
//   Zx = conv(x, W_x) + b for all T·B frames at once            (T, B, S, G)
//   per step: z = Zx[t] + conv_same(h_{t-1}, W_h)  (t > 0)
//             i, f, o = σ(z_i, z_f, z_o),  g = tanh(z_g)        (kept, activated, in Zx's place)
//             c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
// Backward, from the last step (dh, dc flow back through time):
//   dh = dy_t + dh_next;  dc = dc_next + dh ⊙ o ⊙ tanh'(c_t)
//   dz_i = dc ⊙ g ⊙ σ',  dz_f = dc ⊙ c_{t-1} ⊙ σ',  dz_g = dc ⊙ i ⊙ tanh',  dz_o = dh ⊙ tanh(c_t) ⊙
//   σ' dc_next = dc ⊙ f;  dh_next = conv_same backward of dz (t > 0), adding into dW_h then one
//   conv backward over all frames: dW_x, db, dx.
#include <cstring>

#include "core/json.h"
#include "core/limits.h"
#include "kernels/pointwise.h"
#include "layers/config_json.h"
#include "layers/image_layer.h"
#include "layers/init.h"
#include "lstm/error.h"

namespace lstm {

namespace {

struct ConvLSTMConfig {
  int64_t filters = 0;
  std::array<int64_t, 2> kernel_size = {3, 3};
  ConvLSTM2DOptions options;
};

class ConvLSTMOp final : public Op {
 public:
  ConvLSTMOp(Conv2dShape sx, const ConvLSTMConfig& c)
      : sx_(sx), o_(c.options), F_(c.filters), S_(sx.out_h() * sx.out_w()) {
    sh_.H = sx.out_h(), sh_.W = sx.out_w(), sh_.C = F_;
    sh_.KH = sx.KH, sh_.KW = sx.KW, sh_.F = 4 * F_, sh_.same = true;
  }
  int64_t kx_size() const { return sx_.patch() * 4 * F_; }
  int64_t kh_size() const { return sh_.patch() * 4 * F_; }
  std::vector<ParamTensor> param_tensors() const override {
    std::vector<ParamTensor> t = {{"kernel", {sx_.KH, sx_.KW, sx_.C, 4 * F_}, 0},
                                  {"recurrent_kernel", {sh_.KH, sh_.KW, F_, 4 * F_}, kx_size()}};
    if (o_.use_bias) t.push_back({"bias", {4 * F_}, kx_size() + kh_size()});
    return t;
  }
  void init(Rng& rng) override {
    init_glorot_uniform(params_, kx_size(), sx_.patch(), sx_.KH * sx_.KW * 4 * F_, rng);
    init_orthogonal(params_ + kx_size(), sh_.patch(), 4 * F_, rng);
    if (!o_.use_bias) return;
    float* b = params_ + kx_size() + kh_size();
    std::fill(b, b + 4 * F_, 0.0f);
    if (o_.unit_forget_bias) std::fill(b + F_, b + 2 * F_, 1.0f);
  }

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>,
            Workspace& ws) override {
    const int64_t T = in[0].T, B = pass.B, map = B * S_ * F_;
    gates_ = ws.kept.take(T * B * S_ * 4 * F_);
    c_ = ws.kept.take(T * map), h_ = ws.kept.take(T * map);
    zh_ = ws.kept.take(B * S_ * 4 * F_);
    zeros_ = ws.kept.take(map);  // c_0 (and h_0, which no product needs)
    work_x_ = ws.kept.take(conv2d_workspace(sx_, T * B)),
    work_h_ = ws.kept.take(conv2d_workspace(sh_, B));
    dz_ = ws.grad.take(T * B * S_ * 4 * F_);
    dh_ = ws.grad.take(map), dc_ = ws.grad.take(map), dh_next_ = ws.grad.take(map);
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t T = in[0].T, B = pass.B, G = 4 * F_, map = B * S_ * F_;
    const float* bias = o_.use_bias ? params_ + kx_size() + kh_size() : nullptr;
    std::fill(zeros_, zeros_ + map, 0.0f);
    conv2d_forward(sx_, T * B, in[0].data, params_, bias, gates_, work_x_);
    for (int64_t t = 0; t < T; ++t) {
      float* z = gates_ + t * B * S_ * G;
      if (t > 0) {
        conv2d_forward(sh_, B, h_ + (t - 1) * map, params_ + kx_size(), nullptr, zh_, work_h_);
        for (int64_t k = 0, n = B * S_ * G; k < n; ++k) z[k] += zh_[k];
      }
      // the gates of every pixel, c_t and h_t: the LSTM cell's vectorised pointwise step
      lstm_pointwise_forward(z, t > 0 ? c_ + (t - 1) * map : zeros_, c_ + t * map, h_ + t * map,
                             nullptr, B * S_, F_, o_.activation, o_.recurrent_activation);
    }
    const float* h_last = h_ + (T - 1) * map;
    if (o_.return_sequences)
      std::memcpy(out[0].data, h_, sizeof(float) * size_t(T * map));
    else
      std::memcpy(out[0].data, h_last, sizeof(float) * size_t(map));
    if (o_.return_state) {
      std::memcpy(out[1].data, h_last, sizeof(float) * size_t(map));
      std::memcpy(out[2].data, c_ + (T - 1) * map, sizeof(float) * size_t(map));
    }
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t T = in[0].T, B = pass.B, G = 4 * F_, map = B * S_ * F_;
    std::fill(dh_next_, dh_next_ + map, 0.0f);
    std::fill(dc_, dc_ + map, 0.0f);  // dc_next of the step after
    for (int64_t t = T - 1; t >= 0; --t) {
      // dh: what flows back from step t+1, the output at t, and at the last step its states
      for (int64_t k = 0; k < map; ++k) dh_[k] = dh_next_[k];
      if (o_.return_sequences && dout[0])
        for (int64_t k = 0; k < map; ++k) dh_[k] += dout[0][t * map + k];
      if (t == T - 1) {
        if (!o_.return_sequences && dout[0])
          for (int64_t k = 0; k < map; ++k) dh_[k] += dout[0][k];
        if (o_.return_state && dout[1])
          for (int64_t k = 0; k < map; ++k) dh_[k] += dout[1][k];
        if (o_.return_state && dout[2])
          for (int64_t k = 0; k < map; ++k) dc_[k] += dout[2][k];
      }
      // dz of the gates and dc_{t-1} (in dc_'s place) from dh and dc_t
      float* dz = dz_ + t * B * S_ * G;
      lstm_pointwise_backward(gates_ + t * B * S_ * G, t > 0 ? c_ + (t - 1) * map : zeros_,
                              c_ + t * map, dh_, nullptr, dz, dc_, nullptr, B * S_, F_,
                              o_.activation, o_.recurrent_activation);
      if (t > 0)
        conv2d_backward(sh_, B, h_ + (t - 1) * map, params_ + kx_size(), dz, dh_next_,
                        grads_ + kx_size(), nullptr, work_h_);
    }
    float* dbias = o_.use_bias ? grads_ + kx_size() + kh_size() : nullptr;
    conv2d_backward(sx_, T * B, in[0].data, params_, dz_, din[0], grads_, dbias, work_x_);
  }

 private:
  const Conv2dShape sx_;  // the input convolution: C -> 4F, the layer's padding and strides
  Conv2dShape sh_;        // the recurrent one: F -> 4F, "same", stride 1
  const ConvLSTM2DOptions o_;
  const int64_t F_, S_;
  float *gates_ = nullptr, *c_ = nullptr, *h_ = nullptr, *zh_ = nullptr, *zeros_ = nullptr;  // kept
  float *work_x_ = nullptr, *work_h_ = nullptr;
  float *dz_ = nullptr, *dh_ = nullptr, *dc_ = nullptr, *dh_next_ = nullptr;  // grad
};

class ConvLSTMRoom final : public Room {
 public:
  const char* type() const override { return "conv_lstm2d"; }
  std::string keras_class(const LayerConfig&) const override { return "ConvLSTM2D"; }
  bool reads_images() const override { return true; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    if (!call.states.empty())
      throw Error(call.where + " starts from zero states: it takes no initial_state");
    const auto image = image_input(call);
    const ValueSpec& x = call.inputs[0];
    if (!x.seq)
      throw Error(call.where + " reads clips [N, T, H, W, C], but got one image per sample " +
                  spec_string(x) + ": make the input with lstm::Input({T, H, W, C})");
    if (x.mask_of)
      throw Error(call.where +
                  " takes clips of one length, not masked sequences: cut or pad the clips "
                  "to the same number of frames");
    const ConvLSTMConfig& c = config(call.layer);
    if (c.filters < 1 || c.filters > limits::kWidth / 4)
      throw Error(call.where + ": filters must be in 1.." + std::to_string(limits::kWidth / 4) +
                  ", got " + std::to_string(c.filters));
    for (Activation a : {c.options.activation, c.options.recurrent_activation})
      if (a == Activation::softmax)
        throw Error(call.where +
                    ": softmax is not elementwise, so it is not an activation of a cell");
    const Conv2dShape s = window(call, image);
    const std::array<int64_t, 3> map = {s.out_h(), s.out_w(), c.filters};
    image_window(call, map, c.kernel_size, {1, 1}, ConvPadding::same,
                 4 * c.filters);  // the recurrent one
    ValueSpec last;
    last.image.assign(map.begin(), map.end());
    last.F = map[0] * map[1] * map[2];
    std::vector<ValueSpec> out = {c.options.return_sequences ? image_output(x, map) : last};
    if (c.options.return_state) out.push_back(last), out.push_back(last);
    return out;
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<ConvLSTMOp>(window(call, image_input(call)), config(call.layer));
  }
  nlohmann::json to_json(const LayerConfig& l) const override {
    const ConvLSTMConfig& c = config(l);
    return {{"type", type()},
            {"filters", c.filters},
            {"kernel_size", json_pair(c.kernel_size)},
            {"strides", json_pair(c.options.strides)},
            {"padding", conv_padding_name(c.options.padding)},
            {"return_sequences", c.options.return_sequences},
            {"return_state", c.options.return_state},
            {"activation", activation_name(c.options.activation)},
            {"recurrent_activation", activation_name(c.options.recurrent_activation)},
            {"use_bias", c.options.use_bias},
            {"unit_forget_bias", c.options.unit_forget_bias}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(
        j,
        {"type", "filters", "kernel_size", "strides", "padding", "return_sequences", "return_state",
         "activation", "recurrent_activation", "use_bias", "unit_forget_bias"},
        where);
    if (!j.contains("filters")) throw Error(where + ": missing key \"filters\"");
    if (!j.contains("kernel_size"))
      throw Error(where + ": missing key \"kernel_size\", [height, width]");
    return ConvLSTM2D(json_units(j, "filters", where), json_pair(j, "kernel_size", {3, 3}, where),
                      {.strides = json_pair(j, "strides", {1, 1}, where),
                       .padding = json_padding(j, where),
                       .return_sequences = json_bool(j, "return_sequences", false, where),
                       .return_state = json_bool(j, "return_state", false, where),
                       .activation = json_activation(j, "activation", Activation::tanh, where),
                       .recurrent_activation =
                           json_activation(j, "recurrent_activation", Activation::sigmoid, where),
                       .use_bias = json_bool(j, "use_bias", true, where),
                       .unit_forget_bias = json_bool(j, "unit_forget_bias", true, where)});
  }

 private:
  static const ConvLSTMConfig& config(const LayerConfig& l) {
    return std::any_cast<const ConvLSTMConfig&>(l.options);
  }
  static Conv2dShape window(const Call& call, std::array<int64_t, 3> image) {
    const ConvLSTMConfig& c = config(call.layer);
    return image_window(call, image, c.kernel_size, c.options.strides, c.options.padding,
                        4 * c.filters);
  }
};

}  // namespace

RecurrentLayerConfig<3> ConvLSTM2D(int64_t filters, std::array<int64_t, 2> kernel_size,
                                   ConvLSTM2DOptions options) {
  RecurrentLayerConfig<3> c;
  c.kind = "conv_lstm2d";
  c.return_sequences = options.return_sequences;
  c.return_state = options.return_state;
  c.options = ConvLSTMConfig{filters, kernel_size, options};
  return c;
}

const Room& conv_lstm2d_room() {
  static const ConvLSTMRoom r;
  return r;
}

}  // namespace lstm
