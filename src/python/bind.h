// The Python module's shared pieces (src/python/): NumPy arrays in and out, Keras's names.
//
// Arrays in: a float32, C-contiguous array becomes a Tensor::view of its memory (no copy); any
// other array (float64, integers, a slice with strides) is converted to one float32 copy first.
// Arrays out: the library's result Tensor (or weight vector) is moved into a capsule that the
// returned array owns (no copy).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lstm/lstm.h"

namespace lstm::python {

namespace py = pybind11;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A Tensor over an array's memory, with the array it came from (or the copy it needed) kept
// alive for as long as the Tensor is used.
struct ArrayTensor {
  FloatArray array;
  Tensor tensor;
};
ArrayTensor as_tensor(const py::handle& object, const std::string& what);
std::vector<ArrayTensor> as_tensors(const py::handle& object, const std::string& what);
// Per-sample lengths, from any sequence of integers (None: empty).
std::vector<int64_t> as_lengths(const py::handle& object);

py::array to_array(Tensor&& tensor);
py::array to_array(std::vector<float>&& values, std::vector<int64_t> shape);
py::dict to_dict(const Logs& logs);
py::dict to_dict(const History& history);

// Gives the calling thread an alternate signal stack if it has none (module.cpp says why);
// every call that computes makes it first.
void ensure_signal_stack();
// Keras's verbose: 0, 1, 2 or "auto" (1); anything else is a ValueError.
int verbose_arg(const py::handle& verbose);
// Keras's names: "mean_squared_error", "adam", None for linear, ...
Activation activation_arg(const py::handle& name, Activation none_means);
Optimizer optimizer_arg(const py::handle& optimizer);
Loss loss_arg(const py::handle& loss);

void bind_layers(py::module_& m);
void bind_models(py::module_& m);
void bind_jobs(py::module_& m);

}  // namespace lstm::python
