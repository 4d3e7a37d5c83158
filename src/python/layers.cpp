// Layers with Keras's keyword arguments, Input, and calling layers on symbolic tensors.
//
//   lstm.layers.LSTM(50, input_shape=(30, 1))            # a Sequential's first layer
//   x = lstm.Input(shape=(None, 8)); y = lstm.layers.Dense(1)(lstm.layers.LSTM(16)(x))
#include "lstm/layers/attention.h"
#include "lstm/layers/conv.h"
#include "lstm/layers/layer_normalization.h"
#include "lstm/layers/merge.h"
#include "lstm/layers/repeat_vector.h"
#include "python/bind.h"

namespace lstm::python {

// Keras's input_shape: (timesteps, features), None for any length; () / None: not given.
static std::vector<int64_t> shape_arg(const py::handle& shape) {
  std::vector<int64_t> out;
  if (shape.is_none()) return out;
  for (const py::handle& d : shape) out.push_back(d.is_none() ? kAnyLength : d.cast<int64_t>());
  return out;
}

static int64_t batch_arg(const py::handle& batch_size) {
  return batch_size.is_none() ? 0 : batch_size.cast<int64_t>();
}

static LayerConfig named(LayerConfig layer, const py::handle& name) {
  if (!name.is_none()) layer.name = name.cast<std::string>();
  return layer;
}

// The outputs of a call: one tensor, or Keras's list (return_state, merge_mode=None).
static py::object outputs(const std::vector<SymbolicTensor>& tensors) {
  if (tensors.size() == 1) return py::cast(tensors[0]);
  return py::cast(tensors);
}

// Keras's kernel_size / strides / pool_size: one int for both sides, or a pair.
static std::array<int64_t, 2> pair_arg(const py::handle& v) {
  if (py::isinstance<py::int_>(v)) {
    const int64_t n = v.cast<int64_t>();
    return {n, n};
  }
  const auto p = v.cast<std::vector<int64_t>>();
  if (p.size() != 2)
    throw Error("give one integer or a pair (height, width), got " + std::to_string(p.size()) +
                " values");
  return {p[0], p[1]};
}

static std::vector<SymbolicTensor> symbolic_list(const py::handle& x) {
  if (py::isinstance<SymbolicTensor>(x)) return {x.cast<SymbolicTensor>()};
  return x.cast<std::vector<SymbolicTensor>>();
}

void bind_layers(py::module_& m) {
  py::class_<SymbolicTensor>(m, "KerasTensor",
                             "A tensor of a graph being described: which layer call made it and "
                             "one sample's shape (no batch axis; None for any length).")
      .def_property_readonly("shape", [](const SymbolicTensor& t) {
        py::list shape;
        shape.append(py::none());  // the batch axis, as Keras prints it
        for (int64_t d : t.shape()) shape.append(d == kAnyLength ? py::object(py::none()) : py::int_(d));
        return py::tuple(shape);
      })
      .def_property_readonly("name", &SymbolicTensor::name)
      .def("__repr__", [](const SymbolicTensor& t) {
        return "<KerasTensor " + t.name() + " shape=" + std::string(py::str(py::cast(t).attr("shape"))) + ">";
      });

  m.def("Input", [](const py::handle& shape, const py::handle& name, const py::handle& batch_size,
                    bool lengths) {
    InputOptions o;
    if (!name.is_none()) o.name = name.cast<std::string>();
    o.batch_size = batch_arg(batch_size);
    o.lengths = lengths;
    return Input(shape_arg(shape), o);
  }, py::arg("shape"), py::kw_only(), py::arg("name") = py::none(), py::arg("batch_size") = py::none(),
     py::arg("lengths") = false,
     "A model input (Keras's Input): shape is one sample's, (timesteps, features) with None for "
     "any length, (features,) or (timesteps,) for token ids. lengths=True: the caller gives "
     "per-sample lengths of right-padded sequences to fit/predict.");

  py::class_<LayerConfig>(m, "Layer",
                          "A layer's description (weights live in the model). Call it on a "
                          "KerasTensor (or a list, for merges) to build a graph; calling one layer "
                          "twice shares its weights.")
      .def("__call__", [](const LayerConfig& layer, const py::handle& inputs, const py::handle& initial_state) {
        std::vector<SymbolicTensor> states;
        if (!initial_state.is_none()) states = symbolic_list(initial_state);
        return outputs(layer.call(symbolic_list(inputs), states));
      }, py::arg("inputs"), py::arg("initial_state") = py::none())
      .def_property("name", [](const LayerConfig& l) { return l.name; },
                    [](LayerConfig& l, const std::string& n) { l.name = n; })
      .def_property_readonly("units", [](const LayerConfig& l) { return l.units; })
      .def_property_readonly("kind", [](const LayerConfig& l) {
        return l.kind.empty() ? std::string(layer_type_name(l.type)) : l.kind;
      }, "The layer type: \"lstm\", \"dense\", \"attention\", ...")
      .def_property_readonly("return_sequences", [](const LayerConfig& l) { return l.return_sequences; })
      .def_property_readonly("return_state", [](const LayerConfig& l) { return l.return_state; })
      .def("__repr__", [](const LayerConfig& l) {
        const std::string kind = l.kind.empty() ? layer_type_name(l.type) : l.kind;
        return "<lstm.layers." + kind + (l.name.empty() ? "" : " " + l.name) +
               (l.units ? " units=" + std::to_string(l.units) : "") + ">";
      });

  const auto recurrent_doc = [](const char* what) {
    return std::string(what) + " (Keras's keyword arguments). input_shape=(timesteps, features) "
           "on a Sequential's first layer, timesteps None for any length.";
  };
  m.def("LSTM", [](int units, const py::handle& activation, const py::handle& recurrent_activation,
                   bool use_bias, float dropout, float recurrent_dropout, bool return_sequences,
                   bool return_state, bool go_backwards, bool stateful, int proj_size,
                   bool use_peepholes, const py::handle& input_shape, const py::handle& batch_size,
                   const py::handle& name) {
    LSTMOptions o;
    o.activation = activation_arg(activation, Activation::linear);
    o.recurrent_activation = activation_arg(recurrent_activation, Activation::linear);
    o.use_bias = use_bias, o.dropout = dropout, o.recurrent_dropout = recurrent_dropout;
    o.return_sequences = return_sequences, o.return_state = return_state;
    o.go_backwards = go_backwards, o.stateful = stateful;
    o.proj_size = proj_size, o.use_peepholes = use_peepholes;
    o.input_shape = shape_arg(input_shape), o.batch_size = batch_arg(batch_size);
    return named(LSTM(units, o), name);
  }, py::arg("units"), py::arg("activation") = "tanh", py::arg("recurrent_activation") = "sigmoid",
     py::arg("use_bias") = true, py::arg("dropout") = 0.0f, py::arg("recurrent_dropout") = 0.0f,
     py::arg("return_sequences") = false, py::arg("return_state") = false,
     py::arg("go_backwards") = false, py::arg("stateful") = false, py::arg("proj_size") = 0,
     py::arg("use_peepholes") = false, py::arg("input_shape") = py::none(),
     py::arg("batch_size") = py::none(), py::arg("name") = py::none(),
     recurrent_doc("The seed's LSTM cell: i, f, o = σ(W·[h, x] + b), g = tanh(...), "
                   "c = f*c + i*g, h = o*tanh(c)").c_str());
  m.def("GRU", [](int units, float dropout, bool return_sequences, bool return_state, bool go_backwards,
                  bool stateful, bool reset_after, const py::handle& input_shape,
                  const py::handle& batch_size, const py::handle& name) {
    GRUOptions o;
    o.dropout = dropout, o.return_sequences = return_sequences, o.return_state = return_state;
    o.go_backwards = go_backwards, o.stateful = stateful, o.reset_after = reset_after;
    o.input_shape = shape_arg(input_shape), o.batch_size = batch_arg(batch_size);
    return named(GRU(units, o), name);
  }, py::arg("units"), py::arg("dropout") = 0.0f, py::arg("return_sequences") = false,
     py::arg("return_state") = false, py::arg("go_backwards") = false, py::arg("stateful") = false,
     py::arg("reset_after") = true, py::arg("input_shape") = py::none(),
     py::arg("batch_size") = py::none(), py::arg("name") = py::none(),
     recurrent_doc("PyTorch's GRU (Keras's reset_after=True; False for the other)").c_str());
  m.def("SimpleRNN", [](int units, const py::handle& activation, float dropout, bool return_sequences,
                        bool return_state, bool go_backwards, bool stateful,
                        const py::handle& input_shape, const py::handle& batch_size, const py::handle& name) {
    SimpleRNNOptions o;
    o.activation = activation_arg(activation, Activation::linear);
    o.dropout = dropout, o.return_sequences = return_sequences, o.return_state = return_state;
    o.go_backwards = go_backwards, o.stateful = stateful;
    o.input_shape = shape_arg(input_shape), o.batch_size = batch_arg(batch_size);
    return named(SimpleRNN(units, o), name);
  }, py::arg("units"), py::arg("activation") = "tanh", py::arg("dropout") = 0.0f,
     py::arg("return_sequences") = false, py::arg("return_state") = false,
     py::arg("go_backwards") = false, py::arg("stateful") = false, py::arg("input_shape") = py::none(),
     py::arg("batch_size") = py::none(), py::arg("name") = py::none(),
     recurrent_doc("h = act(W_ih·x + W_hh·h + b), act tanh or relu").c_str());
  m.def("Dense", [](int units, const py::handle& activation, bool use_bias, const py::handle& input_shape,
                    const py::handle& name) {
    DenseOptions o;
    o.activation = activation_arg(activation, Activation::linear);
    o.use_bias = use_bias, o.input_shape = shape_arg(input_shape);
    return named(Dense(units, o), name);
  }, py::arg("units"), py::arg("activation") = py::none(), py::arg("use_bias") = true,
     py::arg("input_shape") = py::none(), py::arg("name") = py::none(),
     "y = activation(x·Wᵀ + b), on every step of a sequence; activation None is linear.");
  m.def(
      "TimeDistributed",
      [](const LayerConfig& layer, const py::handle& name) {
        return named(TimeDistributed(layer), name);
      },
      py::arg("layer"), py::arg("name") = py::none(),
      "A Dense (or Conv2D, MaxPooling2D, GlobalAveragePooling2D, Flatten) layer applied to every "
      "step.");
  m.def("Bidirectional", [](const LayerConfig& layer, const py::handle& merge_mode,
                            const py::handle& input_shape, const py::handle& batch_size, const py::handle& name) {
    BidirectionalOptions o;
    o.merge_mode = merge_mode.is_none() ? MergeMode::none : merge_mode_from_name(merge_mode.cast<std::string>());
    o.input_shape = shape_arg(input_shape), o.batch_size = batch_arg(batch_size);
    return named(Bidirectional(layer, o), name);
  }, py::arg("layer"), py::arg("merge_mode") = "concat", py::arg("input_shape") = py::none(),
     py::arg("batch_size") = py::none(), py::arg("name") = py::none(),
     "Both directions of a recurrent layer, joined by merge_mode (concat, sum, mul, ave, or "
     "None: both outputs).");
  m.def("Embedding", [](int64_t input_dim, int output_dim, bool mask_zero, const py::handle& input_length,
                        const py::handle& input_shape, const py::handle& name) {
    EmbeddingOptions o;
    o.mask_zero = mask_zero;
    o.input_shape = shape_arg(input_shape);
    if (o.input_shape.empty() && !input_length.is_none()) o.input_shape = {input_length.cast<int64_t>()};
    return named(Embedding(input_dim, output_dim, o), name);
  }, py::arg("input_dim"), py::arg("output_dim"), py::arg("mask_zero") = false,
     py::arg("input_length") = py::none(), py::arg("input_shape") = py::none(), py::arg("name") = py::none(),
     "Token ids (integers 0..input_dim-1) -> vectors of output_dim; mask_zero: id 0 is padding.");
  m.def("Dropout", [](float rate, const py::handle& name) { return named(Dropout(rate), name); },
        py::arg("rate"), py::arg("name") = py::none(),
        "Zeroes a fraction `rate` of its inputs in fit() (scaling the rest), identity otherwise.");
  m.def("Masking", [](float mask_value, const py::handle& input_shape, const py::handle& name) {
    return named(Masking(mask_value, {.input_shape = shape_arg(input_shape)}), name);
  }, py::arg("mask_value") = 0.0f, py::arg("input_shape") = py::none(), py::arg("name") = py::none(),
     "Steps equal to mask_value in every feature are padding.");
  m.def("Attention", [](bool use_scale, const py::handle& name) {
    return named(Attention({.use_scale = use_scale}), name);
  }, py::arg("use_scale") = false, py::arg("name") = py::none(),
     "Luong dot-product attention: call on [query, value] or [query, value, key].");
  m.def("AdditiveAttention", [](bool use_scale, const py::handle& name) {
    return named(AdditiveAttention({.use_scale = use_scale}), name);
  }, py::arg("use_scale") = true, py::arg("name") = py::none(),
     "Bahdanau attention: call on [query, value] or [query, value, key].");
  m.def("LayerNormalization", [](float epsilon, const py::handle& name) {
    return named(LayerNormalization({.epsilon = epsilon}), name);
  }, py::arg("epsilon") = 1e-3f, py::arg("name") = py::none(), "Normalises the last axis.");
  m.def("RepeatVector", [](int64_t n, const py::handle& name) { return named(RepeatVector(n), name); },
        py::arg("n"), py::arg("name") = py::none(), "[N, F] -> [N, n, F].");
  m.def(
      "Conv2D",
      [](int64_t filters, const py::handle& kernel_size, const py::handle& strides,
         const std::string& padding, const py::handle& activation, bool use_bias,
         const py::handle& name) {
        return named(Conv2D(filters, pair_arg(kernel_size),
                            {.strides = pair_arg(strides),
                             .padding = conv_padding_from_name(padding),
                             .activation = activation_arg(activation, Activation::linear),
                             .use_bias = use_bias}),
                     name);
      },
      py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1,
      py::arg("padding") = "valid", py::arg("activation") = py::none(), py::arg("use_bias") = true,
      py::arg("name") = py::none(),
      "2-D convolution of images [N, H, W, C] (on clips [N, T, H, W, C]: every frame), channels "
      "last.");
  m.def(
      "MaxPooling2D",
      [](const py::handle& pool_size, const py::handle& strides, const std::string& padding,
         const py::handle& name) {
        const auto pool = pair_arg(pool_size);
        return named(MaxPooling2D(pool, {.strides = strides.is_none() ? pool : pair_arg(strides),
                                         .padding = conv_padding_from_name(padding)}),
                     name);
      },
      py::arg("pool_size") = 2, py::arg("strides") = py::none(), py::arg("padding") = "valid",
      py::arg("name") = py::none(), "The largest value of each window, per channel.");
  m.def(
      "GlobalAveragePooling2D",
      [](const py::handle& name) { return named(GlobalAveragePooling2D(), name); },
      py::arg("name") = py::none(),
      "[N, H, W, C] -> [N, C] (clips: [N, T, C]), the mean of each channel.");
  m.def(
      "Flatten", [](const py::handle& name) { return named(Flatten(), name); },
      py::arg("name") = py::none(),
      "Every axis but the batch joined; TimeDistributed(Flatten()) joins each frame's.");
  m.def(
      "ConvLSTM2D",
      [](int64_t filters, const py::handle& kernel_size, const py::handle& strides,
         const std::string& padding, const py::handle& activation,
         const py::handle& recurrent_activation, bool use_bias, bool unit_forget_bias,
         bool return_sequences, bool return_state, const py::handle& name) {
        return named(ConvLSTM2D(filters, pair_arg(kernel_size),
                                {.strides = pair_arg(strides),
                                 .padding = conv_padding_from_name(padding),
                                 .return_sequences = return_sequences,
                                 .return_state = return_state,
                                 .activation = activation_arg(activation, Activation::tanh),
                                 .recurrent_activation =
                                     activation_arg(recurrent_activation, Activation::sigmoid),
                                 .use_bias = use_bias,
                                 .unit_forget_bias = unit_forget_bias}),
                     name);
      },
      py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1,
      py::arg("padding") = "valid", py::arg("activation") = "tanh",
      py::arg("recurrent_activation") = "sigmoid", py::arg("use_bias") = true,
      py::arg("unit_forget_bias") = true, py::arg("return_sequences") = false,
      py::arg("return_state") = false, py::arg("name") = py::none(),
      "The convolutional LSTM (Shi et al. 2015) over clips [N, T, H, W, C].");
  m.def("Concatenate", [](const py::handle& name) { return named(Concatenate(), name); },
        py::arg("name") = py::none(), "Joins a list of tensors along the last axis.");
  m.def("Add", [](const py::handle& name) { return named(Add(), name); }, py::arg("name") = py::none());
  m.def("Multiply", [](const py::handle& name) { return named(Multiply(), name); }, py::arg("name") = py::none());
  m.def("Average", [](const py::handle& name) { return named(Average(), name); }, py::arg("name") = py::none());
}

}  // namespace lstm::python
