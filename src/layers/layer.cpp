// The LSTM and Dense layers as the model sees them: parameter views, initialisation and the
// forward/backward pair over a batch, on top of the kernels in lstm_cell.h and dense.h.
// T = time steps, B = batch, I = input, H = hidden, 4H = fused gates i, f, g, o.
#include "layers/layer.h"

#include <cstring>

#include "layers/dense.h"
#include "layers/init.h"
#include "layers/lstm_cell.h"
#include "kernels/lstm_step.h"
#include "lstm/error.h"

namespace lstm {

int64_t Layer::param_count() const {
  int64_t n = 0;
  for (const ParamTensor& t : param_tensors()) n += t.size();
  return n;
}

static void grow(std::vector<float>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

class LstmLayer final : public Layer {
 public:
  LstmLayer(const LayerConfig& c, int64_t in, bool in_seq)
      : Layer(c, in, in_seq, c.units, c.return_sequences), I(in), H(c.units) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {4 * H, I}, 0}, {"weight_hh", {4 * H, H}, kHH}, {"bias", {4 * H}, kBias}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, 4 * H * I, I, 4 * H, rng);  // W_ih (4H, I)
    init_orthogonal(params_ + kHH, 4 * H, H, rng);           // W_hh (4H, H)
    float* bias = params_ + kBias;                           // (4H): forget block = 1
    for (int64_t k = 0; k < 4 * H; ++k) bias[k] = (k >= H && k < 2 * H) ? 1.0f : 0.0f;
  }

  void forward(const float* x, float* y, int64_t T, int64_t B) override {
    const int64_t BH = B * H;
    grow(gates_, T * B * 4 * H);
    grow(h_, (T + 1) * BH);
    grow(c_, (T + 1) * BH);
    std::memset(h_.data(), 0, sizeof(float) * BH);  // h_0 = c_0 = 0
    std::memset(c_.data(), 0, sizeof(float) * BH);
    LstmActivations act = activations();
    pack_forward();
    lstm_forward({T, B, I, H}, weights(), x, act);
    if (out_seq)
      std::memcpy(y, h_.data() + BH, sizeof(float) * T * BH);  // h_1..h_T  (T, B, H)
    else
      std::memcpy(y, h_.data() + T * BH, sizeof(float) * BH);  // h_T      (B, H)
  }

  void backward(const float* x, const float* y, const float* dy, float* dx, int64_t T,
                int64_t B) override {
    (void)y;
    grow(dgates_, T * B * 4 * H);
    grow(dh_, B * H);
    grow(dc_, B * H);
    LstmBackwardWork work{dgates_.data(), dh_.data(), dc_.data()};
    LstmGrads g{grads_, grads_ + kHH, grads_ + kBias};
    pack_backward();
    lstm_backward({T, B, I, H}, weights(), x, activations(), out_seq ? dy : nullptr,
                  out_seq ? nullptr : dy, nullptr, work, g, dx, nullptr, nullptr);
  }

  void step(const float* x, float* y) override {
    if (stream_h_.empty()) {  // the first call after a reset: h_0 = c_0 = 0
      stream_gates_.assign(size_t(4 * H), 0.0f);
      stream_h_.assign(size_t(2 * H), 0.0f);
      stream_c_.assign(size_t(2 * H), 0.0f);
    }
    if (!packed_step_fresh_) {  // W_ih and W_hh together: the projection runs in the kernel
      grow(packed_step_, lstm_packed_forward_size(I, H));
      lstm_pack_forward(params_, I, params_ + kHH, H, packed_step_.data());
      packed_step_fresh_ = true;
    }
    // slot `cur` holds h_{t-1}, c_{t-1}; the other slot receives h_t, c_t
    float *h = stream_h_.data(), *c = stream_c_.data();
    const int64_t prev = cur_ * H, next = (1 - cur_) * H;
    lstm_forward_step(packed_step_.data(), params_ + kBias, 1, I, H, x, h + prev, c + prev,
                      stream_gates_.data(), c + next, h + next);
    cur_ = 1 - cur_;
    std::memcpy(y, h + next, sizeof(float) * size_t(H));
  }

  void reset_state() override {
    stream_gates_.clear(), stream_h_.clear(), stream_c_.clear();
    cur_ = 0;
  }

  void weights_changed() override { packed_fresh_ = packed_bwd_fresh_ = packed_step_fresh_ = false; }

 private:
  LstmWeights weights() const {
    return {params_, params_ + kHH, params_ + kBias, packed_.data(),
            packed_bwd_fresh_ ? packed_bwd_.data() : nullptr};
  }
  LstmActivations activations() { return {gates_.data(), h_.data(), c_.data()}; }
  void pack_forward() {
    if (packed_fresh_) return;
    grow(packed_, lstm_packed_forward_size(0, H));
    lstm_pack_forward(nullptr, 0, params_ + kHH, H, packed_.data());
    packed_fresh_ = true;
  }
  void pack_backward() {
    if (packed_bwd_fresh_) return;
    grow(packed_bwd_, lstm_packed_backward_size(H));
    lstm_pack_backward(params_ + kHH, H, packed_bwd_.data());
    packed_bwd_fresh_ = true;
  }

  const int64_t I, H;
  const int64_t kHH = 4 * H * I, kBias = 4 * H * (I + H);  // offsets of W_hh and the bias
  std::vector<float> gates_, h_, c_;  // (T, B, 4H), (T+1, B, H), (T+1, B, H)
  std::vector<float> dgates_, dh_, dc_;  // (T, B, 4H), (B, H), (B, H)
  std::vector<float> stream_gates_, stream_h_, stream_c_;  // step(): (4H), (2, H), (2, H)
  int64_t cur_ = 0;  // step(): the slot of h_{t-1}, c_{t-1}
  // W_hh packed for the step kernels (kernels/lstm_step.h), valid until weights_changed()
  std::vector<float> packed_, packed_bwd_, packed_step_;  // forward, backward, step() (+ W_ih)
  bool packed_fresh_ = false, packed_bwd_fresh_ = false, packed_step_fresh_ = false;
};

