// Layer descriptions and the names used in configs and on the command line.
#include <string>

#include "lstm/error.h"
#include "lstm/layers.h"
#include "lstm/loss.h"

namespace lstm {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

Activation activation_from_name(const std::string& name) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh,
                       Activation::softmax})
    if (name == activation_name(a)) return a;
  throw Error("unknown activation '" + name +
              "': use one of linear, relu, sigmoid, tanh, softmax");
}

const char* layer_type_name(LayerType t) { return t == LayerType::lstm ? "lstm" : "dense"; }

LayerConfig LSTM(int units, LSTMOptions options) {
  LayerConfig c;
  c.type = LayerType::lstm;
  c.units = units;
  c.return_sequences = options.return_sequences;
  c.input_shape = std::move(options.input_shape);
  return c;
}

LayerConfig Dense(int units, DenseOptions options) {
  LayerConfig c;
  c.type = LayerType::dense;
  c.units = units;
  c.activation = options.activation;
  c.input_shape = std::move(options.input_shape);
  return c;
}

Loss loss_from_name(const std::string& name, bool from_logits) {
  struct Named { const char* short_name; const char* long_name; LossKind kind; };
  static const Named names[] = {
      {"mse", "mean_squared_error", LossKind::mse},
      {"mae", "mean_absolute_error", LossKind::mae},
      {"bce", "binary_crossentropy", LossKind::bce},
      {"cce", "categorical_crossentropy", LossKind::cce},
      {"scce", "sparse_categorical_crossentropy", LossKind::scce},
  };
  for (const Named& n : names)
    if (name == n.short_name || name == n.long_name) return Loss{n.kind, from_logits};
  throw Error("unknown loss '" + name + "': use one of mse, mae, bce, cce, scce");
}

std::string loss_name(const Loss& loss) {
  static const char* names[] = {"mse", "mae", "bce", "cce", "scce"};
  std::string n = names[int(loss.kind)];
  if (loss.from_logits && loss.kind != LossKind::mse && loss.kind != LossKind::mae)
    n += " (from logits)";
  return n;
}

}  // namespace lstm
