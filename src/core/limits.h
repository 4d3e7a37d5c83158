// The stated limits on every size that comes from outside (a model file, a config, a
// checkpoint, an array, a CSV, the command line). Each loader checks its sizes against these
// and against the bytes actually present before it allocates anything, so that a small
// hostile file can neither crash the program nor make it eat the machine. docs/robustness.md
// lists them beside the bad-input matrix.
#pragma once

#include <cstdint>

namespace lstm::limits {

// JSON (model configs, the metadata of model files and checkpoints): nesting deeper than this
// is refused while parsing. The deepest legitimate config, Bidirectional(LSTM) inside a
// layer list, nests 5 levels.
constexpr int kJsonDepth = 64;
// Layers in one model.
constexpr int64_t kLayers = 4096;
// Units, features, embedding width and vocabulary: each at most 2^24, so that every
// parameter count below is a product that fits in 64 bits.
constexpr int64_t kWidth = int64_t(1) << 24;
// Time steps of a fixed input_shape.
constexpr int64_t kTimeSteps = int64_t(1) << 31;
// Parameters of one model: 2^31 floats (8 GiB), checked before the buffer is allocated.
constexpr int64_t kParams = int64_t(1) << 31;
// Epochs of one fit (--epochs) and epochs done in a checkpoint.
constexpr int64_t kEpochs = (int64_t(1) << 31) - 1;
// The batch and the steps a memory plan is asked about (Trainable::memory_plan, lstm summary
// --batch/--steps).
constexpr int64_t kPlanShape = int64_t(1) << 16;
// The working memory of one plan, in floats (256 TiB): a shape that needs more is refused.
constexpr int64_t kPlanFloats = int64_t(1) << 46;
// A safetensors header (the format's own limit is 100 MB).
constexpr uint64_t kSafetensorsHeader = uint64_t(100) << 20;
// Bytes read from something that is not a regular file (a pipe, a device), which has no
// length to check against.
constexpr uint64_t kStreamBytes = uint64_t(1) << 30;

// Samples of one recording (read_audio, read_raw_audio): 2^28, 4.6 hours at 16 kHz, 1 GiB
// of floats.
constexpr int64_t kAudioSamples = int64_t(1) << 28;

}  // namespace lstm::limits
