// One direction of a recurrent layer (LSTM, GRU or SimpleRNN) over a batch: the weights'
// names and initialisation, and the sequence forward/backward of its cell (lstm_cell.h,
// gru_cell.h, rnn_cell.h). The layers of recurrent.cpp run one (a recurrent layer) or two
// (Bidirectional) and handle direction, lengths and what is returned.
//
// Steps are in processing order: a backward direction is given its input already reversed.
// Dimensions: T = time steps, B = batch, I = input features, H = hidden units.
#pragma once

#include <memory>
#include <vector>

#include "layers/layer.h"
#include "layers/token_input.h"
#include "layers/workspace.h"

namespace lstm {

// The gradients at a pass's two ends (Keras's return_state and initial_state): dc_last (B, H)
// ∂L/∂c at each row's last valid step (cells with a cell state), or null; dh0 (B, O) and dc0
// (B, H) receive ∂L/∂h_0 and ∂L/∂c_0 when not null. (∂L/∂h at the last step goes in dh_seq.)
struct StateGrads {
  const float* dc_last = nullptr;
  float* dh0 = nullptr;
  float* dc0 = nullptr;
};

class Recurrence {
 public:
  // O: the width of h_t, the direction's output (H, or an LSTM's proj_size).
  Recurrence(const LayerConfig& config, int64_t I, int64_t H, int64_t O)
      : I(I), H(H), O(O), dropout_(config.dropout), recurrent_dropout_(config.recurrent_dropout),
        stateful_(config.stateful) {}
  virtual ~Recurrence() = default;
  const int64_t I, H, O;

  virtual std::vector<ParamTensor> param_tensors() const = 0;  // offsets from this direction's
  int64_t param_count() const;                                  // first parameter
  void bind(float* params, float* grads) { params_ = params, grads_ = grads; }
  virtual void init(Rng& rng) = 0;

  // The working memory of passes up to T steps of B rows (layers/workspace.h): the dropout
  // masks and inputs after dropout, then the cell's (plan_cell). Before forward.
  void plan(int64_t T, int64_t B, Workspace& ws);

  // The pass's dropout masks (Keras): in training, one per sequence, the same at every step,
  // for the inputs (B, I) and for h_{t-1} in the recurrent product (B, O), drawn from
  // batch.rng; none otherwise. Call before every forward, from one thread (the two directions
  // of a Bidirectional layer then run at once).
  void draw_masks(const Batch& batch);

  // x (T, B, I) -> h_1..h_T (T, B, O), zero where a row has ended (batch.active); valid until
  // the next forward. The initial state is zero, or for a stateful layer the state the last
  // forward ended in (every row runs all T steps then: the model refuses lengths).
  const float* forward(const float* x, const Batch& batch);
  void reset_carried_state() { carried_h_.clear(), carried_c_.clear(); }
  // A stateful layer's carried state, (B, O) and (B, H) or empty: what a training checkpoint
  // saves and restores.
  const std::vector<float>& carried_h() const { return carried_h_; }
  const std::vector<float>& carried_c() const { return carried_c_; }
  void restore_carried_state(std::vector<float> h, std::vector<float> c) {
    carried_h_ = std::move(h), carried_c_ = std::move(c), given_once_ = false;
  }

  // The initial state of the next forward only (Keras's initial_state, PyTorch's (h_0, c_0)),
  // in place of zero or of a stateful layer's carried state: h0 (B, O), c0 (B, H) or null (zero;
  // cells without a cell state ignore it).
  void set_initial_state(const float* h0, const float* c0, int64_t B);
  // The state each row ended in after the last forward, at its last valid step (Keras's
  // return_state, PyTorch's (h_n, c_n)): h (B, O), and c (B, H) when has_cell_state().
  void final_state(const Batch& batch, float* h, float* c) const;
  virtual bool has_cell_state() const { return false; }  // LSTM: true
  // After forward on the same x: dh_seq (T, B, O) ∂L/∂h_t for every step, or null; dh_last
  // (B, O) ∂L/∂h_T, or null (only without lengths: with them the caller puts each row's into
  // dh_seq at its last step). Accumulates into the gradients; writes dx (T, B, I) unless null.
  // `states` (optional) carries the gradients of the final and initial states: see StateGrads.
  void backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                const Batch& batch, const StateGrads& states = {});

  // Streaming: one step of one sequence, state kept until reset_state().
  virtual void step(const float* x, float* h) = 0;
  virtual void reset_state() = 0;
  // The cell state c_t after the last step() (H), for cells that have one; null otherwise.
  virtual const float* step_cell_state() const { return nullptr; }
  virtual void weights_changed() {}
  // Inference (forward when not training, and step) in precision p from now on; false when the
  // cell has no kernel for it (it then stays in fp32). Only the seed's LSTM cell has bf16, int8.
  virtual bool set_precision(Precision p) { return p == Precision::fp32; }
  // Token fusion (layers/token_input.h): whether this cell takes its input as ids and table
  // from now on (before plan). The seed's LSTM does when D = I.
  virtual bool read_tokens(TokenInput& tokens) { (void)tokens; return false; }

 protected:
  // The cell's buffers for passes up to T steps of B rows.
  virtual void plan_cell(int64_t T, int64_t B, Workspace& ws) = 0;
  // The cell's own forward and backward, on the inputs after dropout.
  virtual const float* run_forward(const float* x, const Batch& batch) = 0;
  virtual void run_backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                            const Batch& batch, const StateGrads& states) = 0;
  // The recurrent dropout mask (B, O) of this pass, or null.
  const float* recurrent_mask() const { return h_mask_on_ ? h_mask_ : nullptr; }
  // Writes the initial state h_0 (B, O) and c_0 (B, H) (c0 null: a cell without one): the
  // carried state of a stateful layer when it has one, else zero.
  void initial_state(float* h0, float* c0, int64_t B) const;
  // c_0..c_T of the last forward (T+1, B, H), for the cells that have a cell state; else null.
  virtual const float* cell_states() const { return nullptr; }

  float* params_ = nullptr;
  float* grads_ = nullptr;

 private:
  const float dropout_, recurrent_dropout_;
  const bool stateful_;
  // The next forward's initial state (B, O), (B, H): a stateful layer's carried state, or one
  // given for one pass (given_once_); empty: zero.
  std::vector<float> carried_h_, carried_c_;
  bool given_once_ = false;
  const float* last_hs_ = nullptr;  // h_1..h_T of the last forward
  bool x_mask_on_ = false, h_mask_on_ = false;
  float *x_mask_ = nullptr, *h_mask_ = nullptr, *x_dropped_ = nullptr;  // (B, I), (B, O), (T, B, I)
};

// The direction for config.type lstm, gru or simple_rnn.
std::unique_ptr<Recurrence> make_recurrence(const LayerConfig& config, int64_t I);

}  // namespace lstm
