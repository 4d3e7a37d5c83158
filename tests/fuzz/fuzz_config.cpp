// Model configs (lstm train --config): parsed, then built with random weights, at most 2^20
// parameters (a config asks for the size it wants; the fuzzer does not need gigabytes), and
// written back to JSON, which must read back the same.
#include "fuzz.h"
#include "model/model_impl.h"

LSTM_FUZZ_TARGET({
  const std::vector<lstm::LayerConfig> configs = lstm::layer_configs_from_json(bytes);
  lstm::Sequential model;
  model.impl().max_params = int64_t(1) << 20;
  for (const lstm::LayerConfig& c : configs) model.add(c);
  const std::string json = model.to_json();
  if (lstm::Sequential::from_json(json).to_json() != json) __builtin_trap();
})
