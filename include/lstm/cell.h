// lstm/cell.h - one step of an LSTM, for loops of your own: sampling text a character at a
// time, beam search, feeding a forecast back as the next input (Keras's LSTMCell, PyTorch's
// nn.LSTMCell).
//
//   lstm::LSTMCell cell = lstm::LSTMCell::from_model(model, 0);  // layer 0's trained weights
//   lstm::RecurrentState s = cell.zero_state(1);                 // h [1, P], c [1, H]
//   for (int t = 0; t < 100; ++t) {
//     s = cell.step(x_t, s);                                     // x_t [1, I]
//     x_t = next_input_from(s.h);
//   }
//
// The equations are the LSTM layer's (lstm/layers.h), with the options that change the cell:
// activation, recurrent_activation, use_bias, proj_size, use_peepholes. A cell made from a model
// holds a copy of its weights; training goes through the model (backpropagation through time
// over whole sequences).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lstm/layers.h"
#include "lstm/model.h"
#include "lstm/tensor.h"

namespace lstm {

struct LSTMCellOptions {
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;
  bool use_bias = true;
  int proj_size = 0;
  bool use_peepholes = false;
  uint64_t seed = 42;  // Keras's initialisation, from this seed
};

class LSTMCell {
 public:
  LSTMCell(int64_t input_size, int units, LSTMCellOptions options = {});
  // The weights of LSTM layer `layer` of a built model; of a Bidirectional(LSTM) layer, its
  // forward direction, or the backward one with backward = true (which reads sequences from
  // their end: give it the steps in reverse).
  static LSTMCell from_model(const Sequential& model, int layer, bool backward = false);

  int64_t input_size() const { return I_; }
  int units() const { return int(H_); }
  int64_t output_size() const { return P_; }  // the width of h: proj_size, or units

  RecurrentState zero_state(int64_t batch) const;  // h [B, P], c [B, units], zeros
  // One step for B sequences at once: x [B, input_size] and the state before -> the state
  // after; its h is the cell's output.
  RecurrentState step(const Tensor& x, const RecurrentState& state) const;

  // One sequence x [T, input_size], from `start` (empty: zeros; else h [1, P], c [1, units]),
  // with every step's inside kept: the gates after their activations - input i, forget f,
  // candidate g, output o - and the states c and h, each [T, units] (h [T, output_size]); row t
  // is step t (c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, h_t = o_t ⊙ tanh(c_t), as lstm/layers.h). What
  // `lstm demo gates` draws (Karpathy et al. 2015: cells that count, cells that track quotes).
  struct Trace {
    Tensor i, f, g, o, c, h;
  };
  Trace trace(const Tensor& x, const RecurrentState& start = {}) const;

  // The weights by their model-file names: weight_ih [4H, I], weight_hh [4H, P], bias [4H],
  // weight_hr [P, H] (proj_size), weight_peephole [3, H] (use_peepholes).
  std::vector<std::string> weight_names() const;
  Tensor weight(const std::string& name) const;
  void set_weight(const std::string& name, const Tensor& value);

 private:
  LSTMCell(const LayerConfig& config, int64_t input_size);
  const float* tensor(const std::string& name) const;  // null when the cell has none
  LayerConfig config_;
  int64_t I_, H_, P_;
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<int64_t> offsets_;
  std::vector<float> params_;
};

}  // namespace lstm
