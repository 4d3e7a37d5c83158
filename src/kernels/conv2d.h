// 2-D convolution over channels-last images, forward and backward side by side: what Conv2D
// and the gates of ConvLSTM2D compute (Keras's layouts, TensorFlow's "same" padding).
//
//   y[b, oy, ox, f] = bias[f] + Σ_{ky, kx, c} x[b, oy·sh + ky - top, ox·sw + kx - left, c]
//                                             · kernel[ky, kx, c, f]
// (x is zero outside the image). Shapes: x (B, H, W, C), kernel (KH, KW, C, F) as Keras stores
// it, y (B, OH, OW, F). "valid": no padding, OH = (H - KH) / sh + 1; "same": OH = ceil(H / sh),
// padded by max((OH - 1)·sh + KH - H, 0) rows, half above (rounded down) and the rest below;
// the same for columns.
//
// How: im2col, then the one GEMM seam. Each image's patches are laid out as the rows of a matrix
// cols (OH·OW, KH·KW·C) - the column order is the kernel's own (ky, kx, c) order, so the kernel
// is already the (KH·KW·C, F) matrix the product needs: y = cols · kernel. Backward is two more
// products: dkernel += colsᵀ · dy, dcols = dy · kernelᵀ, then col2im adds dcols back into dx.
// The images go in chunks: as many images' cols as fit in 4 MiB (at least one) are stacked into
// one matrix, so that a batch of small frames is one large product rather than many small ones
// (measured: docs/video.md). The workspace holds one chunk (conv2d_workspace floats).
#pragma once

#include <cstdint>

namespace lstm {

struct Conv2dShape {
  int64_t H = 0, W = 0, C = 0;      // input image, channels last
  int64_t KH = 1, KW = 1, F = 1;    // kernel size, filters
  int64_t stride_h = 1, stride_w = 1;
  bool same = false;                // Keras padding="same", else "valid"

  int64_t out_h() const;
  int64_t out_w() const;
  int64_t pad_top() const;
  int64_t pad_left() const;
  int64_t patch() const { return KH * KW * C; }  // one row of cols
  // Throws lstm::Error naming the problem: sizes not positive, a kernel larger than a "valid"
  // image, strides below 1.
  void check() const;
};

// Floats of workspace for batches of up to B images: (images per chunk) · out_h · out_w · patch.
int64_t conv2d_workspace(const Conv2dShape& s, int64_t B);

// y (B, OH, OW, F) = conv(x, kernel) + bias (bias may be null).
void conv2d_forward(const Conv2dShape& s, int64_t B, const float* x, const float* kernel, const float* bias,
                    float* y, float* workspace);

// From dy (B, OH, OW, F): dx (written; may be null when not needed), dkernel and dbias (added
// to; dbias may be null for a layer without bias).
void conv2d_backward(const Conv2dShape& s, int64_t B, const float* x, const float* kernel, const float* dy,
                     float* dx, float* dkernel, float* dbias, float* workspace);

}  // namespace lstm
