// The recurrences: parameter names (docs/file-format.md), Keras's initialisation, the
// workspace, and the calls into their cells' sequence code.
// T = time steps, B = batch, I = input, H = hidden units.
#include <cstring>

#include "kernels/gru_step.h"
#include "kernels/lstm_step.h"
#include "kernels/lstm_step_bf16.h"
#include "kernels/lstm_step_int8.h"
#include "kernels/rnn_step.h"
#include "layers/gru_cell.h"
#include "layers/init.h"
#include "layers/lstm_cell.h"
#include "layers/lstm_general.h"
#include "layers/recurrence.h"
#include "layers/rnn_cell.h"

namespace lstm {

int64_t Recurrence::param_count() const {
  int64_t n = 0;
  for (const ParamTensor& t : param_tensors()) n += t.size();
  return n;
}

// ---- dropout, the same for every cell ---------------------------------------------------------

// m (n) = 1/(1 - rate) with probability 1 - rate, else 0 (inverted dropout)
static void draw_mask(float* m, int64_t n, float rate, Rng& rng) {
  const float keep = 1.0f - rate, scale = 1.0f / keep;
  for (int64_t k = 0; k < n; ++k) m[k] = rng.uniform() < keep ? scale : 0.0f;
}

void Recurrence::plan(int64_t T, int64_t B, Workspace& ws) {
  x_mask_ = dropout_ > 0.0f ? ws.kept.take(B * I) : nullptr;
  x_dropped_ = dropout_ > 0.0f ? ws.kept.take(T * B * I) : nullptr;
  h_mask_ = recurrent_dropout_ > 0.0f ? ws.kept.take(B * O) : nullptr;
  plan_cell(T, B, ws);
}

void Recurrence::draw_masks(const Batch& b) {
  x_mask_on_ = b.training && dropout_ > 0.0f;
  h_mask_on_ = b.training && recurrent_dropout_ > 0.0f;
  if (x_mask_on_) draw_mask(x_mask_, b.B * I, dropout_, *b.rng);
  if (h_mask_on_) draw_mask(h_mask_, b.B * O, recurrent_dropout_, *b.rng);
}

// v (T, B, I) *= the input mask (B, I) at every step
static void apply_mask(float* v, const float* mask, int64_t T, int64_t BI) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < BI; ++k) v[t * BI + k] *= mask[k];
}

const float* Recurrence::forward(const float* x, const Batch& b) {
  if (x_mask_on_) {
    std::memcpy(x_dropped_, x, sizeof(float) * size_t(b.T * b.B * I));
    apply_mask(x_dropped_, x_mask_, b.T, b.B * I);
    x = x_dropped_;
  }
  const float* hs = last_hs_ = run_forward(x, b);
  if (stateful_) {  // the state each row ended in is where it starts in the next batch
    carried_h_.resize(size_t(b.B * O));
    carried_c_.resize(size_t(has_cell_state() ? b.B * H : 0));
    final_state(b, carried_h_.data(), carried_c_.empty() ? nullptr : carried_c_.data());
  } else if (given_once_) {
    reset_carried_state();
  }
  given_once_ = false;
  return hs;
}

void Recurrence::set_initial_state(const float* h0, const float* c0, int64_t B) {
  carried_h_.assign(h0, h0 + B * O);
  if (c0) carried_c_.assign(c0, c0 + B * H);
  else carried_c_.assign(size_t(B * H), 0.0f);
  given_once_ = true;
}

void Recurrence::final_state(const Batch& b, float* h, float* c) const {
  const float* cs = cell_states();
  for (int64_t row = 0; row < b.B; ++row) {
    const int64_t L = b.length(row);  // h_L is hs[L - 1], c_L is slot L
    std::memcpy(h + row * O, last_hs_ + ((L - 1) * b.B + row) * O, sizeof(float) * size_t(O));
    if (c && cs) std::memcpy(c + row * H, cs + (L * b.B + row) * H, sizeof(float) * size_t(H));
  }
}

void Recurrence::initial_state(float* h0, float* c0, int64_t B) const {
  const bool carried = int64_t(carried_h_.size()) == B * O;
  if (carried) std::memcpy(h0, carried_h_.data(), sizeof(float) * size_t(B * O));
  else std::memset(h0, 0, sizeof(float) * size_t(B * O));
  if (!c0) return;
  if (carried && int64_t(carried_c_.size()) == B * H)
    std::memcpy(c0, carried_c_.data(), sizeof(float) * size_t(B * H));
  else std::memset(c0, 0, sizeof(float) * size_t(B * H));
}

