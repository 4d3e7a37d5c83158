// The model as safetensors contents, shared by Sequential::save/load and checkpoints.
#pragma once

#include <string>

#include "io/safetensors.h"
#include "lstm/model.h"

namespace lstm {

// Weights as tensors layers.{i}.{name}, the config and the model's metadata.
SafetensorsFile model_to_safetensors(const Sequential& model);
// Builds the model the file's config describes and loads its weights, checking every name and
// shape. `path` is for messages.
Sequential model_from_safetensors(const SafetensorsFile& file, const std::string& path);

}  // namespace lstm
