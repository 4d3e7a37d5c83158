// lstm/io.h - NumPy .npy files in and out.
//
//   lstm::Tensor X = lstm::load_npy("X.npy");      // float32 or float64 (converted), C order
//   lstm::save_npy("pred.npy", y_pred);            // float32, written atomically
//
// load_npy reads format versions 1.0, 2.0 and 3.0, little- or big-endian float32/float64, and
// (with allow_integers) integer arrays such as class labels, converted to float. Anything else
// (Fortran order, other dtypes, a truncated file) is an lstm::Error naming the problem and the fix.
// Model files are .safetensors; see Sequential::save/load and docs/file-format.md.
#pragma once

#include <string>

#include "lstm/tensor.h"

namespace lstm {

Tensor load_npy(const std::string& path, bool allow_integers = false);
// The same from a file's bytes; `name` names it in messages.
Tensor parse_npy(const std::string& bytes, const std::string& name, bool allow_integers = false);
void save_npy(const std::string& path, const Tensor& tensor);

}  // namespace lstm
