// Graph model files (lstm::Model): safetensors, then the graph its "lstm.graph" describes,
// rebuilt through the functional API with its weights from its tensors; a model that loads is
// summarised, written back and loaded again.
#include "fuzz.h"
#include "graph/graph_model.h"
#include "io/safetensors.h"

LSTM_FUZZ_TARGET({
  const lstm::SafetensorsFile file = lstm::parse_safetensors(bytes, "fuzz.safetensors");
  lstm::Model model = lstm::graph_model_from_safetensors(file, "fuzz.safetensors");
  (void)model.summary();
  const lstm::SafetensorsFile again = lstm::graph_model_to_safetensors(model);
  lstm::Model copy = lstm::graph_model_from_safetensors(again, "again");
  if (copy.get_weights() != model.get_weights()) __builtin_trap();
})
