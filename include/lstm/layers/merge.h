// lstm/layers/merge.h - layers that join several tensors of one shape into one (Keras's merging
// layers), for graphs (lstm/functional.h):
//
//   auto both = lstm::Concatenate()({dec_seq, context});   // [N, T, 128] + [N, T, 64] -> [N, T, 192]
//   auto sum = lstm::Add()({a, b});                       // elementwise, same shapes
//
// The inputs are all sequences with the same time axis, or all vectors. Concatenate joins them
// along the last axis; Add, Multiply and Average combine them elementwise (same shapes). A
// masked input's mask passes on (inputs with masks must share one).
#pragma once

#include "lstm/layers.h"

namespace lstm {

LayerConfig Concatenate();  // y = [x_1, x_2, ...] along the features
LayerConfig Add();          // y = Σ_k x_k
LayerConfig Multiply();     // y = Π_k x_k
LayerConfig Average();      // y = (1/K) Σ_k x_k

}  // namespace lstm