void Recurrence::backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                          const Batch& b, const StateGrads& states) {
  run_backward(x_mask_on_ ? x_dropped_ : x, dh_seq, dh_last, dx, b, states);
  if (dx && x_mask_on_) apply_mask(dx, x_mask_, b.T, b.B * I);
}

static SeqDims dims(const Batch& b, int64_t I, int64_t H) { return {b.T, b.B, I, H, b.active}; }

// ---- LSTM: gates i, f, g, o; the step kernels of kernels/lstm_step.h --------------------------

class LstmRecurrence final : public Recurrence {
 public:
  LstmRecurrence(const LayerConfig& c, int64_t I) : Recurrence(c, I, c.units, c.units) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {4 * H, I}, 0}, {"weight_hh", {4 * H, H}, kHH}, {"bias", {4 * H}, kBias}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, 4 * H * I, I, 4 * H, rng);  // W_ih (4H, I)
    init_orthogonal(params_ + kHH, 4 * H, H, rng);           // W_hh (4H, H)
    float* bias = params_ + kBias;                           // (4H): forget block = 1
    for (int64_t k = 0; k < 4 * H; ++k) bias[k] = (k >= H && k < 2 * H) ? 1.0f : 0.0f;
  }

  void plan_cell(int64_t T, int64_t B, Workspace& ws) override {
    gates_ = ws.kept.take(T * B * 4 * H);
    h_ = ws.kept.take((T + 1) * B * H);
    c_ = ws.kept.take((T + 1) * B * H);
    proj_ = tokens_ ? ws.kept.take(tokens_->V * 4 * H) : nullptr;
    dgates_ = ws.grad.take(T * B * 4 * H);
    dh_ = ws.grad.take(B * H);
    dc_ = ws.grad.take(B * H);
    dproj_ = tokens_ ? ws.grad.take(tokens_->V * 4 * H) : nullptr;
  }

  bool read_tokens(TokenInput& tokens) override {
    if (tokens.D != I) return false;
    tokens_ = &tokens;
    return true;
  }

  const float* run_forward(const float* x, const Batch& b) override {
    initial_state(h_, c_, b.B);
    LstmActivations act = activations();
    if (int8_ && !b.training) {
      pack_int8();
      lstm_forward_int8(dims(b, I, H), int8_weights(), params_, params_ + kBias, x, act,
                        tokens_ && tokens_->ids ? tokens_ : nullptr);
      return h_ + b.B * H;
    }
    if (bf16_ && !b.training) {
      pack_bf16();
      lstm_forward_bf16(dims(b, I, H), packed_bf16_.data(), params_, params_ + kBias, x, act,
                        tokens_ && tokens_->ids ? tokens_ : nullptr);
      return h_ + b.B * H;
    }
    pack_forward();
    lstm_forward(dims(b, I, H), weights(), x, act);
    return h_ + b.B * H;  // h_1..h_T
  }

  void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                    const Batch& b, const StateGrads& s) override {
    LstmBackwardWork work{dgates_, dh_, dc_, dproj_};
    LstmGrads g{grads_, grads_ + kHH, grads_ + kBias};
    pack_backward();
    lstm_backward(dims(b, I, H), weights(), x, activations(), dh_seq, dh_last, s.dc_last, work, g,
                  dx, s.dh0, s.dc0);
  }

  void step(const float* x, float* y) override {
    if (stream_h_.empty()) {  // the first call after a reset: h_0 = c_0 = 0
      stream_gates_.assign(size_t(4 * H), 0.0f);
      stream_h_.assign(size_t(2 * H), 0.0f);
      stream_c_.assign(size_t(2 * H), 0.0f);
    }
    if (!packed_step_fresh_) {  // W_ih and W_hh together: the projection runs in the kernel
      packed_step_.resize(size_t(lstm_packed_forward_size(I, H)));
      lstm_pack_forward(params_, I, params_ + kHH, H, packed_step_.data());
      packed_step_fresh_ = true;
    }
    // slot `cur` holds h_{t-1}, c_{t-1}; the other slot receives h_t, c_t
    float *h = stream_h_.data(), *c = stream_c_.data();
    const int64_t prev = cur_ * H, next = (1 - cur_) * H;
    if (int8_) {  // x and h_{t-1} quantised, then the step on the int8 packing
      pack_int8();
      const int64_t Qx = (I + 3) / 4 * 4, Qh = (H + 3) / 4 * 4;
      if (int64_t(stream_bytes_.size()) != Qx + Qh) stream_bytes_.resize(size_t(Qx + Qh));  // once
      float scales[2] = {lstm_quantize_u8(x, I, stream_bytes_.data()),
                         lstm_quantize_u8(h + prev, H, stream_bytes_.data() + Qx)};
      const LstmInt8Weights q = int8_weights();
      LstmStepForwardInt8 st{q.packed, q.scales, q.comp, I, H, 1, stream_bytes_.data(), Qx, scales,
                             stream_bytes_.data() + Qx, Qh, scales + 1, params_ + kBias, 0, c + prev,
                             stream_gates_.data(), c + next, h + next};
      lstm_step_forward_int8(st, 0, lstm_forward_blocks(H));
    } else if (bf16_) {  // x and h_{t-1} as bfloat16 pairs, then the step on the bf16 packing
      pack_bf16();
      const int64_t Px = (I + 1) / 2, Ph = (H + 1) / 2;
      if (int64_t(stream_pairs_.size()) != Px + Ph) stream_pairs_.resize(size_t(Px + Ph));  // once
      lstm_to_bf16_pairs(x, I, stream_pairs_.data());
      lstm_to_bf16_pairs(h + prev, H, stream_pairs_.data() + Px);
      LstmStepForwardBf16 st{packed_bf16_.data(), I, H, 1, stream_pairs_.data(), Px,
                             stream_pairs_.data() + Px, Ph, params_ + kBias, 0, c + prev,
                             stream_gates_.data(), c + next, h + next};
      lstm_step_forward_bf16(st, 0, lstm_forward_blocks(H));
    } else {
      lstm_forward_step(packed_step_.data(), params_ + kBias, 1, I, H, x, h + prev, c + prev,
                        stream_gates_.data(), c + next, h + next);
    }
    cur_ = 1 - cur_;
    std::memcpy(y, h + next, sizeof(float) * size_t(H));
  }

  void reset_state() override {
    stream_gates_.clear(), stream_h_.clear(), stream_c_.clear();
    cur_ = 0;
  }
  const float* step_cell_state() const override { return stream_c_.data() + cur_ * H; }

  void weights_changed() override {
    packed_fresh_ = packed_bwd_fresh_ = packed_step_fresh_ = packed_bf16_fresh_ = packed_int8_fresh_ = false;
  }
  bool set_precision(Precision p) override {
    bf16_ = p == Precision::bf16;
    int8_ = p == Precision::int8;
    return true;
  }
  bool has_cell_state() const override { return true; }
  const float* cell_states() const override { return c_; }

 private:
  LstmWeights weights() const {
    return {params_, params_ + kHH, params_ + kBias, packed_.data(),
            packed_bwd_fresh_ ? packed_bwd_.data() : nullptr, tokens_ && tokens_->ids ? tokens_ : nullptr};
  }
  LstmActivations activations() { return {gates_, h_, c_, proj_}; }
  void pack_forward() {
    if (packed_fresh_) return;
    packed_.resize(size_t(lstm_packed_forward_size(0, H)));
    lstm_pack_forward(nullptr, 0, params_ + kHH, H, packed_.data());
    packed_fresh_ = true;
  }
  void pack_int8() {  // W_ih and W_hh, for the projection and the steps (kernels/lstm_step_int8.h)
    if (packed_int8_fresh_) return;
    packed_int8_.resize(size_t(lstm_packed_forward_int8_size(I, H)));
    int8_scales_.resize(size_t(8 * H));
    int8_comp_.resize(size_t(8 * H));
    lstm_pack_forward_int8(params_, I, params_ + kHH, H, packed_int8_.data(), int8_scales_.data(),
                           int8_comp_.data());
    packed_int8_fresh_ = true;
  }
  LstmInt8Weights int8_weights() const { return {packed_int8_.data(), int8_scales_.data(), int8_comp_.data()}; }
  void pack_bf16() {  // W_ih and W_hh, for the projection and the steps (kernels/lstm_step_bf16.h)
    if (packed_bf16_fresh_) return;
    packed_bf16_.resize(size_t(lstm_packed_forward_bf16_size(I, H)));
    lstm_pack_forward_bf16(params_, I, params_ + kHH, H, packed_bf16_.data());
    packed_bf16_fresh_ = true;
  }
  void pack_backward() {
    if (packed_bwd_fresh_) return;
    packed_bwd_.resize(size_t(lstm_packed_backward_size(H)));
    lstm_pack_backward(params_ + kHH, H, packed_bwd_.data());
    packed_bwd_fresh_ = true;
  }

  const int64_t kHH = 4 * H * I, kBias = 4 * H * (I + H);  // offsets of W_hh and the bias
  float *gates_ = nullptr, *h_ = nullptr, *c_ = nullptr;     // (T, B, 4H), (T+1, B, H), (T+1, B, H)
  float *dgates_ = nullptr, *dh_ = nullptr, *dc_ = nullptr;  // (T, B, 4H), (B, H), (B, H)
  const TokenInput* tokens_ = nullptr;  // token input (read_tokens), its scratch (V, 4H) each
  float *proj_ = nullptr, *dproj_ = nullptr;
  std::vector<float> stream_gates_, stream_h_, stream_c_;  // step(): (4H), (2, H), (2, H)
  int64_t cur_ = 0;  // step(): the slot of h_{t-1}, c_{t-1}
  // W_hh packed for the step kernels (kernels/lstm_step.h), valid until weights_changed()
  std::vector<float> packed_, packed_bwd_, packed_step_;  // forward, backward, step() (+ W_ih)
  bool packed_fresh_ = false, packed_bwd_fresh_ = false, packed_step_fresh_ = false;
  bool bf16_ = false;                  // set_precision(bf16): inference on the bf16 packing
  std::vector<uint16_t> packed_bf16_;  // W_ih and W_hh as bfloat16 pairs
  bool packed_bf16_fresh_ = false;
  std::vector<uint32_t> stream_pairs_;  // step() in bf16: x and h_{t-1} as pairs
  bool int8_ = false;  // set_precision(int8): inference on the int8 packing
  std::vector<int8_t> packed_int8_;  // W_ih and W_hh as int8 quads (kernels/lstm_step_int8.h)
  std::vector<float> int8_scales_;   // (2, 4H)
  std::vector<int32_t> int8_comp_;   // (2, 4H)
  bool packed_int8_fresh_ = false;
  std::vector<uint8_t> stream_bytes_;  // step() in int8: x and h_{t-1} quantised
};

