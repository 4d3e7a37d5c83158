// Sequential::save / Sequential::load: the model as one .safetensors file
// (docs/file-format.md). Tensor names: layers.{i}.{tensor} with the layer's tensors in order,
// e.g. layers.0.weight_ih [4H, I], layers.0.weight_hh [4H, H], layers.0.bias [4H],
// layers.1.weight [out, in], layers.1.bias [out]. Metadata "lstm.config" holds the
// architecture JSON.
#include "io/model_file.h"

#include <cmath>
#include <set>

#include "io/checkpoint.h"
#include "lstm/error.h"
#include "graph/model_impl.h"
#include "model/model_impl.h"

namespace lstm {

static const char* kConfigKey = "lstm.config";
static const char* kFormatKey = "lstm.format_version";
static const char* kTrainStateKey = "lstm.train_state";

SafetensorsFile model_to_safetensors(const Sequential& model) {
  const Sequential::Impl& m = model.impl();
  SafetensorsFile file;
  file.metadata = m.metadata;
  file.metadata[kConfigKey] = model.to_json();
  file.metadata[kFormatKey] = "1";
  if (!m.built()) return file;
  const std::vector<float>& params = m.graph().params;
  for (const NamedWeight& w : m.chain->weights()) {  // "layers.<i>.<tensor>", in file order
    int64_t size = 1;
    for (int64_t d : w.shape) size *= d;
    file.tensors.push_back({w.name, w.shape, std::vector<float>(params.begin() + w.offset,
                                                                params.begin() + w.offset + size)});
  }
  return file;
}

void Sequential::save(const std::string& path) const {
  if (!built())
    throw Error("cannot save '" + path + "': the model is not built yet (its weights do not "
                "exist until the input shape is known: give the first layer input_shape or fit it)");
  write_safetensors(path, model_to_safetensors(*this));
}

Sequential Sequential::load(const std::string& path) {
  return model_from_safetensors(read_safetensors(path), path);
}

Sequential model_from_safetensors(const SafetensorsFile& file, const std::string& path) {
  auto it = file.metadata.find(kConfigKey);
  if (it == file.metadata.end() && file.metadata.count("lstm.graph"))
    throw Error("'" + path + "' is a graph model (lstm::Model): load it with lstm::Model::load");
  if (it == file.metadata.end())
    throw Error("'" + path + "' has no \"" + kConfigKey + "\" metadata, so its architecture is "
                "unknown: lstm model files carry the model config JSON there "
                "(docs/file-format.md)");
  // Every tensor is read and finite before the config is built, and building takes each
  // layer's weights from them (checked by name and shape first): nothing is allocated for a
  // layer the file does not hold, nothing initialised at random.
  WeightSource source{{}, path};
  for (const NamedTensor& t : file.tensors) {
    source.by_name[t.name] = &t;
    if (is_training_state_tensor(t.name)) continue;
    for (size_t k = 0; k < t.data.size(); ++k)
      if (!std::isfinite(t.data[k]))
        throw Error("'" + path + "': tensor '" + t.name + "' holds " +
                    (std::isnan(t.data[k]) ? "NaN" : "Inf") + " at flat index " +
                    std::to_string(k) + ": the model's weights are not finite (was it saved "
                    "from a training run that diverged?), so every prediction would be NaN");
  }
  Sequential model;
  Sequential::Impl& m = model.impl();
  try {
    const std::vector<LayerConfig> configs = layer_configs_from_json(it->second);
    if (configs[0].input_shape.empty())
      throw Error("its config has no input_shape, so the weights cannot be checked");
    m.weight_source = &source;
    add_layers(model, configs);  // built once, from the file's tensors
    m.weight_source = nullptr;
  } catch (const Error& e) {
    const std::string what = e.what();
    throw Error(what.rfind("'" + path + "'", 0) == 0 ? what : "'" + path + "': " + what);
  }
  for (const auto& [key, value] : file.metadata)
    if (key != kConfigKey && key != kFormatKey && key != kTrainStateKey) m.metadata[key] = value;
  try {
    apply_saved_precision(m.metadata, [&](Precision p) { model.set_precision(p); });
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
  std::set<std::string> expected;
  for (const NamedWeight& w : m.chain->weights()) expected.insert(w.name);
  for (const NamedTensor& t : file.tensors)
    if (!expected.count(t.name) && !is_training_state_tensor(t.name))
      throw Error("'" + path + "' holds tensor '" + t.name +
                  "', which its config has no place for: the file and its config disagree");
  return model;
}

}  // namespace lstm
