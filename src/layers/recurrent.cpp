// The recurrent layers (layers/recurrent.h): one op for one direction (LSTM, GRU, SimpleRNN,
// with go_backwards) or both (Bidirectional), over right-padded batches with per-row lengths,
// with initial and final states as tensors; its room (recurrent_room.cpp) checks a call and
// makes it, for graphs and Sequential's chain alike.
//
// Dimensions: T = time steps, B = batch, I = input features, H = the width of h_t (the units,
// or an LSTM's proj_size), L_b = the length of row b (T without lengths). Time-major (T, B, F).
//
// Direction: the backward direction reads each row from its last valid step, so it is given x
// reversed within each row's length, xr[s, b] = x[L_b - 1 - s, b], and steps in that order;
// its outputs are mapped back the same way (the map is its own inverse). Outputs at padded
// steps are zero; the last output of a row is the one after its L_b-th step.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "core/threads.h"
#include "layers/layer.h"
#include "layers/op.h"
#include "layers/recurrence.h"
#include "layers/recurrent.h"
#include "layers/seq_dims.h"
#include "lstm/error.h"

namespace lstm {

// dst[s, b] = src[L_b - 1 - s, b] for s < L_b, zero after. src and dst (T, B, F), distinct.
static void reverse_steps(const float* src, float* dst, int64_t F, const Batch& batch) {
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

// y (B, H) = hs at each row's last step; a row of no steps (all padding) gets the initial
// state h_0, which the cells keep in the slot before hs.
static void gather_last(const float* hs, float* y, int64_t H, const Batch& batch) {
  for (int64_t b = 0; b < batch.B; ++b)
    std::memcpy(y + b * H, hs + ((batch.length(b) - 1) * batch.B + b) * H, sizeof(float) * size_t(H));
}

// y (R, 2H or H) from the two directions' outputs f, b (R, H), and its derivative: df, db (R, H)
// from dy (f, b: the forward's inputs, which mul needs).
static void merge_directions(MergeMode mode, const float* f, const float* b, float* y, int64_t R,
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

static void merge_directions_backward(MergeMode mode, const float* dy, const float* f,
                                      const float* b, float* df, float* db, int64_t R, int64_t H) {
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

// ---- the op: one direction or both, with initial and final states as tensors -----------------
//
// The cells step the rows still running at step t as a prefix of the batch, so they need rows
// sorted longest first. A Sequential model sorts every batch by its lengths; a graph sorts by
// its first mask, and a tensor with another mask (a translator's target, when its source sets
// the order) is put in that order here, run, and put back.
// With go_backwards the returned sequence is in processing order (Keras): step s holds the
// state after the row's last s + 1 valid steps.

// Rows of a (T, B, W) block in another order: dst[t, j] = src[t, order[j]] (gather), or
// dst[t, order[j]] = src[t, j] (scatter).
static void reorder(const float* src, float* dst, const std::vector<int64_t>& order, int64_t T,
                    int64_t W, bool scatter) {
  const int64_t B = int64_t(order.size());
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < B; ++j) {
      const int64_t from = scatter ? j : order[size_t(j)], to = scatter ? order[size_t(j)] : j;
      std::memcpy(dst + (t * B + to) * W, src + (t * B + from) * W, sizeof(float) * size_t(W));
    }
}

class RecurrentOp final : public Op {
 public:
  RecurrentOp(const LayerConfig& c, int64_t I, bool given_states)
      : bidir_(c.type == LayerType::bidirectional),
        cell_(bidir_ ? c.wrapped[0] : c),
        I_(I),
        H_(recurrent_width(cell_)),
        has_c_(cell_.type == LayerType::lstm),
        seq_(c.return_sequences),
        state_out_(c.return_state),
        given_(given_states),
        reversed_(!bidir_ && cell_.go_backwards),
        merge_(c.merge_mode) {
    dirs_.push_back(make_recurrence(cell_, I));
    if (bidir_) dirs_.push_back(make_recurrence(cell_, I));
  }

  std::vector<ParamTensor> param_tensors() const override {
    if (!bidir_) return dirs_[0]->param_tensors();
    std::vector<ParamTensor> out;
    for (ParamTensor t : dirs_[0]->param_tensors()) out.push_back({"forward." + t.name, t.shape, t.offset});
    for (ParamTensor t : dirs_[1]->param_tensors())
      out.push_back({"backward." + t.name, t.shape, dirs_[0]->param_count() + t.offset});
    return out;
  }
  void bind(float* params, float* grads) override {
    Op::bind(params, grads);
    int64_t off = 0;
    for (auto& d : dirs_) d->bind(params + off, grads + off), off += d->param_count();
  }
  void init(Rng& rng) override {
    for (auto& d : dirs_) d->init(rng);
  }
  void weights_changed() override {
    for (auto& d : dirs_) d->weights_changed();
  }
  void reset_carried_state() override {
    for (auto& d : dirs_) d->reset_carried_state();
  }

  // One direction reading forward, without input dropout (which applies to the vectors).
  bool read_tokens(TokenInput& tokens) override {
    return !bidir_ && !reversed_ && cell_.dropout == 0.0f && dirs_[0]->read_tokens(tokens);
  }

  // What a Sequential model asks of its recurrent layers beyond the Op.
  std::vector<Recurrence*> directions() const override {
    std::vector<Recurrence*> out;
    for (const auto& d : dirs_) out.push_back(d.get());
    return out;
  }
  // Streaming: one direction that reads forward (the others need the whole sequence).
  bool can_step() const { return !bidir_ && !reversed_; }
  void step(const float* x, float* y) { dirs_[0]->step(x, y); }
  // In a graph: a call that is given its initial states runs on whole sequences only (so far);
  // with return_state, the states after this step are its outputs too (h is the output).
  Stepping stepping() const override { return can_step() && !given_ ? Stepping::own : Stepping::none; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    step(in[0], out[0]);
    if (!state_out_) return;
    std::memcpy(out[1], out[0], sizeof(float) * size_t(H_));
    if (has_c_) std::memcpy(out[2], dirs_[0]->step_cell_state(), sizeof(float) * size_t(dirs_[0]->H));
  }
  void reset_state() override {
    for (auto& d : dirs_) d->reset_state();
  }

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value> out, Workspace& ws) override {
    const int64_t B = pass.B, T = in[0].T, R = (seq_ ? T : 1) * B, X = T * B * I_;
    for (auto& d : dirs_) d->plan(T, B, ws);
    // rows that may come in an order of their own: the tensors in the sorted order
    reorders_ = in[0].lengths && !in[0].active;
    perm_in_.assign(in.size(), nullptr), perm_out_.assign(out.size(), nullptr);
    perm_dout_.assign(out.size(), nullptr), perm_din_.assign(in.size(), nullptr);
    for (size_t k = 0; reorders_ && k < in.size(); ++k)
      perm_in_[k] = ws.kept.take(in[k].size(B)), perm_din_[k] = ws.grad.take(in[k].size(B));
    for (size_t k = 0; reorders_ && k < out.size(); ++k)
      perm_out_[k] = ws.kept.take(out[k].size(B)), perm_dout_[k] = ws.grad.take(out[k].size(B));
    auto kept = [&](bool need, int64_t n) { return need ? ws.kept.take(n) : nullptr; };
    auto grad = [&](bool need, int64_t n) { return need ? ws.grad.take(n) : nullptr; };
    x_rev_ = kept(reversed_ || bidir_, X);
    b_ = kept(bidir_, R * H_);
    f_ = kept(bidir_ && !seq_, R * H_);
    df_ = grad(bidir_ && merge_ != MergeMode::sum, R * H_);
    db_ = grad(bidir_ && merge_ != MergeMode::sum, R * H_);
    db_rev_ = grad(bidir_ && seq_, R * H_);
    dx_rev_ = grad(reversed_ || bidir_, X);
    dx_b_ = grad(bidir_, X);
    // a last-step gradient goes into the sequence's (direction_backward) when there is one and
    // there are lengths or a sequence gradient too; dy and ∂L/∂h_n add up without sequences
    const bool last = !seq_ || state_out_, into_seq = last && (in[0].lengths || seq_);
    dh_seq_f_ = grad(into_seq, T * B * H_);
    dh_seq_b_ = grad(into_seq && bidir_, T * B * H_);
    sum_ = grad(!seq_ && state_out_, B * H_);
    sum_b_ = grad(bidir_ && !seq_ && state_out_, B * H_);
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const Value& x = in[0];
    sorted_ = !x.lengths || x.active;
    if (!sorted_ && !reorders_)
      throw std::logic_error("RecurrentOp: rows in their own order, but planned for sorted rows");
    if (sorted_) return run_forward(pass, pass.batch(x), in, out);
    // Rows in an order of their own: sort them longest first, run, put them back.
    const int64_t B = pass.B, T = x.T;
    order_.resize(size_t(B));
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(),
                     [&](int64_t a, int64_t b) { return x.lengths[a] > x.lengths[b]; });
    lengths_.resize(size_t(B));
    for (int64_t j = 0; j < B; ++j) lengths_[size_t(j)] = x.lengths[order_[size_t(j)]];
    active_ = rows_running(lengths_, T);
    Batch b{T, B, lengths_.data(), active_.data(), pass.training, pass.rng};
    std::vector<Value> pin(in.begin(), in.end()), pout(out.begin(), out.end());
    for (size_t k = 0; k < in.size(); ++k) {
      reorder(in[k].data, perm_in_[k], order_, in[k].seq ? T : 1, in[k].F, false);
      pin[k].data = perm_in_[k];
    }
    for (size_t k = 0; k < out.size(); ++k) pout[k].data = perm_out_[k];
    run_forward(pass, b, pin, pout);
    for (size_t k = 0; k < out.size(); ++k)
      reorder(pout[k].data, out[k].data, order_, out[k].seq ? T : 1, out[k].F, true);
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    (void)out;
    const Value& x = in[0];
    if (sorted_) return run_backward(pass.batch(x), in, dout, din);
    const int64_t B = pass.B, T = x.T;
    Batch b{T, B, lengths_.data(), active_.data(), pass.training, pass.rng};
    std::vector<Value> pin(in.begin(), in.end());
    for (size_t k = 0; k < in.size(); ++k) pin[k].data = perm_in_[k];
    std::vector<const float*> pd(dout.size(), nullptr);
    std::vector<float*> pdi(din.size(), nullptr);
    for (size_t k = 0; k < dout.size(); ++k) {
      if (!dout[k]) continue;
      reorder(dout[k], perm_dout_[k], order_, out[k].seq ? T : 1, out[k].F, false);
      pd[k] = perm_dout_[k];
    }
    for (size_t k = 0; k < din.size(); ++k)
      if (din[k]) pdi[k] = perm_din_[k];
    run_backward(b, pin, pd, pdi);
    for (size_t k = 0; k < din.size(); ++k)
      if (din[k]) reorder(pdi[k], din[k], order_, in[k].seq ? T : 1, in[k].F, true);
  }

 private:
  int64_t per_dir() const { return has_c_ ? 2 : 1; }
  const float* state_in(std::span<const Value> in, size_t d, int which) const {
    if (!given_) return nullptr;
    return in[1 + d * size_t(per_dir()) + size_t(which)].data;
  }

  void run_forward(const Pass& pass, const Batch& b, std::span<const Value> in,
                   std::span<const Value> out) {
    (void)pass;
    const Value& x = in[0];
    const int64_t B = b.B, T = b.T, steps = seq_ ? T : 1, R = steps * B;
    for (size_t d = 0; d < dirs_.size(); ++d) {
      if (given_) dirs_[d]->set_initial_state(state_in(in, d, 0), has_c_ ? state_in(in, d, 1) : nullptr, B);
      dirs_[d]->draw_masks(b);
    }
    if (!bidir_) {
      const float* xin = x.data;
      if (reversed_) {
        reverse_steps(x.data, x_rev_, I_, b);
        xin = x_rev_;
      }
      const float* hs = dirs_[0]->forward(xin, b);
      if (seq_) std::memcpy(out[0].data, hs, sizeof(float) * size_t(R * H_));
      else gather_last(hs, out[0].data, H_, b);
    } else {
      const float* f = nullptr;
      run_side_by_side(
          [&] {
            const float* hf = dirs_[0]->forward(x.data, b);
            if (seq_) f = hf;
            else gather_last(hf, f_, H_, b), f = f_;
          },
          [&] {
            reverse_steps(x.data, x_rev_, I_, b);
            const float* hb = dirs_[1]->forward(x_rev_, b);
            if (seq_) reverse_steps(hb, b_, H_, b);
            else gather_last(hb, b_, H_, b);
          });
      f_seen_ = f;
      merge_directions(merge_, f, b_, out[0].data, R, H_);
    }
    for (size_t d = 0; state_out_ && d < dirs_.size(); ++d)
      dirs_[d]->final_state(b, out[1 + d * size_t(per_dir())].data,
                            has_c_ ? out[2 + d * size_t(per_dir())].data : nullptr);
  }

  // One direction's backward: dy_seq (T, B, H) in processing order or null, dy_last (B, H) the
  // gradient at each row's last processed step or null, dc_last (B, C) or null.
  void direction_backward(size_t d, const Batch& b, const float* xin, const float* dy_seq,
                          const float* dy_last, const float* dc_last, float* dx, float* dh0,
                          float* dc0, float* scratch) {
    const int64_t T = b.T, B = b.B;
    const float* dh_seq = dy_seq;
    const float* dh_last = nullptr;
    if (dy_last && !b.lengths && !dy_seq) {
      dh_last = dy_last;
    } else if (dy_last) {  // put each row's last-step gradient into the sequence's
      if (dy_seq) std::memcpy(scratch, dy_seq, sizeof(float) * size_t(T * B * H_));
      else std::memset(scratch, 0, sizeof(float) * size_t(T * B * H_));
      for (int64_t r = 0; r < B; ++r) {
        if (b.length(r) == 0) continue;  // no steps: its h_T is h_0 (below)
        float* g = scratch + ((b.length(r) - 1) * B + r) * H_;
        for (int64_t j = 0; j < H_; ++j) g[j] += dy_last[r * H_ + j];
      }
      dh_seq = scratch;
    }
    dirs_[d]->backward(xin, dh_seq, dh_last, dx, b, StateGrads{dc_last, dh0, dc0});
    // A row of no steps returned its initial state, which nothing else read: ∂L/∂h_0 is its
    // ∂L/∂h_T (∂L/∂c_0 its dc_last, which the cell carries there untouched).
    for (int64_t r = 0; dh0 && b.lengths && r < B; ++r)
      if (b.length(r) == 0)
        for (int64_t j = 0; j < H_; ++j) dh0[r * H_ + j] = dy_last ? dy_last[r * H_ + j] : 0.0f;
  }

  // a + b into buf (B, H) when both are given; else whichever is.
  static const float* sum_of(const float* a, const float* b, int64_t n, float* buf) {
    if (!a || !b) return a ? a : b;
    for (int64_t k = 0; k < n; ++k) buf[k] = a[k] + b[k];
    return buf;
  }

  void run_backward(const Batch& b, std::span<const Value> in, std::span<const float* const> dout,
                    std::span<float* const> din) {
    const Value& x = in[0];
    const int64_t B = b.B, T = b.T, steps = seq_ ? T : 1, R = steps * B, X = T * B * I_;
    const float* dy = dout[0];
    auto dstate = [&](size_t d, int which) -> const float* {
      return state_out_ ? dout[1 + d * size_t(per_dir()) + size_t(which)] : nullptr;
    };
    auto dinit = [&](size_t d, int which) -> float* {
      return given_ ? din[1 + d * size_t(per_dir()) + size_t(which)] : nullptr;
    };
    float* dx = din[0];
    if (!bidir_) {
      const float* dh_f = dstate(0, 0);
      const float* dy_last = seq_ ? dh_f : sum_of(dy, dh_f, B * H_, sum_);
      const float* dy_seq = seq_ ? dy : nullptr;
      direction_backward(0, b, reversed_ ? x_rev_ : x.data, dy_seq, dy_last,
                         has_c_ ? dstate(0, 1) : nullptr, reversed_ && dx ? dx_rev_ : dx,
                         dinit(0, 0), has_c_ ? dinit(0, 1) : nullptr, dh_seq_f_);
      if (reversed_ && dx) reverse_steps(dx_rev_, dx, I_, b);
      return;
    }
    const float *df = dy, *db = dy;  // sum: both directions get dy itself
    if (dy && merge_ != MergeMode::sum) {
      merge_directions_backward(merge_, dy, f_seen_, b_, df_, db_, R, H_);
      df = df_, db = db_;
    }
    run_side_by_side(
        [&] {
          const float* dy_last = seq_ ? dstate(0, 0) : sum_of(df, dstate(0, 0), B * H_, sum_);
          direction_backward(0, b, x.data, seq_ ? df : nullptr, dy_last,
                             has_c_ ? dstate(0, 1) : nullptr, dx, dinit(0, 0),
                             has_c_ ? dinit(0, 1) : nullptr, dh_seq_f_);
        },
        [&] {
          const float* db_proc = nullptr;  // processing order
          if (seq_ && db) {
            reverse_steps(db, db_rev_, H_, b);
            db_proc = db_rev_;
          }
          const float* dy_last = seq_ ? dstate(1, 0) : sum_of(db, dstate(1, 0), B * H_, sum_b_);
          direction_backward(1, b, x_rev_, db_proc, dy_last,
                             has_c_ ? dstate(1, 1) : nullptr, dx ? dx_rev_ : nullptr,
                             dinit(1, 0), has_c_ ? dinit(1, 1) : nullptr, dh_seq_b_);
          if (dx) reverse_steps(dx_rev_, dx_b_, I_, b);
        });
    if (!dx) return;
    for (int64_t k = 0; k < X; ++k) dx[k] += dx_b_[k];
  }

  const bool bidir_;
  const LayerConfig cell_;  // the recurrent layer (a Bidirectional one's wrapped layer)
  const int64_t I_, H_;
  const bool has_c_, seq_, state_out_, given_, reversed_;
  const MergeMode merge_;
  std::vector<std::unique_ptr<Recurrence>> dirs_;
  bool sorted_ = true, reorders_ = false;
  // rows in an order of their own: the order, their lengths, and the tensors in that order
  std::vector<int64_t> order_, lengths_, active_;
  std::vector<float*> perm_in_, perm_out_, perm_dout_, perm_din_;
  const float* f_seen_ = nullptr;
  // the workspace (plan()): reversed input (T, B, I), the backward direction's and the forward
  // direction's last outputs (R, H); their gradients, the reversed dx (T, B, I) and the
  // backward direction's (T, B, I); the gradients of h per step (T, B, H) and last (B, H)
  float *x_rev_ = nullptr, *f_ = nullptr, *b_ = nullptr;
  float *df_ = nullptr, *db_ = nullptr, *db_rev_ = nullptr, *dx_rev_ = nullptr, *dx_b_ = nullptr;
  float *dh_seq_f_ = nullptr, *dh_seq_b_ = nullptr, *sum_ = nullptr, *sum_b_ = nullptr;
};


void join_halves(const float* forward, const float* backward, int64_t rows, int64_t W, float* pairs) {
  for (int64_t r = 0; r < rows; ++r) {
    float* to = pairs + r * 2 * W;
    if (forward) std::memcpy(to, forward + r * W, sizeof(float) * size_t(W));
    else std::memset(to, 0, sizeof(float) * size_t(W));
    if (backward) std::memcpy(to + W, backward + r * W, sizeof(float) * size_t(W));
    else std::memset(to + W, 0, sizeof(float) * size_t(W));
  }
}

void split_halves(const float* pairs, int64_t rows, int64_t W, float* forward, float* backward) {
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(forward + r * W, pairs + r * 2 * W, sizeof(float) * size_t(W));
    std::memcpy(backward + r * W, pairs + r * 2 * W + W, sizeof(float) * size_t(W));
  }
}

std::unique_ptr<Op> make_recurrent_op(const LayerConfig& config, int64_t in_features,
                                      bool initial_states) {
  return std::make_unique<RecurrentOp>(config, in_features, initial_states);
}

}  // namespace lstm
