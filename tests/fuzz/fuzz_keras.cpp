// Keras model files: any bytes as a .keras zip (libzip, the config JSON, HDF5 from memory) or a
// Keras 2 .h5 (HDF5 through libhdf5), told apart by their first bytes; what is read is a built
// model.
#include "fuzz.h"
#include "io/keras_model.h"

LSTM_FUZZ_TARGET({
  lstm::Sequential model = lstm::decode_keras(bytes, "fuzz.keras");
  if (model.count_params() <= 0) __builtin_trap();
})
