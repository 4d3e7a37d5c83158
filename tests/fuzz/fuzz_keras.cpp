// Keras model files: any bytes as a .keras zip (libzip, the config JSON, HDF5 from memory) or a
// Keras 2 .h5 (HDF5 through libhdf5), told apart by their first bytes; Sequential and functional
// configs; what is read is a built model of either kind.
#include "fuzz.h"
#include "io/keras_model.h"

LSTM_FUZZ_TARGET({
  lstm::KerasModel m = lstm::decode_keras_model(bytes, "fuzz.keras");
  if ((m.sequential ? m.sequential->count_params() : m.graph->count_params()) < 0) __builtin_trap();
})
