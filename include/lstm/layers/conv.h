// lstm/layers/conv.h - layers over images and video clips, channels last (Keras's layouts), for
// graphs:
//
//   auto clip = lstm::Input({10, 32, 32, 1});                        // [N, 10, 32, 32, 1]
//   auto seq = lstm::ConvLSTM2D(16, {3, 3}, {.padding = lstm::ConvPadding::same,
//                                            .return_sequences = true})(clip);   // [N, 10, 32, 32,
//                                            16]
//   auto frame = lstm::Conv2D(1, {1, 1}, {.activation = lstm::Activation::sigmoid})(seq);
//   // per-frame features into an LSTM (Keras's TimeDistributed(Conv2D) -> LSTM):
//   auto f = lstm::Conv2D(8, {3, 3}, {.activation = lstm::Activation::relu})(clip);  // [N, 10, 30,
//   30, 8] auto p = lstm::MaxPooling2D({2, 2})(f);                           // [N, 10, 15, 15, 8]
//   auto v = lstm::GlobalAveragePooling2D()(p);                       // [N, 10, 8]
//   auto y = lstm::Dense(7, {.activation = lstm::Activation::softmax})(lstm::LSTM(32)(v));
//
// Images are [N, H, W, C]; a clip is [N, T, H, W, C]. Conv2D, MaxPooling2D and
// GlobalAveragePooling2D given a clip run on every frame alone (Keras's TimeDistributed wrapper,
// which lstm::TimeDistributed also writes); Flatten joins every axis but the batch (Keras), and
// TimeDistributed(Flatten()) each frame's. Other layers do not take images: flatten or pool them
// first.
//
// Conv2D: y = act(conv(x, kernel) + bias), kernel (KH, KW, C, F), bias (F); padding "valid"
// (none: OH = (H - KH) / sh + 1) or "same" (TensorFlow's: OH = ceil(H / sh), the odd padding row
// below). Initialisation: kernel glorot_uniform (fan_in KH·KW·C, fan_out KH·KW·F), bias zero.
//
// ConvLSTM2D (Shi et al. 2015; Keras's ConvLSTM2D): the seed's six equations with convolutions
// (*) in place of the products, for every pixel of the state maps:
//   i_t = σ(W_xi * x_t + W_hi * h_{t-1} + b_i)    f_t = σ(W_xf * x_t + W_hf * h_{t-1} + b_f)
//   g_t = tanh(W_xg * x_t + W_hg * h_{t-1} + b_g) o_t = σ(W_xo * x_t + W_ho * h_{t-1} + b_o)
//   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t               h_t = o_t ⊙ tanh(c_t)
// with h_0 = c_0 = 0 (maps of OH × OW × F). The input convolution has the layer's padding and
// strides; the recurrent one is "same" with stride 1, so the maps keep their size. Tensors as
// Keras stores them: kernel (KH, KW, C, 4F), recurrent_kernel (KH, KW, F, 4F), bias (4F), gates
// in the order i, f, g (Keras's c), o. Initialisation as Keras: kernel glorot_uniform,
// recurrent_kernel orthogonal (as a (KH·KW·F, 4F) matrix), bias zero but the forget block one.
// Returns h_T ([N, OH, OW, F]) or every h_t ([N, T, OH, OW, F]); with return_state also h_T and
// c_T. It takes clips of one length (no mask) and no initial state.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "lstm/layers.h"

namespace lstm {

enum class ConvPadding { valid, same };
const char* conv_padding_name(ConvPadding p);                 // "valid", "same"
ConvPadding conv_padding_from_name(const std::string& name);  // throws lstm::Error for others

struct Conv2DOptions {
  std::array<int64_t, 2> strides = {1, 1};
  ConvPadding padding = ConvPadding::valid;
  Activation activation = Activation::linear;  // not softmax
  bool use_bias = true;
};
LayerConfig Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Conv2DOptions options = {});

// The largest value of each pool_size window; strides {0, 0}: the pool size (Keras's None).
struct MaxPooling2DOptions {
  std::array<int64_t, 2> strides = {0, 0};
  ConvPadding padding = ConvPadding::valid;
};
LayerConfig MaxPooling2D(std::array<int64_t, 2> pool_size = {2, 2},
                         MaxPooling2DOptions options = {});

// The mean over each image's pixels, per channel: [N, H, W, C] -> [N, C] (a clip: [N, T, C]).
LayerConfig GlobalAveragePooling2D();

// Every axis but the batch joined, in C order: [N, H, W, C] -> [N, H·W·C], [N, T, F] -> [N, T·F]
// (T fixed); TimeDistributed(Flatten()) joins each frame's: [N, T, H, W, C] -> [N, T, H·W·C].
LayerConfig Flatten();

struct ConvLSTM2DOptions {
  std::array<int64_t, 2> strides = {1, 1};   // of the input convolution
  ConvPadding padding = ConvPadding::valid;  // of the input convolution
  bool return_sequences = false;
  bool return_state = false;
  Activation activation = Activation::tanh;               // of g and of the cell output
  Activation recurrent_activation = Activation::sigmoid;  // of i, f, o (Keras 2: hard_sigmoid)
  bool use_bias = true;
  bool unit_forget_bias = true;
};
RecurrentLayerConfig<3> ConvLSTM2D(int64_t filters, std::array<int64_t, 2> kernel_size,
                                   ConvLSTM2DOptions options = {});

}  // namespace lstm
