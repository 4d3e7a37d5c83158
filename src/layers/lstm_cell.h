// The LSTM cell and the LSTM layer over a sequence: forward and backward through time.
//
// Dimensions:  T = time steps, B = batch, I = input features, H = hidden units,
//              4H = the four gates fused in the order i, f, g (candidate C~), o.
// Layout: time-major. x (T, B, I); the weights (4H, I) and (4H, H), rows in gate order; one
// bias (4H). States get T+1 slots: slot 0 holds h_0 / c_0, slot t holds h_t / c_t, so step 1 is
// not a special case and h_0..h_{T-1} (the inputs of the recurrent product) are contiguous.
//
// Forward, per step t (the seed's six equations, W·[h, x] split as W_ih·x + W_hh·h):
//   a_t = x_t·W_ihᵀ + b + h_{t-1}·W_hhᵀ                    (B, 4H) pre-activations
//   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * tanh(c_t)
// The input projection x·W_ihᵀ + b for all T·B rows is one GEMM before the time loop; inside the
// loop only h_{t-1}·W_hhᵀ and the pointwise cell step, fused in one kernel (kernels/lstm_step.h;
// the scalar lstm_cell_forward/backward below are the plain reference of its pointwise part).
// Threads (lstm_cell.cpp, run_team): a batch with rows enough for every thread is split by rows
// (independent sequences, no barrier); otherwise a large enough step is split by hidden units,
// with one barrier per step; small work runs on the calling thread.
//
// Backward, per step t from T down to 1, with dh = ∂L/∂h_t (from the output and from step t+1)
// and dc = ∂L/∂c_t from step t+1:
//   dc_t   = dc + dh * o * (1 - tanh²(c_t))
//   da_o   = dh * tanh(c_t) * o (1 - o)
//   da_i   = dc_t * g * i (1 - i)          da_g = dc_t * i * (1 - g²)
//   da_f   = dc_t * c_{t-1} * f (1 - f)    dc_{t-1} = dc_t * f
//   dh_{t-1} (recurrent part) = da_t · W_hh
// After the sweep, over all steps at once: dW_ih += daᵀ·x, dW_hh += daᵀ·h_{0..T-1},
// db += Σ da, dx = da · W_ih.
#pragma once

#include <cstdint>

#include "layers/seq_dims.h"
#include "layers/token_input.h"

namespace lstm {

struct LstmWeights {
  const float* w_ih;  // (4H, I)
  const float* w_hh;  // (4H, H)
  const float* bias;  // (4H)
  // W_hh packed for the step kernels (kernels/lstm_step.h), rebuilt by the owner whenever W_hh
  // changes: lstm_pack_forward(nullptr, 0, w_hh, H, ...) and lstm_pack_backward(w_hh, H, ...).
  // Null: the call packs into a buffer of its own (allocates; for one-off calls and tests).
  const float* packed_forward = nullptr;
  const float* packed_backward = nullptr;
  // The input as token ids and an Embedding's table (layers/token_input.h) instead of x, or null.
  const TokenInput* tokens = nullptr;
};

struct LstmGrads {  // accumulated into: the caller zeroes them once per training step
  float* w_ih;  // (4H, I)
  float* w_hh;  // (4H, H)
  float* bias;  // (4H)
};

// What forward saves and backward reads.
struct LstmActivations {
  float* gates;  // (T, B, 4H) gate activations i, f, g, o after the nonlinearities
  float* h;      // (T+1, B, H) slot 0 = h_0 (set by the caller)
  float* c;      // (T+1, B, H) slot 0 = c_0 (set by the caller)
  float* proj = nullptr;  // (V, 4H) with token input: the table's projection
};

// Scratch for backward.
struct LstmBackwardWork {
  float* dgates;  // (T, B, 4H) ∂L/∂a, pre-activation gradients
  float* dh;      // (B, H) ∂L/∂h_t flowing down the time axis
  float* dc;      // (B, H) ∂L/∂c_t flowing down the time axis
  float* dproj = nullptr;  // (V, 4H) with token input: ∂L/∂a summed by token
};

// One step of the cell, pointwise over (B, H). `gates` holds the pre-activations a_t on entry
// and the activations i, f, g, o on return.
void lstm_cell_forward(float* gates, const float* c_prev, float* c, float* h, int64_t B, int64_t H);

// The derivative of lstm_cell_forward. dh, dc: ∂L/∂h_t, ∂L/∂c_t on entry; on return dc holds
// ∂L/∂c_{t-1}. Writes dgates = ∂L/∂a_t.
void lstm_cell_backward(float* dgates, float* dc, const float* dh, const float* gates,
                        const float* c_prev, const float* c, int64_t B, int64_t H);

// One step of B sequences with the input projection fused into the step kernel (streaming):
// packed = lstm_pack_forward(w_ih, I, w_hh, H, ...). x (B, I), h_prev, c_prev (B, H) -> h, c
// (B, H); gates (B, 4H) receives the activations. Runs on the calling thread, allocates nothing.
void lstm_forward_step(const float* packed, const float* bias, int64_t B, int64_t I, int64_t H,
                       const float* x, const float* h_prev, const float* c_prev, float* gates,
                       float* c, float* h);

// The whole sequence. Needs act.h[0] and act.c[0] set (zeros for a zero initial state). With
// token input (w.tokens; act.proj its scratch), x is not read.
void lstm_forward(const SeqDims& d, const LstmWeights& w, const float* x, LstmActivations& act);

// The whole sequence for inference with the weights as bfloat16 (packed: lstm_pack_forward_bf16
// of W_ih and W_hh with Kx = d.I; kernels/lstm_step_bf16.h): x and each h_{t-1} rounded to
// bfloat16, sums and the cell in float. Needs act.h[0] and act.c[0] set. With token input
// (tokens not null; act.proj its scratch) the projection comes from the float table (w_ih),
// as lstm_forward's does, and x is not read.
void lstm_forward_bf16(const SeqDims& d, const uint16_t* packed, const float* w_ih, const float* bias,
                       const float* x, LstmActivations& act, const TokenInput* tokens = nullptr);

// The same with the weights as int8 (kernels/lstm_step_int8.h; packed, scales, comp:
// lstm_pack_forward_int8 of W_ih and W_hh with Kx = d.I): x's rows and each h_{t-1} quantised
// to 8 bits per row, integer sums, the cell in float. Token input as lstm_forward_bf16.
struct LstmInt8Weights {
  const int8_t* packed;
  const float* scales;
  const int32_t* comp;
};
void lstm_forward_int8(const SeqDims& d, const LstmInt8Weights& q, const float* w_ih, const float* bias,
                       const float* x, LstmActivations& act, const TokenInput* tokens = nullptr);

// Backpropagation through time. dh_seq (T, B, H): ∂L/∂h_t for every step, or null; dh_last,
// dc_last (B, H): extra ∂L/∂h_T, ∂L/∂c_T, or null. Accumulates into g; writes dx (T, B, I) and
// dh0, dc0 (B, H) when they are not null. With token input (w.tokens) x and dx are not used:
// the table's gradient is accumulated into instead.
void lstm_backward(const SeqDims& d, const LstmWeights& w, const float* x,
                   const LstmActivations& act, const float* dh_seq, const float* dh_last,
                   const float* dc_last, LstmBackwardWork& work, LstmGrads& g, float* dx,
                   float* dh0, float* dc0);

}  // namespace lstm
