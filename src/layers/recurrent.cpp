// The recurrent layers as the model sees them: one direction (LSTM, GRU, SimpleRNN, with
// go_backwards) or both (Bidirectional), over right-padded batches with per-row lengths.
//
// Dimensions: T = time steps, B = batch, I = input features, H = the width of h_t (the units,
// or an LSTM's proj_size), L_b = the length of row b (T without lengths). Time-major (T, B, F).
//
// Direction: the backward direction reads each row from its last valid step, so it is given x
// reversed within each row's length, xr[s, b] = x[L_b - 1 - s, b], and steps in that order;
// its outputs are mapped back the same way (the map is its own inverse). Outputs at padded
// steps are zero; the last output of a row is the one after its L_b-th step.
#include <cstring>

#include "core/threads.h"
#include "layers/layer.h"
#include "layers/recurrence.h"
#include "layers/time_order.h"
#include "lstm/error.h"

namespace lstm {

// dst[s, b] = src[L_b - 1 - s, b] for s < L_b, zero after. src and dst (T, B, F), distinct.
void reverse_steps(const float* src, float* dst, int64_t F, const Batch& batch) {
  const int64_t T = batch.T, B = batch.B;
  if (!batch.lengths) {  // every row runs all T steps: whole time slices
    for (int64_t s = 0; s < T; ++s)
      std::memcpy(dst + s * B * F, src + (T - 1 - s) * B * F, sizeof(float) * size_t(B * F));
    return;
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t L = batch.length(b);
    for (int64_t s = 0; s < T; ++s) {
      float* d = dst + (s * B + b) * F;
      if (s < L) std::memcpy(d, src + ((L - 1 - s) * B + b) * F, sizeof(float) * size_t(F));
      else std::memset(d, 0, sizeof(float) * size_t(F));
    }
  }
}

// y (B, H) = hs at each row's last step.
void gather_last(const float* hs, float* y, int64_t H, const Batch& batch) {
  for (int64_t b = 0; b < batch.B; ++b)
    std::memcpy(y + b * H, hs + ((batch.length(b) - 1) * batch.B + b) * H, sizeof(float) * size_t(H));
}

// ∂L/∂(last output) (B, H) as the per-step gradient (T, B, H) the direction takes.
void scatter_last(const float* dy, float* dh_seq, int64_t H, const Batch& batch) {
  std::memset(dh_seq, 0, sizeof(float) * size_t(batch.T * batch.B * H));
  for (int64_t b = 0; b < batch.B; ++b)
    std::memcpy(dh_seq + ((batch.length(b) - 1) * batch.B + b) * H, dy + b * H, sizeof(float) * size_t(H));
}

// Runs a direction's backward from the gradient of what the layer returned from it: the whole
// sequence (dy (T, B, H), processing order) or the last output (dy (B, H)).
static void direction_backward(Recurrence& r, const float* x, const float* dy, bool seq,
                               std::vector<float>& scratch, float* dx, const Batch& batch) {
  if (seq) return r.backward(x, dy, nullptr, dx, batch);
  if (!batch.lengths) return r.backward(x, nullptr, dy, dx, batch);
  grow(scratch, batch.T * batch.B * r.O);
  scatter_last(dy, scratch.data(), r.O, batch);
  r.backward(x, scratch.data(), nullptr, dx, batch);
}


// The width of h_t: the units, or an LSTM's proj_size.
static int64_t recurrent_width(const LayerConfig& c) { return c.proj_size > 0 ? c.proj_size : c.units; }

void merge_directions(MergeMode mode, const float* f, const float* b, float* y, int64_t R,
                      int64_t H) {
  const int64_t n = R * H;
  switch (mode) {  // each mode's loop is separate so that it vectorises
    case MergeMode::concat:
    case MergeMode::none:  // the model splits the two outputs apart
      for (int64_t r = 0; r < R; ++r) {
        std::memcpy(y + r * 2 * H, f + r * H, sizeof(float) * size_t(H));
        std::memcpy(y + r * 2 * H + H, b + r * H, sizeof(float) * size_t(H));
      }
      break;
    case MergeMode::sum: for (int64_t k = 0; k < n; ++k) y[k] = f[k] + b[k]; break;
    case MergeMode::mul: for (int64_t k = 0; k < n; ++k) y[k] = f[k] * b[k]; break;
    case MergeMode::ave: for (int64_t k = 0; k < n; ++k) y[k] = 0.5f * (f[k] + b[k]); break;
  }
}

void merge_directions_backward(MergeMode mode, const float* dy, const float* f, const float* b,
                               float* df, float* db, int64_t R, int64_t H) {
  const int64_t n = R * H;
  switch (mode) {
    case MergeMode::concat:
    case MergeMode::none:
      for (int64_t r = 0; r < R; ++r) {
        std::memcpy(df + r * H, dy + r * 2 * H, sizeof(float) * size_t(H));
        std::memcpy(db + r * H, dy + r * 2 * H + H, sizeof(float) * size_t(H));
      }
      break;
    case MergeMode::sum:
      std::memcpy(df, dy, sizeof(float) * size_t(n));
      std::memcpy(db, dy, sizeof(float) * size_t(n));
      break;
    case MergeMode::mul:
      for (int64_t k = 0; k < n; ++k) df[k] = dy[k] * b[k], db[k] = dy[k] * f[k];
      break;
    case MergeMode::ave:
      for (int64_t k = 0; k < n; ++k) df[k] = db[k] = 0.5f * dy[k];
      break;
  }
}

// ---- one direction ----------------------------------------------------------------------------

class RecurrentLayer final : public Layer {
 public:
  RecurrentLayer(const LayerConfig& c, int64_t in)
      : Layer(c, in, true, recurrent_width(c), c.return_sequences), cell_(make_recurrence(c, in)) {}

