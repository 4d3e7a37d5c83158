// The recurrent layers in a graph: LSTM, GRU, SimpleRNN (with go_backwards) and Bidirectional,
// with Keras's initial_state (inputs after x: h, then c for an LSTM, per direction) and
// return_state (outputs after the output: the final h, c per direction, at each row's last
// valid step). The op itself is layers/recurrent.h's, the one Sequential runs too.
//
// Dimensions: H = the width of h_t (units, or an LSTM's proj_size), C = the width of c_t.
#include <cstring>

#include "core/limits.h"
#include "graph/graph.h"
#include "layers/recurrent.h"
#include "lstm/error.h"
#include "model/model_impl.h"

namespace lstm {

namespace {

// Bidirectional with merge_mode none in a graph: Keras's two outputs, forward then backward
// (then the states). The recurrent op lays the two side by side in one tensor of 2H, as
// Sequential keeps them; this op runs it on a buffer of its own and gives each half its own
// tensor, and joins their gradients the same way.
class TwoOutputs final : public Op {
 public:
  explicit TwoOutputs(std::unique_ptr<Op> op) : op_(std::move(op)) {}
  std::vector<ParamTensor> param_tensors() const override { return op_->param_tensors(); }
  void bind(float* params, float* grads) override { Op::bind(params, grads), op_->bind(params, grads); }
  void init(Rng& rng) override { op_->init(rng); }
  void weights_changed() override { op_->weights_changed(); }
  void reset_carried_state() override { op_->reset_carried_state(); }
  std::vector<Recurrence*> directions() const override { return op_->directions(); }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    joined_out_.assign(1, out[0]);
    joined_out_[0].F = 2 * out[0].F;
    grow(joined_, joined_out_[0].size(pass.B));
    joined_out_[0].data = joined_.data();
    joined_out_.insert(joined_out_.end(), out.begin() + 2, out.end());
    op_->forward(pass, in, joined_out_);
    const int64_t R = out[0].rows(pass.B), H = out[0].F;
    for (int64_t r = 0; r < R; ++r)
      for (int k = 0; k < 2; ++k)
        std::memcpy(out[size_t(k)].data + r * H, joined_.data() + (r * 2 + k) * H, sizeof(float) * size_t(H));
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t R = out[0].rows(pass.B), H = out[0].F;
    std::vector<const float*> d(1, nullptr);
    if (dout[0] || dout[1]) {
      grow(joined_grad_, R * 2 * H);
      for (int64_t r = 0; r < R; ++r)
        for (int k = 0; k < 2; ++k) {
          float* to = joined_grad_.data() + (r * 2 + k) * H;
          if (dout[size_t(k)]) std::memcpy(to, dout[size_t(k)] + r * H, sizeof(float) * size_t(H));
          else std::memset(to, 0, sizeof(float) * size_t(H));
        }
      d[0] = joined_grad_.data();
    }
    d.insert(d.end(), dout.begin() + 2, dout.end());
    op_->backward(pass, in, joined_out_, d, din);
  }

 private:
  std::unique_ptr<Op> op_;
  std::vector<Value> joined_out_;  // the op's outputs: [forward | backward], then the states
  std::vector<float> joined_, joined_grad_;
};

class RecurrentRoom final : public Room {
 public:
  const char* type() const override { return "recurrent"; }
  std::string keras_class(const LayerConfig& c) const override {
    switch (c.type) {
      case LayerType::lstm: return "LSTM";
      case LayerType::gru: return "GRU";
      case LayerType::simple_rnn: return "SimpleRNN";
      default: return "Bidirectional";
    }
  }
  bool runs(const LayerConfig& c) const override {
    return c.kind.empty() && (is_recurrent(c.type) || c.type == LayerType::bidirectional);
  }

