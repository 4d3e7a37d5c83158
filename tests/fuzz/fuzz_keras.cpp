// Keras model files: any bytes as a .keras zip (libzip, the config JSON, HDF5 from memory) or a
// Keras 2 .h5 (HDF5 through libhdf5), told apart by their first bytes; Sequential and functional
// configs; what is read is a built model of either kind.
#include "fuzz.h"
#include "io/hdf5_file.h"
#include "io/keras_model.h"

// libhdf5 1.10.8 can spin without end on a corrupt variable-length string (a known gap,
// docs/robustness.md): refused here so that the target explores everything else.
LSTM_FUZZ_TARGET({
  lstm::hdf5_refuse_variable_strings(true);
  lstm::KerasModel m = lstm::decode_keras_model(bytes, "fuzz.keras");
  if ((m.sequential ? m.sequential->count_params() : m.graph->count_params()) < 0) __builtin_trap();
})
