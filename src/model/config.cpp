// The architecture as JSON: the schema of `lstm train --config` and of the model file's
// `lstm.config` metadata (docs/file-format.md).
//
//   {"input_shape": [30, 1],
//    "layers": [{"type": "lstm", "units": 50, "return_sequences": false},
//               {"type": "dense", "units": 1, "activation": "linear"}]}
//
// input_shape is [T, F] (T null or 0: any length) or [F]. Unknown keys are errors, so a typo
// never silently falls back to a default.
#include <nlohmann/json.hpp>
#include <set>

#include "lstm/error.h"
#include "lstm/model.h"

namespace lstm {

using json = nlohmann::json;

static void check_keys(const json& obj, const std::set<std::string>& allowed,
                       const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string list;
      for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
      throw Error(where + ": unknown key \"" + it.key() + "\" (allowed keys: " + list + ")");
    }
  }
}

static int64_t get_int(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key)) throw Error(where + ": missing key \"" + key + "\"");
  const json& v = obj[key];
  if (!v.is_number_integer())
    throw Error(where + ": \"" + key + "\" must be an integer, got " + v.dump());
  return v.get<int64_t>();
}

std::string Sequential::to_json() const {
  json root = json::object();
  std::vector<int64_t> shape = input_shape();
  if (shape.empty() && !layers().empty()) shape = layers()[0].input_shape;
  if (!shape.empty()) {
    json s = json::array();
    for (size_t a = 0; a < shape.size(); ++a) {
      if (shape.size() == 2 && a == 0 && shape[0] <= 0) s.push_back(nullptr);
      else s.push_back(shape[a]);
    }
    root["input_shape"] = s;
  }
  json list = json::array();
  for (const LayerConfig& c : layers()) {
    json l = {{"type", layer_type_name(c.type)}, {"units", c.units}};
    if (c.type == LayerType::lstm) l["return_sequences"] = c.return_sequences;
    if (c.type == LayerType::dense) l["activation"] = activation_name(c.activation);
    list.push_back(l);
  }
  root["layers"] = list;
  return root.dump();
}

static LayerConfig layer_from_json(const json& l, size_t index) {
  const std::string where = "model config: layers[" + std::to_string(index) + "]";
  if (!l.is_object()) throw Error(where + " must be an object, got " + l.dump());
  if (!l.contains("type") || !l["type"].is_string())
    throw Error(where + ": missing \"type\" (\"lstm\" or \"dense\")");
  const std::string type = l["type"].get<std::string>();
  const int64_t units = get_int(l, "units", where);
  if (units <= 0 || units > (1 << 24))
    throw Error(where + ": \"units\" must be a positive integer, got " + std::to_string(units));
  if (type == "lstm") {
    check_keys(l, {"type", "units", "return_sequences"}, where);
    bool seq = false;
    if (l.contains("return_sequences")) {
      if (!l["return_sequences"].is_boolean())
        throw Error(where + ": \"return_sequences\" must be true or false");
      seq = l["return_sequences"].get<bool>();
    }
    return LSTM(int(units), {.return_sequences = seq});
  }
  if (type == "dense") {
    check_keys(l, {"type", "units", "activation"}, where);
    Activation act = Activation::linear;
    if (l.contains("activation")) {
      if (!l["activation"].is_string()) throw Error(where + ": \"activation\" must be a string");
      try {
        act = activation_from_name(l["activation"].get<std::string>());
      } catch (const Error& e) {
        throw Error(where + ": " + e.what());
      }
    }
    return Dense(int(units), {.activation = act});
  }
  throw Error(where + ": unknown layer type \"" + type + "\" (use \"lstm\" or \"dense\")");
}

Sequential Sequential::from_json(const std::string& text, SequentialOptions options) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(std::string("model config is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw Error("model config must be a JSON object with \"layers\"");
  check_keys(root, {"input_shape", "layers"}, "model config");
  if (!root.contains("layers") || !root["layers"].is_array() || root["layers"].empty())
    throw Error("model config: \"layers\" must be a non-empty array of layer objects");
  std::vector<int64_t> shape;
  if (root.contains("input_shape")) {
    const json& s = root["input_shape"];
    if (!s.is_array() || s.empty() || s.size() > 2)
      throw Error("model config: \"input_shape\" must be [timesteps, features] or [features], "
                  "got " + s.dump());
    for (size_t a = 0; a < s.size(); ++a) {
      if (s[a].is_null() && s.size() == 2 && a == 0) shape.push_back(0);
      else if (s[a].is_number_integer()) shape.push_back(s[a].get<int64_t>());
      else
        throw Error("model config: \"input_shape\" entries must be integers (null for any "
                    "number of time steps), got " + s.dump());
    }
  }
  Sequential model(options);
  for (size_t i = 0; i < root["layers"].size(); ++i) {
    LayerConfig c = layer_from_json(root["layers"][i], i);
    if (i == 0) c.input_shape = shape;
    model.add(c);
  }
  return model;
}

}  // namespace lstm
