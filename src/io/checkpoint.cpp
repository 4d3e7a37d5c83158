// Training checkpoints (checkpoint.h).
#include "io/checkpoint.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/limits.h"
#include "io/model_file.h"
#include "model/model_impl.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;
static const char* kStateKey = "lstm.train_state";

void write_checkpoint(const std::string& path, SafetensorsFile file, const TrainingState& s) {
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
            {"learning_rate", s.learning_rate},
            {"compiled_learning_rate", s.compiled_learning_rate},
            {"history", s.history},
            {"callbacks", s.callback_states}};
  file.metadata[kStateKey] = j.dump();
  write_safetensors(path, file);
}

// "states.{k}.h" / "states.{k}.c" -> k (decimal, no sign or leading zeros, below `count`) and
// the letter; anything else is a clear error.
static size_t state_index(const std::string& name, size_t count, char& which,
                          const std::string& path) {
  const std::string digits = name.substr(7, name.size() >= 9 ? name.size() - 9 : 0);
  const bool well_formed = name.size() >= 10 && name[name.size() - 2] == '.' &&
                           (name.back() == 'h' || name.back() == 'c') && !digits.empty() &&
                           (digits == "0" || digits[0] != '0') &&
                           digits.find_first_not_of("0123456789") == std::string::npos;
  if (!well_formed)
    throw Error("'" + path + "': tensor '" + name + "' is not a training-state tensor lstm "
                "writes (states.{k}.h or states.{k}.c): the checkpoint is corrupt");
  const size_t k = digits.size() > 9 ? count : size_t(std::stoul(digits));
  if (k >= count)
    throw Error("'" + path + "': tensor '" + name + "' is the state of recurrent direction " +
                digits.substr(0, 20) + ", but the model has " + std::to_string(count) +
                ": the checkpoint is corrupt");
  which = name.back();
  return k;
}

bool is_training_state_tensor(const std::string& name) {
  return name.rfind("optimizer.", 0) == 0 || name.rfind("callbacks.", 0) == 0 ||
         name.rfind("states.", 0) == 0;
}

void require_training_state(const SafetensorsFile& file, const std::string& path) {
  if (!file.metadata.count(kStateKey))
    throw Error("'" + path + "' is a model file, not a training checkpoint (it has no \"" +
                kStateKey + "\"): resume needs a file written by --checkpoint");
}

TrainingState read_checkpoint(const SafetensorsFile& file, const std::string& path, Sequential& model) {
  require_training_state(file, path);
  Sequential saved = model_from_safetensors(file, path);
  if (saved.to_json() != model.to_json())
    throw Error("the checkpoint '" + path + "' is of a different model (" + saved.to_json() +
                ") than this run's (" + model.to_json() + "): delete it or point --checkpoint "
                "elsewhere");
  TrainingState s = read_training_state(file, path, size_t(model.count_params()),
                                        model.impl().directions().size());
  model.set_weights(saved.get_weights());
  return s;
}

TrainingState read_training_state(const SafetensorsFile& file, const std::string& path, size_t P,
                                  size_t directions) {
  require_training_state(file, path);
  auto it = file.metadata.find(kStateKey);
  TrainingState s;
  const std::string bad = "'" + path + "': its training state (\"" + kStateKey + "\") is malformed: ";
  try {
    const json j = parse_json(it->second, "its training state");
    if (!j.is_object()) throw Error("it is not a JSON object");
    s.epochs_done = int(json_integer(j.at("epochs_done"), 0, limits::kEpochs, "epochs_done"));
    s.stopped = j.at("stopped").get<bool>();
    const std::string rng = j.at("rng_state").get<std::string>();
    if (rng.empty() || rng.size() > 20 || rng.find_first_not_of("0123456789") != std::string::npos ||
        (rng.size() == 20 && rng > "18446744073709551615"))
      throw Error("rng_state '" + rng.substr(0, 24) + "' is not a 64-bit unsigned integer");
    s.rng_state = std::stoull(rng);
    s.optimizer.step = json_integer(j.at("optimizer_step"), 0, INT64_MAX / 2, "optimizer_step");
    auto rate = [&](const char* key) {  // absent in checkpoints of before it was kept
      if (!j.contains(key)) return 0.0f;
      const json& v = j.at(key);
      if (!v.is_number() || !(v.get<double>() > 0.0) || !(v.get<double>() <= 1e30))
        throw Error(std::string(key) + " is not a positive number");
      return float(v.get<double>());
    };
    s.learning_rate = rate("learning_rate");
    s.compiled_learning_rate = rate("compiled_learning_rate");
    s.history = j.at("history").get<std::map<std::string, std::vector<double>>>();
    for (const auto& [key, values] : s.history)
      if (int64_t(values.size()) != s.epochs_done)
        throw Error("history \"" + key + "\" has " + std::to_string(values.size()) +
                    " values for " + std::to_string(s.epochs_done) + " epochs");
    s.callback_states = j.at("callbacks").get<std::vector<std::string>>();
    if (s.callback_states.size() > 1000) throw Error("it lists too many callbacks");
  } catch (const std::exception& e) {
    throw Error(bad + e.what());
  }
  s.callback_weights.resize(s.callback_states.size());
  s.carried_h.resize(directions), s.carried_c.resize(directions);
  auto sized = [&](const NamedTensor& t, std::vector<float>& into, size_t want) {
    if (t.data.size() != want && !t.data.empty())
      throw Error("'" + path + "': tensor '" + t.name + "' holds " + std::to_string(t.data.size()) +
                  " values, but this model has " + std::to_string(want) +
                  " parameters: the checkpoint is corrupt");
    into = t.data;
  };
  for (const NamedTensor& t : file.tensors) {
    if (t.name == "optimizer.m") {
      sized(t, s.optimizer.m, P);
    } else if (t.name == "optimizer.v") {
      sized(t, s.optimizer.v, P);
    } else if (t.name.rfind("callbacks.", 0) == 0) {
      size_t k = 0;
      while (k < s.callback_states.size() && t.name != "callbacks." + std::to_string(k) + ".weights") ++k;
      if (k == s.callback_states.size())
        throw Error("'" + path + "': tensor '" + t.name + "' belongs to no callback of the "
                    "checkpoint (it lists " + std::to_string(s.callback_states.size()) + ")");
      sized(t, s.callback_weights[k], P);
    } else if (t.name.rfind("states.", 0) == 0) {  // sizes are checked against the layers in fit
      char which = 0;
      const size_t k = state_index(t.name, directions, which, path);
      (which == 'h' ? s.carried_h : s.carried_c)[k] = t.data;
    } else if (t.name.rfind("optimizer.", 0) == 0) {
      throw Error("'" + path + "': tensor '" + t.name + "' is not part of an optimizer's state "
                  "(optimizer.m, optimizer.v): the checkpoint is corrupt");
    }
  }
  if (s.optimizer.step > 0 && (s.optimizer.m.size() != P || s.optimizer.v.size() != P))
    throw Error("'" + path + "': the optimizer has taken " + std::to_string(s.optimizer.step) +
                " steps but its state (optimizer.m, optimizer.v) is missing or short: the "
                "checkpoint is corrupt");
  return s;
}

}  // namespace lstm
