// lstm evaluate --x ... --y ...: any saved model's loss and metrics on arrays.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/models.h"
#include "train/metrics.h"

namespace lstm::cli {

int evaluate_arrays(const Args& a) {
  for (const char* opt : {"csv", "test-fraction", "season", "predictions", "report"})
    if (a.has(opt))
      throw UsageError("--" + std::string(opt) + " is for forecasters (lstm evaluate --csv); with --x "
                       "and --y the model is scored on the arrays");
  for (const char* opt : {"x", "y"})
    if (!a.has(opt)) (void)a.required(opt);
  const std::string path = a.required("model");
  const int64_t batch = a.integer("batch-size", 32, 1, 1 << 30);
  AnyModel any = load_any_model(path);
  if (any.graph) apply_precision(a, *any.graph);
  else apply_precision(a, *any.sequential);
  const CompileRecord saved = compile_record(any.metadata(), path);
  if (!a.has("loss") && saved.losses.empty())
    throw UsageError("'" + path + "' does not say which loss it was trained with: give --loss");
  std::string loss_text;
  for (const std::string& l : saved.losses) loss_text += (loss_text.empty() ? "" : ",") + l;
  if (a.has("loss")) loss_text = a.str("loss");
  const bool logits = a.has("loss") ? a.has("from-logits") : saved.from_logits || a.has("from-logits");
  const std::vector<std::string> metrics = a.has("metrics") ? split_commas(a.str("metrics")) : saved.metrics;
  Logs logs;
  if (any.graph) {
    Model& model = *any.graph;
    const std::vector<Loss> losses = losses_from_arg(loss_text, logits, model.output_names().size());
    const std::vector<Tensor> xs = named_arrays(a, "x", model.input_names(), false);
    const std::vector<Tensor> ys = named_arrays(a, "y", model.output_names(), true);
    CompileOptions co = metric_options(metrics);
    if (!a.has("loss")) co.loss_weights = saved.loss_weights;
    model.compile(Adam(), losses, co);
    std::vector<int64_t> lengths;
    if (a.has("lengths")) lengths = load_lengths(a.str("lengths"));
    model.evaluate(TensorList(xs), TensorList(ys), lengths, int(batch));
    logs = model.last_logs();
  } else {
    Sequential& model = *any.sequential;
    if (a.count("x") > 1 || a.count("y") > 1)
      throw UsageError("a Sequential model has one input and one output: give one --x and one --y");
    const std::vector<Loss> losses = losses_from_arg(loss_text, logits, 1);
    const Tensor X = load_npy(a.str("x"), /*allow_integers=*/model.layers()[0].type == LayerType::embedding),
                 y = load_npy(a.str("y"), /*allow_integers=*/true);
    std::vector<int64_t> lengths;
    if (a.has("lengths")) lengths = load_lengths(a.str("lengths"));
    model.compile(Adam(), losses[0], metric_options(metrics));
    model.evaluate(X, y, lengths, int(batch));
    logs = model.last_logs();
  }
  if (a.has("json")) {
    std::printf("%s\n", nlohmann::json(logs).dump().c_str());
  } else {
    for (const auto& [key, value] : logs) std::printf("%-24s %.6g\n", key.c_str(), value);
  }
  return 0;
}

}  // namespace lstm::cli
