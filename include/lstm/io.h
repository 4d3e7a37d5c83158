// lstm/io.h - NumPy .npy files and PyTorch state_dicts in and out.
//
//   lstm::Tensor X = lstm::load_npy("X.npy");      // float32 or float64 (converted), C order
//   lstm::save_npy("pred.npy", y_pred);            // float32, written atomically
//   lstm::Tensor big = lstm::map_npy("X.npy");     // mapped, read as it is touched
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
// The same array mapped into memory instead of read (numpy.load(path, mmap_mode="c")), for
// float32 C-order files: a view (Tensor::view) whose values are read from the file when first
// touched, holding the mapping while it or a move of it lives (a copy reads it all). Training
// reads only the rows of its batches, so each rank of an MPI job reads its share of the file
// (lstm/distributed.h). Writes through the view stay in this process. Other dtypes and byte
// orders are read and converted as load_npy does. The file must not be truncated while mapped
// (reading a page past its new end would end the process with SIGBUS, as it would NumPy's).
Tensor map_npy(const std::string& path, bool allow_integers = false);

Sequential load_torch(const std::string& path, const std::string& config_json = "",
                      std::vector<std::string>* notes = nullptr);
void save_torch(const std::string& path, const Sequential& model);

}  // namespace lstm
