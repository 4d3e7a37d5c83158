// The three recurrences: parameter names (docs/file-format.md), Keras's initialisation, the
// workspace, and the calls into their cells' sequence code.
// T = time steps, B = batch, I = input, H = hidden units.
#include <cstring>

#include "kernels/lstm_step.h"
#include "layers/gru_cell.h"
#include "layers/init.h"
#include "layers/lstm_cell.h"
#include "layers/recurrence.h"
#include "layers/rnn_cell.h"

namespace lstm {

int64_t Recurrence::param_count() const {
  int64_t n = 0;
  for (const ParamTensor& t : param_tensors()) n += t.size();
  return n;
}

static SeqDims dims(const Batch& b, int64_t I, int64_t H) { return {b.T, b.B, I, H, b.active}; }

// ---- LSTM: gates i, f, g, o; the step kernels of kernels/lstm_step.h --------------------------

class LstmRecurrence final : public Recurrence {
 public:
  using Recurrence::Recurrence;

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {4 * H, I}, 0}, {"weight_hh", {4 * H, H}, kHH}, {"bias", {4 * H}, kBias}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, 4 * H * I, I, 4 * H, rng);  // W_ih (4H, I)
    init_orthogonal(params_ + kHH, 4 * H, H, rng);           // W_hh (4H, H)
    float* bias = params_ + kBias;                           // (4H): forget block = 1
    for (int64_t k = 0; k < 4 * H; ++k) bias[k] = (k >= H && k < 2 * H) ? 1.0f : 0.0f;
  }

  const float* forward(const float* x, const Batch& b) override {
    const int64_t BH = b.B * H;
    grow(gates_, b.T * b.B * 4 * H);
    grow(h_, (b.T + 1) * BH);
    grow(c_, (b.T + 1) * BH);
    std::memset(h_.data(), 0, sizeof(float) * size_t(BH));  // h_0 = c_0 = 0
    std::memset(c_.data(), 0, sizeof(float) * size_t(BH));
    LstmActivations act = activations();
    pack_forward();
    lstm_forward(dims(b, I, H), weights(), x, act);
    return h_.data() + BH;  // h_1..h_T
  }

  void backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                const Batch& b) override {
    grow(dgates_, b.T * b.B * 4 * H);
    grow(dh_, b.B * H);
    grow(dc_, b.B * H);
    LstmBackwardWork work{dgates_.data(), dh_.data(), dc_.data()};
    LstmGrads g{grads_, grads_ + kHH, grads_ + kBias};
    pack_backward();
    lstm_backward(dims(b, I, H), weights(), x, activations(), dh_seq, dh_last, nullptr, work, g,
                  dx, nullptr, nullptr);
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

  const int64_t kHH = 4 * H * I, kBias = 4 * H * (I + H);  // offsets of W_hh and the bias
  std::vector<float> gates_, h_, c_;  // (T, B, 4H), (T+1, B, H), (T+1, B, H)
  std::vector<float> dgates_, dh_, dc_;  // (T, B, 4H), (B, H), (B, H)
  std::vector<float> stream_gates_, stream_h_, stream_c_;  // step(): (4H), (2, H), (2, H)
  int64_t cur_ = 0;  // step(): the slot of h_{t-1}, c_{t-1}
  // W_hh packed for the step kernels (kernels/lstm_step.h), valid until weights_changed()
  std::vector<float> packed_, packed_bwd_, packed_step_;  // forward, backward, step() (+ W_ih)
  bool packed_fresh_ = false, packed_bwd_fresh_ = false, packed_step_fresh_ = false;
};

// ---- GRU: gates r, z, n, two biases ---------------------------------------------------------