  std::vector<ParamTensor> param_tensors() const override { return cell_->param_tensors(); }
  void bind(float* params, float* grads) override {
    Layer::bind(params, grads);
    cell_->bind(params, grads);
  }
  void init(Rng& rng) override { cell_->init(rng); }

  // With go_backwards the returned sequence is in processing order (Keras): step s holds the
  // state after the row's last s + 1 valid steps.
  void forward(const float* x, float* y, const Batch& batch) override {
    const float* in = input(x, batch);
    cell_->draw_masks(batch);
    const float* hs = cell_->forward(in, batch);
    if (out_seq) std::memcpy(y, hs, sizeof(float) * size_t(batch.T * batch.B * out_features));
    else gather_last(hs, y, out_features, batch);
  }

  void backward(const float* x, const float* y, const float* dy, float* dx,
                const Batch& batch) override {
    (void)y;
    const bool reversed = config.go_backwards;
    if (reversed && dx) grow(dx_rev_, batch.T * batch.B * in_features);
    direction_backward(*cell_, reversed ? x_rev_.data() : x, dy, out_seq, dh_seq_,
                       reversed && dx ? dx_rev_.data() : dx, batch);
    if (reversed && dx) reverse_steps(dx_rev_.data(), dx, in_features, batch);
  }

  bool can_step() const override { return !config.go_backwards; }
  void step(const float* x, float* y) override { cell_->step(x, y); }
  void reset_state() override { cell_->reset_state(); }
  void reset_carried_state() override { cell_->reset_carried_state(); }
  std::vector<Recurrence*> directions() override { return {cell_.get()}; }
  void weights_changed() override { cell_->weights_changed(); }

 private:
  const float* input(const float* x, const Batch& batch) {
    if (!config.go_backwards) return x;
    grow(x_rev_, batch.T * batch.B * in_features);
    reverse_steps(x, x_rev_.data(), in_features, batch);
    return x_rev_.data();
  }

  std::unique_ptr<Recurrence> cell_;
  std::vector<float> x_rev_, dx_rev_, dh_seq_;  // (T, B, I), (T, B, I), (T, B, H)
};

// ---- both directions --------------------------------------------------------------------------

class BidirectionalLayer final : public Layer {
 public:
  BidirectionalLayer(const LayerConfig& c, int64_t in)
      : Layer(c, in, true, (both(c.merge_mode) ? 2 : 1) * recurrent_width(c.wrapped[0]),
              c.return_sequences),
        H(recurrent_width(c.wrapped[0])),
        fwd_(make_recurrence(c.wrapped[0], in)),
        bwd_(make_recurrence(c.wrapped[0], in)) {}

  std::vector<ParamTensor> param_tensors() const override {
    std::vector<ParamTensor> out;
    for (ParamTensor t : fwd_->param_tensors()) out.push_back({"forward." + t.name, t.shape, t.offset});
    for (ParamTensor t : bwd_->param_tensors())
      out.push_back({"backward." + t.name, t.shape, fwd_->param_count() + t.offset});
    return out;
  }
  void bind(float* params, float* grads) override {
    Layer::bind(params, grads);
    fwd_->bind(params, grads);
    bwd_->bind(params + fwd_->param_count(), grads + fwd_->param_count());
  }
  void init(Rng& rng) override {  // Keras: the forward layer's weights first
    fwd_->init(rng);
    bwd_->init(rng);
  }

