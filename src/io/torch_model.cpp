// PyTorch state_dicts to lstm models and back (see torch_model.h for the name mapping).
#include "io/torch_model.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <set>

#include "io/model_file.h"
#include "model/model_impl.h"
#include "lstm/error.h"

namespace lstm {

namespace {

using json = nlohmann::json;

// One module of the file: an RNN's layer k (rnn = true) or a Linear / Embedding.
struct Module {
  std::string name;  // "lstm (layer 1)" or "fc", for messages
  bool rnn = false;
  std::map<std::string, const TorchTensor*> params;  // "weight_ih", "bias_hh_reverse", "weight", ...
  std::vector<std::string> order;                    // the params' keys in file order
  const TorchTensor* get(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? nullptr : it->second;
  }
};

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
  return out + "]";
}

// "<prefix>.<leaf>": an RNN's leaf is <param>_l<k>[_reverse]. Parsed by hand: names come from
// the file, and std::regex recurses once per character.
bool rnn_leaf(const std::string& leaf, std::string* param, std::string* layer) {
  std::string rest = leaf;
  const std::string rev = "_reverse";
  const bool reverse = rest.size() > rev.size() && rest.compare(rest.size() - rev.size(), rev.size(), rev) == 0;
  if (reverse) rest.resize(rest.size() - rev.size());
  const size_t l = rest.rfind("_l");
  if (l == std::string::npos) return false;
  const std::string digits = rest.substr(l + 2), base = rest.substr(0, l);
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  if (base != "weight_ih" && base != "weight_hh" && base != "bias_ih" && base != "bias_hh" && base != "weight_hr")
    return false;
  *param = base + (reverse ? rev : ""), *layer = std::to_string(std::stoi(digits));
  return true;
}

std::vector<Module> modules_of(const std::vector<TorchTensor>& tensors, const std::string& file) {
  std::vector<Module> out;
  std::map<std::string, size_t> index;  // module key -> position in out
  for (const TorchTensor& t : tensors) {
    const size_t dot = t.name.rfind('.');
    const std::string prefix = dot == std::string::npos ? "" : t.name.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? t.name : t.name.substr(dot + 1);
    std::string key, param, name, layer;
    bool is_rnn = false;
    if (rnn_leaf(leaf, &param, &layer)) {
      key = prefix + "#" + layer, is_rnn = true;
      name = (prefix.empty() ? std::string("the RNN") : "'" + prefix + "'") + " (layer " + layer + ")";
    } else if (leaf == "weight" || leaf == "bias") {
      key = prefix, param = leaf, name = prefix.empty() ? "the top-level module" : "'" + prefix + "'";
    } else {
      throw Error(file + ": tensor '" + t.name + "' is not one of nn.LSTM, nn.GRU, nn.RNN (weight_ih_l0, ...), "
                  "nn.Linear or nn.Embedding (weight, bias), the modules this converter reads; a state_dict of "
                  "other modules (normalisation, convolution, buffers) cannot be mapped");
    }
    if (t.dtype != "float32" && t.dtype != "float64" && t.dtype != "float16" && t.dtype != "bfloat16")
      throw Error(file + ": tensor '" + t.name + "' holds " + t.dtype + ", not floating-point weights");
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, out.size()).first;
      out.push_back({name, is_rnn, {}, {}});
    }
    Module& mod = out[it->second];
    if (mod.params.count(param)) throw Error(file + ": tensor '" + t.name + "' appears twice");
    mod.params[param] = &t;
    mod.order.push_back(param);
  }
  return out;
}

// ---- the architecture, inferred -------------------------------------------------------------

struct Width {
  int64_t in = 0, out = 0;
};