class GruRecurrence final : public Recurrence {
 public:
  using Recurrence::Recurrence;

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {3 * H, I}, 0},
            {"weight_hh", {3 * H, H}, kHH},
            {"bias_ih", {3 * H}, kBih},
            {"bias_hh", {3 * H}, kBih + 3 * H}};
  }

  void init(Rng& rng) override {  // Keras: glorot_uniform, orthogonal, zeros
    init_glorot_uniform(params_, 3 * H * I, I, 3 * H, rng);
    init_orthogonal(params_ + kHH, 3 * H, H, rng);
    std::memset(params_ + kBih, 0, sizeof(float) * size_t(6 * H));
  }

  const float* forward(const float* x, const Batch& b) override {
    const int64_t BH = b.B * H;
    grow(gates_, b.T * b.B * 4 * H);
    grow(h_, (b.T + 1) * BH);
    grow(ax_, b.T * b.B * 3 * H);
    grow(ah_, b.B * 3 * H);
    std::memset(h_.data(), 0, sizeof(float) * size_t(BH));
    GruActivations act{gates_.data(), h_.data(), ax_.data(), ah_.data()};
    gru_forward(dims(b, I, H), weights(), x, act);
    return h_.data() + BH;
  }

  void backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                const Batch& b) override {
    grow(dax_, b.T * b.B * 3 * H);
    grow(dah_, b.T * b.B * 3 * H);
    grow(dh_, b.B * H);
    GruActivations act{gates_.data(), h_.data(), ax_.data(), ah_.data()};
    GruBackwardWork work{dax_.data(), dah_.data(), dh_.data()};
    GruGrads g{grads_, grads_ + kHH, grads_ + kBih, grads_ + kBih + 3 * H};
    gru_backward(dims(b, I, H), weights(), x, act, dh_seq, dh_last, work, g, dx, nullptr);
  }

  void step(const float* x, float* y) override {
    if (stream_h_.empty()) stream_h_.assign(size_t(H), 0.0f), scratch_.assign(size_t(11 * H), 0.0f);
    float* h_new = scratch_.data() + 10 * H;
    gru_step(weights(), I, H, x, stream_h_.data(), scratch_.data(), h_new);
    std::memcpy(stream_h_.data(), h_new, sizeof(float) * size_t(H));
    std::memcpy(y, h_new, sizeof(float) * size_t(H));
  }
  void reset_state() override { stream_h_.clear(); }

 private:
  GruWeights weights() const { return {params_, params_ + kHH, params_ + kBih, params_ + kBih + 3 * H}; }
  const int64_t kHH = 3 * H * I, kBih = 3 * H * (I + H);
  std::vector<float> gates_, h_, ax_, ah_;  // (T, B, 4H), (T+1, B, H), (T, B, 3H), (B, 3H)
  std::vector<float> dax_, dah_, dh_;       // (T, B, 3H), (T, B, 3H), (B, H)
  std::vector<float> stream_h_, scratch_;   // step(): (H), (11H)
};

// ---- SimpleRNN: one gate, tanh or relu -------------------------------------------------------

class RnnRecurrence final : public Recurrence {
 public:
  RnnRecurrence(int64_t I, int64_t H, Activation act) : Recurrence(I, H), act_(act) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {H, I}, 0}, {"weight_hh", {H, H}, kHH}, {"bias", {H}, kBias}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, H * I, I, H, rng);
    init_orthogonal(params_ + kHH, H, H, rng);
    std::memset(params_ + kBias, 0, sizeof(float) * size_t(H));
  }

  const float* forward(const float* x, const Batch& b) override {
    const int64_t BH = b.B * H;
    grow(h_, (b.T + 1) * BH);
    std::memset(h_.data(), 0, sizeof(float) * size_t(BH));
    rnn_forward(dims(b, I, H), weights(), act_, x, h_.data());
    return h_.data() + BH;
  }

  void backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                const Batch& b) override {
    grow(da_, b.T * b.B * H);
    grow(dh_, b.B * H);
    RnnGrads g{grads_, grads_ + kHH, grads_ + kBias};
    rnn_backward(dims(b, I, H), weights(), act_, x, h_.data(), dh_seq, dh_last, da_.data(),
                 dh_.data(), g, dx, nullptr);
  }

  void step(const float* x, float* y) override {
    if (stream_h_.empty()) stream_h_.assign(size_t(2 * H), 0.0f);
    float *prev = stream_h_.data(), *next = prev + H;
    rnn_step(weights(), act_, I, H, x, prev, next);
    std::memcpy(prev, next, sizeof(float) * size_t(H));
    std::memcpy(y, next, sizeof(float) * size_t(H));
  }
  void reset_state() override { stream_h_.clear(); }

 private:
  RnnWeights weights() const { return {params_, params_ + kHH, params_ + kBias}; }
  const Activation act_;
  const int64_t kHH = H * I, kBias = H * (I + H);
  std::vector<float> h_, da_, dh_, stream_h_;  // (T+1, B, H), (T, B, H), (B, H), (2H)
};

std::unique_ptr<Recurrence> make_recurrence(const LayerConfig& config, int64_t I) {
  const int64_t H = config.units;
  switch (config.type) {
    case LayerType::lstm: return std::make_unique<LstmRecurrence>(I, H);
    case LayerType::gru: return std::make_unique<GruRecurrence>(I, H);
    case LayerType::simple_rnn: return std::make_unique<RnnRecurrence>(I, H, config.activation);
    default: return nullptr;
  }
}

}  // namespace lstm
