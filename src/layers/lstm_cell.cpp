// LSTM cell and layer, forward and backward side by side. Equations: lstm_cell.h.
// T = time steps, B = batch, I = input, H = hidden, 4H = fused gates i, f, g, o.
#include "layers/lstm_cell.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/threads.h"
#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "kernels/lstm_step_bf16.h"
#include "kernels/lstm_step_int8.h"
#include "layers/sequence_driver.h"
#include "layers/step_team.h"

namespace lstm {

static inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void lstm_cell_forward(float* gates, const float* c_prev, float* c, float* h, int64_t B,
                       int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    float* a = gates + b * 4 * H;  // (4H) this row's pre-activations, then activations
    const float* cp = c_prev + b * H;
    float* cb = c + b * H;
    float* hb = h + b * H;
    for (int64_t j = 0; j < H; ++j) {
      float i = sigmoid(a[j]);
      float f = sigmoid(a[H + j]);
      float g = std::tanh(a[2 * H + j]);
      float o = sigmoid(a[3 * H + j]);
      float ct = f * cp[j] + i * g;
      cb[j] = ct;
      hb[j] = o * std::tanh(ct);
      a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
    }
  }
}

void lstm_cell_backward(float* dgates, float* dc, const float* dh, const float* gates,
                        const float* c_prev, const float* c, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const float* a = gates + b * 4 * H;  // (4H) activations i, f, g, o
    float* da = dgates + b * 4 * H;
    const float* cp = c_prev + b * H;
    const float* cb = c + b * H;
    const float* dhb = dh + b * H;
    float* dcb = dc + b * H;
    for (int64_t j = 0; j < H; ++j) {
      float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
      float tc = std::tanh(cb[j]);
      float dct = dcb[j] + dhb[j] * o * (1.0f - tc * tc);
      da[j] = dct * g * i * (1.0f - i);
      da[H + j] = dct * cp[j] * f * (1.0f - f);
      da[2 * H + j] = dct * i * (1.0f - g * g);
      da[3 * H + j] = dhb[j] * tc * o * (1.0f - o);
      dcb[j] = dct * f;
    }
  }
}

void lstm_forward_step(const float* packed, const float* bias, int64_t B, int64_t I, int64_t H,
                       const float* x, const float* h_prev, const float* c_prev, float* gates,
                       float* c, float* h) {
  LstmStepForward s{packed, I, H, B, x, I, h_prev, bias, 0, c_prev, gates, c, h};
  lstm_step_forward(s, 0, lstm_forward_blocks(H));
}

void lstm_forward(const SeqDims& d, const LstmWeights& w, const float* x, LstmActivations& act) {
  const int64_t G = 4 * d.H, BH = d.B * d.H;
  std::vector<float> own;  // W_hh packed here only when the caller did not
  const float* packed = w.packed_forward;
  if (!packed) {
    own.resize(size_t(lstm_packed_forward_size(0, d.H)));
    lstm_pack_forward(nullptr, 0, w.w_hh, d.H, own.data());
    packed = own.data();
  }
  // Input projection for every step at once: gates = x·W_ihᵀ + b   (T·B, 4H)
  if (w.tokens) seq_project_tokens(d, G, w.w_ih, w.bias, *w.tokens, act.proj, act.gates);
  else seq_project_inputs(d, G, w.w_ih, w.bias, x, act.gates);
  seq_zero_ended(d, act.h + BH, d.H);  // rows that have ended: zero states
  seq_zero_ended(d, act.c + BH, d.H);
  // The recurrence: a_t = gates_t + h_{t-1}·W_hhᵀ and the cell, in place over gates_t
  run_team(d.B, d.T, double(d.B) * G * d.H, lstm_forward_blocks(d.H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    share_steps(sh, d.T, d.B, d.active, false, [&](int64_t t, int64_t rows_here) {
      float* a = act.gates + t * d.B * G + b0 * G;  // (rows, 4H)
      float *h = act.h + t * BH + b0 * d.H, *c = act.c + t * BH + b0 * d.H;
      LstmStepForward s{packed, 0, d.H, rows_here, nullptr, 0, h, a, G, c, a, c + BH, h + BH};
      lstm_step_forward(s, sh.block_begin, sh.block_end);
    });
  });
}

