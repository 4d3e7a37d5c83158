// The sequence driver: what every recurrent cell (lstm_cell, lstm_general, gru_cell, rnn_cell)
// does around its own pointwise step, written once.
//
// A pass over a batch, time-major (SeqDims: T steps, B rows, I inputs, H units):
//
//   forward    a = x·W_ihᵀ + b for all T·B rows at once      seq_project_inputs
//              zero the states of rows that have ended          seq_zero_ended
//              for t = 0..T-1, n = rows running at t:           seq_forward_steps
//                the cell's step on rows 0..n-1 (its recurrent product and pointwise step)
//   backward   for t = T-1..0, n = rows running at t:           seq_backward_steps
//                the cell's derivative on rows 0..n-1, ∂L/∂h_{t-1} through W_hh
//              (ended rows' ∂L/∂a stay zero: seq_zero_ended before the loop)
//              dW_ih += daᵀ·x, db += Σ da, dx = da·W_ih         seq_input_grads
//              dW_hh += daᵀ·h_{0..T-1}, (GRU) db_hh += Σ da_h    seq_recurrent_grads
//
// The cells with step kernels of their own (the seed's LSTM, the GRU with reset_after, SimpleRNN:
// kernels/*_step.h) run their time loop on a team instead (step_team.h: threads split rows or
// hidden units) around the same prologue and epilogue, and stream with one kernel step that
// fuses the input projection; the others (the general LSTM, the GRU with reset_after = false)
// use seq_forward_steps / seq_backward_steps and stream with the forward at T = B = 1.
#pragma once

#include <cstdint>

#include "layers/seq_dims.h"
#include "layers/token_input.h"

namespace lstm {

// a (T·B, G) = x (T·B, I)·W_ihᵀ (G, I) + bias (G) on every row; bias null: no bias.
void seq_project_inputs(const SeqDims& d, int64_t G, const float* w_ih, const float* bias,
                        const float* x, float* a);

// The same for input given as token ids (layers/token_input.h; d.I = tokens.D): proj (V, G) =
// table·W_ihᵀ + bias, then each row of a is its token's row of proj.
void seq_project_tokens(const SeqDims& d, int64_t G, const float* w_ih, const float* bias,
                        const TokenInput& tokens, float* proj, float* a);

// v: T slots of (B, width); zeroes rows rows_at(t)..B-1 of slot t for every t (rows that have
// ended). Nothing without lengths.
void seq_zero_ended(const SeqDims& d, float* v, int64_t width);

// carry (n) = v, or zero when v is null: the gradient flowing in at the last step.
void seq_start_carry(const float* v, int64_t n, float* carry);

// step(t, n) for t = 0..T-1, n = the rows still running at step t (rows 0..n-1).
template <class Step>
void seq_forward_steps(const SeqDims& d, Step&& step) {
  for (int64_t t = 0; t < d.T; ++t) step(t, d.rows_at(t));
}
// step(t, n) for t = T-1 down to 0.
template <class Step>
void seq_backward_steps(const SeqDims& d, Step&& step) {
  for (int64_t t = d.T - 1; t >= 0; --t) step(t, d.rows_at(t));
}

// After the time loop, da (T·B, G) = ∂L/∂a of the input projection: dW_ih (G, I) += daᵀ·x,
// db (G) += Σ_rows da in double (T·B terms of mixed sign; db null: no bias), and dx (T·B, I) =
// da·W_ih (dx null: not wanted).
void seq_input_grads(const SeqDims& d, int64_t G, const float* da, const float* x,
                     const float* w_ih, float* dw_ih, float* db, float* dx);

// The same for input given as token ids: dproj (V, G) = Σ da by token, rows in order; then
// dW_ih += dprojᵀ·table, db += Σ_v dproj[v] in double, tokens.table_grad += dproj·W_ih.
void seq_token_grads(const SeqDims& d, int64_t G, const float* da, const TokenInput& tokens,
                     const float* w_ih, float* dw_ih, float* db, float* dproj);

// da (T·B, G) = ∂L/∂ of the recurrent product, h_in (T·B, P) its inputs h_0..h_{T-1}:
// dW_hh (G, P) += daᵀ·h_in, db_hh (G) += Σ_rows da (null: no recurrent bias; the GRU has one).
void seq_recurrent_grads(const SeqDims& d, int64_t G, int64_t P, const float* da,
                         const float* h_in, float* dw_hh, float* db_hh = nullptr);

}  // namespace lstm
