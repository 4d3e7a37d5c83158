// The recurrent layers as one op (layers/op.h) for Sequential models and graphs alike: one
// direction (LSTM, GRU, SimpleRNN, with go_backwards) or both (Bidirectional), over
// right-padded batches, with initial states as inputs after x (h, then c for an LSTM, per
// direction) and, with return_state, final states as outputs after the output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "layers/op.h"
#include "lstm/layers.h"

namespace lstm {

// The width of h_t: the units, or an LSTM's proj_size.
inline int64_t recurrent_width(const LayerConfig& c) { return c.proj_size > 0 ? c.proj_size : c.units; }

// Whether Bidirectional's merge keeps both directions side by side: concat, and none (two
// outputs, laid out as concat inside the model).
inline bool both(MergeMode m) { return m == MergeMode::concat || m == MergeMode::none; }

// merge_mode none's two layouts: the pairs (rows, 2W), each row's forward and backward halves
// side by side as the op computes them, and the two halves apart, (rows, W) each (Keras's list
// of two outputs; Sequential's [2, N, ...]). join_halves: a null half reads as zeros.
void join_halves(const float* forward, const float* backward, int64_t rows, int64_t W, float* pairs);
void split_halves(const float* pairs, int64_t rows, int64_t W, float* forward, float* backward);

// The options of a recurrent layer (lstm/layers.h, LSTMOptions): only those its type has, each
// in range. Throws lstm::Error starting with `where`. (The recurrent room and LSTMCell check
// with it.)
void check_recurrent_options(const LayerConfig& config, const std::string& where);

// The op for config (lstm, gru, simple_rnn or bidirectional) on inputs of in_features;
// initial_states: the call passes initial states after x. Checks are the recurrent room's.
std::unique_ptr<Op> make_recurrent_op(const LayerConfig& config, int64_t in_features,
                                      bool initial_states);

}  // namespace lstm
