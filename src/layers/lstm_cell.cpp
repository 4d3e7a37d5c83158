// LSTM cell and layer, forward and backward side by side. Equations: lstm_cell.h.
// T = time steps, B = batch, I = input, H = hidden, 4H = fused gates i, f, g, o.
#include "layers/lstm_cell.h"

#include <cmath>
#include <cstring>

#include "gemm/gemm.h"

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

void lstm_forward(const LstmDims& d, const LstmWeights& w, const float* x, LstmActivations& act) {
  const int64_t G = 4 * d.H, rows = d.T * d.B, BH = d.B * d.H;
  // Input projection for every step at once: gates = x·W_ihᵀ + b   (T·B, 4H)
  for (int64_t r = 0; r < rows; ++r) std::memcpy(act.gates + r * G, w.bias, sizeof(float) * G);
  gemm(false, true, rows, G, d.I, 1.0f, x, d.I, w.w_ih, d.I, 1.0f, act.gates, G);
  for (int64_t t = 0; t < d.T; ++t) {
    float* a = act.gates + t * d.B * G;  // (B, 4H)
    gemm(false, true, d.B, G, d.H, 1.0f, act.h + t * BH, d.H, w.w_hh, d.H, 1.0f, a, G);
    lstm_cell_forward(a, act.c + t * BH, act.c + (t + 1) * BH, act.h + (t + 1) * BH, d.B, d.H);
  }
}

void lstm_backward(const LstmDims& d, const LstmWeights& w, const float* x,
                   const LstmActivations& act, const float* dh_seq, const float* dh_last,
                   const float* dc_last, LstmBackwardWork& work, LstmGrads& g, float* dx,
                   float* dh0, float* dc0) {
  const int64_t G = 4 * d.H, rows = d.T * d.B, BH = d.B * d.H;
  for (int64_t k = 0; k < BH; ++k) {
    work.dh[k] = dh_last ? dh_last[k] : 0.0f;
    work.dc[k] = dc_last ? dc_last[k] : 0.0f;
  }
  for (int64_t t = d.T - 1; t >= 0; --t) {
    if (dh_seq)
      for (int64_t k = 0; k < BH; ++k) work.dh[k] += dh_seq[t * BH + k];
    float* da = work.dgates + t * d.B * G;  // (B, 4H)
    lstm_cell_backward(da, work.dc, work.dh, act.gates + t * d.B * G, act.c + t * BH,
                       act.c + (t + 1) * BH, d.B, d.H);
    if (t > 0 || dh0)  // dh_{t-1} = da·W_hh   (B, 4H)·(4H, H)
      gemm(false, false, d.B, d.H, G, 1.0f, da, G, w.w_hh, d.H, 0.0f, work.dh, d.H);
  }
  if (dh0) std::memcpy(dh0, work.dh, sizeof(float) * BH);
  if (dc0) std::memcpy(dc0, work.dc, sizeof(float) * BH);
  // Whole-sequence products: dW_ih += daᵀ·x, dW_hh += daᵀ·h_{0..T-1}, db += Σ_rows da
  gemm(true, false, G, d.I, rows, 1.0f, work.dgates, G, x, d.I, 1.0f, g.w_ih, d.I);
  gemm(true, false, G, d.H, rows, 1.0f, work.dgates, G, act.h, d.H, 1.0f, g.w_hh, d.H);
  for (int64_t k = 0; k < G; ++k) {  // summed in double: T·B terms of mixed sign
    double sum = 0.0;
    for (int64_t r = 0; r < rows; ++r) sum += work.dgates[r * G + k];
    g.bias[k] += float(sum);
  }
  if (dx) gemm(false, false, rows, d.I, G, 1.0f, work.dgates, G, w.w_ih, d.I, 0.0f, dx, d.I);
}

}  // namespace lstm
