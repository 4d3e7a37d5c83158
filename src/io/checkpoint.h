// Training checkpoints: a model file (docs/file-format.md) plus what resuming needs, so that a
// run killed at any moment and resumed ends with the weights of an uninterrupted run.
//   tensors   optimizer.m, optimizer.v            the optimizer's moment buffers
//             callbacks.{k}.weights               e.g. EarlyStopping's best weights
//             states.{k}.h, states.{k}.c          a stateful model's carried states, per
//                                                 recurrent direction k
//   metadata  lstm.train_state                    JSON: epochs done, random state, optimizer
//                                                 step and learning rate, history, callback
//                                                 states
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "lstm/model.h"
#include "optim/optimizer.h"

namespace lstm {

struct TrainingState {
  int epochs_done = 0;
  bool stopped = false;  // a callback ended training early
  uint64_t rng_state = 0;
  OptimizerState optimizer;
  std::map<std::string, std::vector<double>> history;
  std::vector<std::string> callback_states;
  std::vector<std::vector<float>> callback_weights;
  // the learning rate in force (ReduceLROnPlateau may have lowered it) and the one compile()
  // gave: a resumed fit compiled with that same rate goes on with the one in force, one
  // compiled with another rate (to go on more gently, say) with its own. 0: not kept (older
  // checkpoints).
  float learning_rate = 0.0f, compiled_learning_rate = 0.0f;
  // stateful layers: each recurrent direction's carried h and c (empty: none)
  std::vector<std::vector<float>> carried_h, carried_c;
};

// Whether a tensor of a file is part of a checkpoint's training state (optimizer.*,
// callbacks.*, states.*), which loading it as a model does not read.
bool is_training_state_tensor(const std::string& name);

// Writes `model_file` (a model as its save() writes it) with the training state added.
void write_checkpoint(const std::string& path, SafetensorsFile model_file, const TrainingState& state);
// The training state of a parsed checkpoint of a model with P parameters and `directions`
// recurrent directions (for stateful layers); `path` names it in messages. Throws lstm::Error
// for a plain model file or anything malformed, before anything is changed.
TrainingState read_training_state(const SafetensorsFile& file, const std::string& path, size_t P,
                                  size_t directions);
// Throws unless the file holds a training state (a plain model file names the fix).
void require_training_state(const SafetensorsFile& file, const std::string& path);

// A Sequential model's checkpoint: checks that the file is of `model`'s architecture, loads
// its weights into `model` and returns the state (the fuzzers' entry).
TrainingState read_checkpoint(const SafetensorsFile& file, const std::string& path, Sequential& model);

}  // namespace lstm