// ---- LSTM with options: lstm_general.h -------------------------------------------------------

// The seed's cell, which the fused kernels run: no option that changes the equations.
static bool lstm_is_default(const LayerConfig& c) {
  return c.activation == Activation::tanh && c.recurrent_activation == Activation::sigmoid &&
         c.use_bias && c.proj_size == 0 && !c.use_peepholes && c.recurrent_dropout == 0.0f;
}

class LstmGeneralRecurrence final : public Recurrence {
 public:
  LstmGeneralRecurrence(const LayerConfig& c, int64_t I)
      : Recurrence(c, I, c.units, c.proj_size > 0 ? c.proj_size : c.units),
        variant_{O, c.activation, c.recurrent_activation},
        proj_(c.proj_size > 0),
        kBias(4 * H * (I + O)),
        kHr(kBias + (c.use_bias ? 4 * H : 0)),
        kPeep(kHr + (proj_ ? O * H : 0)),
        bias_(c.use_bias),
        peep_(c.use_peepholes),
        recurrent_dropout_on_(c.recurrent_dropout > 0.0f) {}

  // File order: weight_ih, weight_hh, bias, weight_hr, weight_peephole (the ones that exist).
  std::vector<ParamTensor> param_tensors() const override {
    std::vector<ParamTensor> t = {{"weight_ih", {4 * H, I}, 0}, {"weight_hh", {4 * H, O}, kHH}};
    if (bias_) t.push_back({"bias", {4 * H}, kBias});
    if (proj_) t.push_back({"weight_hr", {O, H}, kHr});
    if (peep_) t.push_back({"weight_peephole", {3, H}, kPeep});
    return t;
  }

