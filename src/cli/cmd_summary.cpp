// lstm summary: the layers, output shapes and parameter counts of a saved model.
#include <cstdio>

#include "cli/commands.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kSummary{"summary",
                       "Print a saved model's layers, output shapes and parameter counts, "
                       "and its architecture JSON.",
                       {{"model", "FILE", "the model (.safetensors)"}}};

int run_summary(const Args& a) {
  Sequential model = Sequential::load(a.required("model"));
  std::fputs(model.summary().c_str(), stdout);
  std::printf("config: %s\n", model.to_json().c_str());
  return 0;
}

}  // namespace lstm::cli
