// lstm/layers/repeat_vector.h - one vector per sample repeated n times into a sequence (Keras's
// RepeatVector), for graphs: the classic encoder-decoder feeds an encoder's last state to every
// step of its decoder.
//
//   auto h = lstm::LSTM(64)(x);                         // [N, 64]
//   auto steps = lstm::RepeatVector(10)(h);              // [N, 10, 64]
//   auto y = lstm::LSTM(64, {.return_sequences = true})(steps);
#pragma once

#include <cstdint>

#include "lstm/layers.h"

namespace lstm {

LayerConfig RepeatVector(int64_t n);  // y[t] = x for t = 0..n-1

}  // namespace lstm