  // As the seed's cell; W_hr glorot_uniform; the peepholes start at zero (a plain LSTM).
  void init(Rng& rng) override {
    init_glorot_uniform(params_, 4 * H * I, I, 4 * H, rng);
    init_orthogonal(params_ + kHH, 4 * H, O, rng);
    if (bias_)
      for (int64_t k = 0; k < 4 * H; ++k) params_[kBias + k] = (k >= H && k < 2 * H) ? 1.0f : 0.0f;
    if (proj_) init_glorot_uniform(params_ + kHr, O * H, H, O, rng);
    if (peep_) std::memset(params_ + kPeep, 0, sizeof(float) * size_t(3 * H));
  }

  void plan_cell(int64_t T, int64_t B, Workspace& ws) override {
    gates_ = ws.kept.take(T * B * 4 * H);
    c_ = ws.kept.take((T + 1) * B * H);
    h_ = ws.kept.take((T + 1) * B * O);
    u_ = proj_ ? ws.kept.take(T * B * H) : nullptr;
    h_in_ = recurrent_dropout_on_ ? ws.kept.take(T * B * O) : nullptr;
    da_ = ws.grad.take(T * B * 4 * H);
    dh_ = ws.grad.take(T * B * O);
    du_ = ws.grad.take(B * H);
    dc_ = ws.grad.take(B * H);
    carry_ = ws.grad.take(B * O);
  }

