// Keras model files: any bytes as a .keras zip (libzip, the config JSON, HDF5 from memory) or a
// Keras 2 .h5 (HDF5 through libhdf5), told apart by their first bytes; Sequential and functional
// configs; what is read is a built model of either kind.
#include "fuzz.h"
#include "io/hdf5_file.h"
#include "io/keras_model.h"

// libhdf5 runs in a child process (io/sandbox.h): a crash there is an lstm::Error here, and an
// endless read (libhdf5 1.10.8 on a corrupt variable-length string, common among mutated inputs)
// ends at the deadline, short here so that such inputs cost the fuzzer little.
LSTM_FUZZ_TARGET({
  lstm::hdf5_set_deadline(0.25);
  lstm::KerasModel m = lstm::decode_keras_model(bytes, "fuzz.keras");
  if ((m.sequential ? m.sequential->count_params() : m.graph->count_params()) < 0) __builtin_trap();
})
