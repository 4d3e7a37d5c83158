// lstm summary: the layers, output shapes and parameter counts of a saved model.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/limits.h"

#include "cli/commands.h"
#include "cli/models.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kSummary{"summary",
                       "Print a saved model's layers, output shapes and parameter counts (a graph: "
                       "what each layer is connected to), and its architecture JSON.",
                       {{"model", "FILE", "the model (.safetensors)"},
                        {"batch", "B", "the batch size of the working-memory table (default 32)"},
                        {"steps", "T", "the steps per sequence of that table, for inputs of any "
                                       "length (default 100)"}}};

// "512 B", "20.5 KiB", "2.35 MiB", "1.20 GiB"
static std::string human(int64_t bytes) {
  char s[32];
  const double b = double(bytes);
  if (bytes < 1024) std::snprintf(s, sizeof s, "%lld B", static_cast<long long>(bytes));
  else if (b < 1024.0 * 1024) std::snprintf(s, sizeof s, "%.1f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024) std::snprintf(s, sizeof s, "%.2f MiB", b / (1024.0 * 1024));
  else std::snprintf(s, sizeof s, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  return s;
}

int run_summary(const Args& a) {
  AnyModel model = load_any_model(a.required("model"));
  const int64_t B = a.integer("batch", 32, 1, limits::kPlanShape);
  const int64_t T = a.integer("steps", 100, 1, limits::kPlanShape);
  Trainable& m = model.trainable();
  std::fputs(m.summary().c_str(), stdout);
  // What fit() allocates before its first batch (layers/workspace.h), per layer.
  const std::vector<MemoryRow> rows = m.memory_plan(B, T);
  size_t w = 30;
  for (const MemoryRow& r : rows) w = std::max(w, r.layer.size() + 2);
  std::printf("Working memory of one training batch (batch %lld, %lld steps in inputs of any length):\n",
              static_cast<long long>(B), static_cast<long long>(T));
  std::printf(" %-*s%12s%12s\n", int(w), "Layer", "forward", "backward");
  int64_t fwd = 0, bwd = 0;
  for (const MemoryRow& r : rows) {
    std::printf(" %-*s%12s%12s\n", int(w), r.layer.c_str(), human(r.forward_bytes).c_str(),
                human(r.backward_bytes).c_str());
    fwd += r.forward_bytes, bwd += r.backward_bytes;
  }
  std::printf(" %-*s%12s%12s\n", int(w), "Total", human(fwd).c_str(), human(bwd).c_str());
  std::printf("Parameters: %s (as much again for their gradients, twice as much for Adam's moments)\n",
              human(4 * m.count_params()).c_str());
  const Precision p = model.graph ? model.graph->precision() : model.sequential->precision();
  if (p != Precision::fp32)
    std::printf("Inference precision: %s (saved with the model; lstm predict --precision fp32 overrides it)\n",
                precision_name(p));
  std::printf("config: %s\n", (model.graph ? model.graph->to_json() : model.sequential->to_json()).c_str());
  return 0;
}

}  // namespace lstm::cli
