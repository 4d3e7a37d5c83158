// lstm/layers/spec_augment.h - SpecAugment's masking (Park et al. 2019, "SpecAugment: A Simple
// Data Augmentation Method for Automatic Speech Recognition"; torchaudio's FrequencyMasking and
// TimeMasking): in training, each sequence gets bands of features and spans of steps set to 0,
// drawn afresh every batch; otherwise the layer passes its input through unchanged. Put it first,
// on normalised features (0 is then the mean), so that the network learns not to lean on any one
// band or moment of the sound.
//
//   model.add(lstm::SpecAugment({.frequency_masks = 2, .frequency_width = 8,
//                                .time_masks = 2, .time_width = 10, .period = 40,
//                                .input_shape = {0, 80}}));   // 2 stacked frames of 40 bands
//
// Per sequence: frequency_masks times, a width w uniform in 0..min(frequency_width, period) and
// a start f uniform in 0..period - w; features i with f <= i mod period < f + w are masked (period: the
// features repeat every `period` values, as stacked frames do; 0 means F). time_masks times, a
// width w uniform in 0..min(time_width, its length) and a start t uniform over its valid steps
// (0..length - w); steps t..t + w - 1 are masked. Backward: dx = dy where kept, 0 where masked.
// Streaming (Model::step) passes through. The masks come from the model's generator (its seed).
#pragma once

#include <cstdint>
#include <vector>

#include "lstm/layers.h"

namespace lstm {

struct SpecAugmentOptions {
  int frequency_masks = 2;  // bands per sequence, 0..64
  int frequency_width = 8;  // each band's width at most (beyond the period: the period)
  int time_masks = 2;       // spans per sequence, 0..64
  int time_width = 10;      // each span's steps at most, >= 0
  int period = 0;           // the features' period (stacked frames: the bands per frame); 0: F
  std::vector<int64_t> input_shape;  // {T, F} when the layer is a Sequential's first
};
LayerConfig SpecAugment(SpecAugmentOptions options = {});

}  // namespace lstm
