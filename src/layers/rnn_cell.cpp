// Simple RNN layer, forward and backward side by side. Equations: rnn_cell.h.
#include "layers/rnn_cell.h"

#include <cstring>

#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "kernels/pointwise.h"
#include "layers/activation.h"

namespace lstm {


void rnn_forward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x, float* h) {
  const int64_t H = d.H, BH = d.B * H;
  float* a = h + BH;  // slots 1..T receive the pre-activations first
  for (int64_t r = 0; r < d.T * d.B; ++r) std::memcpy(a + r * H, w.bias, sizeof(float) * size_t(H));
  gemm(false, true, d.T * d.B, H, d.I, 1.0f, x, d.I, w.w_ih, d.I, 1.0f, a, H);
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t n = d.rows_at(t);
    float* ht = h + (t + 1) * BH;
    gemm(false, true, n, H, H, 1.0f, h + t * BH, H, w.w_hh, H, 1.0f, ht, H);
    activation_pointwise(ht, n * H, act);
    std::memset(ht + n * H, 0, sizeof(float) * size_t((d.B - n) * H));  // ended rows
  }
}

void rnn_step(const RnnWeights& w, Activation act, int64_t I, int64_t H, const float* x,
              const float* h_prev, float* h) {
  for (int64_t j = 0; j < H; ++j) {
    float s = w.bias[j];
    for (int64_t k = 0; k < I; ++k) s += w.w_ih[j * I + k] * x[k];
    for (int64_t k = 0; k < H; ++k) s += w.w_hh[j * H + k] * h_prev[k];
    h[j] = s;
  }
  activation_pointwise(h, H, act);  // as rnn_forward, so that streaming gives predict's numbers
}

void rnn_backward(const SeqDims& d, const RnnWeights& w, Activation act, const float* x,
                  const float* h, const float* dh_seq, const float* dh_last, float* da, float* dh,
                  RnnGrads& g, float* dx, float* dh0) {
  const int64_t H = d.H, BH = d.B * H, rows = d.T * d.B;
  for (int64_t k = 0; k < BH; ++k) dh[k] = dh_last ? dh_last[k] : 0.0f;
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t n = d.rows_at(t);
    const float* ht = h + (t + 1) * BH;
    float* dat = da + t * BH;
    for (int64_t k = 0; k < n * H; ++k)
      dat[k] = (dh[k] + (dh_seq ? dh_seq[t * BH + k] : 0.0f)) * activation_slope(act, ht[k]);
    std::memset(dat + n * H, 0, sizeof(float) * size_t((d.B - n) * H));  // ended rows
    gemm(false, false, n, H, H, 1.0f, dat, H, w.w_hh, H, 0.0f, dh, H);  // dh_{t-1}
  }
  if (dh0) std::memcpy(dh0, dh, sizeof(float) * size_t(BH));
  gemm(true, false, H, d.I, rows, 1.0f, da, H, x, d.I, 1.0f, g.w_ih, d.I);
  gemm(true, false, H, H, rows, 1.0f, da, H, h, H, 1.0f, g.w_hh, H);
  lstm_sum_rows(da, rows, H, g.bias);
  if (dx) gemm(false, false, rows, d.I, H, 1.0f, da, H, w.w_ih, d.I, 0.0f, dx, d.I);
}

}  // namespace lstm
