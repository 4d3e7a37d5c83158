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
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "core/json.h"
#include "core/limits.h"
#include "lstm/error.h"
#include "lstm/model.h"
#include "model/model_impl.h"

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
    throw Error(where + ": \"" + key + "\" must be an integer, got " + json_brief(v));
  return v.get<int64_t>();
}

// A float as the shortest decimal that reads back as the same float: 0.1, not 0.100000001.
static double json_float(float v) {
  char buf[32] = "0";
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

json layer_to_json(const LayerConfig& c) {
  json l = {{"type", layer_type_name(c.type)}};
  switch (c.type) {
    case LayerType::lstm:
    case LayerType::gru:
    case LayerType::simple_rnn:
      l["units"] = c.units;
      l["return_sequences"] = c.return_sequences;
      if (c.go_backwards) l["go_backwards"] = true;
      if (c.type == LayerType::simple_rnn) l["activation"] = activation_name(c.activation);
      if (c.dropout > 0.0f) l["dropout"] = json_float(c.dropout);
      if (c.stateful) l["stateful"] = true;
      if (c.type != LayerType::lstm) break;
      // the LSTM's options, written when they differ from the seed's cell (older readers
      // then still read every model that does not use them)
      if (c.activation != Activation::tanh) l["activation"] = activation_name(c.activation);
      if (c.recurrent_activation != Activation::sigmoid)
        l["recurrent_activation"] = activation_name(c.recurrent_activation);
      if (!c.use_bias) l["use_bias"] = false;
      if (c.recurrent_dropout > 0.0f) l["recurrent_dropout"] = json_float(c.recurrent_dropout);
      if (c.proj_size > 0) l["proj_size"] = c.proj_size;
      if (c.use_peepholes) l["use_peepholes"] = true;
      break;
    case LayerType::dense:
      l["units"] = c.units;
      l["activation"] = activation_name(c.activation);
      if (c.time_distributed) {
        LayerConfig inner = c;
        inner.time_distributed = false;
        return {{"type", "time_distributed"}, {"layer", layer_to_json(inner)}};
      }
      break;
    case LayerType::bidirectional:
      l["merge_mode"] = merge_mode_name(c.merge_mode);
      l["layer"] = layer_to_json(c.wrapped.at(0));
      break;
    case LayerType::embedding:
      l["input_dim"] = c.input_dim;
      l["output_dim"] = c.units;
      l["mask_zero"] = c.mask_zero;
      break;
    case LayerType::dropout: l["rate"] = json_float(c.rate); break;
    case LayerType::masking: l["mask_value"] = json_float(c.mask_value); break;
  }
  return l;
}

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
  for (const LayerConfig& c : layers()) list.push_back(layer_to_json(c));
  root["layers"] = list;
  return root.dump();
}

static bool get_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return obj[key].get<bool>();
}

static double get_number(const json& obj, const char* key, double fallback,
                         const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number()) throw Error(where + ": \"" + key + "\" must be a number");
  return obj[key].get<double>();
}

static Activation get_activation(const json& obj, const char* key, Activation fallback,
                                 const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
  try {
    return activation_from_name(obj[key].get<std::string>());
  } catch (const Error& e) {
    throw Error(where + ": \"" + key + "\": " + e.what());
  }
}

static int get_units(const json& obj, const char* key, const std::string& where) {
  const int64_t units = get_int(obj, key, where);
  if (units <= 0 || units > limits::kWidth)
    throw Error(where + ": \"" + key + "\" must be an integer in 1.." +
                std::to_string(limits::kWidth) + ", got " + std::to_string(units));
  return int(units);
}

