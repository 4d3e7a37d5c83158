// A built layer: its shapes, its named parameter tensors (views into the model's one parameter
// buffer) and its forward/backward pair over a batch.
//
// Dimensions: T = time steps, B = batch, In/Out = features in/out of this layer.
// Activations are time-major: a sequence is (T, B, F), a vector per sample is (B, F).
// Variable lengths: the model sorts a batch's rows by length, longest first, so the rows still
// running at step t are a prefix, the first active[t]; recurrent layers step only those.
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

// What one forward/backward pass is about: its shape, the sequences' lengths, and whether it
// trains (dropout draws masks from rng then).
struct Batch {
  int64_t T = 1, B = 1;
  const int64_t* lengths = nullptr;  // (B) valid steps per row, 1..T, non-increasing; null: all T
  const int64_t* active = nullptr;   // (T) rows with length > t; null: all B
  bool training = false;
  Rng* rng = nullptr;  // training only
  int64_t length(int64_t b) const { return lengths ? lengths[b] : T; }
  int64_t rows_at(int64_t t) const { return active ? active[t] : B; }
};

class Recurrence;  // layers/recurrence.h

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
  virtual void bind(float* params, float* grads) { params_ = params, grads_ = grads; }
  virtual void init(Rng& rng) = 0;

  // Forward saves what backward needs in the layer's workspace; backward must follow the
  // forward of the same batch. Backward accumulates into the parameter gradients and writes dx
  // (unless dx is null, as for the first layer).
  virtual void forward(const float* x, float* y, const Batch& batch) = 0;
  virtual void backward(const float* x, const float* y, const float* dy, float* dx,
                        const Batch& batch) = 0;

  // Streaming: one step of one sequence, x (In) -> y (Out), recurrent state kept between calls
  // until reset_state(). Allocates only on the first call after a reset. can_step() says
  // whether the layer can (a bidirectional layer needs the whole sequence).
  virtual bool can_step() const { return true; }
  virtual void step(const float* x, float* y) = 0;
  virtual void reset_state() {}
  // Stateful recurrent layers (LayerConfig::stateful): forget the state carried from batch to
  // batch, so that the next one starts from zero.
  virtual void reset_carried_state() {}
  // A recurrent layer's directions (one; a Bidirectional layer's forward then backward), for
  // initial and final states; none for other layers.
  virtual std::vector<Recurrence*> directions() { return {}; }
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
// The options of a recurrent layer (lstm/layers.h, LSTMOptions): only those its type has, each
// in range. Throws lstm::Error starting with `where`. (make_layer and LSTMCell check with it.)
void check_recurrent_options(const LayerConfig& config, const std::string& where);
// The layers of other files, made by make_layer (layers/recurrent.cpp, layers/sequence.cpp).
std::unique_ptr<Layer> make_recurrent(const LayerConfig& config, int64_t in_features);
std::unique_ptr<Layer> make_embedding(const LayerConfig& config);
std::unique_ptr<Layer> make_dropout(const LayerConfig& config, int64_t features, bool seq);
std::unique_ptr<Layer> make_masking(const LayerConfig& config, int64_t features);

// Grows v to at least n elements (workspaces are grown to the largest batch, never shrunk).
inline void grow(std::vector<float>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

}  // namespace lstm
