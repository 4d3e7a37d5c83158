// SpecAugment (include/lstm/layers/spec_augment.h): x (T, B, F) -> y, time-major.
// Training:  y = x ⊙ m,  m ∈ {0, 1} per value: 0 in the sequence's masked bands and spans.
// Backward:  dx = dy ⊙ m.  Otherwise (and in step()): y = x, dx = dy.
#include <algorithm>
#include <cstring>

#include "core/json.h"
#include "graph/graph.h"
#include "layers/config_json.h"
#include "lstm/error.h"
#include "lstm/layers/spec_augment.h"

namespace lstm {

class SpecAugmentOp final : public Op {
 public:
  SpecAugmentOp(const SpecAugmentOptions& o, int64_t F) : o_(o), F_(F), P_(o.period > 0 ? o.period : F) {}

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value>, Workspace& ws) override {
    keep_feature_ = ws.kept.take(pass.B * F_);                  // (B, F): 1 kept, 0 masked
    keep_step_ = ws.kept.take(in[0].T * pass.B);                // (T, B)
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    const Value& x = in[0];
    const int64_t T = x.T, B = pass.B;
    masked_ = pass.training && (o_.frequency_masks > 0 || o_.time_masks > 0);
    if (!masked_) {
      std::memcpy(out[0].data, x.data, sizeof(float) * size_t(x.size(B)));
      return;
    }
    draw(*pass.rng, T, B, x.lengths);
    apply_masks(x.data, out[0].data, T, B);
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value>,
                std::span<const float* const> dout, std::span<float* const> din) override {
    if (!din[0]) return;
    const int64_t T = in[0].T, B = pass.B, n = in[0].size(B);
    if (!dout[0]) {
      std::memset(din[0], 0, sizeof(float) * size_t(n));
      return;
    }
    if (!masked_) {
      std::memcpy(din[0], dout[0], sizeof(float) * size_t(n));
      return;
    }
    apply_masks(dout[0], din[0], T, B);
  }

  Stepping stepping() const override { return Stepping::own; }
  void step(std::span<const float* const> in, std::span<float* const> out) override {
    std::memcpy(out[0], in[0], sizeof(float) * size_t(F_));
  }

 private:
  // dst = src ⊙ m (forward on x, backward on dy): the last forward's masks, time-major rows.
  void apply_masks(const float* src, float* dst, int64_t T, int64_t B) const {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 0; b < B; ++b) {
        const float *s = src + (t * B + b) * F_, *kf = keep_feature_ + b * F_;
        float* d = dst + (t * B + b) * F_;
        const float ks = keep_step_[t * B + b];
        for (int64_t i = 0; i < F_; ++i) d[i] = s[i] * kf[i] * ks;
      }
  }

  // A width uniform in 0..most and a start uniform in 0..room - width.
  static std::pair<int64_t, int64_t> span(Rng& rng, int64_t most, int64_t room) {
    const int64_t w = int64_t(rng.below(uint32_t(std::min(most, room) + 1)));
    const int64_t start = int64_t(rng.below(uint32_t(room - w + 1)));
    return {start, w};
  }

  void draw(Rng& rng, int64_t T, int64_t B, const int64_t* lengths) {
    std::fill(keep_feature_, keep_feature_ + B * F_, 1.0f);
    std::fill(keep_step_, keep_step_ + T * B, 1.0f);
    for (int64_t b = 0; b < B; ++b) {
      float* kf = keep_feature_ + b * F_;
      for (int k = 0; k < o_.frequency_masks; ++k) {
        const auto [start, w] = span(rng, o_.frequency_width, P_);
        for (int64_t i = 0; i < F_; ++i)
          if (i % P_ >= start && i % P_ < start + w) kf[i] = 0.0f;
      }
      const int64_t length = lengths ? lengths[b] : T;
      for (int k = 0; k < o_.time_masks; ++k) {
        const auto [start, w] = span(rng, o_.time_width, length);
        for (int64_t t = start; t < start + w; ++t) keep_step_[t * B + b] = 0.0f;
      }
    }
  }

  const SpecAugmentOptions o_;
  const int64_t F_, P_;
  bool masked_ = false;             // the last forward masked
  float* keep_feature_ = nullptr;   // (B, F) of the last forward
  float* keep_step_ = nullptr;      // (T, B)
};

class SpecAugmentRoom final : public Room {
 public:
  const char* type() const override { return "spec_augment"; }
  // Keras has no such layer; a Keras export names it so that the gap is visible.
  std::string keras_class(const LayerConfig&) const override { return "SpecAugment"; }

  bool chains() const override { return true; }
  std::vector<ValueSpec> infer(const Call& call) const override {
    if (call.inputs.size() != 1 || !call.states.empty()) throw Error(call.where + " takes one input tensor");
    const ValueSpec& x = call.inputs[0];
    if (!x.seq || x.ids)
      throw Error(call.where + " masks sequences of features, [N, T, F], but got " + spec_string(x) +
                  (x.ids ? " (token ids)" : "") + ": put it first, on the features");
    const auto* o = std::any_cast<SpecAugmentOptions>(&call.layer.options);
    if (!o) throw Error(call.where + ": no options");
    const int64_t P = o->period > 0 ? o->period : x.F;
    auto need = [&](bool ok, const std::string& what) {
      if (!ok) throw Error(call.where + ": " + what);
    };
    need(o->frequency_masks >= 0 && o->frequency_masks <= 64, "frequency_masks must be in 0..64");
    need(o->time_masks >= 0 && o->time_masks <= 64, "time_masks must be in 0..64");
    need(o->period >= 0 && x.F % P == 0,
         "period must divide the features (" + std::to_string(x.F) + "), got " + std::to_string(o->period));
    need(o->frequency_width >= 0 && o->frequency_width <= 1 << 20, "frequency_width must be in 0..1048576");
    need(o->time_width >= 0 && o->time_width <= 1 << 20, "time_width must be in 0..1048576");
    return {x};
  }
  std::unique_ptr<Op> make(const Call& call) const override {
    return std::make_unique<SpecAugmentOp>(std::any_cast<SpecAugmentOptions>(call.layer.options), call.inputs[0].F);
  }

  nlohmann::json to_json(const LayerConfig& c) const override {
    const auto& o = std::any_cast<const SpecAugmentOptions&>(c.options);
    return {{"type", type()},
            {"frequency_masks", o.frequency_masks},
            {"frequency_width", o.frequency_width},
            {"time_masks", o.time_masks},
            {"time_width", o.time_width},
            {"period", o.period}};
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    check_keys(j, {"type", "frequency_masks", "frequency_width", "time_masks", "time_width", "period"}, where);
    SpecAugmentOptions o;
    auto integer = [&](const char* key, int fallback) {
      if (!j.contains(key)) return fallback;
      return int(json_integer(j[key], 0, 1 << 20, where + ": \"" + key + "\""));
    };
    o.frequency_masks = integer("frequency_masks", o.frequency_masks);
    o.frequency_width = integer("frequency_width", o.frequency_width);
    o.time_masks = integer("time_masks", o.time_masks);
    o.time_width = integer("time_width", o.time_width);
    o.period = integer("period", o.period);
    return SpecAugment(o);
  }
};

LayerConfig SpecAugment(SpecAugmentOptions options) {
  LayerConfig c;
  c.kind = "spec_augment";
  c.input_shape = options.input_shape;
  options.input_shape.clear();  // the config's own field carries it
  c.options = options;
  return c;
}

const Room& spec_augment_room() {
  static const SpecAugmentRoom r;
  return r;
}

}  // namespace lstm
