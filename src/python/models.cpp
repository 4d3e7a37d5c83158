// Sequential and Model with Keras's methods, optimizers, callbacks, load_model.
//
// fit/predict/evaluate release the GIL while the library computes; callbacks written in Python
// and the Ctrl-C check take it back once per batch. Ctrl-C during fit() ends it after the
// current batch (the model keeps that batch's weights, model.history the epochs done) and
// raises KeyboardInterrupt.
#include <memory>

#include "graph/graph_model.h"
#include "io/file.h"
#include "io/keras_model.h"
#include "io/model_file.h"
#include "io/onnx_model.h"
#include "io/safetensors.h"
#include "python/bind.h"

namespace lstm::python {

// Keras's History: .history (a dict of per-epoch lists), .epoch, .params.
struct PyHistory {
  py::dict history;
  py::list epoch;
  py::dict params;
};

static PyHistory make_history(const History& h, int epochs, int64_t steps) {
  PyHistory out;
  out.history = to_dict(h);
  for (int e = 0; e < h.epochs(); ++e) out.epoch.append(e);
  out.params["epochs"] = epochs;
  out.params["steps"] = steps;
  out.params["verbose"] = 0;
  return out;
}

// A Python exception raised where the GIL was taken back (a callback, Ctrl-C), kept until fit()
// returns and raised then.
struct PendingError {
  std::unique_ptr<py::error_already_set> error;
  void keep(Trainable& model) {  // with the GIL held, a Python error set
    if (!error) error = std::make_unique<py::error_already_set>();
    model.stop_training = true;
  }
  void raise() {
    if (error) {
      std::unique_ptr<py::error_already_set> e = std::move(error);
      throw *e;
    }
  }
};

// Ctrl-C: Python's SIGINT handler only sets a flag while the GIL is released; this checks it
// after every batch (PyErr_CheckSignals runs the handler, which raises KeyboardInterrupt).
class InterruptCheck : public Callback {
 public:
  explicit InterruptCheck(PendingError& pending) : pending_(pending) {}
  void on_batch_end(Trainable& model, int64_t, double) override {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) pending_.keep(model);
  }

 private:
  PendingError& pending_;
};

// A callback written in Python (lstm.callbacks.Callback's methods, Keras's signatures).
class PythonCallback : public Callback {
 public:
  PythonCallback(py::object callback, PendingError& pending) : cb_(std::move(callback)), pending_(pending) {}
  ~PythonCallback() override {
    py::gil_scoped_acquire gil;
    cb_ = py::object();
  }
  void on_train_begin(Trainable& model) override {
    py::gil_scoped_acquire gil;
    call(model, "on_train_begin", py::dict());
  }
  void on_epoch_end(Trainable& model, int epoch, const Logs& logs) override {
    py::gil_scoped_acquire gil;
    call(model, "on_epoch_end", epoch, to_dict(logs));
  }
  void on_batch_end(Trainable& model, int64_t batch, double mean_loss) override {
    py::gil_scoped_acquire gil;
    py::dict logs;
    logs["loss"] = mean_loss;
    call(model, "on_train_batch_end", batch - 1, logs);  // Keras counts batches from 0
  }
  void on_train_end(Trainable& model) override {
    py::gil_scoped_acquire gil;
    call(model, "on_train_end", py::dict());
  }

 private:
  template <typename... Args>
  void call(Trainable& model, const char* method, Args&&... args) {  // with the GIL held
    if (pending_.error) return;
    try {
      if (py::hasattr(cb_, method)) cb_.attr(method)(std::forward<Args>(args)...);
    } catch (py::error_already_set& e) {
      e.restore();
      pending_.keep(model);
    }
  }
  py::object cb_;
  PendingError& pending_;
};


// What fit() takes besides x and y, read from Keras's keyword arguments. The arrays stay alive
// in `keep` while the library reads their memory.
struct FitArgs {
  FitOptions options;
  std::vector<ArrayTensor> keep;
  PendingError pending;
};

