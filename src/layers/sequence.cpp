// The layers around the recurrent ones: Embedding (token ids -> vectors), Dropout, Masking.
// T = time steps, B = batch, D = embedding width, V = vocabulary, F = features.
#include <cstring>

#include "layers/init.h"
#include "layers/layer.h"
#include "lstm/error.h"

namespace lstm {

// Token ids (T, B, 1), integers in [0, V) stored as floats (checked where data enters the model)
//   forward:  y[r] = W[id_r]          backward: dW[id_r] += dy[r]
class EmbeddingLayer final : public Layer {
 public:
  explicit EmbeddingLayer(const LayerConfig& c)
      : Layer(c, 1, true, c.units, true), V(c.input_dim), D(c.units) {}

  std::vector<ParamTensor> param_tensors() const override { return {{"weight", {V, D}, 0}}; }
  void init(Rng& rng) override {
    for (int64_t k = 0; k < V * D; ++k) params_[k] = rng.uniform(-0.05f, 0.05f);
  }

  void forward(const float* x, float* y, const Batch& batch) override {
    for (int64_t r = 0; r < batch.T * batch.B; ++r)
      std::memcpy(y + r * D, params_ + int64_t(x[r]) * D, sizeof(float) * size_t(D));
  }
  void backward(const float* x, const float*, const float* dy, float* dx,
                const Batch& batch) override {
    for (int64_t r = 0; r < batch.T * batch.B; ++r) {
      float* g = grads_ + int64_t(x[r]) * D;
      for (int64_t j = 0; j < D; ++j) g[j] += dy[r * D + j];
    }
    if (dx) std::memset(dx, 0, sizeof(float) * size_t(batch.T * batch.B));  // ids: no gradient
  }
  void step(const float* x, float* y) override {  // the one unchecked entry: check here
    if (!(x[0] >= 0.0f && x[0] < float(V)) || x[0] != float(int64_t(x[0])))
      throw Error("step(): " + std::to_string(x[0]) + " is not a token id: the Embedding takes "
                  "integers 0.." + std::to_string(V - 1));
    std::memcpy(y, params_ + int64_t(x[0]) * D, sizeof(float) * size_t(D));
  }

 private:
  const int64_t V, D;
};

// Inverted dropout: in training y = x * m / (1 - rate), m ~ Bernoulli(1 - rate) per value, drawn
// from the model's generator; otherwise y = x.
class DropoutLayer final : public Layer {
 public:
  DropoutLayer(const LayerConfig& c, int64_t features, bool seq)
      : Layer(c, features, seq, features, seq) {}

  std::vector<ParamTensor> param_tensors() const override { return {}; }
  void init(Rng&) override {}

  void forward(const float* x, float* y, const Batch& batch) override {
    const int64_t n = (in_seq ? batch.T : 1) * batch.B * in_features;
    if (!batch.training || config.rate <= 0.0f) {
      std::memcpy(y, x, sizeof(float) * size_t(n));
      return;
    }
    grow(mask_, n);
    const float keep = 1.0f - config.rate, scale = 1.0f / keep;
    for (int64_t k = 0; k < n; ++k) {
      mask_[size_t(k)] = batch.rng->uniform() < keep ? scale : 0.0f;
      y[k] = x[k] * mask_[size_t(k)];
    }
  }
  void backward(const float*, const float*, const float* dy, float* dx,
                const Batch& batch) override {
    if (!dx) return;
    const int64_t n = (in_seq ? batch.T : 1) * batch.B * in_features;
    for (int64_t k = 0; k < n; ++k)
      dx[k] = config.rate > 0.0f ? dy[k] * mask_[size_t(k)] : dy[k];
  }
  void step(const float* x, float* y) override {
    std::memcpy(y, x, sizeof(float) * size_t(in_features));
  }

 private:
  std::vector<float> mask_;  // this batch's m / (1 - rate)
};

// The model reads the lengths off its input (Sequential, resolve_lengths); the layer passes
// values through with the padded steps zeroed, as Keras's Masking does.
class MaskingLayer final : public Layer {
 public:
  MaskingLayer(const LayerConfig& c, int64_t features) : Layer(c, features, true, features, true) {}

  std::vector<ParamTensor> param_tensors() const override { return {}; }
  void init(Rng&) override {}

  void forward(const float* x, float* y, const Batch& batch) override { copy_valid(x, y, batch); }
  void backward(const float*, const float*, const float* dy, float* dx,
                const Batch& batch) override {
    if (dx) copy_valid(dy, dx, batch);
  }
  void step(const float* x, float* y) override {
    std::memcpy(y, x, sizeof(float) * size_t(in_features));
  }

 private:
  // Row by row, so that it also holds for rows in any order (a graph's second mask).
  void copy_valid(const float* src, float* dst, const Batch& batch) const {
    const int64_t F = in_features;
    for (int64_t t = 0; t < batch.T; ++t)
      for (int64_t b = 0; b < batch.B; ++b) {
        const int64_t at = (t * batch.B + b) * F;
        if (t < batch.length(b)) std::memcpy(dst + at, src + at, sizeof(float) * size_t(F));
        else std::memset(dst + at, 0, sizeof(float) * size_t(F));
      }
  }
};

std::unique_ptr<Layer> make_embedding(const LayerConfig& config) {
  return std::make_unique<EmbeddingLayer>(config);
}
std::unique_ptr<Layer> make_dropout(const LayerConfig& config, int64_t features, bool seq) {
  return std::make_unique<DropoutLayer>(config, features, seq);
}
std::unique_ptr<Layer> make_masking(const LayerConfig& config, int64_t features) {
  return std::make_unique<MaskingLayer>(config, features);
}

}  // namespace lstm
