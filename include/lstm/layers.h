// lstm/layers.h - the layers a Sequential model is made of, described as plain values.
//
//   model.add(lstm::LSTM(50, {.input_shape = {30, 1}}));          // 50 units, T = 30, F = 1
//   model.add(lstm::LSTM(32, {.return_sequences = true}));        // (N, T, 32) out
//   model.add(lstm::Bidirectional(lstm::GRU(16)));                // both directions, concat
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
//
// GRU(units) is PyTorch's GRU (Keras's GRU with reset_after = true), gates in the order r, z, n:
//   r_t = σ(W_ir·x_t + b_ir + W_hr·h_{t-1} + b_hr)
//   z_t = σ(W_iz·x_t + b_iz + W_hz·h_{t-1} + b_hz)
//   n_t = tanh(W_in·x_t + b_in + r_t * (W_hn·h_{t-1} + b_hn))
//   h_t = (1 - z_t) * n_t + z_t * h_{t-1}
// GRU(units, {.reset_after = false}) is Keras's other GRU (Cho et al. 2014; ONNX's
// linear_before_reset = 0), with one bias b: the reset gate scales h_{t-1} before the product,
//   n_t = tanh(W_in·x_t + b_n + W_hn·(r_t * h_{t-1})),   r_t, z_t as above with b_r, b_z only.
// SimpleRNN(units) is the "standard RNN" the LSTM was made to fix:
//   h_t = act(W_ih·x_t + W_hh·h_{t-1} + b),  act = tanh (default) or relu.
//
// Variable-length sequences: a batch may be right-padded, with each sequence's length given to
// fit/predict/evaluate, or found by Embedding(mask_zero) or Masking as the first layer. Every
// recurrent layer then behaves like PyTorch's packed sequences: padded steps leave the state
// alone, outputs at padded steps are zero, the last output (return_sequences = false) is the one
// at the sequence's last valid step, and a backward direction starts there. A sample that is
// all padding (an empty text) is not an error: as in Keras, its last output and final state are
// the initial state, and its sequence is zero.
#pragma once

#include <any>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lstm/symbolic.h"

namespace lstm {

// hard_sigmoid is clip(x/6 + 1/2, 0, 1), as in Keras 3 and PyTorch (Keras 2 used
// clip(0.2x + 1/2, 0, 1): a Keras 2 model with it does not carry over as it is).
enum class Activation { linear, relu, sigmoid, tanh, softmax, hard_sigmoid };
enum class LayerType { lstm, gru, simple_rnn, dense, bidirectional, embedding, dropout, masking };
// How Bidirectional joins the two directions' outputs: concat [forward, backward] (2H wide),
// sum, mul (elementwise product), ave (mean), or none: both, as two outputs (Keras's list
// [forward, backward]): in a Sequential model the layer is the last and predict() returns
// [2, N, ...]; in a graph the call has two outputs (then the states), each a tensor of its own.
enum class MergeMode { concat, sum, mul, ave, none };

// "linear", "relu", ... ; the *_from_name functions throw lstm::Error listing the valid names.
const char* activation_name(Activation a);
Activation activation_from_name(const std::string& name);
const char* layer_type_name(LayerType t);  // "lstm", "gru", "simple_rnn", "dense", ...
const char* merge_mode_name(MergeMode m);
MergeMode merge_mode_from_name(const std::string& name);
bool is_recurrent(LayerType t);  // lstm, gru, simple_rnn

struct LayerIdentity;  // internal: which calls of a layer share its weights

struct LayerConfig {
  LayerType type = LayerType::dense;
  // A layer type of its own room (src/layers/registry.def): its registered name, such as
  // "attention"; `type` applies when empty. Its options are in `options`.
  std::string kind;
  std::any options;
  // The layer's name in a model ("lstm", "dense_1", ...): unique in a model; empty: automatic.
  std::string name;
  int units = 0;  // recurrent: H; dense: outputs; embedding: D, the vector per token
  // dense: its activation; simple_rnn: tanh (default) or relu; lstm: the candidate's and the
  // cell output's, tanh by default (the LSTM() builder sets it)
  Activation activation = Activation::linear;
  bool return_sequences = false;  // recurrent only
  // recurrent, in a graph (lstm::Model): the call also returns the final states (Keras)
  bool return_state = false;
  bool go_backwards = false;      // recurrent only: read each sequence from its last valid step
  // dense and the per-frame image layers: written as TimeDistributed(layer) (the same layer; it
  // requires sequences)
  bool time_distributed = false;
  MergeMode merge_mode = MergeMode::concat;  // bidirectional only
  std::vector<LayerConfig> wrapped;          // bidirectional: the recurrent layer it runs twice
  int64_t input_dim = 0;                     // embedding: vocabulary size V (ids 0..V-1)
  bool mask_zero = false;                    // embedding: id 0 is padding
  float rate = 0.0f;                         // dropout: fraction of inputs zeroed in training
  float mask_value = 0.0f;                   // masking: a step equal to it everywhere is padding
  // lstm only: the gates' nonlinearity, a projection of h (proj_size P < units: h_t is P wide),
  // peephole connections, and whether the gates have a bias (dense too: whether it has one)
  Activation recurrent_activation = Activation::sigmoid;
  int proj_size = 0;
  bool use_peepholes = false;
  bool use_bias = true;
  bool reset_after = true;  // gru only: false is Keras's reset_after = false (see GRU above)
  // recurrent: dropout of the inputs (any recurrent type) and of h_{t-1} in the recurrent
  // product (lstm only), in fit() only, with one mask per sequence, the same at every step
  float dropout = 0.0f;
  float recurrent_dropout = 0.0f;
  // recurrent (bidirectional: its wrapped layer's): the state at the end of a batch is the
  // initial state of the same row in the next batch, in fit, predict and evaluate, until
  // Sequential::reset_states() (Keras). The model then needs a fixed batch_size, and fit()
  // shuffle = false so that row b of consecutive batches is one long sequence (as in Keras,
  // shuffling is not refused).
  bool stateful = false;
  // Shape of one sample, without the batch axis: {T, F} for sequences ({0, F} or {-1, F}: any
  // length), {F} for plain vectors, {T} for token ids (Embedding first). Only the first layer
  // of a model may set it.
  std::vector<int64_t> input_shape;
  // The model's fixed batch size (Keras's batch_input_shape), which stateful layers need;
  // 0: any. First layer only.
  int64_t batch_size = 0;