static void read_fit_args(FitArgs& f, const py::object& model, const py::handle& batch_size, int epochs,
                          const py::handle& verbose, const py::handle& callbacks, double validation_split,
                          const py::handle& validation_data, bool shuffle, const py::handle& lengths,
                          const py::handle& checkpoint, bool resume) {
  FitOptions& o = f.options;
  o.epochs = epochs;
  o.batch_size = batch_size.is_none() ? 32 : batch_size.cast<int>();
  o.verbose = verbose_arg(verbose);
  o.shuffle = shuffle;
  o.validation_split = validation_split;
  o.lengths = as_lengths(lengths);
  if (!checkpoint.is_none()) o.checkpoint = checkpoint.cast<std::string>();
  o.resume = resume;
  if (!validation_data.is_none()) {
    auto data = validation_data.cast<py::tuple>();
    if (data.size() < 2)
      throw py::value_error("validation_data must be a tuple (x_val, y_val)");
    f.keep.push_back(as_tensor(data[0], "validation_data[0]"));
    f.keep.push_back(as_tensor(data[1], "validation_data[1]"));
    o.validation_x = f.keep[f.keep.size() - 2].tensor.reshaped(f.keep[f.keep.size() - 2].tensor.shape());
    o.validation_y = f.keep.back().tensor.reshaped(f.keep.back().tensor.shape());
  }
  if (!callbacks.is_none())
    for (const py::handle& cb : callbacks) {
      if (py::isinstance<Callback>(cb)) {
        o.callbacks.push_back(cb.cast<std::shared_ptr<Callback>>());
      } else {
        if (py::hasattr(cb, "set_model")) cb.attr("set_model")(model);
        o.callbacks.push_back(std::make_shared<PythonCallback>(py::reinterpret_borrow<py::object>(cb), f.pending));
      }
    }
  o.callbacks.push_back(std::make_shared<InterruptCheck>(f.pending));
}

// fit() with the GIL released; then any kept Python error (with model.history set first).
template <typename Fit>
static PyHistory run_fit(const py::object& self, FitArgs& f, int64_t samples, Fit&& fit) {
  History h;
  if (f.options.verbose > 0) {  // the library prints through C's stdout: Python's goes first
    py::object out = py::module_::import("sys").attr("stdout");
    if (!out.is_none() && py::hasattr(out, "flush")) out.attr("flush")();
  }
  {
    ensure_signal_stack();
    py::gil_scoped_release release;
    h = fit();
  }
  const int64_t train = samples - int64_t(double(samples) * f.options.validation_split);
  PyHistory out = make_history(h, f.options.epochs, (train + f.options.batch_size - 1) / f.options.batch_size);
  self.attr("history") = out;
  f.options.callbacks.clear();  // the Python callbacks' references, with the GIL held
  f.pending.raise();
  return out;
}

// Keras's evaluate(): the loss, or [loss, metrics...] with metrics, or the dict.
static py::object evaluate_result(const Logs& logs, bool return_dict) {
  if (return_dict) return to_dict(logs);
  if (logs.size() == 1) return py::float_(logs.at("loss"));
  py::list out;
  out.append(logs.at("loss"));
  for (const auto& [key, value] : logs)
    if (key != "loss") out.append(value);
  return out;
}