json infer_recurrent(const Module& m, const std::string& file, int64_t* in, int64_t* out,
                     std::vector<std::string>& notes) {
  const TorchTensor* ih = m.get("weight_ih");
  const TorchTensor* hh = m.get("weight_hh");
  const TorchTensor* hr = m.get("weight_hr");
  if (!ih || !hh || ih->shape.size() != 2 || hh->shape.size() != 2)
    throw Error(file + ": " + m.name + " needs 2-D weight_ih and weight_hh tensors to be an RNN layer");
  const int64_t H = hr ? (hr->shape.size() == 2 ? hr->shape[1] : 0) : hh->shape[1];
  const int64_t P = hr ? hr->shape[0] : 0;
  if (H <= 0 || ih->shape[0] % H != 0)
    throw Error(file + ": " + m.name + ": weight_ih " + shape_str(ih->shape) + " is not a multiple of the hidden size " +
                std::to_string(H) + " in rows");
  const int64_t gates = ih->shape[0] / H;
  const char* type = gates == 4 ? "lstm" : gates == 3 ? "gru" : gates == 1 ? "simple_rnn" : nullptr;
  if (!type)
    throw Error(file + ": " + m.name + ": weight_ih has " + std::to_string(gates) + "x the hidden size in rows; an "
                "nn.LSTM has 4x, nn.GRU 3x, nn.RNN 1x");
  if (hr && gates != 4) throw Error(file + ": " + m.name + ": weight_hr (proj_size) belongs to nn.LSTM only");
  json layer = {{"type", type}, {"units", H}};
  const bool bias = m.get("bias_ih") != nullptr;
  if (!bias && gates != 4)
    throw Error(file + ": " + m.name + ": an nn." + (gates == 3 ? "GRU" : "RNN") + " without biases (bias=False), "
                "which lstm's " + (gates == 3 ? "GRU" : "SimpleRNN") + " does not have");
  if (!bias) layer["use_bias"] = false;
  if (P) layer["proj_size"] = P;
  if (gates == 1) {
    layer["activation"] = "tanh";
    notes.push_back(m.name + ": an nn.RNN's nonlinearity is not in a state_dict; tanh (its default) assumed "
                    "(give --config with \"activation\": \"relu\" otherwise)");
  }
  *in = ih->shape[1];
  const int64_t width = P ? P : H;
  const bool bidir = m.get("weight_ih_reverse") != nullptr;
  *out = bidir ? 2 * width : width;
  if (!bidir) return layer;
  return {{"type", "bidirectional"}, {"merge_mode", "concat"}, {"layer", layer}};
}

std::string infer_config(const std::vector<Module>& modules, const std::string& file, std::vector<std::string>& notes) {
  if (modules.empty()) throw Error(file + ": the state_dict holds no tensors");
  json layers = json::array();
  std::vector<std::string> names;
  std::vector<Width> widths;
  int last_rnn = -1, linears = 0;
  for (size_t k = 0; k < modules.size(); ++k) {
    const Module& m = modules[k];
    Width w;
    if (m.rnn) {
      layers.push_back(infer_recurrent(m, file, &w.in, &w.out, notes));
      last_rnn = int(k);
    } else {
      const TorchTensor* weight = m.get("weight");
      if (!weight || weight->shape.size() != 2)
        throw Error(file + ": " + m.name + " has no 2-D weight, so it is neither an nn.Linear nor an nn.Embedding");
      // a weight-only module in front of the first RNN whose columns are that RNN's inputs is
      // an Embedding ([V, D]); an nn.Linear's weight is [out, in]
      const bool before_rnn = k + 1 < modules.size() && modules[k + 1].rnn;
      const TorchTensor* next_ih = before_rnn ? modules[k + 1].get("weight_ih") : nullptr;
      const int64_t next_in = next_ih && next_ih->shape.size() == 2 ? next_ih->shape[1] : -1;
      if (k == 0 && !m.get("bias") && before_rnn && weight->shape[1] == next_in &&
          (weight->shape[0] != next_in || m.name.find("emb") != std::string::npos)) {
        layers.push_back({{"type", "embedding"}, {"input_dim", weight->shape[0]}, {"output_dim", weight->shape[1]},
                          {"mask_zero", false}});
        w = {0, weight->shape[1]};
        notes.push_back(m.name + ": an nn.Embedding of " + std::to_string(weight->shape[0]) + " tokens; its padding_idx "
                        "is not in a state_dict, so no token is treated as padding (mask_zero false)");
      } else if (k == 0 && !m.get("bias") && before_rnn && weight->shape[1] == next_in) {
        throw Error(file + ": " + m.name + " could be an nn.Embedding or an nn.Linear without bias (its weight " +
                    shape_str(weight->shape) + " is square): give the architecture with --config");
      } else {
        if (k == 0 || !modules[k - 1].rnn || ++linears > 1)
          throw Error(file + ": " + m.name + " is an nn.Linear that does not directly follow the last RNN; the "
                      "activations between stacked Linear layers, or before an RNN, are not in a state_dict: give "
                      "the architecture with --config");
        json dense = {{"type", "dense"}, {"units", weight->shape[0]}, {"activation", "linear"}};
        if (!m.get("bias")) dense["use_bias"] = false;
        layers.push_back(dense);
        w = {weight->shape[1], weight->shape[0]};
      }
    }
    if (!widths.empty() && w.in != 0 && w.in != widths.back().out)
      throw Error(file + ": " + m.name + " takes " + std::to_string(w.in) + " inputs, but " + names.back() + " gives " +
                  std::to_string(widths.back().out) + ": the modules do not chain in the file's order; give the "
                  "architecture with --config");
    widths.push_back(w);
    names.push_back(m.name);
  }
  for (size_t k = 0; k < modules.size(); ++k) {
    if (!modules[k].rnn) continue;
    json& l = layers[k]["type"] == "bidirectional" ? layers[k]["layer"] : layers[k];
    l["return_sequences"] = int(k) != last_rnn || k + 1 == modules.size();
  }
  if (last_rnn >= 0 && size_t(last_rnn) + 1 < modules.size())
    notes.push_back(names[size_t(last_rnn)] + " passes its final hidden state (h_n; both directions' when "
                    "bidirectional) to " + names[size_t(last_rnn) + 1] + " (return_sequences false, as "
                    "out[:, -1] of a forward RNN); give --config for a head on every step");
  json config = {{"layers", layers}};
  config["input_shape"] = layers[0]["type"] == "embedding" ? json::array({nullptr})
                                                            : json::array({nullptr, widths[0].in});
  notes.insert(notes.begin(), "architecture inferred from the tensor names and shapes: " + config.dump());
  return config.dump();
}

