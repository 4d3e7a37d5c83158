// Model files: safetensors, then the model its config describes built from its tensors; a
// model that loads is summarised, written back and loaded again; a forecaster's setup (one or
// many series) is read and checked against the model.
#include "fuzz.h"
#include "lstm/forecast.h"
#include "io/model_file.h"
#include "io/safetensors.h"

LSTM_FUZZ_TARGET({
  const lstm::SafetensorsFile file = lstm::parse_safetensors(bytes, "fuzz.safetensors");
  lstm::Sequential model = lstm::model_from_safetensors(file, "fuzz.safetensors");
  (void)model.summary();
  const lstm::SafetensorsFile again = lstm::model_to_safetensors(model);
  lstm::Sequential copy = lstm::model_from_safetensors(again, "again");
  if (copy.get_weights() != model.get_weights()) __builtin_trap();
  if (lstm::has_forecast_setup(model)) (void)lstm::forecast_setup(model).to_json();
})
