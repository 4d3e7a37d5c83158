// Flatten (include/lstm/layers/conv.h): every axis but the batch joined, in C order.
//   an image (B, H, W, C) or a vector:  y = x, read as (B, F)                (the same floats)
//   a sequence of fixed T, time-major (T, B, F):  y[b, t·F + f] = x[t, b, f]
//   TimeDistributed(Flatten()) on a clip: each frame's values, y = x as (T, B, H·W·C)
// Backward moves the gradient back the same way.
#include <cstring>

#include "core/limits.h"
#include "layers/image_layer.h"
#include "lstm/error.h"
#include "lstm/layers/conv.h"

namespace lstm {

namespace {

class FlattenOp final : public Op {
 public:
  explicit FlattenOp(bool join_steps) : join_steps_(join_steps) {}
  Stepping stepping() const override { return join_steps_ ? Stepping::none : Stepping::by_forward; }
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t B = pass.B, F = in[0].F;
    if (!join_steps_) {
      std::memcpy(out[0].data, in[0].data, sizeof(float) * size_t(in[0].size(B)));
      return;
    }
    for (int64_t t = 0; t < in[0].T; ++t)
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(out[0].data + (b * in[0].T + t) * F, in[0].data + (t * B + b) * F,
                    sizeof(float) * size_t(F));
  }
  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const int64_t B = pass.B, F = in[0].F;
    if (!join_steps_) {
      std::memcpy(din[0], dout[0], sizeof(float) * size_t(in[0].size(B)));
      return;
    }
    for (int64_t t = 0; t < in[0].T; ++t)
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(din[0] + (t * B + b) * F, dout[0] + (b * in[0].T + t) * F,
                    sizeof(float) * size_t(F));
  }

 private:
  const bool join_steps_;
};

class FlattenRoom final : public PerFrameRoom {
 public:
  const char* type() const override { return "flatten"; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty())
      throw Error(call.where + " takes one input tensor (and no initial_state)");
    const ValueSpec& x = call.inputs[0];
    if (x.ids)
      throw Error(call.where + " takes values, not token ids " + spec_string(x) +
                  ": embed them first");
    ValueSpec y = x;
    y.image.clear();
    check_time_distributed(call);
    if (call.layer.time_distributed) return {y};
    if (!x.seq) return {y};
    if (x.steps == 0)
      throw Error(call.where + " joins the steps of " + spec_string(x) +
                  ", which needs a fixed number of "
                  "them: give the Input its timesteps, or use TimeDistributed(Flatten()) to "
                  "flatten each frame");
    if (x.mask_of)
      throw Error(call.where +
                  " would join padded steps into the vector: it takes unmasked sequences");
    if (x.steps > limits::kWidth / x.F)
      throw Error(call.where + ": " + std::to_string(x.steps) + " steps of " + std::to_string(x.F) +
                  " values are more than the " + std::to_string(limits::kWidth) +
                  " a vector may hold");
    y = ValueSpec{};
    y.F = x.steps * x.F;
    return {y};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<FlattenOp>(call.inputs[0].seq && !call.layer.time_distributed);
  }

 private:
  std::string layer_class() const override { return "Flatten"; }
};

}  // namespace

LayerConfig Flatten() {
  LayerConfig c;
  c.kind = "flatten";
  return c;
}

const Room& flatten_room() {
  static const FlattenRoom r;
  return r;
}

}  // namespace lstm
