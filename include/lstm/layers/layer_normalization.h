// lstm/layers/layer_normalization.h - normalisation over the features of each step or vector
// (Keras's LayerNormalization on the last axis), for graphs:
//
//   auto y = lstm::LayerNormalization()(lstm::Add()({x, attention}));   // residual, normalised
//
// Per row x (F values):  μ = mean(x),  σ² = mean((x - μ)²),
//   y = γ ⊙ (x - μ) / sqrt(σ² + ε) + β,   γ ("gamma", ones) and β ("beta", zeros) learned (F)
// The mask passes on.
#pragma once

#include "lstm/layers.h"

namespace lstm {

struct LayerNormalizationOptions {
  float epsilon = 1e-3f;  // Keras's default
};
LayerConfig LayerNormalization(LayerNormalizationOptions options = {});

}  // namespace lstm
