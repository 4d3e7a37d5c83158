// Simple RNN layer, forward and backward side by side. Equations: rnn_cell.h; the steps: the
// kernels of kernels/rnn_step.h, shared among threads as the LSTM's (step_team.h); what is
// shared with the other cells (projection, ended rows, weight gradients): sequence_driver.h.
#include "layers/rnn_cell.h"

#include <algorithm>
#include <vector>

#include "kernels/rnn_step.h"
#include "layers/sequence_driver.h"
#include "layers/step_team.h"

namespace lstm {

void rnn_forward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x, float* h) {
  const int64_t H = d.H, BH = d.B * H;
  std::vector<float> own;  // W_hh packed here only when the caller did not
  const float* packed = w.packed_forward;
  if (!packed) {
    own.resize(size_t(rnn_packed_forward_size(0, H)));
    rnn_pack_forward(nullptr, 0, w.w_hh, H, own.data());
    packed = own.data();
  }
  float* a = h + BH;  // slots 1..T receive the pre-activations first, then h in place
  seq_project_inputs(d, H, w.w_ih, w.bias, x, a);
  seq_zero_ended(d, a, H);
  const bool relu = act == Activation::relu;
  run_team(d.B, d.T, double(d.B) * H * H, rnn_blocks(H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    share_steps(sh, d.T, d.B, d.active, false, [&](int64_t t, int64_t rows_here) {
      float* hp = h + t * BH + b0 * H;  // h_{t-1}; the projection, then h_t, one slot on
      RnnStepForward s{packed, 0, H, rows_here, nullptr, 0, hp, hp + BH, H, relu, hp + BH};
      rnn_step_forward(s, sh.block_begin, sh.block_end);
    });
  });
}

void rnn_backward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x,
                  const float* h, const float* dh_seq, const float* dh_last, float* da, float* dh,
                  RnnGrads& g, float* dx, float* dh0) {
  const int64_t H = d.H, BH = d.B * H, T = d.T;
  std::vector<float> own;
  const float* packed = w.packed_backward;
  if (!packed) {
    own.resize(size_t(rnn_packed_backward_size(H)));
    rnn_pack_backward(w.w_hh, H, own.data());
    packed = own.data();
  }
  for (int64_t k = 0; k < BH; ++k)  // ∂L/∂h_T
    dh[k] = (dh_last ? dh_last[k] : 0.0f) + (dh_seq ? dh_seq[(T - 1) * BH + k] : 0.0f);
  seq_zero_ended(d, da, H);
  const bool relu = act == Activation::relu;
  // Per step t from T-1 down: dh_t = dh_seq_t + da_{t+1}·W_hh, da_t = dh_t · act'(h_t); a row
  // that ends at step t starts with da_{t+1} = 0.
  run_team(d.B, T, double(d.B) * H * H, rnn_blocks(H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    float* da0 = da + b0 * H;
    share_steps(sh, d.T, d.B, d.active, true, [&](int64_t t, int64_t rows_here) {
      const bool last = t == T - 1;
      const float* ext = last ? dh + b0 * H : dh_seq ? dh_seq + t * BH + b0 * H : nullptr;
      RnnStepBackward s{packed, H, rows_here, last ? nullptr : da0 + (t + 1) * BH, ext,
                        h + (t + 1) * BH + b0 * H, relu, da0 + t * BH, nullptr};
      rnn_step_backward(s, sh.block_begin, sh.block_end);
    });
    if (dh0) {  // dh_0 = da_0·W_hh
      RnnStepBackward s{packed, H, sh.row_end - b0, da0, nullptr, nullptr, relu, nullptr, dh0 + b0 * H};
      rnn_step_backward(s, sh.block_begin, sh.block_end);
    }
  });
  seq_recurrent_grads(d, H, H, da, h, g.w_hh);
  seq_input_grads(d, H, da, x, w.w_ih, g.w_ih, g.bias, dx);
}

}  // namespace lstm
