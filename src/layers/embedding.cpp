// Embedding: token ids -> vectors. T = time steps, B = batch, D = embedding width (output_dim),
// V = vocabulary (input_dim).
//   x (T, B, 1): integers in [0, V) stored as floats (checked where data enters the model)
//   forward:  y[r] = W[id_r]          backward: dW[id_r] += dy[r]   (ids get no gradient)
// When the layer after it reads the ids and W itself (layers/token_input.h), neither is done.
// W (V, D) starts uniform in [-0.05, 0.05] (Keras). With mask_zero, id 0 is padding: the model
// reads each sequence's length off its ids, and every layer downstream sees the mask.
#include <cstring>

#include "core/limits.h"
#include "graph/graph.h"
#include "layers/config_json.h"
#include "layers/token_input.h"
#include "lstm/error.h"

namespace lstm {

class EmbeddingOp final : public Op {
 public:
  EmbeddingOp(int64_t V, int64_t D, bool masked) : V(V), D(D), masked_(masked) { tokens_.V = V, tokens_.D = D; }

  std::vector<ParamTensor> param_tensors() const override { return {{"weight", {V, D}, 0}}; }
  void init(Rng& rng) override {
    for (int64_t k = 0; k < V * D; ++k) params_[k] = rng.uniform(-0.05f, 0.05f);
  }

  // A mask needs the vectors (its rows may be reordered, padded steps skipped): mask_zero
  // always has one, so it is not fused; other passes with a mask are not.
  TokenInput* token_output() override { return masked_ ? nullptr : &tokens_; }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const float* x = in[0].data;
    // a pass without a mask: the reader gathers from W itself
    tokens_.ids = tokens_.taken && !out[0].lengths ? x : nullptr;
    tokens_.table = params_, tokens_.table_grad = grads_;
    if (tokens_.ids) return;
    for (int64_t r = 0; r < in[0].rows(pass.B); ++r)
      std::memcpy(out[0].data + r * D, params_ + int64_t(x[r]) * D, sizeof(float) * size_t(D));
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t R = in[0].rows(pass.B);
    if (din[0]) std::memset(din[0], 0, sizeof(float) * size_t(R));  // ids: no gradient
    if (!dout[0] || tokens_.ids) return;
    const float* x = in[0].data;
    for (int64_t r = 0; r < R; ++r) {
      float* g = grads_ + int64_t(x[r]) * D;
      for (int64_t j = 0; j < D; ++j) g[j] += dout[0][r * D + j];
    }
  }

  Stepping stepping() const override { return Stepping::own; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    const float id = in[0][0];  // the one unchecked entry: check here
    if (!(id >= 0.0f && id < float(V)) || id != float(int64_t(id)))
      throw Error("step(): " + std::to_string(id) + " is not a token id: the Embedding takes "
                  "integers 0.." + std::to_string(V - 1));
    std::memcpy(out[0], params_ + int64_t(id) * D, sizeof(float) * size_t(D));
  }

 private:
  const int64_t V, D;
  const bool masked_;
  TokenInput tokens_;
};

class EmbeddingRoom final : public Room {
 public:
  const char* type() const override { return "embedding"; }
  bool reads_ids() const override { return true; }
  std::string keras_class(const LayerConfig&) const override { return "Embedding"; }
  bool runs(const LayerConfig& c) const override { return c.kind.empty() && c.type == LayerType::embedding; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor (and no initial_state), got " +
                  std::to_string(call.inputs.size()));
    const LayerConfig& c = call.layer;
    GraphNode* src = call.input_nodes[0];
    if (!src->is_input || src->input_shape.size() != 1)
      throw Error(call.where + " must be the first layer: it reads token ids, which only a model "
                  "input holds (in a graph, call it on lstm::Input({lstm::kAnyLength}) directly), "
                  "got " + spec_string(call.inputs[0]));
    if (c.units <= 0 || c.units > limits::kWidth)
      throw Error(call.where + ": output_dim must be in 1.." + std::to_string(limits::kWidth) +
                  ", got " + std::to_string(c.units));
    if (c.input_dim <= 0 || c.input_dim > limits::kWidth)
      throw Error(call.where + ": input_dim (the vocabulary size) must be in 1.." +
                  std::to_string(limits::kWidth) + ", got " + std::to_string(c.input_dim));
    if (c.mask_zero) claim_padding(call, *src, GraphNode::Padding::zero_id, 0.0f);
    ValueSpec y;
    y.seq = true, y.F = c.units, y.steps = src->input_shape[0];
    y.time_of = y.steps == 0 ? src : nullptr;
    y.mask_of = c.mask_zero || src->given_lengths ? src : nullptr;
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<EmbeddingOp>(call.layer.input_dim, call.layer.units, call.layer.mask_zero);
  }

  nlohmann::json to_json(const LayerConfig& c) const override {
    return {{"type", "embedding"}, {"input_dim", c.input_dim}, {"output_dim", c.units}, {"mask_zero", c.mask_zero}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j, {"type", "input_dim", "output_dim", "mask_zero"}, where);
    return Embedding(json_int(j, "input_dim", where), json_units(j, "output_dim", where),
                     {.mask_zero = json_bool(j, "mask_zero", false, where)});
  }
};

const Room& embedding_room() {
  static const EmbeddingRoom r;
  return r;
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

}  // namespace lstm
