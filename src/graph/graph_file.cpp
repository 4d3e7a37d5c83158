// Model::save / Model::load: a graph model as one .safetensors file (docs/file-format.md).
// Metadata "lstm.graph" holds the graph JSON (graph_to_json), "lstm.format_version" is "2";
// tensors are named "<layer name>.<tensor>". Loading rebuilds the graph through the same
// functional API a user calls, so every check of a layer call applies to a file too.
#include <cmath>

#include "core/json.h"
#include "core/limits.h"
#include "graph/graph.h"
#include "graph/model_impl.h"
#include "graph/graph_model.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "lstm/error.h"
#include "model/model_impl.h"

namespace lstm {

using json = nlohmann::json;

static const char* kGraphKey = "lstm.graph";

SafetensorsFile graph_model_to_safetensors(const Model& model) {
  SafetensorsFile file;
  file.metadata = model.metadata();
  file.metadata[kGraphKey] = graph_to_json(model).dump();
  file.metadata["lstm.format_version"] = "2";
  const std::vector<float> w = model.get_weights();
  for (const NamedWeight& n : model.weights()) {
    int64_t size = 1;
    for (int64_t d : n.shape) size *= d;
    file.tensors.push_back({n.name, n.shape, std::vector<float>(w.begin() + n.offset, w.begin() + n.offset + size)});
  }
  return file;
}

void Model::save(const std::string& path) const { write_safetensors(path, graph_model_to_safetensors(*this)); }

Model Model::load(const std::string& path) { return graph_model_from_safetensors(read_safetensors(path), path); }

static void only_keys(const json& obj, std::initializer_list<const char*> keys, const std::string& where) {
  if (!obj.is_object()) throw Error(where + " must be a JSON object, got " + json_brief(obj));
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (!known) throw Error(where + ": unknown key \"" + it.key() + "\"");
  }
}

static const json& array_at(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || !obj[key].is_array())
    throw Error(where + ": \"" + key + "\" must be an array");
  if (int64_t(obj[key].size()) > limits::kLayers)
    throw Error(where + ": \"" + key + "\" has " + std::to_string(obj[key].size()) +
                " entries, more than the limit of " + std::to_string(limits::kLayers));
  return obj[key];
}

Model graph_model_from_safetensors(const SafetensorsFile& file, const std::string& path) {
  const std::string at = "'" + path + "'";
  auto it = file.metadata.find(kGraphKey);
  if (it == file.metadata.end())
    throw Error(at + " has no \"" + kGraphKey + "\" metadata, so it is not a graph model" +
                (file.metadata.count("lstm.config") ? ": it is a Sequential model, load it with "
                                                      "lstm::Sequential::load"
                                                    : std::string(" lstm wrote (docs/file-format.md)")));
  WeightSource source{{}, path};
  size_t training_state = 0;
  for (const NamedTensor& t : file.tensors) {
    if (is_training_state_tensor(t.name)) {
      ++training_state;
      continue;
    }
    source.by_name[t.name] = &t;
    for (size_t k = 0; k < t.data.size(); ++k)
      if (!std::isfinite(t.data[k]))
        throw Error(at + ": tensor '" + t.name + "' holds " + (std::isnan(t.data[k]) ? "NaN" : "Inf") +
                    " at flat index " + std::to_string(k) + ": the model's weights are not finite");
  }
  try {
    const json g = parse_json(it->second, "its graph");
    Model model = model_from_graph_json(g, {}, &source);
    size_t expected = model.weights().size() + training_state;
    if (file.tensors.size() != expected)
      for (const NamedTensor& t : file.tensors) {
        bool used = is_training_state_tensor(t.name);
        for (const NamedWeight& n : model.weights()) used = used || n.name == t.name;
        if (!used)
          throw Error("it holds tensor '" + t.name + "', which its graph has no place for: the file "
                      "and its graph disagree");
      }
    for (const auto& [key, value] : file.metadata)
      if (key != kGraphKey && key != "lstm.format_version" && key != "lstm.train_state")
        model.metadata()[key] = value;
    apply_saved_precision(model.metadata(), [&](Precision p) { model.set_precision(p); });
    return model;
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind(at, 0) == 0 ? what : at + ": " + what);
  }
}

