// Model configs (lstm train --config), chains and graphs: parsed, then built with random
// weights, at most 2^16 parameters (a config asks for the size it wants, and initialising a
// large one takes as long as it should; the fuzzer needs neither), and written back to JSON,
// which must read back the same.
#include "fuzz.h"
#include "graph/graph_model.h"
#include "model/model_impl.h"

static lstm::Sequential build(const std::string& json) {
  lstm::Sequential model;
  model.impl().max_params = int64_t(1) << 16;
  for (const lstm::LayerConfig& c : lstm::layer_configs_from_json(json)) model.add(c);
  return model;
}

LSTM_FUZZ_TARGET({
  if (lstm::is_graph_config(bytes)) {
    lstm::graph_param_limit = int64_t(1) << 16;
    const std::string json = lstm::Model::from_json(bytes).to_json();
    if (lstm::Model::from_json(json).to_json() != json) __builtin_trap();
    return 0;
  }
  const std::string json = build(bytes).to_json();
  if (build(json).to_json() != json) __builtin_trap();
})
