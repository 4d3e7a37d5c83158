// Training checkpoints: the model of the checkpoint's own config, then its training state
// (optimizer moments, callbacks, carried states, history, random state).
#include "fuzz.h"
#include "io/checkpoint.h"
#include "io/model_file.h"

LSTM_FUZZ_TARGET({
  const lstm::SafetensorsFile file = lstm::parse_safetensors(bytes, "fuzz.safetensors");
  lstm::Sequential model = lstm::model_from_safetensors(file, "fuzz.safetensors");
  const lstm::TrainingState s = lstm::read_checkpoint(file, "fuzz.safetensors", model);
  if (s.epochs_done < 0 || s.optimizer.step < 0) __builtin_trap();
})
