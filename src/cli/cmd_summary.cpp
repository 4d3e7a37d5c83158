// lstm summary: the layers, output shapes and parameter counts of a saved model.
#include <cstdio>

#include "cli/commands.h"
#include "cli/models.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kSummary{"summary",
                       "Print a saved model's layers, output shapes and parameter counts (a graph: "
                       "what each layer is connected to), and its architecture JSON.",
                       {{"model", "FILE", "the model (.safetensors)"}}};

int run_summary(const Args& a) {
  AnyModel model = load_any_model(a.required("model"));
  std::fputs(model.trainable().summary().c_str(), stdout);
  std::printf("config: %s\n", (model.graph ? model.graph->to_json() : model.sequential->to_json()).c_str());
  return 0;
}

}  // namespace lstm::cli
