// The architecture as JSON: the schema of `lstm train --config` and of the model file's
// `lstm.config` metadata (docs/file-format.md).
//
//   {"input_shape": [30, 1],
//    "layers": [{"type": "lstm", "units": 50, "return_sequences": false},
//               {"type": "dense", "units": 1, "activation": "linear"}]}
//
// input_shape is [T, F] (T null or 0: any length), [F], or [T] for token ids (an Embedding
// first). Every layer type and key: docs/file-format.md. Unknown keys are errors, so a typo
// never silently falls back to a default.
#include <nlohmann/json.hpp>
#include <set>

#include "core/json.h"
#include "core/limits.h"
#include "graph/graph.h"
#include "layers/config_json.h"
#include "lstm/error.h"
#include "lstm/model.h"
#include "model/model_impl.h"

namespace lstm {

using json = nlohmann::json;

std::string Sequential::to_json() const {
  json root = json::object();
  std::vector<int64_t> shape = input_shape();
  if (shape.empty() && !layers().empty()) shape = layers()[0].input_shape;
  const bool tokens = !layers().empty() && layers()[0].type == LayerType::embedding;
  if (!shape.empty()) {
    json s = json::array();
    for (size_t a = 0; a < shape.size(); ++a) {
      if ((shape.size() == 2 || tokens) && a == 0 && shape[0] <= 0) s.push_back(nullptr);
      else s.push_back(shape[a]);
    }
    root["input_shape"] = s;
  }
  if (!layers().empty() && layers()[0].batch_size > 0) root["batch_size"] = layers()[0].batch_size;
  json list = json::array();
  for (const LayerConfig& c : layers()) list.push_back(layer_config_to_file(c));
  root["layers"] = list;
  return root.dump();
}

std::vector<LayerConfig> layer_configs_from_json(const std::string& text) {
  const json root = parse_json(text, "model config");
  if (!root.is_object()) throw Error("model config must be a JSON object with \"layers\"");
  check_keys(root, {"input_shape", "batch_size", "layers"}, "model config");
  if (!root.contains("layers") || !root["layers"].is_array() || root["layers"].empty())
    throw Error("model config: \"layers\" must be a non-empty array of layer objects");
  if (int64_t(root["layers"].size()) > limits::kLayers)
    throw Error("model config: " + std::to_string(root["layers"].size()) + " layers, more than " +
                "the limit of " + std::to_string(limits::kLayers));
  std::vector<int64_t> shape;
  if (root.contains("input_shape")) {
    const json& s = root["input_shape"];
    if (!s.is_array() || s.empty() || s.size() > 2)
      throw Error("model config: \"input_shape\" must be [timesteps, features] or [features], "
                  "got " + json_brief(s));
    const json& first = root["layers"][0];
    const bool tokens = first.is_object() && first.contains("type") && first["type"] == "embedding";
    for (size_t a = 0; a < s.size(); ++a) {
      // [T, F], or [T] of token ids: T may be null or 0 (any length)
      const bool steps = a == 0 && (s.size() == 2 || tokens);
      const int64_t lo = steps ? 0 : 1, hi = steps ? limits::kTimeSteps : limits::kWidth;
      if (s[a].is_null() && a == 0) {
        shape.push_back(0);
        continue;
      }
      if (!s[a].is_number_integer() || s[a].get<int64_t>() < lo || s[a].get<int64_t>() > hi)
        throw Error("model config: \"input_shape\" is " + json_brief(s) + ", but " +
                    (tokens ? "a model of token ids takes [timesteps] with timesteps in 0.." +
                                  std::to_string(limits::kTimeSteps) + " or null (any length)"
                     : s.size() == 2 ? "it is [timesteps, features] with timesteps in 0.." +
                                           std::to_string(limits::kTimeSteps) +
                                           " or null (any length) and features in 1.." +
                                           std::to_string(limits::kWidth)
                                     : "it is [features] with features in 1.." +
                                           std::to_string(limits::kWidth)));
      shape.push_back(s[a].get<int64_t>());
    }
  }
  std::vector<LayerConfig> configs;
  for (size_t i = 0; i < root["layers"].size(); ++i) {
    LayerConfig c = layer_config_from_file(root["layers"][i], "model config: layers[" + std::to_string(i) + "]");
    if (i == 0) c.input_shape = shape;
    if (i == 0 && root.contains("batch_size")) {
      c.batch_size = json_int(root, "batch_size", "model config");
      if (c.batch_size <= 0 || c.batch_size > limits::kTimeSteps)
        throw Error("model config: \"batch_size\" must be an integer in 1.." +
                    std::to_string(limits::kTimeSteps) + ", got " + std::to_string(c.batch_size));
    }
    configs.push_back(std::move(c));
  }
  return configs;
}

Sequential Sequential::from_json(const std::string& text, SequentialOptions options) {
  Sequential model(options);
  add_layers(model, layer_configs_from_json(text));
  return model;
}

}  // namespace lstm
