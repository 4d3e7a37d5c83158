// Training checkpoints (checkpoint.h).
#include "io/checkpoint.h"

#include <nlohmann/json.hpp>

#include "io/model_file.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;
static const char* kStateKey = "lstm.train_state";

void write_checkpoint(const std::string& path, const Sequential& model, const TrainingState& s) {
  SafetensorsFile file = model_to_safetensors(model);
  if (!s.optimizer.m.empty()) {
    const int64_t n = int64_t(s.optimizer.m.size());
    file.tensors.push_back({"optimizer.m", {n}, s.optimizer.m});
    file.tensors.push_back({"optimizer.v", {n}, s.optimizer.v});
  }
  for (size_t k = 0; k < s.callback_weights.size(); ++k)
    if (!s.callback_weights[k].empty())
      file.tensors.push_back({"callbacks." + std::to_string(k) + ".weights",
                              {int64_t(s.callback_weights[k].size())}, s.callback_weights[k]});
  for (size_t k = 0; k < s.carried_h.size(); ++k) {
    const std::string name = "states." + std::to_string(k);
    if (!s.carried_h[k].empty())
      file.tensors.push_back({name + ".h", {int64_t(s.carried_h[k].size())}, s.carried_h[k]});
    if (!s.carried_c[k].empty())
      file.tensors.push_back({name + ".c", {int64_t(s.carried_c[k].size())}, s.carried_c[k]});
  }
  json j = {{"epochs_done", s.epochs_done},
            {"stopped", s.stopped},
            {"rng_state", std::to_string(s.rng_state)},
            {"optimizer_step", s.optimizer.step},
            {"history", s.history},
            {"callbacks", s.callback_states}};
  file.metadata[kStateKey] = j.dump();
  write_safetensors(path, file);
}

TrainingState read_checkpoint(const std::string& path, Sequential& model) {
  SafetensorsFile file = read_safetensors(path);
  auto it = file.metadata.find(kStateKey);
  if (it == file.metadata.end())
    throw Error("'" + path + "' is a model file, not a training checkpoint (it has no \"" +
                kStateKey + "\"): resume needs a file written by --checkpoint");
  Sequential saved = model_from_safetensors(file, path);
  if (saved.to_json() != model.to_json())
    throw Error("the checkpoint '" + path + "' is of a different model (" + saved.to_json() +
                ") than this run's (" + model.to_json() + "): delete it or point --checkpoint "
                "elsewhere");
  model.set_weights(saved.get_weights());
  TrainingState s;
  try {
    json j = json::parse(it->second);
    s.epochs_done = j.at("epochs_done").get<int>();
    s.stopped = j.at("stopped").get<bool>();
    s.rng_state = std::stoull(j.at("rng_state").get<std::string>());
    s.optimizer.step = j.at("optimizer_step").get<int64_t>();
    s.history = j.at("history").get<std::map<std::string, std::vector<double>>>();
    s.callback_states = j.at("callbacks").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    throw Error("'" + path + "': its training state is malformed (" + e.what() + ")");
  }
  s.callback_weights.resize(s.callback_states.size());
  for (NamedTensor& t : file.tensors) {
    if (t.name == "optimizer.m") s.optimizer.m = std::move(t.data);
    else if (t.name == "optimizer.v") s.optimizer.v = std::move(t.data);
    for (size_t k = 0; k < s.callback_states.size(); ++k)
      if (t.name == "callbacks." + std::to_string(k) + ".weights") s.callback_weights[k] = std::move(t.data);
    if (t.name.rfind("states.", 0) == 0) {  // states.{k}.h / states.{k}.c
      const size_t k = std::stoul(t.name.substr(7));
      if (s.carried_h.size() <= k) s.carried_h.resize(k + 1), s.carried_c.resize(k + 1);
      (t.name.back() == 'h' ? s.carried_h : s.carried_c)[k] = std::move(t.data);
    }
  }
  return s;
}

}  // namespace lstm