void lstm_forward_bf16(const SeqDims& d, const uint16_t* packed, const float* w_ih, const float* bias,
                       const float* x, LstmActivations& act, const TokenInput* tokens) {
  const int64_t G = 4 * d.H, BH = d.B * d.H, Px = (d.I + 1) / 2, Ph = (d.H + 1) / 2, rows = d.T * d.B;
  const int64_t blocks = lstm_forward_blocks(d.H);
  if (tokens) {  // token input: each row's projection is its token's row of the float table
    seq_project_tokens(d, G, w_ih, bias, *tokens, act.proj, act.gates);
  } else {  // every step at once, x as bfloat16 pairs; the team splits the blocks (hidden units)
    std::vector<uint32_t> x_pairs(size_t(rows * Px));
    for (int64_t r = 0; r < rows; ++r) lstm_to_bf16_pairs(x + r * d.I, d.I, x_pairs.data() + r * Px);
    const double macs = double(rows) * double(G) * double(d.I);
    const int team = int(std::min<int64_t>(blocks, macs < (1 << 18) ? 1 : team_threads()));
#pragma omp parallel num_threads(team)
    {
      const int64_t k = omp_get_thread_num(), n = omp_get_num_threads();
      lstm_project_bf16(packed, d.I, d.H, rows, x_pairs.data(), Px, bias, act.gates, blocks * k / n,
                        blocks * (k + 1) / n);
    }
  }
  seq_zero_ended(d, act.h + BH, d.H);
  seq_zero_ended(d, act.c + BH, d.H);
  run_team(d.B, d.T, double(d.B) * G * d.H, lstm_forward_blocks(d.H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    std::vector<uint32_t> pairs(size_t((sh.row_end - b0) * Ph));  // h_{t-1} of the share's rows
    share_steps(sh, d.T, d.B, d.active, false, [&](int64_t t, int64_t rows_here) {
      float* a = act.gates + t * d.B * G + b0 * G;
      float *h = act.h + t * BH + b0 * d.H, *c = act.c + t * BH + b0 * d.H;
      for (int64_t r = 0; r < rows_here; ++r) lstm_to_bf16_pairs(h + r * d.H, d.H, pairs.data() + r * Ph);
      LstmStepForwardBf16 s{packed, d.I, d.H, rows_here, nullptr, 0, pairs.data(), Ph, a, G, c, a, c + BH, h + BH};
      lstm_step_forward_bf16(s, sh.block_begin, sh.block_end);
    });
  });
}

void lstm_forward_int8(const SeqDims& d, const LstmInt8Weights& q, const float* w_ih, const float* bias,
                       const float* x, LstmActivations& act, const TokenInput* tokens) {
  const int64_t G = 4 * d.H, BH = d.B * d.H, rows = d.T * d.B, blocks = lstm_forward_blocks(d.H);
  const int64_t Qx = (d.I + 3) / 4 * 4, Qh = (d.H + 3) / 4 * 4;  // bytes a quantised row
  if (tokens) {  // token input: each row's projection is its token's row of the float table
    seq_project_tokens(d, G, w_ih, bias, *tokens, act.proj, act.gates);
  } else {  // every step at once, each row of x quantised; the team splits the blocks
    std::vector<uint8_t> xq(size_t(rows * Qx));
    std::vector<float> xs(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) xs[size_t(r)] = lstm_quantize_u8(x + r * d.I, d.I, xq.data() + r * Qx);
    const double macs = double(rows) * double(G) * double(d.I);
    const int team = int(std::min<int64_t>(blocks, macs < (1 << 18) ? 1 : team_threads()));
#pragma omp parallel num_threads(team)
    {
      const int64_t k = omp_get_thread_num(), n = omp_get_num_threads();
      lstm_project_int8(q.packed, q.scales, q.comp, d.I, d.H, rows, xq.data(), Qx, xs.data(), bias,
                        act.gates, blocks * k / n, blocks * (k + 1) / n);
    }
  }
  seq_zero_ended(d, act.h + BH, d.H);
  seq_zero_ended(d, act.c + BH, d.H);
  run_team(d.B, d.T, double(d.B) * G * d.H, blocks, d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    std::vector<uint8_t> hq(size_t((sh.row_end - b0) * Qh));  // h_{t-1} of the share's rows
    std::vector<float> hs(static_cast<size_t>(sh.row_end - b0));
    share_steps(sh, d.T, d.B, d.active, false, [&](int64_t t, int64_t rows_here) {
      float* a = act.gates + t * d.B * G + b0 * G;
      float *h = act.h + t * BH + b0 * d.H, *c = act.c + t * BH + b0 * d.H;
      for (int64_t r = 0; r < rows_here; ++r)
        hs[size_t(r)] = lstm_quantize_u8(h + r * d.H, d.H, hq.data() + r * Qh);
      LstmStepForwardInt8 s{q.packed, q.scales, q.comp, d.I, d.H, rows_here, nullptr, 0, nullptr,
                            hq.data(), Qh, hs.data(), a, G, c, a, c + BH, h + BH};
      lstm_step_forward_int8(s, sh.block_begin, sh.block_end);
    });
  });
}