Model model_from_graph_json(const json& g, ModelOptions options, const WeightSource* source) {
  {
    only_keys(g, {"name", "inputs", "layers", "calls", "outputs"}, "the graph");
    if (g.contains("name")) {
      if (!g["name"].is_string() || g["name"].get<std::string>().size() > 256)
        throw Error("the graph's \"name\" must be a string of at most 256 bytes");
      options.name = g["name"].get<std::string>();
    }
    std::vector<SymbolicTensor> inputs;
    const json& ins = array_at(g, "inputs", "the graph");
    for (size_t k = 0; k < ins.size(); ++k) {
      const std::string where = "the graph's inputs[" + std::to_string(k) + "]";
      only_keys(ins[k], {"name", "shape", "batch_size", "lengths"}, where);
      if (!ins[k].contains("name") || !ins[k]["name"].is_string() || ins[k]["name"].get<std::string>().empty() ||
          ins[k]["name"].get<std::string>().size() > 256)
        throw Error(where + ": \"name\" must be a non-empty string of at most 256 bytes");
      const json& shape = ins[k].contains("shape") ? ins[k]["shape"] : json();
      if (!shape.is_array() || shape.empty() || shape.size() > 4)
        throw Error(where +
                    ": \"shape\" must be [timesteps, features], [features], [timesteps], "
                    "[height, width, channels] or [timesteps, height, width, channels]");
      std::vector<int64_t> dims;
      for (const json& d : shape) dims.push_back(json_integer(d, 0, limits::kTimeSteps, where + ": a dimension"));
      const int64_t batch = ins[k].contains("batch_size")
                                ? json_integer(ins[k]["batch_size"], 0, limits::kTimeSteps, where + ": \"batch_size\"")
                                : 0;
      if (ins[k].contains("lengths") && !ins[k]["lengths"].is_boolean())
        throw Error(where + ": \"lengths\" must be true or false");
      const bool lengths = ins[k].contains("lengths") && ins[k]["lengths"].get<bool>();
      inputs.push_back(Input(dims, {.name = ins[k]["name"].get<std::string>(), .batch_size = batch, .lengths = lengths}));
    }
    std::vector<LayerConfig> layers;
    const json& ls = array_at(g, "layers", "the graph");
    for (size_t k = 0; k < ls.size(); ++k) {
      const std::string where = "the graph's layers[" + std::to_string(k) + "]";
      only_keys(ls[k], {"name", "config"}, where);
      if (!ls[k].contains("name") || !ls[k]["name"].is_string() || ls[k]["name"].get<std::string>().empty() ||
          ls[k]["name"].get<std::string>().size() > 256)
        throw Error(where + ": \"name\" must be a non-empty string of at most 256 bytes");
      if (!ls[k].contains("config")) throw Error(where + ": missing \"config\"");
      layers.push_back(layer_config_from_file(ls[k]["config"], where + ".config"));
      layers.back().name = ls[k]["name"].get<std::string>();
    }
    // tensors as the calls make them, in order: a call reads inputs and earlier calls only
    std::vector<std::vector<SymbolicTensor>> made;
    auto tensor = [&](const json& ref, const std::string& where) -> SymbolicTensor {
      if (ref.is_object() && ref.size() == 1 && ref.contains("input"))
        return inputs.at(size_t(json_integer(ref["input"], 0, int64_t(inputs.size()) - 1, where + ": \"input\"")));
      only_keys(ref, {"call", "output"}, where);
      if (!ref.contains("call") || !ref.contains("output"))
        throw Error(where + " must be {\"input\": k} or {\"call\": i, \"output\": k}");
      const int64_t c = json_integer(ref["call"], 0, int64_t(made.size()) - 1,
                                     where + ": \"call\" (an earlier call)");
      const auto& outs = made[size_t(c)];
      return outs[size_t(json_integer(ref["output"], 0, int64_t(outs.size()) - 1, where + ": \"output\""))];
    };
    const json& calls = array_at(g, "calls", "the graph");
    for (size_t i = 0; i < calls.size(); ++i) {
      const std::string where = "the graph's calls[" + std::to_string(i) + "]";
      only_keys(calls[i], {"layer", "inputs", "initial_state"}, where);
      if (!calls[i].contains("layer")) throw Error(where + ": missing \"layer\"");
      const LayerConfig& layer =
          layers[size_t(json_integer(calls[i]["layer"], 0, int64_t(layers.size()) - 1, where + ": \"layer\""))];
      std::vector<SymbolicTensor> in, states;
      for (const json& r : array_at(calls[i], "inputs", where)) in.push_back(tensor(r, where + ": an input"));
      if (calls[i].contains("initial_state"))
        for (const json& r : array_at(calls[i], "initial_state", where)) states.push_back(tensor(r, where + ": a state"));
      made.push_back(layer.call(in, states));
    }
    std::vector<SymbolicTensor> outputs;
    for (const json& r : array_at(g, "outputs", "the graph")) outputs.push_back(tensor(r, "the graph's outputs"));
    return build_model(inputs, outputs, options, source);
  }
}

}  // namespace lstm
