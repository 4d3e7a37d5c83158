// Models of either kind and named arrays for the CLI (models.h).
#include "cli/models.h"

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/json.h"
#include "graph/graph_model.h"
#include "io/model_file.h"
#include "io/safetensors.h"
#include "core/limits.h"

namespace lstm::cli {

AnyModel load_any_model(const std::string& path) {
  const SafetensorsFile file = read_safetensors(path);
  AnyModel m;
  if (file.metadata.count("lstm.graph"))
    m.graph = std::make_unique<Model>(graph_model_from_safetensors(file, path));
  else
    m.sequential = std::make_unique<Sequential>(model_from_safetensors(file, path));
  return m;
}

static std::string list(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// NAME=VALUE per name (or one plain VALUE for one name), in the order of `names`.
static std::vector<std::string> by_name(const Args& a, const char* option, const std::vector<std::string>& names,
                                        const char* example) {
  const std::vector<std::string> given = a.all(option);
  const std::string opt = std::string("--") + option;
  if (given.size() == 1 && names.size() == 1 && given[0].find('=') == std::string::npos) return given;
  std::vector<std::string> out(names.size());
  std::vector<bool> seen(names.size(), false);
  for (const std::string& g : given) {
    const size_t eq = g.find('=');
    if (eq == std::string::npos)
      throw UsageError(opt + " '" + g + "': the model has " + std::to_string(names.size()) + " (" +
                       list(names) + "), so give one " + opt + " NAME=" + example + " for each");
    const std::string name = g.substr(0, eq);
    size_t k = 0;
    while (k < names.size() && names[k] != name) ++k;
    if (k == names.size())
      throw UsageError(opt + " " + g + ": the model has no '" + name + "'; its names are " + list(names));
    if (seen[k]) throw UsageError(opt + " " + name + "= is given twice");
    seen[k] = true;
    out[k] = g.substr(eq + 1);
    if (out[k].empty()) throw UsageError(opt + " " + g + ": no file after '='");
  }
  std::vector<std::string> missing;
  for (size_t k = 0; k < names.size(); ++k)
    if (!seen[k]) missing.push_back(names[k]);
  if (!missing.empty())
    throw UsageError("missing " + opt + " for " + list(missing) + ": give " + opt + " NAME=" + example +
                     " for each of " + list(names));
  return out;
}

Tensor read_npy(const std::string& path, bool allow_integers) {
  return distributed::launched_by_mpirun() ? map_npy(path, allow_integers)
                                           : load_npy(path, allow_integers);
}

std::vector<Tensor> named_arrays(const Args& a, const char* option, const std::vector<std::string>& names,
                                 bool allow_integers) {
  std::vector<Tensor> out;
  for (const std::string& path : by_name(a, option, names, "FILE.npy"))
    out.push_back(read_npy(path, allow_integers));
  return out;
}

std::vector<std::string> named_outputs(const Args& a, const char* option, const std::vector<std::string>& names) {
  return by_name(a, option, names, "FILE.npy");
}

std::vector<Loss> losses_from_arg(const std::string& text, bool from_logits, size_t n) {
  std::vector<std::string> names;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) names.push_back(item);
  if (names.size() != 1 && names.size() != n)
    throw UsageError("--loss " + text + " gives " + std::to_string(names.size()) + " losses for " +
                     std::to_string(n) + " outputs: give one for all, or one per output in order");
  std::vector<Loss> out;
  try {
    for (const std::string& name : names) out.push_back(loss_from_name(name, from_logits));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (out.size() == 1) out.resize(n, out[0]);
  return out;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

CompileOptions metric_options(const std::vector<std::string>& items) {
  CompileOptions o;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) o.metrics.push_back(item);
    else o.output_metrics[item.substr(0, eq)].push_back(item.substr(eq + 1));
  }
  return o;
}

std::string compile_record_json(const CompileRecord& r) {
  return nlohmann::json{{"loss", r.losses}, {"from_logits", r.from_logits}, {"metrics", r.metrics},
                        {"loss_weights", r.loss_weights}}
      .dump();
}

CompileRecord compile_record(const std::map<std::string, std::string>& metadata, const std::string& path) {
  CompileRecord r;
  auto it = metadata.find("lstm.compile");
  if (it == metadata.end()) return r;
  try {
    const nlohmann::json j = parse_json(it->second, "its \"lstm.compile\"");
    r.losses = j.at("loss").get<std::vector<std::string>>();
    r.from_logits = j.at("from_logits").get<bool>();
    r.metrics = j.at("metrics").get<std::vector<std::string>>();
    r.loss_weights = j.at("loss_weights").get<std::vector<double>>();
    if (r.losses.empty() || r.losses.size() > 1000 || r.metrics.size() > 100 || r.loss_weights.size() > 1000)
      throw Error("its lists are empty or too long");
  } catch (const std::exception& e) {
    throw Error("'" + path + "': its \"lstm.compile\" (the loss and metrics lstm train used) is malformed (" +
                e.what() + "): give --loss and --metrics");
  }
  return r;
}

std::vector<Option> next_token_flags(const LanguageModelOptions& d) {
  auto text = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  return {{"units", "N", "LSTM units (default 256)"},
          {"layers", "N", "LSTM layers (default 1)"},
          {"embedding", "N", "token embedding width (default 64)"},
          {"lookback", "T", "tokens per training window (default 100)"},
          {"dropout", "R", "dropout between layers, in [0, 1) (default 0)"},
          {"epochs", "N", std::string(d.validation > 0 ? "at most this many " : "") +
                              "passes over the training part (default " + std::to_string(d.epochs) + ")"},
          {"batch-size", "N", "windows per batch (default 32)"},
          {"lr", "X", "Adam's learning rate (default 0.002)"},
          {"clipnorm", "X", "global gradient-norm clip, 0 for none (default 5)"},
          {"holdout", "F", "the last fraction of the tokens, scored and never trained on (default 0.1)"},
          {"validation", "F",
           "the last fraction of the training part, held apart to stop training when its loss stops improving "
           "and keep the best epoch's weights; 0: every epoch runs (default " + text(d.validation) + ")"},
          {"patience", "N", "epochs without a better validation loss before stopping (default " +
                                std::to_string(d.patience) + ")"},
          {"seed", "N", "initial weights and shuffling (default 42)"},
          {"init", "pytorch|keras",
           "initial weights: PyTorch's (default; Embedding N(0, 1), LSTM U(+-1/sqrt(units))) or Keras's"}};
}

void read_next_token_flags(const Args& a, LanguageModelOptions& o) {
  o.units = int(a.integer("units", 256, 1, 1 << 16));
  o.layers = int(a.integer("layers", 1, 1, 64));
  o.embedding = int(a.integer("embedding", 64, 1, 1 << 16));
  o.lookback = a.integer("lookback", 100, 1, 1 << 20);
  o.dropout = float(a.number("dropout", 0.0));
  if (!(o.dropout >= 0.0f && o.dropout < 1.0f)) throw UsageError("--dropout must be in [0, 1)");
  o.epochs = int(a.integer("epochs", o.epochs, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 32, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.002));
  o.clipnorm = float(a.number("clipnorm", 5.0));
  o.holdout = a.number("holdout", 0.1);
  o.validation = a.number("validation", o.validation);
  if (!(o.validation >= 0.0 && o.validation < 0.5)) throw UsageError("--validation must be in [0, 0.5) (0: none)");
  o.patience = int(a.integer("patience", o.patience, 0, limits::kEpochs));
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  const std::string init = a.str("init", "pytorch");
  if (init != "pytorch" && init != "keras") throw UsageError("--init must be pytorch or keras, got " + init);
  o.init = init == "keras" ? LanguageModelInit::keras : LanguageModelInit::pytorch;
}

std::vector<Option> options_of(std::vector<Option> a, const std::vector<Option>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace lstm::cli