LayerConfig layer_from_json(const json& l, const std::string& where) {
  if (!l.is_object()) throw Error(where + " must be an object, got " + json_brief(l));
  static const char* kTypes =
      "\"lstm\", \"gru\", \"simple_rnn\", \"dense\", \"time_distributed\", \"bidirectional\", "
      "\"embedding\", \"dropout\" or \"masking\"";
  if (!l.contains("type") || !l["type"].is_string())
    throw Error(where + ": missing \"type\" (" + kTypes + ")");
  const std::string type = l["type"].get<std::string>();
  if (type == "lstm" || type == "gru" || type == "simple_rnn") {
    std::set<std::string> keys = {"type",    "units",   "return_sequences", "go_backwards",
                                  "dropout", "stateful"};
    if (type != "gru") keys.insert("activation");
    if (type == "lstm")
      keys.insert({"recurrent_activation", "use_bias", "recurrent_dropout", "proj_size", "use_peepholes"});
    check_keys(l, keys, where);
    const int units = get_units(l, "units", where);
    const bool seq = get_bool(l, "return_sequences", false, where);
    const bool back = get_bool(l, "go_backwards", false, where);
    const float dropout = float(get_number(l, "dropout", 0.0, where));
    const bool stateful = get_bool(l, "stateful", false, where);
    if (type == "gru")
      return GRU(units, {.return_sequences = seq, .go_backwards = back, .dropout = dropout,
                         .stateful = stateful});
    if (type == "simple_rnn")
      return SimpleRNN(units, {.activation = get_activation(l, "activation", Activation::tanh, where),
                               .return_sequences = seq, .go_backwards = back, .dropout = dropout,
                               .stateful = stateful});
    int64_t proj = 0;
    if (l.contains("proj_size")) proj = get_int(l, "proj_size", where);
    if (proj < 0 || proj >= units)
      throw Error(where + ": \"proj_size\" must be in 1.." + std::to_string(units - 1) +
                  " (smaller than units), or 0 for no projection, got " + std::to_string(proj));
    return LSTM(units, {.return_sequences = seq, .go_backwards = back,
                        .activation = get_activation(l, "activation", Activation::tanh, where),
                        .recurrent_activation =
                            get_activation(l, "recurrent_activation", Activation::sigmoid, where),
                        .use_bias = get_bool(l, "use_bias", true, where),
                        .dropout = dropout,
                        .recurrent_dropout = float(get_number(l, "recurrent_dropout", 0.0, where)),
                        .proj_size = int(proj),
                        .use_peepholes = get_bool(l, "use_peepholes", false, where),
                        .stateful = stateful});
  }
  if (type == "dense") {
    check_keys(l, {"type", "units", "activation"}, where);
    return Dense(get_units(l, "units", where),
                 {.activation = get_activation(l, "activation", Activation::linear, where)});
  }
  if (type == "time_distributed" || type == "bidirectional") {
    check_keys(l, type == "bidirectional" ? std::set<std::string>{"type", "layer", "merge_mode"}
                                          : std::set<std::string>{"type", "layer"}, where);
    if (!l.contains("layer")) throw Error(where + ": missing \"layer\", the layer it wraps");
    const LayerConfig inner = layer_from_json(l["layer"], where + ".layer");
    try {
      if (type == "time_distributed") return TimeDistributed(inner);
      MergeMode mode = MergeMode::concat;
      if (l.contains("merge_mode") && l["merge_mode"].is_null()) {
        mode = MergeMode::none;  // as Keras writes it
      } else if (l.contains("merge_mode")) {
        if (!l["merge_mode"].is_string()) throw Error("\"merge_mode\" must be a string");
        mode = merge_mode_from_name(l["merge_mode"].get<std::string>());
      }
      return Bidirectional(inner, {.merge_mode = mode});
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  if (type == "embedding") {
    check_keys(l, {"type", "input_dim", "output_dim", "mask_zero"}, where);
    return Embedding(get_int(l, "input_dim", where), get_units(l, "output_dim", where),
                     {.mask_zero = get_bool(l, "mask_zero", false, where)});
  }
  if (type == "dropout") {
    check_keys(l, {"type", "rate"}, where);
    if (!l.contains("rate")) throw Error(where + ": missing key \"rate\"");
    return Dropout(float(get_number(l, "rate", 0.0, where)));
  }
  if (type == "masking") {
    check_keys(l, {"type", "mask_value"}, where);
    return Masking(float(get_number(l, "mask_value", 0.0, where)));
  }
  throw Error(where + ": unknown layer type \"" + type + "\" (use " + kTypes + ")");
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
    LayerConfig c = layer_from_json(root["layers"][i], "model config: layers[" + std::to_string(i) + "]");
    if (i == 0) c.input_shape = shape;
    if (i == 0 && root.contains("batch_size")) {
      c.batch_size = get_int(root, "batch_size", "model config");
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