// A config without input_shape gets [null, F] (or [null] before an Embedding) from the weights.
std::string with_input_shape(const std::string& config, const std::vector<Module>& modules, const std::string& file) {
  json c;
  try {
    c = json::parse(config);
  } catch (const json::exception& e) {
    throw Error("the model config is not valid JSON: " + std::string(e.what()));
  }
  if (!c.is_object() || c.contains("input_shape") || !c.contains("layers") || !c["layers"].is_array() ||
      c["layers"].empty() || modules.empty())
    return config;
  const TorchTensor* w = modules[0].get(modules[0].rnn ? "weight_ih" : "weight");
  if (!w || w->shape.size() != 2) return config;
  const json& first = c["layers"][0];
  if (first.is_object() && first.value("type", "") == "embedding") c["input_shape"] = json::array({nullptr});
  else c["input_shape"] = json::array({nullptr, w->shape[1]});
  (void)file;
  return c.dump();
}

// The file's tensor for one of ours: "weight_ih" of the backward direction is "weight_ih_reverse".
std::string torch_param(const std::string& ours, bool backward) {
  return ours + (backward ? "_reverse" : "");
}

std::string type_of(const LayerConfig& layer) {
  return layer.kind.empty() ? std::string(layer_type_name(layer.type)) : layer.kind;
}

// A layer's tensors, by their names in an lstm model file below "layers.<i>." (as the layers
// list them: src/layers/recurrences.cpp, dense.cpp, embedding.cpp); layers of other rooms are
// taken to have none (loading then names any they do need).
std::vector<std::string> tensor_names(const LayerConfig& layer, const std::string& file, size_t i) {
  const bool bidir = layer.type == LayerType::bidirectional;
  if (layer.kind.empty() && (is_recurrent(layer.type) || bidir)) {
    const LayerConfig& c = bidir ? layer.wrapped.at(0) : layer;
    if (c.type == LayerType::lstm && c.use_peepholes)
      throw Error(file + ": layer " + std::to_string(i) + " of the architecture has LSTM peepholes "
                  "(use_peepholes), which nn.LSTM does not have");
    if (c.type == LayerType::gru && !c.reset_after)
      throw Error(file + ": layer " + std::to_string(i) + " of the architecture is a GRU with reset_after = false, "
                  "which nn.GRU is not (its reset gate acts after the recurrent product)");
    std::vector<std::string> one = {"weight_ih", "weight_hh"};
    if (c.type == LayerType::gru) one.insert(one.end(), {"bias_ih", "bias_hh"});
    else if (c.use_bias) one.push_back("bias");
    if (c.type == LayerType::lstm && c.proj_size > 0) one.push_back("weight_hr");
    if (!bidir) return one;
    std::vector<std::string> both;
    for (const char* d : {"forward.", "backward."})
      for (const std::string& n : one) both.push_back(d + n);
    return both;
  }
  if (layer.kind.empty() && layer.type == LayerType::dense)
    return layer.use_bias ? std::vector<std::string>{"weight", "bias"} : std::vector<std::string>{"weight"};
  if (layer.kind.empty() && layer.type == LayerType::embedding) return {"weight"};
  return {};
}

}  // namespace