void lstm_backward(const SeqDims& d, const LstmWeights& w, const float* x,
                   const LstmActivations& act, const float* dh_seq, const float* dh_last,
                   const float* dc_last, LstmBackwardWork& work, LstmGrads& g, float* dx,
                   float* dh0, float* dc0) {
  const int64_t G = 4 * d.H, BH = d.B * d.H, T = d.T;
  std::vector<float> own;
  const float* packed = w.packed_backward;
  if (!packed) {
    own.resize(size_t(lstm_packed_backward_size(d.H)));
    lstm_pack_backward(w.w_hh, d.H, own.data());
    packed = own.data();
  }
  for (int64_t k = 0; k < BH; ++k) {  // ∂L/∂h_T and ∂L/∂c_T
    work.dh[k] = (dh_last ? dh_last[k] : 0.0f) + (dh_seq ? dh_seq[(T - 1) * BH + k] : 0.0f);
    work.dc[k] = dc_last ? dc_last[k] : 0.0f;
  }
  seq_zero_ended(d, work.dgates, G);  // rows that have ended: da = 0
  // Per step t from T-1 down: dh_t = dh_seq_t + da_{t+1}·W_hh, then the cell's derivative.
  // A row that ends at step t starts here with da_{t+1} = 0 and its dc as set above.
  run_team(d.B, d.T, double(d.B) * G * d.H, lstm_backward_blocks(d.H), d.active, [&](const Share& sh) {
    const int64_t b0 = sh.row_begin;
    if (sh.row_end <= b0) return;
    float *dc = work.dc + b0 * d.H, *dgates = work.dgates + b0 * G;
    share_steps(sh, d.T, d.B, d.active, true, [&](int64_t t, int64_t rows_here) {
      const bool last = t == T - 1;
      const float* dh_ext = last ? work.dh + b0 * d.H : dh_seq ? dh_seq + t * BH + b0 * d.H : nullptr;
      const float* c = act.c + t * BH + b0 * d.H;  // c_{t-1}; c_t one slot on
      LstmStepBackward s{packed, d.H, rows_here, last ? nullptr : dgates + (t + 1) * d.B * G,
                         dh_ext, act.gates + t * d.B * G + b0 * G, c, c + BH, dc,
                         dgates + t * d.B * G, nullptr};
      lstm_step_backward(s, sh.block_begin, sh.block_end);
    });
    if (dh0) {  // dh_0 = da_0·W_hh
      LstmStepBackward s{packed, d.H, sh.row_end - b0, dgates, nullptr, nullptr, nullptr, nullptr,
                         nullptr, nullptr, dh0 + b0 * d.H};
      lstm_step_backward(s, sh.block_begin, sh.block_end);
    }
  });
  if (dc0) seq_start_carry(work.dc, BH, dc0);
  // Whole-sequence products: dW_hh += daᵀ·h_{0..T-1}, dW_ih += daᵀ·x, db += Σ_rows da, dx
  seq_recurrent_grads(d, G, d.H, work.dgates, act.h, g.w_hh);
  if (w.tokens) seq_token_grads(d, G, work.dgates, *w.tokens, w.w_ih, g.w_ih, g.bias, work.dproj);
  else seq_input_grads(d, G, work.dgates, x, w.w_ih, g.w_ih, g.bias, dx);
}

}  // namespace lstm