  // The two directions run side by side, each on half of the threads: measured faster than
  // one after the other on all threads at every shape tried, H = 50 to 512 (docs/performance.md).
  void forward(const float* x, float* y, const Batch& batch) override {
    const int64_t steps = out_seq ? batch.T : 1, R = steps * batch.B;
    // The two outputs the merge sees, both in original time order (kept for mul's backward).
    grow(x_rev_, batch.T * batch.B * in_features);
    grow(b_, R * H);
    if (!out_seq) grow(f_, R * H);
    const float* f = nullptr;
    fwd_->draw_masks(batch);  // here, not in the threads: both draw from batch.rng
    bwd_->draw_masks(batch);
    run_side_by_side(
        [&] {
          const float* hf = fwd_->forward(x, batch);
          if (out_seq) f = hf;
          else gather_last(hf, f_.data(), H, batch), f = f_.data();
        },
        [&] {
          reverse_steps(x, x_rev_.data(), in_features, batch);
          const float* hb = bwd_->forward(x_rev_.data(), batch);
          if (out_seq) reverse_steps(hb, b_.data(), H, batch);
          else gather_last(hb, b_.data(), H, batch);
        });
    f_seen_ = f;
    merge_directions(config.merge_mode, f, b_.data(), y, R, H);
  }

  void backward(const float* x, const float* y, const float* dy, float* dx,
                const Batch& batch) override {
    (void)y;
    const int64_t steps = out_seq ? batch.T : 1, R = steps * batch.B, X = batch.T * batch.B * in_features;
    const float *df = dy, *db = dy;  // sum: both directions get dy itself
    if (config.merge_mode != MergeMode::sum) {
      grow(df_, R * H), grow(db_, R * H);
      merge_directions_backward(config.merge_mode, dy, f_seen_, b_.data(), df_.data(), db_.data(), R, H);
      df = df_.data(), db = db_.data();
    }
    if (dx) grow(dx_rev_, X), grow(dx_b_, X);
    run_side_by_side(
        [&] { direction_backward(*fwd_, x, df, out_seq, dh_seq_f_, dx, batch); },
        [&] {
          const float* db_proc = db;  // the backward direction's gradient, processing order
          if (out_seq) {
            grow(db_rev_, R * H);
            reverse_steps(db, db_rev_.data(), H, batch);
            db_proc = db_rev_.data();
          }
          direction_backward(*bwd_, x_rev_.data(), db_proc, out_seq, dh_seq_b_,
                             dx ? dx_rev_.data() : nullptr, batch);
          if (dx) reverse_steps(dx_rev_.data(), dx_b_.data(), in_features, batch);
        });
    if (!dx) return;
    const float* add = dx_b_.data();
    for (int64_t k = 0; k < X; ++k) dx[k] += add[k];
  }

  void reset_carried_state() override {
    fwd_->reset_carried_state();
    bwd_->reset_carried_state();
  }
  std::vector<Recurrence*> directions() override { return {fwd_.get(), bwd_.get()}; }
  bool can_step() const override { return false; }
  void step(const float*, float*) override {
    throw Error("a Bidirectional layer reads each sequence from its end, so it cannot run one "
                "step at a time: use predict() on whole sequences");
  }
  void weights_changed() override {
    fwd_->weights_changed();
    bwd_->weights_changed();
  }

 private:
  const int64_t H;  // each direction's output width
  std::unique_ptr<Recurrence> fwd_, bwd_;
  // The merge's inputs in time order: f_seen_ the forward direction's (its own buffer for
  // sequences, else f_), b_ the backward direction's. x_rev_: x in the backward direction's order.
  const float* f_seen_ = nullptr;
  std::vector<float> x_rev_, f_, b_;  // (T, B, I), (B, H), (steps, B, H)
  std::vector<float> df_, db_, db_rev_, dx_rev_, dx_b_;
  std::vector<float> dh_seq_f_, dh_seq_b_;  // one scratch per direction: they run at once
};

std::unique_ptr<Layer> make_recurrent(const LayerConfig& config, int64_t in_features) {
  if (config.type == LayerType::bidirectional)
    return std::make_unique<BidirectionalLayer>(config, in_features);
  return std::make_unique<RecurrentLayer>(config, in_features);
}

}  // namespace lstm