class DenseLayer final : public Layer {
 public:
  DenseLayer(const LayerConfig& c, int64_t in, bool in_seq)
      : Layer(c, in, in_seq, c.units, in_seq), In(in), Out(c.units) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight", {Out, In}, 0}, {"bias", {Out}, Out * In}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, Out * In, In, Out, rng);
    std::memset(params_ + Out * In, 0, sizeof(float) * Out);
  }

  void forward(const float* x, float* y, int64_t T, int64_t B) override {
    dense_forward(x, params_, params_ + Out * In, y, rows(T, B), In, Out, config.activation);
  }

  void step(const float* x, float* y) override {
    dense_forward(x, params_, params_ + Out * In, y, 1, In, Out, config.activation);
  }

  void backward(const float* x, const float* y, const float* dy, float* dx, int64_t T,
                int64_t B) override {
    grow(dz_, rows(T, B) * Out);
    dense_backward(x, params_, y, dy, dz_.data(), grads_, grads_ + Out * In, dx, rows(T, B), In,
                   Out, config.activation);
  }

 private:
  int64_t rows(int64_t T, int64_t B) const { return in_seq ? T * B : B; }
  const int64_t In, Out;
  std::vector<float> dz_;  // (R, Out)
};

std::unique_ptr<Layer> make_layer(const LayerConfig& config, int64_t in_features, bool in_seq,
                                  int index) {
  const std::string where = "layer " + std::to_string(index) + " (" +
                            layer_type_name(config.type) + ")";
  if (config.units <= 0)
    throw Error(where + ": units must be a positive integer, got " + std::to_string(config.units));
  switch (config.type) {
    case LayerType::lstm:
      if (!in_seq)
        throw Error(where + " needs a sequence input (N, T, F), but the layer before it returns "
                    "one vector per sample: set return_sequences = true on the LSTM before it");
      return std::make_unique<LstmLayer>(config, in_features, in_seq);
    case LayerType::dense:
      return std::make_unique<DenseLayer>(config, in_features, in_seq);
  }
  throw Error(where + ": unknown layer type");
}

}  // namespace lstm
