// ONNX files: any bytes through protobuf's parser (libonnx's ModelProto) and lstm's reader of the
// graphs it writes (src/io/onnx_model.h); what is read is a built model.
#include "fuzz.h"
#include "io/onnx_model.h"

LSTM_FUZZ_TARGET({
  lstm::Sequential model = lstm::decode_onnx(bytes, "fuzz.onnx");
  if (model.count_params() <= 0) __builtin_trap();
})
