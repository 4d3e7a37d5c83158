// What every layer's code shares: its named parameter tensors (views into the model's one
// parameter buffer) and the batch a pass runs over. A layer itself is an Op (layers/op.h),
// made by its room (graph/graph.h).
//
// Dimensions: T = time steps, B = batch, In/Out = features in/out of this layer.
// Activations are time-major: a sequence is (T, B, F), a vector per sample is (B, F).
// Variable lengths: the model sorts a batch's rows by length, longest first, so the rows still
// running at step t are a prefix, the first active[t]; recurrent layers step only those.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "lstm/layers.h"

namespace lstm {

// One named parameter tensor of a layer, e.g. {"weight_ih", {4H, I}, offset}.
struct ParamTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset;  // in floats, from the layer's first parameter
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// What one forward/backward pass is about: its shape, the sequences' lengths, and whether it
// trains (dropout draws masks from rng then).
struct Batch {
  int64_t T = 1, B = 1;
  const int64_t* lengths = nullptr;  // (B) valid steps per row, 0..T, non-increasing; null: all T
  const int64_t* active = nullptr;   // (T) rows with length > t; null: all B
  bool training = false;
  Rng* rng = nullptr;  // training only
  int64_t length(int64_t b) const { return lengths ? lengths[b] : T; }
  int64_t rows_at(int64_t t) const { return active ? active[t] : B; }
};

}  // namespace lstm