  // The functional API (lstm/functional.h): calling a layer on tensors adds it to a graph.
  // Calling one LayerConfig - or copies of it - several times shares its weights (Keras's
  // shared layers); make another with the builder (lstm::Dense(...)) for weights of its own.
  SymbolicTensor operator()(const SymbolicTensor& x) const;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) const;  // merges
  // Every output of the call (a recurrent layer with return_state: output then states);
  // initial_state: a recurrent layer's h (and c) per direction.
  std::vector<SymbolicTensor> call(const std::vector<SymbolicTensor>& inputs,
                                   const std::vector<SymbolicTensor>& initial_state = {}) const;
  // Shared by copies; set by the builders, or at the first call.
  mutable std::shared_ptr<LayerIdentity> identity;
};

// A recurrent layer's description that can also be called with initial states, returning
// its N possible outputs (lstm/symbolic.h, LayerOutputs): LSTM 3 (output, h, c), GRU and
// SimpleRNN 2 (output, h), Bidirectional twice the states of the layer it wraps, plus one.
template <size_t N>
struct RecurrentLayerConfig : LayerConfig {
  LayerOutputs<N> operator()(const SymbolicTensor& x,
                             const std::vector<SymbolicTensor>& initial_state = {}) const {
    return LayerOutputs<N>(call({x}, initial_state));
  }
};

// The options of Keras's LSTM and PyTorch's nn.LSTM (defaults: the seed's cell):
//   activation            of the candidate g and of the cell output, tanh(c_t)
//   recurrent_activation  of the gates i, f, o (σ)
//   use_bias              b in the gates (false: no bias tensor)
//   dropout               a fraction of x_t zeroed in fit(), the same features at every step of
//                         a sequence, scaled by 1/(1 - rate) (Keras); off in predict/evaluate
//   recurrent_dropout     the same for h_{t-1} where it enters the gates (Keras)
//   proj_size             P > 0: h_t = W_hr·(o_t * tanh(c_t)), P < units wide (PyTorch)
//   use_peepholes         the gates also see the cell: i and f get + p_i * c_{t-1} and
//                         + p_f * c_{t-1}, o gets + p_o * c_t (ONNX, oneDNN)
struct LSTMOptions {
  bool return_sequences = false;
  bool return_state = false;  // see LayerConfig::return_state
  bool go_backwards = false;
  Activation activation = Activation::tanh;
  Activation recurrent_activation = Activation::sigmoid;
  bool use_bias = true;
  float dropout = 0.0f;
  float recurrent_dropout = 0.0f;
  int proj_size = 0;
  bool use_peepholes = false;
  bool stateful = false;  // see LayerConfig::stateful
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;  // see LayerConfig::batch_size
};
RecurrentLayerConfig<3> LSTM(int units, LSTMOptions options = {});

struct GRUOptions {
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  float dropout = 0.0f;  // of the inputs, as LSTMOptions::dropout
  bool stateful = false;
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;
  // false: the reset gate applied to h_{t-1} before the recurrent product, one bias (Keras's
  // reset_after = false; PyTorch has no such GRU)
  bool reset_after = true;
};
RecurrentLayerConfig<2> GRU(int units, GRUOptions options = {});