  const float* run_forward(const float* x, const Batch& b) override {
    initial_state(h_, c_, b.B);
    LstmGeneralActivations act = activations();
    lstm_general_forward(dims(b, I, H), variant_, weights(), recurrent_mask(), x, act);
    return h_ + b.B * O;
  }

  void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                    const Batch& b, const StateGrads& s) override {
    LstmGeneralWork work{da_, dh_, du_, dc_, carry_};
    LstmGeneralGrads g{grads_, grads_ + kHH, bias_ ? grads_ + kBias : nullptr,
                       peep_ ? grads_ + kPeep : nullptr, proj_ ? grads_ + kHr : nullptr};
    lstm_general_backward(dims(b, I, H), variant_, weights(), recurrent_mask(), x, activations(),
                          dh_seq, dh_last, s.dc_last, work, g, dx, s.dh0, s.dc0);
  }

  // One step of one sequence: the sequence code with T = B = 1, slot 0 the carried state.
  void step(const float* x, float* y) override {
    if (stream_h_.empty()) {
      stream_gates_.assign(size_t(4 * H), 0.0f);
      stream_c_.assign(size_t(2 * H), 0.0f);
      stream_h_.assign(size_t(2 * O), 0.0f);
      stream_u_.assign(size_t(proj_ ? H : 0), 0.0f);
    }
    LstmGeneralActivations act{stream_gates_.data(), stream_c_.data(), stream_h_.data(),
                               proj_ ? stream_u_.data() : nullptr, nullptr};
    lstm_general_forward({1, 1, I, H, nullptr}, variant_, weights(), nullptr, x, act);
    std::memcpy(stream_c_.data(), stream_c_.data() + H, sizeof(float) * size_t(H));
    std::memcpy(stream_h_.data(), stream_h_.data() + O, sizeof(float) * size_t(O));
    std::memcpy(y, stream_h_.data(), sizeof(float) * size_t(O));
  }
  void reset_state() override { stream_h_.clear(); }
  const float* step_cell_state() const override { return stream_c_.data(); }
  bool has_cell_state() const override { return true; }
  const float* cell_states() const override { return c_; }

 private:
  LstmGeneralWeights weights() const {
    return {params_, params_ + kHH, bias_ ? params_ + kBias : nullptr,
            peep_ ? params_ + kPeep : nullptr, proj_ ? params_ + kHr : nullptr};
  }
  LstmGeneralActivations activations() {
    return {gates_, c_, h_, u_, recurrent_mask() ? h_in_ : nullptr};
  }

  const LstmVariant variant_;
  const bool proj_;
  const int64_t kHH = 4 * H * I, kBias, kHr, kPeep;  // offsets of W_hh, b, W_hr, p
  const bool bias_, peep_, recurrent_dropout_on_;
  // (T, B, 4H), (T+1, B, H), (T+1, B, P), (T, B, H), (T, B, P)
  float *gates_ = nullptr, *c_ = nullptr, *h_ = nullptr, *u_ = nullptr, *h_in_ = nullptr;
  // (T, B, 4H), (T, B, P), (B, H), (B, H), (B, P)
  float *da_ = nullptr, *dh_ = nullptr, *du_ = nullptr, *dc_ = nullptr, *carry_ = nullptr;
  std::vector<float> stream_gates_, stream_c_, stream_h_, stream_u_;  // step(): (4H), (2H), (2P), (H)
};