Sequential sequential_from_torch(const std::vector<TorchTensor>& tensors, const std::string& config_json,
                                 const std::string& file_config, const std::string& name,
                                 std::vector<std::string>* notes_out) {
  const std::vector<Module> modules = modules_of(tensors, name);
  std::vector<std::string> notes;
  std::string config;
  if (!config_json.empty()) config = with_input_shape(config_json, modules, name);
  else if (!file_config.empty()) config = file_config, notes.push_back("architecture: the lstm config the file carries");
  else config = infer_config(modules, name, notes);

  // The places: each layer's tensor names, from the config alone (nothing is built or
  // allocated from a config before the file's tensors are found to fit it).
  std::vector<LayerConfig> layers;
  try {
    layers = layer_configs_from_json(config);
  } catch (const Error& e) {
    throw Error(name + ": the architecture: " + e.what());
  }
  if (layers.empty() || layers[0].input_shape.empty()) throw Error(name + ": the architecture has no input_shape");
  std::vector<std::pair<size_t, std::vector<std::string>>> ours;  // layer index, its tensors' names
  for (size_t i = 0; i < layers.size(); ++i) {
    std::vector<std::string> local = tensor_names(layers[i], name, i);
    if (!local.empty()) ours.push_back({i, std::move(local)});
  }
  if (ours.size() != modules.size()) {
    std::string listed;
    for (const Module& m : modules) listed += (listed.empty() ? "" : ", ") + m.name;
    throw Error(name + ": the file holds " + std::to_string(modules.size()) + " weighted module(s) (" + listed +
                ") but the architecture has " + std::to_string(ours.size()) + " layer(s) with weights: each layer "
                "takes one module (one layer k of a multi-layer RNN), in order");
  }

  SafetensorsFile file;
  file.metadata["lstm.config"] = config;
  std::map<std::string, std::string> from;  // our tensor -> the file's, for messages
  bool converted = false;
  for (size_t u = 0; u < ours.size(); ++u) {
    const Module& m = modules[u];
    const LayerConfig& layer = layers[ours[u].first];
    const std::string what = "layer " + std::to_string(ours[u].first) + " (" + type_of(layer) + ")";
    const bool recurrent = is_recurrent(layer.type) || layer.type == LayerType::bidirectional;
    if (recurrent != m.rnn)
      throw Error(name + ": " + what + " takes its weights from " + m.name + ", which is " +
                  (m.rnn ? "an RNN layer" : "not an RNN layer") + ": the file's modules and the architecture disagree");
    const LayerType inner = layer.type == LayerType::bidirectional ? layer.wrapped.at(0).type : layer.type;
    std::set<std::string> used;
    for (const std::string& full : ours[u].second) {
      std::string local = full;  // "weight_ih", "backward.bias", ...
      bool backward = false;
      if (local.rfind("forward.", 0) == 0) local = local.substr(8);
      else if (local.rfind("backward.", 0) == 0) local = local.substr(9), backward = true;
      // LSTM and SimpleRNN keep one bias, the sum of PyTorch's two
      const bool folded = recurrent && local == "bias" && inner != LayerType::gru;
      const std::vector<std::string> sources =
          folded ? std::vector<std::string>{torch_param("bias_ih", backward), torch_param("bias_hh", backward)}
                 : std::vector<std::string>{torch_param(local, backward)};
      NamedTensor t{"layers." + std::to_string(ours[u].first) + "." + full, {}, {}};
      for (const std::string& source : sources) {
        const TorchTensor* src = m.get(source);
        if (!src)
          throw Error(name + ": " + m.name + " has no " + source + ", which " + what + " needs (for its " + local + ")");
        if (!t.data.empty() && src->shape != t.shape)
          throw Error(name + ": " + m.name + "'s " + sources[0] + " is " + shape_str(t.shape) + " but its " + source +
                      " " + shape_str(src->shape));
        if (t.data.empty()) t.shape = src->shape, t.data.assign(src->data.size(), 0.0f);
        for (size_t k = 0; k < t.data.size(); ++k) {
          if (!std::isfinite(src->data[k]))
            throw Error(name + ": tensor '" + src->name + "' holds " + (std::isnan(src->data[k]) ? "NaN" : "Inf") +
                        " at flat index " + std::to_string(k) + ": the weights are not finite (saved from a training "
                        "run that diverged?), so every prediction would be NaN");
          t.data[k] += src->data[k];
        }
        converted = converted || src->dtype != "float32";
        used.insert(source);
        from[t.name] += (from[t.name].empty() ? "'" : " + '") + src->name + "'";
      }
      file.tensors.push_back(std::move(t));
    }
    for (const std::string& p : m.order)
      if (!used.count(p))
        throw Error(name + ": " + m.name + "'s " + p + " has no place in " + what +
                    " (an option the architecture lacks, such as proj_size or a bidirectional layer?)");
  }
  // Built from the tensors, each checked against its place's shape first; a mismatch names
  // the file's tensor too.
  Sequential model;
  try {
    model = model_from_safetensors(file, name);
  } catch (const Error& e) {
    std::string what = e.what();
    const size_t at = what.find("'layers.");
    const size_t end = at == std::string::npos ? at : what.find('\'', at + 1);
    if (end != std::string::npos) {
      auto it = from.find(what.substr(at + 1, end - at - 1));
      if (it != from.end()) what += " (that tensor is the file's " + it->second + ")";
    }
    throw Error(what);
  }
  if (converted) notes.push_back("weights stored in another floating-point type were converted to float32");
  if (notes_out) *notes_out = std::move(notes);
  return model;
}

