// What tests and tools need of a graph model beyond its public API.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "io/safetensors.h"
#include "lstm/functional.h"

namespace lstm {

struct WeightSource;   // model/model_impl.h

// A model built with its weights from `source` (checked against the graph before anything is
// allocated) instead of initialised; source null: initialised as Model's constructor does.
Model build_model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
                  ModelOptions options, const WeightSource* source);
// The graph as the model file's "lstm.graph" holds it, and a model back from a parsed file.
nlohmann::json graph_to_json(const Model& model);
Model graph_model_from_safetensors(const SafetensorsFile& file, const std::string& path);
// A model from a graph in the file's form (graph_to_json), built through the functional API;
// weights from `source` when not null. Throws lstm::Error naming the entry at fault.
Model model_from_graph_json(const nlohmann::json& graph, ModelOptions options, const WeightSource* source);
SafetensorsFile graph_model_to_safetensors(const Model& model);

// The most parameters a graph may have (limits::kParams; the fuzzers lower it, so that a config
// asking for a large model does not spend their time initialising it).
extern int64_t graph_param_limit;

// Whether a config's text is a graph's (a JSON object with "inputs" and "outputs") rather than
// a Sequential model's.
bool is_graph_config(const std::string& text);

// Who a graph's fit() trains for when that is not the graph itself (a Sequential model, whose
// chain the graph is): what callbacks see, and the model file its checkpoints hold and check.
struct FitOwner {
  Trainable* model = nullptr;
  std::function<SafetensorsFile()> file;
  std::function<std::vector<float>(const SafetensorsFile&, const std::string&)> weights_from_file;
};
// Model::fit, for `owner` when not null.
History fit_graph(Model& model, const TensorList& x, const TensorList& y, const FitOptions& options,
                  const FitOwner* owner);

// Sequential's chain: Input -> its layers -> output, built as build_model does, with `rng` (the
// Sequential's generator) drawing the initial weights of the layers `keep` (when not null) does
// not hold whole, its tensors named "layers.<i>.<tensor>", and at most param_limit parameters
// (0: graph_param_limit).
Model build_chain(const SymbolicTensor& input, const SymbolicTensor& output, ModelOptions options,
                  const Rng& rng, const WeightSource* source, const std::vector<float>* keep,
                  int64_t param_limit);

// The loss of the whole of (x, y) as one batch, without dropout, and (when grads is not null)
// its gradient with respect to every weight, in get_weights() order.
double model_loss_and_gradient(Model& model, const TensorList& x, const TensorList& y,
                               std::vector<float>* grads);

// The gradient of the same loss with respect to each input, shaped as it: [N, T, F] or [N, F]
// (zeros for token ids, which have none; a padded step's is zero). How much each step of each
// sample moves the loss: saliency, and the vanishing gradient of a plain RNN (lstm demo
// long-memory). *loss (when not null) gets the loss.
std::vector<Tensor> model_input_gradients(Model& model, const TensorList& x, const TensorList& y,
                                          double* loss = nullptr);

}  // namespace lstm