// ---- GRU: gates r, z, n, two biases ---------------------------------------------------------

class GruRecurrence final : public Recurrence {
 public:
  GruRecurrence(const LayerConfig& c, int64_t I) : Recurrence(c, I, c.units, c.units) {}

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

  void plan_cell(int64_t T, int64_t B, Workspace& ws) override {
    gates_ = ws.kept.take(T * B * 3 * H);
    ah_n_ = ws.kept.take(T * B * H);
    h_ = ws.kept.take((T + 1) * B * H);
    dax_ = ws.grad.take(T * B * 3 * H);
    dahn_ = ws.grad.take(T * B * H);
    carry_ = ws.grad.take(B * H);
  }

  const float* run_forward(const float* x, const Batch& b) override {
    initial_state(h_, nullptr, b.B);
    pack(packed_, packed_fresh_, 0);
    GruActivations act{gates_, ah_n_, h_};
    gru_forward(dims(b, I, H), weights(), x, act);
    return h_ + b.B * H;
  }

  void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                    const Batch& b, const StateGrads& s) override {
    if (!packed_bwd_fresh_) {
      packed_bwd_.resize(size_t(gru_packed_backward_size(H)));
      gru_pack_backward(params_ + kHH, H, packed_bwd_.data());
      packed_bwd_fresh_ = true;
    }
    GruActivations act{gates_, ah_n_, h_};
    GruBackwardWork work{dax_, dahn_, carry_};
    GruGrads g{grads_, grads_ + kHH, grads_ + kBih, grads_ + kBih + 3 * H};
    gru_backward(dims(b, I, H), weights(), x, act, dh_seq, dh_last, work, g, dx, s.dh0);
  }

  // One step of one sequence: one kernel step with the input projection fused (W_ih packed
  // with W_hh), no gates kept.
  void step(const float* x, float* y) override {
    if (stream_h_.empty()) stream_h_.assign(size_t(2 * H), 0.0f);
    pack(packed_step_, packed_step_fresh_, I);
    float* h = stream_h_.data();  // slot cur_ holds h_{t-1}, the other receives h_t
    const int64_t prev = cur_ * H, next = (1 - cur_) * H;
    GruStepForward s{packed_step_.data(), I, H, 1, x, I, h + prev, params_ + kBih, 0,
                     params_ + kBih + 3 * H, nullptr, nullptr, h + next};
    gru_step_forward(s, 0, gru_forward_blocks(H));
    cur_ = 1 - cur_;
    std::memcpy(y, h + next, sizeof(float) * size_t(H));
  }
  void reset_state() override { stream_h_.clear(), cur_ = 0; }
  void weights_changed() override { packed_fresh_ = packed_bwd_fresh_ = packed_step_fresh_ = false; }

 private:
  GruWeights weights() const {
    return {params_, params_ + kHH, params_ + kBih, params_ + kBih + 3 * H, packed_.data(),
            packed_bwd_fresh_ ? packed_bwd_.data() : nullptr};
  }
  // W_hh (and W_ih when Kx = I) in the forward kernels' layout, once per weight update
  void pack(std::vector<float>& packed, bool& fresh, int64_t Kx) {
    if (fresh) return;
    packed.resize(size_t(gru_packed_forward_size(Kx, H)));
    gru_pack_forward(Kx ? params_ : nullptr, Kx, params_ + kHH, H, packed.data());
    fresh = true;
  }
  const int64_t kHH = 3 * H * I, kBih = 3 * H * (I + H);
  float *gates_ = nullptr, *ah_n_ = nullptr, *h_ = nullptr;  // (T, B, 3H), (T, B, H), (T+1, B, H)
  float *dax_ = nullptr, *dahn_ = nullptr, *carry_ = nullptr;  // (T, B, 3H), (T, B, H), (B, H)
  std::vector<float> stream_h_;  // step(): (2, H)
  int64_t cur_ = 0;              // step(): the slot of h_{t-1}
  // the kernels' packings (kernels/gru_step.h), valid until weights_changed()
  std::vector<float> packed_, packed_bwd_, packed_step_;  // forward, backward, step() (+ W_ih)
  bool packed_fresh_ = false, packed_bwd_fresh_ = false, packed_step_fresh_ = false;
};