// get_weights(): one array per tensor, views into one buffer the arrays share (no copy).
static py::list weight_arrays(std::vector<float> flat, const std::vector<NamedWeight>& names) {
  auto* owner = new std::vector<float>(std::move(flat));
  py::capsule keep(owner, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  py::list out;
  for (const NamedWeight& w : names) {
    std::vector<py::ssize_t> shape(w.shape.begin(), w.shape.end());
    out.append(py::array_t<float>(shape, owner->data() + w.offset, keep));
  }
  return out;
}

static std::vector<float> flat_weights(const py::handle& arrays, const std::vector<NamedWeight>& names,
                                       int64_t count) {
  std::vector<float> flat(size_t(count), 0.0f);
  py::list list;
  for (const py::handle& a : arrays) list.append(a);
  if (list.size() != names.size())
    throw lstm::Error("set_weights got " + std::to_string(list.size()) + " arrays but the model has " +
                      std::to_string(names.size()) + " weight tensors (get_weights() lists them)");
  for (size_t k = 0; k < names.size(); ++k) {
    ArrayTensor a = as_tensor(list[k], "weights[" + std::to_string(k) + "]");
    if (a.tensor.shape() != names[k].shape)
      throw lstm::Error("set_weights: array " + std::to_string(k) + " (" + names[k].name + ") has shape " +
                        a.tensor.shape_string() + " but the model's is " + shape_string(names[k].shape));
    std::copy(a.tensor.data(), a.tensor.data() + a.tensor.size(), flat.begin() + names[k].offset);
  }
  return flat;
}

static std::vector<SymbolicTensor> symbolic_list(const py::handle& x) {
  if (py::isinstance<SymbolicTensor>(x)) return {x.cast<SymbolicTensor>()};
  return x.cast<std::vector<SymbolicTensor>>();
}

static std::vector<Tensor> tensor_views(const std::vector<ArrayTensor>& arrays) {
  std::vector<Tensor> out;
  for (const ArrayTensor& a : arrays) out.push_back(a.tensor.reshaped(a.tensor.shape()));  // views
  return out;
}

static void compile_options(CompileOptions& c, const py::handle& metrics, const py::handle& loss_weights) {
  if (!metrics.is_none()) c.metrics = metrics.cast<std::vector<std::string>>();
  if (!loss_weights.is_none()) c.loss_weights = loss_weights.cast<std::vector<double>>();
}

static void bind_optimizers(py::module_& m) {
  py::class_<Optimizer>(m, "Optimizer", "An optimizer (lstm.optimizers.Adam(...), or a name in compile()).")
      .def_property_readonly("name", [](const Optimizer& o) { return std::string(optimizer_name(o.kind)); })
      .def_readwrite("learning_rate", &Optimizer::learning_rate)
      .def("__repr__", [](const Optimizer& o) {
        return "<lstm.optimizers." + std::string(optimizer_name(o.kind)) +
               " learning_rate=" + std::to_string(o.learning_rate) + ">";
      });
  auto clip = [](Optimizer o, const py::handle& global_clipnorm, const py::handle& clipvalue) {
    if (!global_clipnorm.is_none()) o.global_clipnorm = global_clipnorm.cast<float>();
    if (!clipvalue.is_none()) o.clipvalue = clipvalue.cast<float>();
    return o;
  };
  m.def("Adam", [clip](float learning_rate, float beta_1, float beta_2, float epsilon,
                       const py::handle& global_clipnorm, const py::handle& clipvalue) {
    return clip(Adam({.learning_rate = learning_rate, .beta_1 = beta_1, .beta_2 = beta_2, .epsilon = epsilon}),
                global_clipnorm, clipvalue);
  }, py::arg("learning_rate") = 0.001f, py::arg("beta_1") = 0.9f, py::arg("beta_2") = 0.999f,
     py::arg("epsilon") = 1e-7f, py::arg("global_clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
     "Adam (PyTorch's update rule; Keras's defaults).");
  m.def("AdamW", [clip](float learning_rate, float weight_decay, float beta_1, float beta_2, float epsilon,
                        const py::handle& global_clipnorm, const py::handle& clipvalue) {
    return clip(AdamW({.learning_rate = learning_rate, .weight_decay = weight_decay, .beta_1 = beta_1,
                       .beta_2 = beta_2, .epsilon = epsilon}), global_clipnorm, clipvalue);
  }, py::arg("learning_rate") = 0.001f, py::arg("weight_decay") = 0.004f, py::arg("beta_1") = 0.9f,
     py::arg("beta_2") = 0.999f, py::arg("epsilon") = 1e-7f, py::arg("global_clipnorm") = py::none(),
     py::arg("clipvalue") = py::none(), "Adam with decoupled weight decay.");
  m.def("SGD", [clip](float learning_rate, float momentum, bool nesterov, const py::handle& global_clipnorm,
                      const py::handle& clipvalue) {
    return clip(SGD({.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov}),
                global_clipnorm, clipvalue);
  }, py::arg("learning_rate") = 0.01f, py::arg("momentum") = 0.0f, py::arg("nesterov") = false,
     py::arg("global_clipnorm") = py::none(), py::arg("clipvalue") = py::none(), "Stochastic gradient descent.");
  m.def("RMSprop", [clip](float learning_rate, float rho, float momentum, float epsilon,
                          const py::handle& global_clipnorm, const py::handle& clipvalue) {
    return clip(RMSprop({.learning_rate = learning_rate, .rho = rho, .momentum = momentum, .epsilon = epsilon}),
                global_clipnorm, clipvalue);
  }, py::arg("learning_rate") = 0.001f, py::arg("rho") = 0.9f, py::arg("momentum") = 0.0f,
     py::arg("epsilon") = 1e-7f, py::arg("global_clipnorm") = py::none(), py::arg("clipvalue") = py::none(),
     "RMSprop.");
  py::class_<Loss>(m, "Loss", "A loss: lstm.Loss(\"binary_crossentropy\", from_logits=True), or a name in compile().")
      .def(py::init([](const std::string& name, bool from_logits) { return loss_from_name(name, from_logits); }),
           py::arg("name"), py::arg("from_logits") = false)
      .def_property_readonly("name", [](const Loss& l) { return loss_name(l); });
}

static void bind_callbacks(py::module_& m) {
  py::class_<Callback, std::shared_ptr<Callback>>(m, "_NativeCallback");
  py::class_<EarlyStopping, Callback, std::shared_ptr<EarlyStopping>>(m, "EarlyStopping",
      "Stops fit() once `monitor` has not improved for `patience` epochs (Keras's).")
      .def(py::init([](const std::string& monitor, double min_delta, int patience, const std::string& mode,
                       bool restore_best_weights) {
        return std::make_shared<EarlyStopping>(EarlyStoppingOptions{monitor, min_delta, patience,
                                                                    restore_best_weights, mode});
      }), py::arg("monitor") = "val_loss", py::arg("min_delta") = 0.0, py::arg("patience") = 0,
          py::arg("mode") = "auto", py::arg("restore_best_weights") = false)
      .def_property_readonly("stopped_epoch", &EarlyStopping::stopped_epoch)
      .def_property_readonly("best_epoch", &EarlyStopping::best_epoch);
  py::class_<ModelCheckpoint, Callback, std::shared_ptr<ModelCheckpoint>>(m, "ModelCheckpoint",
      "Saves the model after every epoch, or when `monitor` improves ({epoch} in the path: the epoch).")
      .def(py::init([](const std::string& filepath, const std::string& monitor, bool save_best_only,
                       const std::string& mode) {
        return std::make_shared<ModelCheckpoint>(filepath, ModelCheckpointOptions{monitor, save_best_only, mode});
      }), py::arg("filepath"), py::arg("monitor") = "val_loss", py::arg("save_best_only") = false,
          py::arg("mode") = "auto");
  py::class_<ReduceLROnPlateau, Callback, std::shared_ptr<ReduceLROnPlateau>>(m, "ReduceLROnPlateau",
      "Lowers the learning rate when `monitor` stops improving.")
      .def(py::init([](const std::string& monitor, float factor, int patience, double min_delta, int cooldown,
                       float min_lr, const std::string& mode) {
        return std::make_shared<ReduceLROnPlateau>(
            ReduceLROnPlateauOptions{monitor, factor, patience, min_delta, cooldown, min_lr, mode});
      }), py::arg("monitor") = "val_loss", py::arg("factor") = 0.1f, py::arg("patience") = 10,
          py::arg("min_delta") = 1e-4, py::arg("cooldown") = 0, py::arg("min_lr") = 0.0f, py::arg("mode") = "auto");
  py::class_<CSVLogger, Callback, std::shared_ptr<CSVLogger>>(m, "CSVLogger", "One row per epoch to a CSV file.")
      .def(py::init([](const std::string& filename, const std::string& separator, bool append) {
        if (separator.size() != 1) throw py::value_error("separator must be one character");
        return std::make_shared<CSVLogger>(filename, CSVLoggerOptions{separator[0], append});
      }), py::arg("filename"), py::arg("separator") = ",", py::arg("append") = false);
  py::class_<PyHistory>(m, "History", "What fit() returns: .history[\"loss\"][epoch], .epoch, .params.")
      .def_readwrite("history", &PyHistory::history)
      .def_readwrite("epoch", &PyHistory::epoch)
      .def_readwrite("params", &PyHistory::params)
      .def("__repr__", [](const PyHistory& h) { return "<History " + py::str(py::handle(h.history)).cast<std::string>() + ">"; });
}

// Model files by extension, as `lstm convert` tells them apart.
enum class FileKind { safetensors, keras, onnx, torch };

static FileKind file_kind(const std::string& path) {
  const size_t dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  if (ext == ".safetensors") return FileKind::safetensors;
  if (ext == ".keras" || ext == ".h5" || ext == ".hdf5") return FileKind::keras;
  if (ext == ".onnx") return FileKind::onnx;
  if (ext == ".pt" || ext == ".pth") return FileKind::torch;
  throw lstm::Error("cannot tell the format of '" + path + "' from its extension: use .safetensors "
                    "(lstm's), .keras or .h5 (Keras), .onnx (ONNX) or .pt (a PyTorch state_dict)");
}

static void save_sequential(const Sequential& s, const std::string& path) {
  switch (file_kind(path)) {
    case FileKind::safetensors: s.save(path); break;
    case FileKind::keras: write_file_atomic(path, encode_keras(s), "Keras model"); break;
    case FileKind::onnx: write_file_atomic(path, encode_onnx(s), "ONNX model"); break;
    case FileKind::torch: save_torch(path, s); break;
  }
}

static void save_graph(const Model& model, const std::string& path) {
  switch (file_kind(path)) {
    case FileKind::safetensors: model.save(path); break;
    case FileKind::keras: write_file_atomic(path, encode_keras(model), "Keras model"); break;
    default:
      throw lstm::Error("a graph model (lstm.Model) saves as .safetensors or .keras; '" + path +
                        "' asks for a format that holds a Sequential model only");
  }
}

static const char* kSaveDoc =
    "Writes the model atomically, in the format of the extension: .safetensors (lstm's), .keras "
    "or .h5 (Keras 3 / Keras 2), .onnx, .pt (a PyTorch state_dict; Sequential models).";

static const char* kCompileDoc =
    "Sets the optimizer (a name: \"adam\", \"sgd\", \"rmsprop\", \"adamw\", or lstm.optimizers.Adam(...)), "
    "the loss (\"mse\" / \"mean_squared_error\", \"mae\", \"binary_crossentropy\", "
    "\"categorical_crossentropy\", \"sparse_categorical_crossentropy\", or lstm.losses.Loss; a graph "
    "may take one per output) and metrics (\"accuracy\", \"mae\", \"mse\", \"rmse\", \"auc\", ...).";

static const char* kFitDoc =
    "Trains (Keras's fit): x [N, T, F] (or a list, one array per input of a graph), y the targets. "
    "Returns a History. Ctrl-C stops after the current batch and raises KeyboardInterrupt "
    "(model.history holds the epochs done). checkpoint/resume: a fit killed and resumed ends "
    "with the weights of one that was not.";

// fit, predict and evaluate take the same keywords on Sequential and Model (Keras's): one list
// each, the bodies differing only in how x and y become tensors.
template <class Class, class Body>
static void def_fit(Class& cls, Body&& body) {
  cls.def("fit", std::forward<Body>(body), py::arg("x"), py::arg("y"), py::arg("batch_size") = py::none(),
          py::arg("epochs") = 1, py::arg("verbose") = "auto", py::arg("callbacks") = py::none(),
          py::arg("validation_split") = 0.0, py::arg("validation_data") = py::none(), py::arg("shuffle") = true,
          py::arg("lengths") = py::none(), py::arg("checkpoint") = py::none(), py::arg("resume") = false, kFitDoc);
}
template <class Class, class Body>
static void def_predict(Class& cls, const char* doc, Body&& body) {
  cls.def("predict", std::forward<Body>(body), py::arg("x"), py::arg("batch_size") = py::none(),
          py::arg("verbose") = 0, py::arg("lengths") = py::none(), doc);
}
template <class Class, class Body>
static void def_evaluate(Class& cls, const char* doc, Body&& body) {
  cls.def("evaluate", std::forward<Body>(body), py::arg("x"), py::arg("y"), py::arg("batch_size") = py::none(),
          py::arg("verbose") = 0, py::arg("return_dict") = false, py::arg("lengths") = py::none(), doc);
}

static void bind_sequential(py::module_& m) {
  auto sequential = py::class_<Sequential>(m, "Sequential", py::dynamic_attr(),
                         "A stack of layers (Keras's Sequential); its weights are one float buffer.")
      .def(py::init([](const py::handle& layers, const py::handle& name, uint64_t seed) {
        SequentialOptions o;
        o.seed = seed;
        if (!name.is_none()) o.name = name.cast<std::string>();
        Sequential model(o);
        if (!layers.is_none())
          for (const py::handle& l : layers) model.add(l.cast<const LayerConfig&>());
        return model;
      }), py::arg("layers") = py::none(), py::arg("name") = py::none(), py::arg("seed") = 42)
      .def("add", &Sequential::add, py::arg("layer"),
           "Appends a layer; the model is built as soon as the first layer's input_shape is known.")
      .def("compile", [](Sequential& s, const py::handle& optimizer, const py::handle& loss,
                         const py::handle& metrics, const py::handle& loss_weights) {
        if (loss.is_none()) throw py::value_error("compile needs a loss, e.g. loss=\"mse\"");
        CompileOptions c;
        compile_options(c, metrics, loss_weights);
        s.compile(optimizer_arg(optimizer), loss_arg(loss), c);
      }, py::arg("optimizer") = "rmsprop", py::arg("loss") = py::none(), py::arg("metrics") = py::none(),
         py::arg("loss_weights") = py::none(), kCompileDoc)
      .def("summary", [](const Sequential& s) { py::print(s.summary()); },
           "Prints Keras's table of layers, output shapes and parameter counts.")
      .def("save", &save_sequential, py::arg("filepath"), kSaveDoc)
      .def("get_weights", [](const Sequential& s) { return weight_arrays(s.get_weights(), s.weights()); },
           "One float32 array per weight tensor, in the model file's order and layout "
           "(an LSTM's weight_ih is [4*units, features], gates i, f, g, o: PyTorch's).")
      .def("set_weights", [](Sequential& s, const py::handle& weights) {
        s.set_weights(flat_weights(weights, s.weights(), s.count_params()));
      }, py::arg("weights"), "Sets every weight tensor from arrays shaped as get_weights() returns them.")
      .def_property_readonly("weight_names", [](const Sequential& s) {
        std::vector<std::string> names;
        for (const NamedWeight& w : s.weights()) names.push_back(w.name);
        return names;
      })
      .def("count_params", &Sequential::count_params, "The number of weights (0 until built).")
      .def_property_readonly("layers", [](const Sequential& s) { return s.layers(); })
      .def_property_readonly("built", &Sequential::built)
      .def("build", [](Sequential& s, const py::handle& input_shape) {
        std::vector<int64_t> shape;
        for (const py::handle& d : input_shape) shape.push_back(d.is_none() ? 0 : d.cast<int64_t>());
        if (shape.size() >= 2) shape.erase(shape.begin());  // Keras's build((None, T, F))
        s.build(shape);
      }, py::arg("input_shape"), "Builds for input_shape = (batch, timesteps, features), batch ignored.")
      .def_property("stop_training", [](const Sequential& s) { return s.stop_training; },
                    [](Sequential& s, bool v) { s.stop_training = v; })
      .def("reset_states", &Sequential::reset_states,
           "Clears the streaming state (step) and the states stateful layers carry between batches.")
      .def("step", [](Sequential& s, const py::handle& x_t) {
        ArrayTensor x = as_tensor(x_t, "x_t");
        return to_array(s.step(x.tensor));
      }, py::arg("x_t"), "Streaming: one step of one sequence ([features] -> [units]); state kept until reset_states().")
      .def("set_precision", [](Sequential& s, const std::string& p) { return s.set_precision(precision_from_string(p)); },
           py::arg("precision"), "Inference in \"fp32\", \"bf16\" or \"int8\".")
      .def("to_json", &Sequential::to_json, "The architecture as JSON (the schema of `lstm train --config`).")
      .def_property_readonly("optimizer", [](const Sequential& s) { return s.optimizer(); });
  def_fit(sequential, [](py::object self, const py::handle& x, const py::handle& y, const py::handle& batch_size,
                         int epochs, const py::handle& verbose, const py::handle& callbacks, double validation_split,
                         const py::handle& validation_data, bool shuffle, const py::handle& lengths,
                         const py::handle& checkpoint, bool resume) {
    Sequential& s = self.cast<Sequential&>();
    FitArgs f;
    read_fit_args(f, self, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                  shuffle, lengths, checkpoint, resume);
    ArrayTensor X = as_tensor(x, "x"), Y = as_tensor(y, "y");
    return run_fit(self, f, X.tensor.shape().empty() ? 0 : X.tensor.dim(0),
                   [&] { return s.fit(X.tensor, Y.tensor, f.options); });
  });
  def_predict(sequential,
              "The outputs for x, as a float32 array that owns the library's result (no copy).",
              [](Sequential& s, const py::handle& x, const py::handle& batch_size, const py::handle&,
                 const py::handle& lengths) {
    ArrayTensor X = as_tensor(x, "x");
    const std::vector<int64_t> len = as_lengths(lengths);
    const int bs = batch_size.is_none() ? 32 : batch_size.cast<int>();
    Tensor y;
    {
      ensure_signal_stack();
      py::gil_scoped_release release;
      y = len.empty() ? s.predict(X.tensor, bs) : s.predict(X.tensor, std::span<const int64_t>(len), bs);
    }
    return to_array(std::move(y));
  });
  def_evaluate(sequential,
               "The loss (or [loss, metrics...] when compiled with metrics; a dict with return_dict).",
               [](Sequential& s, const py::handle& x, const py::handle& y, const py::handle& batch_size,
                  const py::handle&, bool return_dict, const py::handle& lengths) {
    ArrayTensor X = as_tensor(x, "x"), Y = as_tensor(y, "y");
    const std::vector<int64_t> len = as_lengths(lengths);
    const int bs = batch_size.is_none() ? 32 : batch_size.cast<int>();
    {
      ensure_signal_stack();
      py::gil_scoped_release release;
      if (len.empty()) s.evaluate(X.tensor, Y.tensor, bs);
      else s.evaluate(X.tensor, Y.tensor, std::span<const int64_t>(len), bs);
    }
    return evaluate_result(s.last_logs(), return_dict);
  });
}

static void bind_model(py::module_& m) {
  auto model_class = py::class_<Model>(m, "Model", py::dynamic_attr(),
                    "A graph of layers (Keras's functional Model): Model(inputs, outputs).")
      .def(py::init([](const py::handle& inputs, const py::handle& outputs, const py::handle& name, uint64_t seed) {
        ModelOptions o;
        o.seed = seed;
        if (!name.is_none()) o.name = name.cast<std::string>();
        return Model(symbolic_list(inputs), symbolic_list(outputs), o);
      }), py::arg("inputs"), py::arg("outputs"), py::arg("name") = py::none(), py::arg("seed") = 42)
      .def("compile", [](Model& model, const py::handle& optimizer, const py::handle& loss,
                         const py::handle& metrics, const py::handle& loss_weights) {
        if (loss.is_none()) throw py::value_error("compile needs a loss, e.g. loss=\"mse\"");
        CompileOptions c;
        compile_options(c, metrics, loss_weights);
        if (py::isinstance<py::list>(loss) || py::isinstance<py::tuple>(loss)) {
          std::vector<Loss> losses;
          for (const py::handle& l : loss) losses.push_back(loss_arg(l));
          model.compile(optimizer_arg(optimizer), losses, c);
        } else {
          model.compile(optimizer_arg(optimizer), loss_arg(loss), c);
        }
      }, py::arg("optimizer") = "rmsprop", py::arg("loss") = py::none(), py::arg("metrics") = py::none(),
         py::arg("loss_weights") = py::none(), kCompileDoc)
      .def("summary", [](const Model& model) { py::print(model.summary()); },
           "Prints the layers, their output shapes, parameter counts and inputs.")
      .def("save", &save_graph, py::arg("filepath"), kSaveDoc)
      .def("get_weights", [](const Model& model) { return weight_arrays(model.get_weights(), model.weights()); },
           "One float32 array per weight tensor (\"<layer>.<tensor>\", PyTorch's layouts).")
      .def("set_weights", [](Model& model, const py::handle& weights) {
        model.set_weights(flat_weights(weights, model.weights(), model.count_params()));
      }, py::arg("weights"), "Sets every weight tensor from arrays shaped as get_weights() returns them.")
      .def_property_readonly("weight_names", [](const Model& model) {
        std::vector<std::string> names;
        for (const NamedWeight& w : model.weights()) names.push_back(w.name);
        return names;
      })
      .def("count_params", &Model::count_params, "The number of weights.")
      .def_property_readonly("layers", &Model::layers)
      .def_property_readonly("input_names", &Model::input_names)
      .def_property_readonly("output_names", &Model::output_names)
      .def_property("stop_training", [](const Model& model) { return model.stop_training; },
                    [](Model& model, bool v) { model.stop_training = v; })
      .def("reset_states", &Model::reset_states, "Clears the states stateful layers carry between batches.")
      .def("to_json", &Model::to_json, "The graph as JSON (the schema of `lstm train --config`).")
      .def_property_readonly("optimizer", [](const Model& model) { return model.optimizer(); });
  def_fit(model_class, [](py::object self, const py::handle& x, const py::handle& y, const py::handle& batch_size,
                          int epochs, const py::handle& verbose, const py::handle& callbacks, double validation_split,
                          const py::handle& validation_data, bool shuffle, const py::handle& lengths,
                          const py::handle& checkpoint, bool resume) {
    Model& model = self.cast<Model&>();
    FitArgs f;
    read_fit_args(f, self, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                  shuffle, lengths, checkpoint, resume);
    std::vector<ArrayTensor> X = as_tensors(x, "x"), Y = as_tensors(y, "y");
    std::vector<Tensor> xs = tensor_views(X), ys = tensor_views(Y);
    const int64_t n = xs.empty() || xs[0].shape().empty() ? 0 : xs[0].dim(0);
    return run_fit(self, f, n, [&] { return model.fit(xs, ys, f.options); });
  });
  def_predict(model_class,
              "One array per output (a single array for one output).",
              [](Model& model, const py::handle& x, const py::handle& batch_size, const py::handle&,
                 const py::handle& lengths) -> py::object {
    std::vector<ArrayTensor> X = as_tensors(x, "x");
    std::vector<Tensor> xs = tensor_views(X);
    const std::vector<int64_t> len = as_lengths(lengths);
    const int bs = batch_size.is_none() ? 32 : batch_size.cast<int>();
    std::vector<Tensor> ys;
    {
      ensure_signal_stack();
      py::gil_scoped_release release;
      ys = len.empty() ? model.predict(xs, bs) : model.predict(xs, std::span<const int64_t>(len), bs);
    }
    if (ys.size() == 1) return to_array(std::move(ys[0]));
    py::list out;
    for (Tensor& t : ys) out.append(to_array(std::move(t)));
    return out;
  });
  def_evaluate(model_class,
               "The loss (or [loss, metrics...] when compiled with metrics; a dict with return_dict).",
               [](Model& model, const py::handle& x, const py::handle& y, const py::handle& batch_size,
                  const py::handle&, bool return_dict, const py::handle& lengths) {
    std::vector<ArrayTensor> X = as_tensors(x, "x"), Y = as_tensors(y, "y");
    std::vector<Tensor> xs = tensor_views(X), ys = tensor_views(Y);
    const std::vector<int64_t> len = as_lengths(lengths);
    const int bs = batch_size.is_none() ? 32 : batch_size.cast<int>();
    {
      ensure_signal_stack();
      py::gil_scoped_release release;
      if (len.empty()) model.evaluate(xs, ys, bs);
      else model.evaluate(xs, ys, std::span<const int64_t>(len), bs);
    }
    return evaluate_result(model.last_logs(), return_dict);
  });
}

void bind_models(py::module_& m) {
  bind_optimizers(m);
  bind_callbacks(m);
  bind_sequential(m);
  bind_model(m);
  m.def("load_model", [](const std::string& path) -> py::object {
    std::vector<std::string> notes;
    py::object model;
    switch (file_kind(path)) {
      case FileKind::safetensors: {
        const SafetensorsFile file = read_safetensors(path);  // read once, checked before anything is made
        if (file.metadata.count("lstm.graph")) model = py::cast(graph_model_from_safetensors(file, path));
        else model = py::cast(model_from_safetensors(file, path));
        break;
      }
      case FileKind::keras: {
        KerasModel k = load_keras_model(path, &notes);
        model = k.graph ? py::cast(std::move(*k.graph)) : py::cast(std::move(*k.sequential));
        break;
      }
      case FileKind::onnx: model = py::cast(load_onnx(path, &notes)); break;
      case FileKind::torch: model = py::cast(load_torch(path, "", &notes)); break;
    }
    model.attr("load_notes") = py::cast(notes);
    return model;
  }, py::arg("filepath"),
     "A model from a file, by its extension: .safetensors (save() or `lstm train`: a Sequential or a "
     "Model), .keras / .h5 (Keras 3 or 2; a functional one as a Model), .onnx, .pt (a PyTorch "
     "state_dict). What reading another format had to assume (an architecture inferred from names and "
     "shapes, ...) is in the model's load_notes (a list of str).");
}

}  // namespace lstm::python
