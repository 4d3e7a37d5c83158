// Time order and the joining of directions, shared by the recurrent layers of a Sequential
// model (recurrent.cpp) and of a graph (graph/rooms/recurrent_room.cpp).
//
// Dimensions: T = time steps, B = batch, F = features, H = one direction's width, L_b = the
// length of row b (T without lengths). Time-major (T, B, F).
#pragma once

#include <cstdint>

#include "layers/layer.h"

namespace lstm {

// dst[s, b] = src[L_b - 1 - s, b] for s < L_b, zero after (its own inverse). src, dst distinct.
void reverse_steps(const float* src, float* dst, int64_t F, const Batch& batch);
// y (B, H) = hs (T, B, H) at each row's last valid step.
void gather_last(const float* hs, float* y, int64_t H, const Batch& batch);
// dh_seq (T, B, H) = zero except dy (B, H) at each row's last valid step.
void scatter_last(const float* dy, float* dh_seq, int64_t H, const Batch& batch);

// Whether the merge keeps both directions side by side: concat, and none (two outputs, laid
// out as concat inside the model).
inline bool both(MergeMode m) { return m == MergeMode::concat || m == MergeMode::none; }
// y (R, 2H or H) from the two directions' outputs f, b (R, H), and its derivative: df, db (R, H)
// from dy (f, b: the forward's inputs, which mul needs).
void merge_directions(MergeMode mode, const float* f, const float* b, float* y, int64_t R,
                      int64_t H);
void merge_directions_backward(MergeMode mode, const float* dy, const float* f, const float* b,
                               float* df, float* db, int64_t R, int64_t H);

}  // namespace lstm