// ---- GRU with reset_after = false: gates r, z, n, one bias --------------------------------------

class GruResetBeforeRecurrence final : public Recurrence {
 public:
  GruResetBeforeRecurrence(const LayerConfig& c, int64_t I) : Recurrence(c, I, c.units, c.units) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {3 * H, I}, 0}, {"weight_hh", {3 * H, H}, kHH}, {"bias", {3 * H}, kBias}};
  }

  void init(Rng& rng) override {  // Keras: glorot_uniform, orthogonal, zeros
    init_glorot_uniform(params_, 3 * H * I, I, 3 * H, rng);
    init_orthogonal(params_ + kHH, 3 * H, H, rng);
    std::memset(params_ + kBias, 0, sizeof(float) * size_t(3 * H));
  }

  void plan_cell(int64_t T, int64_t B, Workspace& ws) override {
    gates_ = ws.kept.take(T * B * 3 * H);
    u_ = ws.kept.take(T * B * H);
    h_ = ws.kept.take((T + 1) * B * H);
    ax_ = ws.kept.take(T * B * 3 * H);
    ah_ = ws.kept.take(B * 3 * H);
    dax_ = ws.grad.take(T * B * 3 * H);
    dah_ = ws.grad.take(T * B * 2 * H);
    dh_ = ws.grad.take(B * H);
    du_ = ws.grad.take(B * H);
  }

  const float* run_forward(const float* x, const Batch& b) override {
    initial_state(h_, nullptr, b.B);
    GruResetBeforeActivations act{gates_, u_, h_, ax_, ah_};
    gru_reset_before_forward(dims(b, I, H), weights(), x, act);
    return h_ + b.B * H;
  }

  void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                    const Batch& b, const StateGrads& s) override {
    GruResetBeforeActivations act{gates_, u_, h_, ax_, ah_};
    GruResetBeforeWork work{dax_, dah_, dh_, du_};
    GruResetBeforeGrads g{grads_, grads_ + kHH, grads_ + kBias};
    gru_reset_before_backward(dims(b, I, H), weights(), x, act, dh_seq, dh_last, work, g, dx, s.dh0);
  }

  // One step of one sequence: the sequence code with T = B = 1, slot 0 the carried state.
  void step(const float* x, float* y) override {
    if (stream_h_.empty()) {
      stream_h_.assign(size_t(2 * H), 0.0f);
      stream_work_.assign(size_t(10 * H), 0.0f);
    }
    float* work = stream_work_.data();  // gates, u, ax, ah: 3H + H + 3H + 3H
    GruResetBeforeActivations act{work, work + 3 * H, stream_h_.data(), work + 4 * H, work + 7 * H};
    gru_reset_before_forward({1, 1, I, H, nullptr}, weights(), x, act);
    std::memcpy(stream_h_.data(), stream_h_.data() + H, sizeof(float) * size_t(H));
    std::memcpy(y, stream_h_.data(), sizeof(float) * size_t(H));
  }
  void reset_state() override { stream_h_.clear(); }

 private:
  GruResetBeforeWeights weights() const { return {params_, params_ + kHH, params_ + kBias}; }
  const int64_t kHH = 3 * H * I, kBias = 3 * H * (I + H);
  // (T, B, 3H), (T, B, H), (T+1, B, H), (T, B, 3H), (B, 3H)
  float *gates_ = nullptr, *u_ = nullptr, *h_ = nullptr, *ax_ = nullptr, *ah_ = nullptr;
  // (T, B, 3H), (T, B, 2H), (B, H), (B, H)
  float *dax_ = nullptr, *dah_ = nullptr, *dh_ = nullptr, *du_ = nullptr;
  std::vector<float> stream_h_, stream_work_;  // step(): (2H); gates, u, ax, ah (10H)
};

// ---- SimpleRNN: one gate, tanh or relu -------------------------------------------------------

