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

namespace lstm {

class Recurrence {
 public:
  Recurrence(int64_t I, int64_t H) : I(I), H(H) {}
  virtual ~Recurrence() = default;
  const int64_t I, H;

  virtual std::vector<ParamTensor> param_tensors() const = 0;  // offsets from this direction's
  int64_t param_count() const;                                  // first parameter
  void bind(float* params, float* grads) { params_ = params, grads_ = grads; }
  virtual void init(Rng& rng) = 0;

  // x (T, B, I) -> h_1..h_T (T, B, H), zero where a row has ended (batch.active); valid until
  // the next forward. The initial state is zero.
  virtual const float* forward(const float* x, const Batch& batch) = 0;
  // After forward on the same x: dh_seq (T, B, H) ∂L/∂h_t for every step, or null; dh_last
  // (B, H) ∂L/∂h_T, or null (only without lengths: with them the caller puts each row's into
  // dh_seq at its last step). Accumulates into the gradients; writes dx (T, B, I) unless null.
  virtual void backward(const float* x, const float* dh_seq, const float* dh_last, float* dx,
                        const Batch& batch) = 0;

  // Streaming: one step of one sequence, state kept until reset_state().
  virtual void step(const float* x, float* h) = 0;
  virtual void reset_state() = 0;
  virtual void weights_changed() {}

 protected:
  float* params_ = nullptr;
  float* grads_ = nullptr;
};

// The direction for config.type lstm, gru or simple_rnn.
std::unique_ptr<Recurrence> make_recurrence(const LayerConfig& config, int64_t I);

}  // namespace lstm
