// The simple RNN layer over a sequence (Elman; Keras's SimpleRNN, PyTorch's nn.RNN with one
// bias), forward and backward through time.
//
// Dimensions: T = time steps, B = batch, I = input features, H = hidden units. Time-major; h
// gets T+1 slots, slot 0 = h_0. The projection, ended rows and weight gradients are the
// sequence driver's (sequence_driver.h); the steps run on SimpleRNN's step kernels
// (kernels/rnn_step.h: the product with W_hh fused with the activation), shared among threads
// as the LSTM's; streaming is one kernel step with the input projection fused.
//
// Forward:   h_t = act(x_t·W_ihᵀ + h_{t-1}·W_hhᵀ + b)       act = tanh or relu
// Backward:  da_t = (dh_t) * act'(h_t)     (tanh: 1 - h², relu: 1[h > 0])
//            dh_{t-1} = da_t·W_hh
//            dW_ih += daᵀ·x, dW_hh += daᵀ·h_{0..T-1}, db += Σ da, dx = da·W_ih
// The product with W_hh is the only path back through time: its repeated factors are the
// vanishing (or exploding) gradients the LSTM's cell state was made to avoid.
#pragma once

#include "layers/seq_dims.h"
#include "lstm/layers.h"

namespace lstm {

struct RnnWeights {
  const float *w_ih, *w_hh, *bias;  // (H, I), (H, H), (H)
  // W_hh packed for the step kernels (rnn_pack_forward with Kx = 0, rnn_pack_backward), or
  // null: packed by the call.
  const float* packed_forward = nullptr;
  const float* packed_backward = nullptr;
};
struct RnnGrads {
  float *w_ih, *w_hh, *bias;
};

// h (T+1, B, H), slot 0 = h_0 set by the caller. act: tanh or relu.
void rnn_forward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x, float* h);

// da (T, B, H) and dh (B, H): scratch. dh_seq (T, B, H) or null; dh_last (B, H) or null.
void rnn_backward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x,
                  const float* h, const float* dh_seq, const float* dh_last, float* da, float* dh,
                  RnnGrads& g, float* dx, float* dh0);

}  // namespace lstm
