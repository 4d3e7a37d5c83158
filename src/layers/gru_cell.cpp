// GRU layer, forward and backward side by side. Equations: gru_cell.h; the pointwise step on
// vectors: kernels/pointwise.h.
#include "layers/gru_cell.h"

#include <cstring>

#include "gemm/gemm.h"
#include "kernels/lstm_step.h"
#include "kernels/pointwise.h"

namespace lstm {

// rows of (R, cols) set to v (cols wide)
static void fill_rows(float* a, int64_t R, int64_t cols, const float* v) {
  for (int64_t r = 0; r < R; ++r) std::memcpy(a + r * cols, v, sizeof(float) * size_t(cols));
}

void gru_forward(const SeqDims& d, const GruWeights& w, const float* x, GruActivations& act) {
  const int64_t G = 3 * d.H, BH = d.B * d.H;
  fill_rows(act.ax, d.T * d.B, G, w.b_ih);
  gemm(false, true, d.T * d.B, G, d.I, 1.0f, x, d.I, w.w_ih, d.I, 1.0f, act.ax, G);
  for (int64_t t = 0; t < d.T; ++t) {
    const int64_t n = d.rows_at(t);
    const float* h_prev = act.h + t * BH;
    float* h = act.h + (t + 1) * BH;
    fill_rows(act.ah, n, G, w.b_hh);
    gemm(false, true, n, G, d.H, 1.0f, h_prev, d.H, w.w_hh, d.H, 1.0f, act.ah, G);
    gru_pointwise_forward(act.ax + t * d.B * G, act.ah, h_prev, act.gates + t * d.B * 4 * d.H, h, n,
                          d.H);
    std::memset(h + n * d.H, 0, sizeof(float) * size_t((d.B - n) * d.H));  // ended rows
  }
}

void gru_step(const GruWeights& w, int64_t I, int64_t H, const float* x, const float* h_prev,
              float* scratch, float* h) {
  float *ax = scratch, *ah = scratch + 3 * H, *gates = scratch + 6 * H;
  for (int64_t row = 0; row < 3 * H; ++row) {  // one row: two matrix-vector products
    float sx = w.b_ih[row], sh = w.b_hh[row];
    for (int64_t k = 0; k < I; ++k) sx += w.w_ih[row * I + k] * x[k];
    for (int64_t k = 0; k < H; ++k) sh += w.w_hh[row * H + k] * h_prev[k];
    ax[row] = sx, ah[row] = sh;
  }
  gru_pointwise_forward(ax, ah, h_prev, gates, h, 1, H);
}

void gru_backward(const SeqDims& d, const GruWeights& w, const float* x, const GruActivations& act,
                  const float* dh_seq, const float* dh_last, GruBackwardWork& work, GruGrads& g,
                  float* dx, float* dh0) {
  const int64_t H = d.H, G = 3 * H, BH = d.B * H, rows = d.T * d.B;
  for (int64_t k = 0; k < BH; ++k) work.dh[k] = dh_last ? dh_last[k] : 0.0f;
  for (int64_t t = d.T - 1; t >= 0; --t) {
    const int64_t n = d.rows_at(t);
    const float* gates = act.gates + t * d.B * 4 * H;
    const float* h_prev = act.h + t * BH;
    float *dax = work.dax + t * d.B * G, *dah = work.dah + t * d.B * G;
    for (int64_t b = 0; b < n; ++b) {
      const float *gt = gates + b * 4 * H, *hp = h_prev + b * H;
      const float* ext = dh_seq ? dh_seq + t * BH + b * H : nullptr;
      float *dh = work.dh + b * H, *dx_ = dax + b * G, *dh_ = dah + b * G;
      for (int64_t j = 0; j < H; ++j) {
        const float r = gt[j], z = gt[H + j], nn = gt[2 * H + j], ahn = gt[3 * H + j];
        const float dht = dh[j] + (ext ? ext[j] : 0.0f);
        const float dan = dht * (1.0f - z) * (1.0f - nn * nn);
        const float dar = dan * ahn * r * (1.0f - r);
        const float daz = dht * (hp[j] - nn) * z * (1.0f - z);
        dx_[j] = dar, dx_[H + j] = daz, dx_[2 * H + j] = dan;
        dh_[j] = dar, dh_[H + j] = daz, dh_[2 * H + j] = dan * r;
        dh[j] = dht * z;
      }
    }
    std::memset(dax + n * G, 0, sizeof(float) * size_t((d.B - n) * G));  // ended rows
    std::memset(dah + n * G, 0, sizeof(float) * size_t((d.B - n) * G));
    gemm(false, false, n, H, G, 1.0f, dah, G, w.w_hh, H, 1.0f, work.dh, H);  // dh_{t-1}
  }
  if (dh0) std::memcpy(dh0, work.dh, sizeof(float) * size_t(BH));
  gemm(true, false, G, d.I, rows, 1.0f, work.dax, G, x, d.I, 1.0f, g.w_ih, d.I);
  gemm(true, false, G, H, rows, 1.0f, work.dah, G, act.h, H, 1.0f, g.w_hh, H);
  lstm_sum_rows(work.dax, rows, G, g.b_ih);
  lstm_sum_rows(work.dah, rows, G, g.b_hh);
  if (dx) gemm(false, false, rows, d.I, G, 1.0f, work.dax, G, w.w_ih, d.I, 0.0f, dx, d.I);
}

}  // namespace lstm
