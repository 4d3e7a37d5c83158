// The Python module `lstm._lstm` (imported by python/lstm/__init__.py): arrays, errors, names.
#include <signal.h>

#include <cstdlib>
#include <string>

#include "python/bind.h"

namespace lstm::python {

ArrayTensor as_tensor(const py::handle& object, const std::string& what) {
  if (object.is_none()) throw py::type_error(what + " is None: give a NumPy array");
  // ensure() returns the array itself when it is float32 and C-contiguous, else a converted copy
  FloatArray array = FloatArray::ensure(object);
  if (!array) {
    PyErr_Clear();
    throw py::type_error(what + " must be a NumPy array of numbers (or a nested list of them), not " +
                         std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
  // Inputs are only read: a read-only array is fine.
  Tensor tensor = Tensor::view(std::move(shape), const_cast<float*>(array.data()));
  return {std::move(array), std::move(tensor)};
}

std::vector<ArrayTensor> as_tensors(const py::handle& object, const std::string& what) {
  std::vector<ArrayTensor> out;
  if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
    size_t k = 0;
    for (const py::handle& item : object) out.push_back(as_tensor(item, what + "[" + std::to_string(k++) + "]"));
  } else {
    out.push_back(as_tensor(object, what));
  }
  return out;
}

std::vector<int64_t> as_lengths(const py::handle& object) {
  if (object.is_none()) return {};
  auto array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(object);
  if (!array || array.ndim() != 1) {
    PyErr_Clear();
    throw py::type_error("lengths must be a 1-D sequence of integers, one per sample");
  }
  return std::vector<int64_t>(array.data(), array.data() + array.size());
}

py::array to_array(Tensor&& tensor) {
  if (tensor.is_view()) tensor = Tensor(tensor);  // own it
  auto* owner = new Tensor(std::move(tensor));
  py::capsule keep(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(owner->shape().begin(), owner->shape().end());
  return py::array_t<float>(shape, owner->data(), keep);
}

py::array to_array(std::vector<float>&& values, std::vector<int64_t> shape) {
  return to_array(Tensor(std::move(shape), std::move(values)));
}

py::dict to_dict(const Logs& logs) {
  py::dict d;
  for (const auto& [key, value] : logs) d[py::str(key)] = value;
  return d;
}

py::dict to_dict(const History& history) {
  py::dict d;
  for (const auto& [key, values] : history.history) d[py::str(key)] = py::cast(values);
  return d;
}

// A signal handler that runs on the stack of a thread inside oneDNN's sgemm corrupts that
// computation's memory (found with Ctrl-C; a no-op SIGALRM handler firing during fit() does it
// every time): oneDNN's JIT GEMM kernels point rsp at a heap workspace (uxlfoundation/oneDNN
// issue 4845, fixed upstream by PR 4855 in 2026; Debian 12 ships 2.6.3), so the handler's frame
// lands in the heap. The handler must run on an alternate stack. Python installs its handlers with
// SA_ONSTACK, so the thread that computes gets one here, once (the kernel hands a
// process-directed signal to the main thread first). Threads that already have one keep it.
void ensure_signal_stack() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  stack_t current{};
  if (sigaltstack(nullptr, &current) != 0 || !(current.ss_flags & SS_DISABLE)) return;
  static thread_local std::vector<char> memory(size_t(1) << 16);
  stack_t alternate{};
  alternate.ss_sp = memory.data();
  alternate.ss_size = memory.size();
  sigaltstack(&alternate, nullptr);
}

int verbose_arg(const py::handle& verbose) {
  if (py::isinstance<py::str>(verbose)) {
    const std::string v = verbose.cast<std::string>();
    if (v == "auto") return 1;
    throw py::value_error("verbose must be 0, 1, 2 or \"auto\", not \"" + v + "\"");
  }
  return verbose.cast<int>();
}

Activation activation_arg(const py::handle& name, Activation none_means) {
  if (name.is_none()) return none_means;
  return activation_from_name(name.cast<std::string>());
}

Optimizer optimizer_arg(const py::handle& optimizer) {
  if (py::isinstance<py::str>(optimizer)) return optimizer_from_name(optimizer.cast<std::string>());
  return optimizer.cast<Optimizer>();
}

Loss loss_arg(const py::handle& loss) {
  if (py::isinstance<py::str>(loss)) return loss_from_name(loss.cast<std::string>());
  return loss.cast<Loss>();
}

}  // namespace lstm::python

PYBIND11_MODULE(_lstm, m) {
  namespace py = pybind11;
  using namespace lstm::python;
  m.doc() = "lstm's C++ library (the classes and functions that the lstm package re-exports).";
  m.attr("__version__") = LSTM_VERSION_STRING;
  ensure_signal_stack();
  // lstm.Error is a ValueError (Keras raises ValueError for bad shapes and names); its message
  // is the library's, which names the problem and the fix.
  static py::exception<lstm::Error> error(m, "Error", PyExc_ValueError);
  static py::exception<lstm::TrainingDiverged> diverged(m, "TrainingDiverged", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const lstm::TrainingDiverged& e) {
      diverged(e.what());
    } catch (const lstm::Error& e) {
      error(e.what());
    }
  });
  m.def("_tensor_address", [](const py::handle& x) {
    ArrayTensor t = as_tensor(x, "x");
    return reinterpret_cast<uintptr_t>(t.tensor.data());
  }, py::arg("x"), "The address of the data the library reads for array x (tests: no copy for float32, C order).");
  m.def("set_num_threads", &lstm::set_num_threads, py::arg("n"),
        "Threads the library computes with (default: every core; LSTM_NUM_THREADS sets it too).");
  m.def("num_threads", &lstm::num_threads, "Threads the library computes with.");
  bind_layers(m);
  bind_models(m);
  bind_jobs(m);
}
