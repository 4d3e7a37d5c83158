// Concatenate, Add, Multiply, Average (include/lstm/layers/merge.h): K inputs, one output.
// Rows R = T·B for sequences, B for vectors; input k is (R, F_k).
//   Concatenate  y[r] = [x_1[r], ..., x_K[r]]        dx_k[r] = dy[r][offset_k .. offset_k + F_k)
//   Add          y = Σ x_k                           dx_k = dy
//   Multiply     y = Π x_k                           dx_k = dy · Π_{j≠k} x_j
//   Average      y = (1/K) Σ x_k                     dx_k = dy / K
#include <cstring>

#include "graph/graph.h"
#include "lstm/error.h"
#include "lstm/layers/merge.h"

namespace lstm {

enum class Merge { concatenate, add, multiply, average };

class MergeOp final : public Op {
 public:
  explicit MergeOp(Merge m) : m_(m) {}

  Stepping stepping() const override { return Stepping::by_forward; }  // row by row
  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const int64_t R = out[0].rows(pass.B), F = out[0].F, K = int64_t(in.size());
    float* y = out[0].data;
    if (m_ == Merge::concatenate) {
      for (int64_t r = 0, off = 0; r < R; ++r, off = 0)
        for (const Value& x : in) {
          std::memcpy(y + r * F + off, x.data + r * x.F, sizeof(float) * size_t(x.F));
          off += x.F;
        }
      return;
    }
    const int64_t n = R * F;
    std::memcpy(y, in[0].data, sizeof(float) * size_t(n));
    for (int64_t k = 1; k < K; ++k) {
      const float* x = in[size_t(k)].data;
      if (m_ == Merge::multiply) for (int64_t i = 0; i < n; ++i) y[i] *= x[i];
      else for (int64_t i = 0; i < n; ++i) y[i] += x[i];
    }
    if (m_ == Merge::average)
      for (int64_t i = 0; i < n; ++i) y[i] *= 1.0f / float(K);
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t R = out[0].rows(pass.B), F = out[0].F, n = R * F, K = int64_t(in.size());
    const float* dy = dout[0];
    for (int64_t k = 0, off = 0; k < K; off += in[size_t(k)].F, ++k) {
      float* dx = din[size_t(k)];
      if (!dx) continue;
      switch (m_) {
        case Merge::concatenate: {
          const int64_t Fk = in[size_t(k)].F;
          for (int64_t r = 0; r < R; ++r)
            std::memcpy(dx + r * Fk, dy + r * F + off, sizeof(float) * size_t(Fk));
          break;
        }
        case Merge::add: std::memcpy(dx, dy, sizeof(float) * size_t(n)); break;
        case Merge::average:
          for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] / float(K);
          break;
        case Merge::multiply:  // the product of the others, recomputed (no division by zero)
          std::memcpy(dx, dy, sizeof(float) * size_t(n));
          for (int64_t j = 0; j < K; ++j) {
            if (j == k) continue;
            const float* x = in[size_t(j)].data;
            for (int64_t i = 0; i < n; ++i) dx[i] *= x[i];
          }
          break;
      }
    }
  }

 private:
  const Merge m_;
};

class MergeRoom final : public Room {
 public:
  MergeRoom(Merge m, const char* type, const char* keras) : m_(m), type_(type), keras_(keras) {}
  const char* type() const override { return type_; }
  std::string keras_class(const LayerConfig&) const override { return keras_; }

  std::vector<ValueSpec> infer(const Call& call) const override {
    const std::vector<ValueSpec>& in = call.inputs;
    if (in.size() < 2)
      throw Error(call.where + " joins two or more tensors, got " + std::to_string(in.size()) +
                  ": call it on a list, as in " + keras_ + "()({a, b})");
    if (!call.states.empty()) throw Error(call.where + " takes no initial_state");
    ValueSpec y = in[0];
    y.ids = false;
    for (size_t k = 1; k < in.size(); ++k) {
      const ValueSpec& x = in[k];
      const std::string both = "input 0 is " + spec_string(in[0]) + " and input " +
                               std::to_string(k) + " is " + spec_string(x);
      if (x.seq != in[0].seq || (x.seq && !x.same_time(in[0])))
        throw Error(call.where + ": " + both + ": the inputs must all be sequences of the same "
                    "time steps, or all vectors" +
                    (x.seq && in[0].seq && x.steps == 0 && in[0].steps == 0
                         ? std::string(" (these follow two Inputs of any length, which may differ: "
                                       "give the Inputs one fixed number of steps)")
                         : std::string()));
      if (m_ != Merge::concatenate && x.F != in[0].F)
        throw Error(call.where + ": " + both + ": " + keras_ + " combines elementwise, so the "
                    "shapes must be the same (Concatenate joins different widths)");
      if (x.mask_of && y.mask_of && x.mask_of != y.mask_of)
        throw Error(call.where + ": inputs 0 and " + std::to_string(k) + " carry the masks of "
                    "different Inputs; merge sequences of one mask");
      if (!y.mask_of) y.mask_of = x.mask_of;
      if (m_ == Merge::concatenate) y.F += x.F;
    }
    return {y};
  }

  std::unique_ptr<Op> make(const Call&) const override { return std::make_unique<MergeOp>(m_); }

 private:
  const Merge m_;
  const char *type_, *keras_;
};

static LayerConfig merge_layer(const char* kind) {
  LayerConfig c;
  c.kind = kind;
  return c;
}
LayerConfig Concatenate() { return merge_layer("concatenate"); }
LayerConfig Add() { return merge_layer("add"); }
LayerConfig Multiply() { return merge_layer("multiply"); }
LayerConfig Average() { return merge_layer("average"); }

const Room& concatenate_room() {
  static const MergeRoom r(Merge::concatenate, "concatenate", "Concatenate");
  return r;
}
const Room& add_room() {
  static const MergeRoom r(Merge::add, "add", "Add");
  return r;
}
const Room& multiply_room() {
  static const MergeRoom r(Merge::multiply, "multiply", "Multiply");
  return r;
}
const Room& average_room() {
  static const MergeRoom r(Merge::average, "average", "Average");
  return r;
}

}  // namespace lstm
