// A built layer: its shapes, its named parameter tensors (views into the model's one parameter
// buffer) and its forward/backward pair over a batch.
//
// Dimensions: T = time steps, B = batch, In/Out = features in/out of this layer.
// Activations are time-major: a sequence is (T, B, F), a vector per sample is (B, F).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "lstm/layers.h"

namespace lstm {

// One named parameter tensor of a layer, e.g. {"weight_ih", {4H, I}, offset}.
struct ParamTensor {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset;  // in floats, from the layer's first parameter
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

class Layer {
 public:
  Layer(const LayerConfig& config, int64_t in_features, bool in_seq, int64_t out_features,
        bool out_seq)
      : config(config), in_features(in_features), in_seq(in_seq), out_features(out_features),
        out_seq(out_seq) {}
  virtual ~Layer() = default;

  const LayerConfig config;
  const int64_t in_features;
  const bool in_seq;  // input is (T, B, In) rather than (B, In)
  const int64_t out_features;
  const bool out_seq;  // output is (T, B, Out) rather than (B, Out)

  // The layer's tensors in file order; their sizes add up to param_count().
  virtual std::vector<ParamTensor> param_tensors() const = 0;
  int64_t param_count() const;
  void bind(float* params, float* grads) { params_ = params, grads_ = grads; }
  virtual void init(Rng& rng) = 0;

  // Forward saves what backward needs in the layer's workspace; backward must follow the
  // forward of the same batch. Backward accumulates into the parameter gradients and writes dx
  // (unless dx is null, as for the first layer).
  virtual void forward(const float* x, float* y, int64_t T, int64_t B) = 0;
  virtual void backward(const float* x, const float* y, const float* dy, float* dx, int64_t T,
                        int64_t B) = 0;

  // Streaming: one step of one sequence, x (In) -> y (Out), recurrent state kept between calls
  // until reset_state(). Allocates only on the first call after a reset.
  virtual void step(const float* x, float* y) = 0;
  virtual void reset_state() {}
  // The parameters were written (optimizer step, set_weights, load): drop whatever the layer
  // derived from them (packed weights). The model calls it; layers never see the writes.
  virtual void weights_changed() {}

 protected:
  float* params_ = nullptr;
  float* grads_ = nullptr;
};

// Builds the layer described by `config` for inputs of `in_features` (sequences when in_seq).
// Throws lstm::Error when the config does not fit (an LSTM after a layer that returns vectors).
std::unique_ptr<Layer> make_layer(const LayerConfig& config, int64_t in_features, bool in_seq,
                                  int index);

}  // namespace lstm