struct SimpleRNNOptions {
  Activation activation = Activation::tanh;  // tanh or relu
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  float dropout = 0.0f;  // of the inputs, as LSTMOptions::dropout
  bool stateful = false;
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;
};
RecurrentLayerConfig<2> SimpleRNN(int units, SimpleRNNOptions options = {});

struct DenseOptions {
  Activation activation = Activation::linear;
  std::vector<int64_t> input_shape;
  bool use_bias = true;  // false: y = act(x·Wᵀ), no bias tensor
};
LayerConfig Dense(int units, DenseOptions options = {});
// Dense applied to every step of a sequence (Keras's TimeDistributed(Dense)); a Dense on a
// sequence does the same.
// TimeDistributed also wraps the per-frame image layers of lstm/layers/conv.h: Conv2D,
// MaxPooling2D and GlobalAveragePooling2D (on clips they run per frame either way) and Flatten
// (TimeDistributed(Flatten()) flattens each frame, Flatten() the whole clip).
LayerConfig TimeDistributed(const LayerConfig& layer);

// Both directions of a recurrent layer: one reads each sequence forward, the other from its
// last valid step back (each with weights of its own), outputs joined by merge_mode. With
// return_sequences the backward output at step t is the one for step t (as PyTorch and Keras
// return it); without, each direction's final state. merge_mode none keeps both as two outputs:
// the layer must be the model's last, predict() returns [2, N, ...] (forward, backward), fit()
// takes y of that shape and adds the two outputs' losses (Keras). In a graph the call returns
// both (then the states with return_state):  auto outs = Bidirectional(LSTM(8), {.merge_mode =
// MergeMode::none}).call({x});  outs[0] forward, outs[1] backward.
struct BidirectionalOptions {
  MergeMode merge_mode = MergeMode::concat;
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;
};
LayerConfig Bidirectional(const LayerConfig& layer, BidirectionalOptions options = {});
RecurrentLayerConfig<5> Bidirectional(const RecurrentLayerConfig<3>& lstm,
                                      BidirectionalOptions options = {});
RecurrentLayerConfig<3> Bidirectional(const RecurrentLayerConfig<2>& gru_or_rnn,
                                      BidirectionalOptions options = {});

// Token ids [N, T] (integers 0..input_dim-1, stored as floats) -> vectors [N, T, output_dim].
// With mask_zero, id 0 is padding: sequences are right-padded with 0 and their lengths follow.
// Initialised U(-0.05, 0.05) (Keras).
struct EmbeddingOptions {
  bool mask_zero = false;
  std::vector<int64_t> input_shape;  // {T}
  int64_t batch_size = 0;
};
LayerConfig Embedding(int64_t input_dim, int output_dim, EmbeddingOptions options = {});

// Zeroes a fraction `rate` of its inputs during fit() and scales the rest by 1/(1 - rate);
// passes everything through unchanged in predict/evaluate (Keras's inverted dropout).
LayerConfig Dropout(float rate);

// The first layer of a model whose right-padded steps hold mask_value in every feature: they
// become the padding (lengths), as Keras's Masking; values pass through, padded steps as zero.
struct MaskingOptions {
  std::vector<int64_t> input_shape;
  int64_t batch_size = 0;
};
LayerConfig Masking(float mask_value = 0.0f, MaskingOptions options = {});

// The arithmetic of inference (predict, evaluate, step; training always runs in fp32):
//   fp32  float everywhere (the default)
//   bf16  the seed's LSTM cell with W_ih and W_hh rounded to bfloat16 (8 bits of mantissa) and
//         x, h rounded for the products, sums, gates and c in float: about 1.7-3.5x faster
//         where the weights' bytes decide (batch 1, streaming, H >= 128), outputs within about
//         1e-2 of fp32 (docs/performance.md). Other layers run in fp32.
//   int8  the same cell with W_ih and W_hh as int8 with a scale per row, x and h quantised to
//         8 bits per row of a batch when they are used (AVX512_VNNI where the CPU has it), sums
//         exact in int32, gates and c in float: a quarter of the weights' bytes, for the rows
//         where those decide; outputs within about 1e-2 of fp32 (docs/performance.md).
enum class Precision { fp32, bf16, int8 };
Precision precision_from_string(const std::string& name);  // "fp32" | "bf16" | "int8", else Error
const char* precision_name(Precision p);

}  // namespace lstm

// Layer types of rooms of their own (src/graph/registry.def), one header each:
#include "lstm/layers/attention.h"
#include "lstm/layers/conv.h"
#include "lstm/layers/layer_normalization.h"
#include "lstm/layers/merge.h"
#include "lstm/layers/repeat_vector.h"
#include "lstm/layers/spec_augment.h"