  std::vector<ValueSpec> infer(const Call& call) const override {
    const LayerConfig& c = call.layer;
    const std::string& where = call.where;
    if (call.inputs.size() != 1)
      throw Error(where + " takes one input sequence (and its initial states as initial_state), "
                  "got " + std::to_string(call.inputs.size()) + " inputs");
    const ValueSpec& x = call.inputs[0];
    if (!x.seq)
      throw Error(where + " needs a sequence input [N, T, F], got " + spec_string(x) +
                  ": set return_sequences = true on the recurrent layer before it, or give the "
                  "Input a time axis");
    const bool bidir = c.type == LayerType::bidirectional;
    if (bidir && (c.wrapped.size() != 1 || !is_recurrent(c.wrapped[0].type)))
      throw Error(where + " wraps exactly one recurrent layer (lstm, gru or simple_rnn)");
    const LayerConfig& cell = bidir ? c.wrapped[0] : c;
    if (cell.units <= 0 || cell.units > limits::kWidth)
      throw Error(where + ": units must be in 1.." + std::to_string(limits::kWidth) + ", got " +
                  std::to_string(cell.units));
    if (cell.type == LayerType::simple_rnn && cell.activation != Activation::tanh &&
        cell.activation != Activation::relu)
      throw Error(where + ": activation must be tanh or relu, got " + activation_name(cell.activation));
    check_recurrent_options(cell, where);
    if (c.stateful && !call.states.empty())
      throw Error(where + " is stateful, so it starts each batch from the state the last one ended "
                  "in: it takes no initial_state (or make it not stateful and pass the states)");
    if (c.stateful && x.mask_of && x.mask_of->padding != GraphNode::Padding::none)
      throw Error(where + " is stateful, so every row's state goes on from its step T: it takes "
                  "sequences without padding (no Embedding(mask_zero) or Masking before it)");
    const int64_t H = recurrent_width(cell), C = cell.units;
    const bool has_c = cell.type == LayerType::lstm;
    const size_t dirs = bidir ? 2 : 1, per = has_c ? 2 : 1;
    if (!call.states.empty()) {
      if (call.states.size() != dirs * per)
        throw Error(where + ": initial_state has " + std::to_string(call.states.size()) +
                    " tensors but the layer needs " + std::to_string(dirs * per) + " (" +
                    (has_c ? "h and c" : "h") + (bidir ? " for each direction, forward first" : "") + ")");
      for (size_t k = 0; k < call.states.size(); ++k) {
        const bool is_c = has_c && k % 2 == 1;
        const int64_t want = is_c ? C : H;
        const ValueSpec& s = call.states[k];
        if (s.seq || s.F != want)
          throw Error(where + ": initial_state[" + std::to_string(k) + "] (" + (is_c ? "c" : "h") +
                      ") is " + spec_string(s) + " but the layer's state is [N, " +
                      std::to_string(want) + "]");
      }
    }
    const bool two = bidir && c.merge_mode == MergeMode::none;  // Keras: [forward, backward]
    ValueSpec y = x;
    y.ids = false;
    y.F = bidir && c.merge_mode == MergeMode::concat ? 2 * H : H;
    if (!c.return_sequences) y = ValueSpec{false, y.F};
    std::vector<ValueSpec> out = {y};
    if (two) out.push_back(y);
    for (size_t d = 0; c.return_state && d < dirs; ++d) {
      out.push_back(ValueSpec{false, H});
      if (has_c) out.push_back(ValueSpec{false, C});
    }
    return out;
  }

  bool reads(const std::string& t) const override {
    return t == "lstm" || t == "gru" || t == "simple_rnn" || t == "bidirectional";
  }
  nlohmann::json to_json(const LayerConfig& c) const override {
    nlohmann::json j = layer_to_json(c);
    if (c.return_state) j["return_state"] = true;  // graphs only: Sequential's JSON has none
    return j;
  }
  LayerConfig from_json(const nlohmann::json& j, const std::string& where) const override {
    nlohmann::json rest = j;
    bool state = false;
    if (rest.contains("return_state")) {
      if (!rest["return_state"].is_boolean()) throw Error(where + ": \"return_state\" must be true or false");
      state = rest["return_state"].get<bool>();
      rest.erase("return_state");
    }
    LayerConfig c = layer_from_json(rest, where);
    c.return_state = state;
    return c;
  }

  std::unique_ptr<Op> make(const Call& call) const override {
    std::unique_ptr<Op> op = make_recurrent_op(call.layer, call.inputs[0].F, !call.states.empty());
    if (call.layer.type == LayerType::bidirectional && call.layer.merge_mode == MergeMode::none)
      return std::make_unique<TwoOutputs>(std::move(op));
    return op;
  }
};

}  // namespace

const Room& recurrent_room() {
  static const RecurrentRoom r;
  return r;
}

}  // namespace lstm
