// 2-D convolution by im2col and the GEMM seam (see conv2d.h).
#include "kernels/conv2d.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "gemm/gemm.h"
#include "lstm/error.h"

namespace lstm {

int64_t Conv2dShape::out_h() const { return same ? (H + stride_h - 1) / stride_h : (H - KH) / stride_h + 1; }
int64_t Conv2dShape::out_w() const { return same ? (W + stride_w - 1) / stride_w : (W - KW) / stride_w + 1; }
int64_t Conv2dShape::pad_top() const { return same ? std::max<int64_t>((out_h() - 1) * stride_h + KH - H, 0) / 2 : 0; }
int64_t Conv2dShape::pad_left() const { return same ? std::max<int64_t>((out_w() - 1) * stride_w + KW - W, 0) / 2 : 0; }

void Conv2dShape::check() const {
  if (H < 1 || W < 1 || C < 1)
    throw Error("a convolution needs images of at least 1x1 pixels and 1 channel, got " + std::to_string(H) + "x" +
                std::to_string(W) + "x" + std::to_string(C));
  if (KH < 1 || KW < 1 || F < 1)
    throw Error("a convolution needs a kernel of at least 1x1 and 1 filter, got " + std::to_string(KH) + "x" +
                std::to_string(KW) + " and " + std::to_string(F));
  if (stride_h < 1 || stride_w < 1)
    throw Error("convolution strides are at least 1, got " + std::to_string(stride_h) + "x" + std::to_string(stride_w));
  if (!same && (KH > H || KW > W))
    throw Error("a " + std::to_string(KH) + "x" + std::to_string(KW) + " kernel does not fit in " + std::to_string(H) +
                "x" + std::to_string(W) + " images with padding=\"valid\": use padding=\"same\" or a smaller kernel");
}

namespace {

// One image's patches as the rows of cols (OH·OW, KH·KW·C); zeros where they leave the image.
void im2col(const Conv2dShape& s, const float* x, float* cols) {
  const int64_t OH = s.out_h(), OW = s.out_w(), top = s.pad_top(), left = s.pad_left();
  for (int64_t oy = 0; oy < OH; ++oy)
    for (int64_t ox = 0; ox < OW; ++ox) {
      float* row = cols + (oy * OW + ox) * s.patch();
      for (int64_t ky = 0; ky < s.KH; ++ky) {
        const int64_t iy = oy * s.stride_h + ky - top;
        for (int64_t kx = 0; kx < s.KW; ++kx, row += s.C) {
          const int64_t ix = ox * s.stride_w + kx - left;
          if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W) std::fill(row, row + s.C, 0.0f);
          else std::memcpy(row, x + (iy * s.W + ix) * s.C, sizeof(float) * size_t(s.C));
        }
      }
    }
}

// The reverse: each patch value added back to its pixel (pixels in several patches get each).
void col2im_add(const Conv2dShape& s, const float* cols, float* dx) {
  const int64_t OH = s.out_h(), OW = s.out_w(), top = s.pad_top(), left = s.pad_left();
  for (int64_t oy = 0; oy < OH; ++oy)
    for (int64_t ox = 0; ox < OW; ++ox) {
      const float* row = cols + (oy * OW + ox) * s.patch();
      for (int64_t ky = 0; ky < s.KH; ++ky) {
        const int64_t iy = oy * s.stride_h + ky - top;
        for (int64_t kx = 0; kx < s.KW; ++kx, row += s.C) {
          const int64_t ix = ox * s.stride_w + kx - left;
          if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W) continue;
          float* px = dx + (iy * s.W + ix) * s.C;
          for (int64_t c = 0; c < s.C; ++c) px[c] += row[c];
        }
      }
    }
}

}  // namespace

// Images per GEMM: as many as fit in kChunkFloats of patches (at least one), so that small
// images make one large product instead of many small ones.
constexpr int64_t kChunkFloats = int64_t(1) << 20;  // 4 MiB

static int64_t chunk_images(const Conv2dShape& s, int64_t B) {
  const int64_t per_image = std::max<int64_t>(1, s.out_h() * s.out_w() * s.patch());
  return std::max<int64_t>(1, std::min<int64_t>(B, kChunkFloats / per_image));
}

int64_t conv2d_workspace(const Conv2dShape& s, int64_t B) {
  return chunk_images(s, std::max<int64_t>(B, 1)) * s.out_h() * s.out_w() * s.patch();
}

void conv2d_forward(const Conv2dShape& s, int64_t B, const float* x, const float* kernel, const float* bias, float* y,
                    float* workspace) {
  const int64_t P = s.out_h() * s.out_w(), K = s.patch(), image = s.H * s.W * s.C,
                G = chunk_images(s, B);
  for (int64_t b0 = 0; b0 < B; b0 += G) {
    const int64_t g = std::min(G, B - b0);
    for (int64_t i = 0; i < g; ++i) im2col(s, x + (b0 + i) * image, workspace + i * P * K);
    float* yb = y + b0 * P * s.F;
    gemm(false, false, g * P, s.F, K, 1.0f, workspace, K, kernel, s.F, 0.0f, yb, s.F);
    if (bias)
      for (int64_t p = 0; p < g * P; ++p)
        for (int64_t f = 0; f < s.F; ++f) yb[p * s.F + f] += bias[f];
  }
}

void conv2d_backward(const Conv2dShape& s, int64_t B, const float* x, const float* kernel, const float* dy, float* dx,
                     float* dkernel, float* dbias, float* workspace) {
  const int64_t P = s.out_h() * s.out_w(), K = s.patch(), image = s.H * s.W * s.C,
                G = chunk_images(s, B);
  if (dbias)
    for (int64_t p = 0; p < B * P; ++p)
      for (int64_t f = 0; f < s.F; ++f) dbias[f] += dy[p * s.F + f];
  for (int64_t b0 = 0; b0 < B; b0 += G) {
    const int64_t g = std::min(G, B - b0);
    const float* dyb = dy + b0 * P * s.F;
    for (int64_t i = 0; i < g; ++i) im2col(s, x + (b0 + i) * image, workspace + i * P * K);
    gemm(true, false, K, s.F, g * P, 1.0f, workspace, K, dyb, s.F, 1.0f, dkernel,
         s.F);  // dkernel += colsᵀ·dy
    if (!dx) continue;
    gemm(false, true, g * P, K, s.F, 1.0f, dyb, s.F, kernel, s.F, 0.0f, workspace,
         K);  // dcols = dy·kernelᵀ
    for (int64_t i = 0; i < g; ++i) {
      float* dxb = dx + (b0 + i) * image;
      std::fill(dxb, dxb + image, 0.0f);
      col2im_add(s, workspace + i * P * K, dxb);
    }
  }
}

}  // namespace lstm
