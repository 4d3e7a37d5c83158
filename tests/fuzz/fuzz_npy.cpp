// .npy arrays (lstm::parse_npy), with and without integer dtypes.
#include "fuzz.h"
#include "lstm/io.h"

LSTM_FUZZ_TARGET({
  lstm::Tensor t = lstm::parse_npy(bytes, "fuzz.npy", size % 2 == 0);
  volatile float sink = t.size() ? t[t.size() - 1] : 0.0f;
  (void)sink;
})