class RnnRecurrence final : public Recurrence {
 public:
  RnnRecurrence(const LayerConfig& c, int64_t I)
      : Recurrence(c, I, c.units, c.units), act_(c.activation) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight_ih", {H, I}, 0}, {"weight_hh", {H, H}, kHH}, {"bias", {H}, kBias}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, H * I, I, H, rng);
    init_orthogonal(params_ + kHH, H, H, rng);
    std::memset(params_ + kBias, 0, sizeof(float) * size_t(H));
  }

  void plan_cell(int64_t T, int64_t B, Workspace& ws) override {
    h_ = ws.kept.take((T + 1) * B * H);
    da_ = ws.grad.take(T * B * H);
    dh_ = ws.grad.take(B * H);
  }

  const float* run_forward(const float* x, const Batch& b) override {
    initial_state(h_, nullptr, b.B);
    pack(packed_, packed_fresh_, 0);
    rnn_forward(dims(b, I, H), weights(), act_, x, h_);
    return h_ + b.B * H;
  }

  void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                    const Batch& b, const StateGrads& s) override {
    if (!packed_bwd_fresh_) {
      packed_bwd_.resize(size_t(rnn_packed_backward_size(H)));
      rnn_pack_backward(params_ + kHH, H, packed_bwd_.data());
      packed_bwd_fresh_ = true;
    }
    RnnGrads g{grads_, grads_ + kHH, grads_ + kBias};
    rnn_backward(dims(b, I, H), weights(), act_, x, h_, dh_seq, dh_last, da_, dh_, g, dx, s.dh0);
  }

  // One step of one sequence: one kernel step with the input projection fused (W_ih packed
  // with W_hh).
  void step(const float* x, float* y) override {
    if (stream_h_.empty()) stream_h_.assign(size_t(2 * H), 0.0f);
    pack(packed_step_, packed_step_fresh_, I);
    float* h = stream_h_.data();  // slot cur_ holds h_{t-1}, the other receives h_t
    const int64_t prev = cur_ * H, next = (1 - cur_) * H;
    RnnStepForward s{packed_step_.data(), I, H, 1, x, I, h + prev, params_ + kBias, 0,
                     act_ == Activation::relu, h + next};
    rnn_step_forward(s, 0, rnn_blocks(H));
    cur_ = 1 - cur_;
    std::memcpy(y, h + next, sizeof(float) * size_t(H));
  }
  void reset_state() override { stream_h_.clear(), cur_ = 0; }
  void weights_changed() override { packed_fresh_ = packed_bwd_fresh_ = packed_step_fresh_ = false; }

 private:
  RnnWeights weights() const {
    return {params_, params_ + kHH, params_ + kBias, packed_.data(),
            packed_bwd_fresh_ ? packed_bwd_.data() : nullptr};
  }
  // W_hh (and W_ih when Kx = I) in the forward kernel's layout, once per weight update
  void pack(std::vector<float>& packed, bool& fresh, int64_t Kx) {
    if (fresh) return;
    packed.resize(size_t(rnn_packed_forward_size(Kx, H)));
    rnn_pack_forward(Kx ? params_ : nullptr, Kx, params_ + kHH, H, packed.data());
    fresh = true;
  }
  const Activation act_;
  const int64_t kHH = H * I, kBias = H * (I + H);
  float *h_ = nullptr, *da_ = nullptr, *dh_ = nullptr;  // (T+1, B, H), (T, B, H), (B, H)
  std::vector<float> stream_h_;                          // step(): (2, H)
  int64_t cur_ = 0;                                      // step(): the slot of h_{t-1}
  // the kernels' packings (kernels/rnn_step.h), valid until weights_changed()
  std::vector<float> packed_, packed_bwd_, packed_step_;  // forward, backward, step() (+ W_ih)
  bool packed_fresh_ = false, packed_bwd_fresh_ = false, packed_step_fresh_ = false;
};

std::unique_ptr<Recurrence> make_recurrence(const LayerConfig& c, int64_t I) {
  switch (c.type) {
    case LayerType::lstm:
      if (lstm_is_default(c)) return std::make_unique<LstmRecurrence>(c, I);
      return std::make_unique<LstmGeneralRecurrence>(c, I);
    case LayerType::gru:
      if (!c.reset_after) return std::make_unique<GruResetBeforeRecurrence>(c, I);
      return std::make_unique<GruRecurrence>(c, I);
    case LayerType::simple_rnn: return std::make_unique<RnnRecurrence>(c, I);
    default: return nullptr;
  }
}

}  // namespace lstm
