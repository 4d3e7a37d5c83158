// lstm/layers.h - the layers a Sequential model is made of, described as plain values.
//
//   model.add(lstm::LSTM(50, {.input_shape = {30, 1}}));          // 50 units, T = 30, F = 1
//   model.add(lstm::LSTM(32, {.return_sequences = true}));        // (N, T, 32) out
//   model.add(lstm::Dense(1));                                    // linear head
//   model.add(lstm::Dense(3, {.activation = lstm::Activation::softmax}));
//
// A LayerConfig is only a description: weights live in the model (one parameter buffer) and are
// created when the model is built. The same description is the "layers" entry of the
// architecture JSON (docs/file-format.md):
//
//   {"type": "lstm",  "units": 50, "return_sequences": false}
//   {"type": "dense", "units": 1,  "activation": "linear"}
//
// LSTM(units) is exactly the cell of the seed: for every step t, with gates fused in the order
// i, f, g (the candidate C~), o,
//   i_t = σ(W_i·[h_{t-1}, x_t] + b_i)     f_t = σ(W_f·[h_{t-1}, x_t] + b_f)
//   g_t = tanh(W_g·[h_{t-1}, x_t] + b_g)  o_t = σ(W_o·[h_{t-1}, x_t] + b_o)
//   c_t = f_t * c_{t-1} + i_t * g_t       h_t = o_t * tanh(c_t)
// with h_0 = c_0 = 0. It returns h_T, or h_1..h_T when return_sequences is set.
// Initialisation follows Keras: kernel glorot_uniform, recurrent kernel orthogonal, bias zero
// except the forget block, which is one (unit_forget_bias).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lstm {

enum class Activation { linear, relu, sigmoid, tanh, softmax };
enum class LayerType { lstm, dense };

// "linear", "relu", ... ; activation_from_name throws lstm::Error listing the valid names.
const char* activation_name(Activation a);
Activation activation_from_name(const std::string& name);
const char* layer_type_name(LayerType t);  // "lstm", "dense"

struct LayerConfig {
  LayerType type = LayerType::dense;
  int units = 0;
  Activation activation = Activation::linear;  // dense only
  bool return_sequences = false;               // lstm only
  // Shape of one sample, without the batch axis: {T, F} for sequences ({0, F} or {-1, F}: any
  // length), {F} for plain vectors. Only the first layer of a model may set it.
  std::vector<int64_t> input_shape;
};

struct LSTMOptions {
  bool return_sequences = false;
  std::vector<int64_t> input_shape;
};
LayerConfig LSTM(int units, LSTMOptions options = {});

struct DenseOptions {
  Activation activation = Activation::linear;
  std::vector<int64_t> input_shape;
};
LayerConfig Dense(int units, DenseOptions options = {});

}  // namespace lstm
