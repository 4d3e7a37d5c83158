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
    case Activation::hard_sigmoid: return "hard_sigmoid";
  }
  return "?";
}

Activation activation_from_name(const std::string& name) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh,
                       Activation::softmax, Activation::hard_sigmoid})
    if (name == activation_name(a)) return a;
  throw Error("unknown activation '" + name +
              "': use one of linear, relu, sigmoid, tanh, softmax, hard_sigmoid");
}

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::lstm: return "lstm";
    case LayerType::gru: return "gru";
    case LayerType::simple_rnn: return "simple_rnn";
    case LayerType::dense: return "dense";
    case LayerType::bidirectional: return "bidirectional";
    case LayerType::embedding: return "embedding";
    case LayerType::dropout: return "dropout";
    case LayerType::masking: return "masking";
  }
  return "?";
}

bool is_recurrent(LayerType t) {
  return t == LayerType::lstm || t == LayerType::gru || t == LayerType::simple_rnn;
}

const char* merge_mode_name(MergeMode m) {
  switch (m) {
    case MergeMode::concat: return "concat";
    case MergeMode::sum: return "sum";
    case MergeMode::mul: return "mul";
    case MergeMode::ave: return "ave";
    case MergeMode::none: return "none";
  }
  return "?";
}

MergeMode merge_mode_from_name(const std::string& name) {
  for (MergeMode m : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave, MergeMode::none})
    if (name == merge_mode_name(m)) return m;
  throw Error("unknown merge_mode '" + name + "': use one of concat, sum, mul, ave, none");
}

// What LSTMOptions, GRUOptions and SimpleRNNOptions share.
template <size_t N, typename Options>
static RecurrentLayerConfig<N> recurrent(LayerType type, int units, Options& o) {
  RecurrentLayerConfig<N> c;
  c.type = type;
  c.units = units;
  c.return_sequences = o.return_sequences;
  c.return_state = o.return_state;
  c.go_backwards = o.go_backwards;
  c.dropout = o.dropout;
  c.stateful = o.stateful;
  c.input_shape = std::move(o.input_shape);
  c.batch_size = o.batch_size;
  return c;
}

RecurrentLayerConfig<3> LSTM(int units, LSTMOptions o) {
  RecurrentLayerConfig<3> c = recurrent<3>(LayerType::lstm, units, o);
  c.activation = o.activation;
  c.recurrent_activation = o.recurrent_activation;
  c.use_bias = o.use_bias;
  c.recurrent_dropout = o.recurrent_dropout;
  c.proj_size = o.proj_size;
  c.use_peepholes = o.use_peepholes;
  return c;
}

RecurrentLayerConfig<2> GRU(int units, GRUOptions o) {
  return recurrent<2>(LayerType::gru, units, o);
}

RecurrentLayerConfig<2> SimpleRNN(int units, SimpleRNNOptions o) {
  RecurrentLayerConfig<2> c = recurrent<2>(LayerType::simple_rnn, units, o);
  c.activation = o.activation;
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

LayerConfig TimeDistributed(const LayerConfig& dense) {
  if (dense.type != LayerType::dense)
    throw Error(std::string("TimeDistributed wraps a Dense layer, not ") +
                layer_type_name(dense.type) + ": recurrent layers already run over time");
  LayerConfig c = dense;
  c.time_distributed = true;
  return c;
}

LayerConfig Bidirectional(const LayerConfig& layer, BidirectionalOptions options) {
  if (!is_recurrent(layer.type))
    throw Error(std::string("Bidirectional wraps a recurrent layer (lstm, gru, simple_rnn), not ") +
                layer_type_name(layer.type));
  if (layer.go_backwards)
    throw Error("Bidirectional runs the backward direction itself: leave go_backwards unset on "
                "the layer it wraps");
  LayerConfig c;
  c.type = LayerType::bidirectional;
  c.units = layer.units;
  c.return_sequences = layer.return_sequences;
  c.return_state = layer.return_state;
  c.merge_mode = options.merge_mode;
  c.stateful = layer.stateful;
  c.wrapped = {layer};
  c.wrapped[0].input_shape.clear();
  c.wrapped[0].batch_size = 0;
  c.wrapped[0].identity.reset();
  c.name = layer.name;
  c.input_shape = options.input_shape.empty() ? layer.input_shape : std::move(options.input_shape);
  c.batch_size = options.batch_size ? options.batch_size : layer.batch_size;
  return c;
}

RecurrentLayerConfig<5> Bidirectional(const RecurrentLayerConfig<3>& lstm,
                                      BidirectionalOptions options) {
  RecurrentLayerConfig<5> c;
  static_cast<LayerConfig&>(c) = Bidirectional(static_cast<const LayerConfig&>(lstm), options);
  return c;
}

RecurrentLayerConfig<3> Bidirectional(const RecurrentLayerConfig<2>& gru_or_rnn,
                                      BidirectionalOptions options) {
  RecurrentLayerConfig<3> c;
  static_cast<LayerConfig&>(c) = Bidirectional(static_cast<const LayerConfig&>(gru_or_rnn), options);
  return c;
}

LayerConfig Embedding(int64_t input_dim, int output_dim, EmbeddingOptions options) {
  LayerConfig c;
  c.type = LayerType::embedding;
  c.units = output_dim;
  c.input_dim = input_dim;
  c.mask_zero = options.mask_zero;
  c.input_shape = std::move(options.input_shape);
  c.batch_size = options.batch_size;
  return c;
}

LayerConfig Dropout(float rate) {
  LayerConfig c;
  c.type = LayerType::dropout;
  c.rate = rate;
  return c;
}

LayerConfig Masking(float mask_value, MaskingOptions options) {
  LayerConfig c;
  c.type = LayerType::masking;
  c.mask_value = mask_value;
  c.input_shape = std::move(options.input_shape);
  c.batch_size = options.batch_size;
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