std::vector<TorchTensor> torch_tensors_from(const Sequential& model) {
  const SafetensorsFile file = model_to_safetensors(model);
  const std::vector<LayerConfig>& layers = model.layers();
  std::vector<TorchTensor> out;
  for (const NamedTensor& t : file.tensors) {
    const size_t dot = t.name.find('.', 7);
    const size_t i = size_t(std::stoul(t.name.substr(7, dot - 7)));
    const std::string prefix = "layers." + std::to_string(i) + ".";
    std::string local = t.name.substr(dot + 1);
    const LayerConfig& layer = layers.at(i);
    const std::string what = "layer " + std::to_string(i) + " (" +
                             (layer.kind.empty() ? std::string(layer_type_name(layer.type)) : layer.kind) + ")";
    if (is_recurrent(layer.type) || layer.type == LayerType::bidirectional) {
      const LayerConfig& inner = layer.type == LayerType::bidirectional ? layer.wrapped.at(0) : layer;
      if (inner.type == LayerType::lstm &&
          (inner.use_peepholes || inner.activation != Activation::tanh || inner.recurrent_activation != Activation::sigmoid))
        throw Error(what + ": peepholes and activations other than tanh and sigmoid have no nn.LSTM counterpart");
      if (inner.type == LayerType::gru && !inner.reset_after)
        throw Error(what + ": a GRU with reset_after = false has no nn.GRU counterpart (nn.GRU applies the reset "
                    "gate after the recurrent product); convert to .keras or .onnx instead");
      bool backward = false;
      if (local.rfind("forward.", 0) == 0) local = local.substr(8);
      else if (local.rfind("backward.", 0) == 0) local = local.substr(9), backward = true;
      const std::string suffix = std::string("_l0") + (backward ? "_reverse" : "");
      if (local == "bias" && inner.type != LayerType::gru) {  // PyTorch's two biases: ours and zero
        out.push_back({prefix + "rnn.bias_ih" + suffix, t.shape, t.data, "float32"});
        out.push_back({prefix + "rnn.bias_hh" + suffix, t.shape, std::vector<float>(t.data.size(), 0.0f), "float32"});
      } else {
        out.push_back({prefix + "rnn." + local + suffix, t.shape, t.data, "float32"});
      }
    } else if (layer.type == LayerType::dense && layer.kind.empty()) {
      out.push_back({prefix + "linear." + local, t.shape, t.data, "float32"});
    } else if (layer.type == LayerType::embedding && layer.kind.empty()) {
      out.push_back({prefix + "embed." + local, t.shape, t.data, "float32"});
    } else {
      throw Error(what + " has no PyTorch module in this converter (it writes LSTM, GRU, SimpleRNN, "
                  "Bidirectional, Dense, TimeDistributed(Dense) and Embedding)");
    }
  }
  return out;
}

Sequential load_torch(const std::string& path, const std::string& config_json, std::vector<std::string>* notes) {
  std::string file_config;
  const std::vector<TorchTensor> tensors = read_torch_state_dict(path, &file_config);
  return sequential_from_torch(tensors, config_json, file_config, path, notes);
}

void save_torch(const std::string& path, const Sequential& model) {
  if (!model.built()) throw Error("cannot save '" + path + "': the model is not built yet");
  write_torch_state_dict(path, torch_tensors_from(model), model.to_json());
}

}  // namespace lstm
