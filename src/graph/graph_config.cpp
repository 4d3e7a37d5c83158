// Model::from_json / Model::to_json: a graph as a config a person writes (the schema of
// `lstm train --config` for graphs, docs/file-format.md), where tensors are named, not
// numbered:
//   {"name": "tagger",
//    "inputs": [{"name": "words", "shape": [null]}],
//    "layers": [{"name": "embed", "type": "embedding", "input_dim": 100, "output_dim": 16,
//                "mask_zero": true, "inputs": ["words"]},
//               {"name": "lstm", "type": "lstm", "units": 32, "return_sequences": true,
//                "return_state": true, "inputs": ["embed"]},
//               {"name": "tags", "type": "dense", "units": 5, "activation": "softmax",
//                "inputs": ["lstm"]},
//               {"name": "kind", "type": "dense", "units": 1, "activation": "sigmoid",
//                "inputs": ["lstm:1"]}],
//    "outputs": ["tags", "kind"]}
// A reference is an input's name, a layer's name (its first output) or "<name>:<k>" (its k-th:
// a recurrent layer's states). An entry {"name": N, "call": L, "inputs": [...]} calls layer L
// once more, sharing its weights; its outputs are N, N:1, ... It is turned into the file's
// numbered graph (graph_to_json) and built by the same code that loads files.
#include <map>

#include "core/json.h"
#include "core/limits.h"
#include "graph/graph_model.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;

static std::string ref_string(const json& r, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& call_names) {
  if (r.contains("input")) return inputs.at(r["input"].get<size_t>());
  const int k = r["output"].get<int>();
  return call_names.at(r["call"].get<size_t>()) + (k ? ":" + std::to_string(k) : "");
}

std::string Model::to_json() const {
  const json g = graph_to_json(*this);
  json out = {{"name", g["name"]}, {"inputs", json::array()}, {"layers", json::array()}, {"outputs", json::array()}};
  std::vector<std::string> inputs, call_names;
  for (const json& in : g["inputs"]) {
    json e = in;
    if (e.contains("batch_size") && e["batch_size"] == 0) e.erase("batch_size");
    for (json& d : e["shape"])
      if (d.get<int64_t>() == 0) d = nullptr;  // any length
    out["inputs"].push_back(e);
    inputs.push_back(in["name"].get<std::string>());
  }
  std::vector<int> calls_of(g["layers"].size(), 0);
  for (const json& c : g["calls"]) {
    const size_t l = c["layer"].get<size_t>();
    const std::string layer = g["layers"][l]["name"].get<std::string>();
    json e;
    if (calls_of[l]++ == 0) {
      e = g["layers"][l]["config"];
      e["name"] = layer;
    } else {
      e = {{"name", layer + "@" + std::to_string(calls_of[l])}, {"call", layer}};
    }
    e["inputs"] = json::array();
    for (const json& r : c["inputs"]) e["inputs"].push_back(ref_string(r, inputs, call_names));
    if (c.contains("initial_state")) {
      e["initial_state"] = json::array();
      for (const json& r : c["initial_state"]) e["initial_state"].push_back(ref_string(r, inputs, call_names));
    }
    call_names.push_back(e["name"].get<std::string>());
    out["layers"].push_back(e);
  }
  for (const json& r : g["outputs"]) out["outputs"].push_back(ref_string(r, inputs, call_names));
  return out.dump();
}

static const json& list_at(const json& obj, const char* key, const std::string& where, bool required = true) {
  static const json empty = json::array();
  if (!obj.contains(key)) {
    if (required) throw Error(where + ": missing \"" + key + "\"");
    return empty;
  }
  if (!obj[key].is_array()) throw Error(where + ": \"" + key + "\" must be an array");
  if (int64_t(obj[key].size()) > limits::kLayers)
    throw Error(where + ": \"" + key + "\" has " + std::to_string(obj[key].size()) +
                " entries, more than the limit of " + std::to_string(limits::kLayers));
  return obj[key];
}

static std::string name_at(const json& obj, const std::string& where) {
  if (!obj.contains("name") || !obj["name"].is_string() || obj["name"].get<std::string>().empty() ||
      obj["name"].get<std::string>().size() > 256)
    throw Error(where + ": \"name\" must be a non-empty string of at most 256 bytes");
  const std::string name = obj["name"].get<std::string>();
  if (name.find(':') != std::string::npos)
    throw Error(where + ": the name \"" + name + "\" has a ':', which references use for a "
                "layer's k-th output (\"lstm:1\"): choose a name without one");
  return name;
}

bool is_graph_config(const std::string& text) {
  try {
    const json j = json::parse(text);
    return j.is_object() && j.contains("inputs") && j.contains("outputs");
  } catch (const std::exception&) {
    return false;
  }
}

