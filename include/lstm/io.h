// lstm/io.h - NumPy .npy files and PyTorch state_dicts in and out.
//
//   lstm::Tensor X = lstm::load_npy("X.npy");      // float32 or float64 (converted), C order
//   lstm::save_npy("pred.npy", y_pred);            // float32, written atomically
//
// load_npy reads format versions 1.0, 2.0 and 3.0, little- or big-endian float32/float64, and
// (with allow_integers) integer arrays such as class labels, converted to float. Anything else
// (Fortran order, other dtypes, a truncated file) is an lstm::Error naming the problem and the fix.
// Model files are .safetensors; see Sequential::save/load and docs/file-format.md.
//
// PyTorch state_dicts (docs/interop.md):
//   lstm::Sequential m = lstm::load_torch("model.pt");          // nn.LSTM/GRU/RNN/Linear/Embedding
//   lstm::save_torch("back.pt", m);                             // torch.load(..., weights_only=True)
// load_torch reads torch.save's zip without running its pickle (a restricted reader that refuses
// every global but the tensor ones). The architecture: `config_json` (lstm's model config), else
// the one a file from save_torch carries, else inferred from the names and shapes (what was
// assumed goes to `notes`). save_torch writes the names of scripts/torch_twin.py's Twin.
#pragma once

#include <string>
#include <vector>

#include "lstm/model.h"
#include "lstm/tensor.h"

namespace lstm {

Tensor load_npy(const std::string& path, bool allow_integers = false);
// The same from a file's bytes; `name` names it in messages.
Tensor parse_npy(const std::string& bytes, const std::string& name, bool allow_integers = false);
void save_npy(const std::string& path, const Tensor& tensor);

Sequential load_torch(const std::string& path, const std::string& config_json = "",
                      std::vector<std::string>* notes = nullptr);
void save_torch(const std::string& path, const Sequential& model);

}  // namespace lstm
