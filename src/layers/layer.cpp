// The Dense layer as the model sees it, and make_layer: every layer type's checks in one place.
// The recurrent layers live in recurrent.cpp, Embedding, Dropout and Masking in sequence.cpp.
// T = time steps, B = batch.
#include "layers/layer.h"

#include <cstring>

#include "layers/dense.h"
#include "layers/init.h"
#include "lstm/error.h"

namespace lstm {

int64_t Layer::param_count() const {
  int64_t n = 0;
  for (const ParamTensor& t : param_tensors()) n += t.size();
  return n;
}

class DenseLayer final : public Layer {
 public:
  DenseLayer(const LayerConfig& c, int64_t in, bool in_seq)
      : Layer(c, in, in_seq, c.units, in_seq), In(in), Out(c.units) {}

  std::vector<ParamTensor> param_tensors() const override {
    return {{"weight", {Out, In}, 0}, {"bias", {Out}, Out * In}};
  }

  void init(Rng& rng) override {
    init_glorot_uniform(params_, Out * In, In, Out, rng);
    std::memset(params_ + Out * In, 0, sizeof(float) * Out);
  }

  void forward(const float* x, float* y, const Batch& b) override {
    dense_forward(x, params_, params_ + Out * In, y, rows(b), In, Out, config.activation);
  }

  void step(const float* x, float* y) override {
    dense_forward(x, params_, params_ + Out * In, y, 1, In, Out, config.activation);
  }

  void backward(const float* x, const float* y, const float* dy, float* dx,
                const Batch& b) override {
    grow(dz_, rows(b) * Out);
    dense_backward(x, params_, y, dy, dz_.data(), grads_, grads_ + Out * In, dx, rows(b), In, Out,
                   config.activation);
  }

 private:
  int64_t rows(const Batch& b) const { return in_seq ? b.T * b.B : b.B; }
  const int64_t In, Out;
  std::vector<float> dz_;  // (R, Out)
};

void check_recurrent_options(const LayerConfig& c, const std::string& where) {
  auto rate_ok = [](float r) { return r >= 0.0f && r < 1.0f; };
  if (!rate_ok(c.dropout))
    throw Error(where + ": dropout must be in [0, 1), got " + std::to_string(c.dropout));
  if (!rate_ok(c.recurrent_dropout))
    throw Error(where + ": recurrent_dropout must be in [0, 1), got " +
                std::to_string(c.recurrent_dropout));
  const bool lstm = c.type == LayerType::lstm;
  if (!lstm && (c.recurrent_dropout > 0.0f || c.proj_size != 0 || c.use_peepholes || !c.use_bias ||
                c.recurrent_activation != Activation::sigmoid))
    throw Error(where + ": recurrent_dropout, proj_size, use_peepholes, use_bias = false and "
                "recurrent_activation are LSTM options; this layer takes units, "
                "return_sequences, go_backwards and dropout");
  if (!lstm) return;
  for (Activation a : {c.activation, c.recurrent_activation})
    if (a == Activation::softmax)
      throw Error(where + ": softmax is not an elementwise activation: use tanh, sigmoid, relu, "
                  "hard_sigmoid or linear for activation and recurrent_activation");
  if (c.proj_size < 0 || c.proj_size >= c.units)
    throw Error(where + ": proj_size must be in 1.." + std::to_string(c.units - 1) +
                " (smaller than units = " + std::to_string(c.units) + "), or 0 for no projection, "
                "got " + std::to_string(c.proj_size));
}

std::unique_ptr<Layer> make_layer(const LayerConfig& config, int64_t in_features, bool in_seq,
                                  int index) {
  const std::string where = "layer " + std::to_string(index) + " (" +
                            layer_type_name(config.type) + ")";
  const bool has_units = config.type != LayerType::dropout && config.type != LayerType::masking;
  if (has_units && config.units <= 0)
    throw Error(where + ": units must be a positive integer, got " + std::to_string(config.units));
  const bool recurrent = is_recurrent(config.type) || config.type == LayerType::bidirectional;
  if (recurrent && !in_seq)
    throw Error(where + " needs a sequence input (N, T, F), but the layer before it returns "
                "one vector per sample: set return_sequences = true on the recurrent layer "
                "before it");
  if (config.type == LayerType::simple_rnn && config.activation != Activation::tanh &&
      config.activation != Activation::relu)
    throw Error(where + ": activation must be tanh or relu, got " +
                activation_name(config.activation));
  if (is_recurrent(config.type)) check_recurrent_options(config, where);
  switch (config.type) {
    case LayerType::lstm:
    case LayerType::gru:
    case LayerType::simple_rnn:
      return make_recurrent(config, in_features);
    case LayerType::bidirectional: {
      if (config.wrapped.size() != 1 || !is_recurrent(config.wrapped[0].type))
        throw Error(where + " wraps exactly one recurrent layer (lstm, gru or simple_rnn)");
      const LayerConfig& inner = config.wrapped[0];
      if (inner.go_backwards)
        throw Error(where + ": the wrapped layer sets go_backwards; Bidirectional runs the "
                    "backward direction itself, so leave it unset");
      if (inner.units != config.units || inner.return_sequences != config.return_sequences ||
          inner.stateful != config.stateful)
        throw Error(where + ": units, return_sequences and stateful must match the wrapped layer's");
      make_layer(inner, in_features, in_seq, index);  // the wrapped layer's own checks
      return make_recurrent(config, in_features);
    }
    case LayerType::dense:
      if (config.time_distributed && !in_seq)
        throw Error(where + ": TimeDistributed needs a sequence input (N, T, F), but the layer "
                    "before it returns one vector per sample");
      return std::make_unique<DenseLayer>(config, in_features, in_seq);
    case LayerType::embedding:
      if (index != 0)
        throw Error(where + " must be the first layer: it reads token ids, which only the "
                    "model's input holds");
      if (config.input_dim <= 0 || config.input_dim > (int64_t(1) << 24))
        throw Error(where + ": input_dim (the vocabulary size) must be in 1..16777216, got " +
                    std::to_string(config.input_dim));
      return make_embedding(config);
    case LayerType::dropout:
      if (!(config.rate >= 0.0f && config.rate < 1.0f))
        throw Error(where + ": rate must be in [0, 1), got " + std::to_string(config.rate));
      return make_dropout(config, in_features, in_seq);
    case LayerType::masking:
      if (index != 0 || !in_seq)
        throw Error(where + " must be the first layer, on sequences (N, T, F): it finds the "
                    "padding in the model's input");
      return make_masking(config, in_features);
  }
  throw Error(where + ": unknown layer type");
}

}  // namespace lstm
