// lstm predict: run a saved model on X.npy and write Y.npy.
#include <cstdio>

#include "cli/commands.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kPredict{"predict",
                       "Run a saved model on X [N, T, F] and write its outputs as .npy "
                       "([N, out], or [N, T, out] when it returns sequences).",
                       {
                           {"model", "FILE", "the model (.safetensors)"},
                           {"x", "FILE", "inputs, .npy float32/float64 [N, T, F]"},
                           {"out", "FILE", "where to write the predictions (.npy, float32)"},
                           {"batch-size", "N", "samples per forward pass (default 32)"},
                       }};

int run_predict(const Args& a) {
  const std::string model_path = a.required("model"), x_path = a.required("x"),
                    out = a.required("out");
  const long batch = a.integer("batch-size", 32);
  if (batch <= 0) throw UsageError("--batch-size must be a positive integer");
  Sequential model = Sequential::load(model_path);
  Tensor X = load_npy(x_path);
  Tensor y = model.predict(X, int(batch));
  save_npy(out, y);
  std::printf("wrote %s %s\n", out.c_str(), y.shape_string().c_str());
  return 0;
}

}  // namespace lstm::cli