Model Model::from_json(const std::string& text, ModelOptions options) {
  const json c = parse_json(text, "the model config");
  if (!c.is_object()) throw Error("the model config must be a JSON object, got " + json_brief(c));
  for (auto it = c.begin(); it != c.end(); ++it)
    if (it.key() != "name" && it.key() != "inputs" && it.key() != "layers" && it.key() != "outputs")
      throw Error("the model config: unknown key \"" + it.key() + "\" (a graph has \"name\", "
                  "\"inputs\", \"layers\" and \"outputs\")");
  json g = {{"inputs", json::array()}, {"layers", json::array()}, {"calls", json::array()},
            {"outputs", json::array()}};
  if (c.contains("name")) g["name"] = c["name"];
  // what each name refers to: an input (call -1) or a call, and how many outputs it has
  struct Target {
    int input = -1, call = -1;
  };
  std::map<std::string, Target> names;
  std::map<std::string, size_t> layer_index;
  auto claim = [&](const std::string& name, Target t, const std::string& where) {
    if (names.count(name))
      throw Error(where + ": the name \"" + name + "\" is taken by an earlier input or layer: "
                  "every input and layer needs a name of its own");
    names[name] = t;
  };
  const json& ins = list_at(c, "inputs", "the model config");
  for (size_t k = 0; k < ins.size(); ++k) {
    const std::string where = "inputs[" + std::to_string(k) + "]";
    if (!ins[k].is_object()) throw Error(where + " must be an object {\"name\": ..., \"shape\": [...]}");
    json e = ins[k];
    claim(name_at(e, where), {int(k), -1}, where);
    if (e.contains("shape") && e["shape"].is_array())
      for (json& d : e["shape"])
        if (d.is_null()) d = 0;  // any length
    g["inputs"].push_back(e);
  }
  auto reference = [&](const json& r, const std::string& where) -> json {
    if (!r.is_string()) throw Error(where + " must be a name (a string), got " + json_brief(r));
    std::string name = r.get<std::string>(), index = "0";
    if (size_t colon = name.find(':'); colon != std::string::npos)
      index = name.substr(colon + 1), name = name.substr(0, colon);
    auto it = names.find(name);
    if (it == names.end()) {
      std::string known;
      for (const auto& [n, t] : names) known += (known.empty() ? "" : ", ") + n;
      throw Error(where + ": \"" + r.get<std::string>() + "\" names no input or earlier layer (known: " +
                  known + "); a layer reads only inputs and layers listed before it");
    }
    if (index.empty() || index.size() > 3 || index.find_first_not_of("0123456789") != std::string::npos)
      throw Error(where + ": \"" + r.get<std::string>() + "\": after ':' comes the output's number");
    if (it->second.input >= 0) {
      if (index != "0") throw Error(where + ": input \"" + name + "\" has one tensor, \"" + name + "\"");
      return {{"input", it->second.input}};
    }
    return {{"call", it->second.call}, {"output", std::stoi(index)}};
  };
  const json& layers = list_at(c, "layers", "the model config");
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = "layers[" + std::to_string(i) + "]";
    if (!layers[i].is_object()) throw Error(where + " must be an object with a \"name\" and a \"type\"");
    const std::string name = name_at(layers[i], where);
    json config = layers[i];
    json call = {{"inputs", json::array()}};
    for (const json& r : list_at(layers[i], "inputs", where + " (" + name + ")"))
      call["inputs"].push_back(reference(r, where + " (" + name + "): an input"));
    if (layers[i].contains("initial_state")) {
      call["initial_state"] = json::array();
      for (const json& r : list_at(layers[i], "initial_state", where + " (" + name + ")"))
        call["initial_state"].push_back(reference(r, where + " (" + name + "): a state"));
    }
    for (const char* key : {"name", "inputs", "initial_state"}) config.erase(key);
    if (layers[i].contains("call")) {  // one more call of an earlier layer: shared weights
      if (!layers[i]["call"].is_string() || !layer_index.count(layers[i]["call"].get<std::string>()))
        throw Error(where + " (" + name + "): \"call\" must name an earlier layer, got " +
                    json_brief(layers[i]["call"]));
      if (config.size() != 1)
        throw Error(where + " (" + name + "): a \"call\" entry shares its layer's config; give only "
                    "\"name\", \"call\", \"inputs\" and \"initial_state\"");
      call["layer"] = layer_index[layers[i]["call"].get<std::string>()];
    } else {
      layer_index[name] = g["layers"].size();
      call["layer"] = g["layers"].size();
      g["layers"].push_back({{"name", name}, {"config", config}});
    }
    claim(name, {-1, int(g["calls"].size())}, where);
    g["calls"].push_back(call);
  }
  for (const json& r : list_at(c, "outputs", "the model config")) g["outputs"].push_back(reference(r, "outputs"));
  return model_from_graph_json(g, std::move(options), nullptr);
}

}  // namespace lstm
