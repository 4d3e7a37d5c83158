// The LSTM with its options, forward and backward through time: other activations, no bias,
// peephole connections, a projection of h (PyTorch's proj_size) and recurrent dropout. The
// default cell runs on the fused step kernels (lstm_cell.h); a layer with any of these options
// runs here, one library GEMM per step, the pointwise part in plain loops.
//
// Dimensions: T, B, I, H as lstm_cell.h; P = the width of h (proj_size, or H without a
// projection). Gates fused in the order i, f, g, o; ract = recurrent_activation (σ by default),
// act = activation (tanh by default). Slots: c and h get T+1 (slot 0 = the initial state).
//
// Forward, per step t, with h̃ = h_{t-1} * m (m: the recurrent dropout mask (B, P), or 1):
//   a   = x_t·W_ihᵀ + b + h̃·W_hhᵀ                  (B, 4H), W_hh (4H, P)
//   i = ract(a_i + p_i * c_{t-1})   f = ract(a_f + p_f * c_{t-1})   g = act(a_g)
//   c_t = f * c_{t-1} + i * g
//   o = ract(a_o + p_o * c_t)                       (p: peepholes (3, H), or 0)
//   u_t = o * act(c_t)                              (B, H)
//   h_t = u_t·W_hrᵀ (B, P), W_hr (P, H); without a projection h_t = u_t
//
// Backward, per step t from T down to 1, with dh = ∂L/∂h_t and dc = ∂L/∂c_t from step t+1
// (slopes from the outputs, layers/activation.h):
//   du = dh·W_hr (or dh)          s = act(c_t)
//   da_o = du * s * ract'(o)
//   dc_t = dc + du * o * act'(s) + da_o * p_o
//   da_i = dc_t * g * ract'(i)    da_f = dc_t * c_{t-1} * ract'(f)    da_g = dc_t * i * act'(g)
//   dc_{t-1} = dc_t * f + da_i * p_i + da_f * p_f
//   dh_{t-1} (recurrent part) = (da·W_hh) * m
//   dp_i += Σ_b da_i c_{t-1},  dp_f += Σ_b da_f c_{t-1},  dp_o += Σ_b da_o c_t
// After the sweep: dW_ih += daᵀ·x, db += Σ da, dW_hh += daᵀ·h̃_{0..T-1}, dW_hr += dhᵀ·u,
// dx = da·W_ih.
#pragma once

#include "layers/seq_dims.h"
#include "lstm/layers.h"

namespace lstm {

struct LstmVariant {  // what the layer's config chose
  int64_t P;          // the width of h: proj_size, or H
  Activation act = Activation::tanh, ract = Activation::sigmoid;
};

struct LstmGeneralWeights {  // null where the option is off
  const float *w_ih, *w_hh, *bias, *peephole, *w_hr;  // (4H, I), (4H, P), (4H), (3, H), (P, H)
};
struct LstmGeneralGrads {  // accumulated into; null where the option is off
  float *w_ih, *w_hh, *bias, *peephole, *w_hr;
};

// What forward saves and backward reads.
struct LstmGeneralActivations {
  float* gates;  // (T, B, 4H): i, f, g, o after their activations
  float* c;      // (T+1, B, H), slot 0 = c_0 (set by the caller)
  float* h;      // (T+1, B, P), slot 0 = h_0 (set by the caller)
  float* u;      // (T, B, H): o * act(c_t), the projection's input; null without a projection
  float* h_in;   // (T, B, P): h̃_{t-1}, h_{t-1} as the recurrent product saw it; null without
                 // recurrent dropout
};

struct LstmGeneralWork {
  float* da;   // (T, B, 4H) ∂L/∂a
  float* dh;   // (T, B, P) ∂L/∂h_t of every step (the projection's gradient needs them all)
  float* du;   // (B, H)
  float* dc;   // (B, H)
  float* carry;  // (B, P) ∂L/∂h_t flowing down the time axis
};

// mask: the recurrent dropout mask (B, P) (already scaled by 1/(1 - rate)), or null.
void lstm_general_forward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                          const float* mask, const float* x, LstmGeneralActivations& act);

// dh_seq (T, B, P) ∂L/∂h_t for every step, or null; dh_last (B, P) extra ∂L/∂h_T, or null;
// dc_last (B, H) ∂L/∂c at each row's last valid step, or null.
// Writes dx (T, B, I), dh0 (B, P) and dc0 (B, H) unless null.
void lstm_general_backward(const SeqDims& d, const LstmVariant& o, const LstmGeneralWeights& w,
                           const float* mask, const float* x, const LstmGeneralActivations& act,
                           const float* dh_seq, const float* dh_last, const float* dc_last,
                           LstmGeneralWork& work,
                           LstmGeneralGrads& g, float* dx, float* dh0, float* dc0);

}  // namespace lstm
