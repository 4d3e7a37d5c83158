// The recurrent layers in a graph: LSTM, GRU, SimpleRNN (with go_backwards) and Bidirectional,
// with Keras's initial_state (inputs after x: h, then c for an LSTM, per direction) and
// return_state (outputs after the output: the final h, c per direction, at each row's last
// valid step). The op itself is layers/recurrent.h's, the one Sequential runs too.
//
// Dimensions: H = the width of h_t (units, or an LSTM's proj_size), C = the width of c_t.
#include <cstring>
#include <set>

#include "core/json.h"
#include "core/limits.h"
#include "graph/graph.h"
#include "layers/config_json.h"
#include "layers/recurrent.h"
#include "lstm/error.h"

namespace lstm {

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
  if (!c.reset_after && c.type != LayerType::gru)
    throw Error(where + ": reset_after = false is a GRU option");
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

  void plan(const Pass& pass, std::span<const Value> in, std::span<const Value> out, Workspace& ws) override {
    join(out, nullptr);
    joined_ = ws.kept.take(joined_out_[0].size(pass.B));
    joined_grad_ = ws.grad.take(joined_out_[0].size(pass.B));
    op_->plan(pass, in, joined_out_, ws);
  }

  void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) override {
    join(out, joined_);
    op_->forward(pass, in, joined_out_);
    split_halves(joined_, out[0].rows(pass.B), out[0].F, out[0].data, out[1].data);
  }

  void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                std::span<const float* const> dout, std::span<float* const> din) override {
    const int64_t R = out[0].rows(pass.B), H = out[0].F;
    std::vector<const float*> d(1, nullptr);
    if (dout[0] || dout[1]) {
      join_halves(dout[0], dout[1], R, H, joined_grad_);
      d[0] = joined_grad_;
    }
    d.insert(d.end(), dout.begin() + 2, dout.end());
    op_->backward(pass, in, joined_out_, d, din);
  }

 private:
  // The op's outputs: one [forward | backward] tensor on `data`, then the states.
  void join(std::span<const Value> out, float* data) {
    joined_out_.assign(1, out[0]);
    joined_out_[0].F = 2 * out[0].F;
    joined_out_[0].data = data;
    joined_out_.insert(joined_out_.end(), out.begin() + 2, out.end());
  }

  std::unique_ptr<Op> op_;
  std::vector<Value> joined_out_;
  float *joined_ = nullptr, *joined_grad_ = nullptr;  // (R, 2H) the joined output, its gradient
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
    if (bidir && cell.go_backwards)
      throw Error(where + ": the wrapped layer sets go_backwards; Bidirectional runs the "
                  "backward direction itself, so leave it unset");
    if (bidir && (cell.units != c.units || cell.return_sequences != c.return_sequences ||
                  cell.stateful != c.stateful))
      throw Error(where + ": units, return_sequences and stateful must match the wrapped layer's");
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
  // Sequential's configs and graphs' share these entries; return_state is a graph's only.
  nlohmann::json to_json(const LayerConfig& c) const override {
    nlohmann::json l = {{"type", layer_type_name(c.type)}};
    if (c.return_state) l["return_state"] = true;
    if (c.type == LayerType::bidirectional) {
      l["merge_mode"] = merge_mode_name(c.merge_mode);
      LayerConfig inner = c.wrapped.at(0);
      inner.return_state = false;  // the wrapper's
      l["layer"] = to_json(inner);
      return l;
    }
    l["units"] = c.units;
    l["return_sequences"] = c.return_sequences;
    if (c.go_backwards) l["go_backwards"] = true;
    if (c.type == LayerType::simple_rnn) l["activation"] = activation_name(c.activation);
    if (c.dropout > 0.0f) l["dropout"] = json_float(c.dropout);
    if (c.stateful) l["stateful"] = true;
    if (!c.reset_after) l["reset_after"] = false;  // written only when set: older readers
    if (c.type != LayerType::lstm) return l;
    // the LSTM's options, written when they differ from the seed's cell (older readers then
    // still read every model that does not use them)
    if (c.activation != Activation::tanh) l["activation"] = activation_name(c.activation);
    if (c.recurrent_activation != Activation::sigmoid)
      l["recurrent_activation"] = activation_name(c.recurrent_activation);
    if (!c.use_bias) l["use_bias"] = false;
    if (c.recurrent_dropout > 0.0f) l["recurrent_dropout"] = json_float(c.recurrent_dropout);
    if (c.proj_size > 0) l["proj_size"] = c.proj_size;
    if (c.use_peepholes) l["use_peepholes"] = true;
    return l;
  }

  LayerConfig from_json(const nlohmann::json& l, const std::string& where) const override {
    const std::string type = l["type"].get<std::string>();
    const bool state = json_bool(l, "return_state", false, where);
    if (type == "bidirectional") {
      check_keys(l, {"type", "layer", "merge_mode", "return_state"}, where);
      if (!l.contains("layer")) throw Error(where + ": missing \"layer\", the layer it wraps");
      const nlohmann::json& inner_json = l["layer"];
      if (!inner_json.is_object() || !inner_json.contains("type") || !inner_json["type"].is_string() ||
          inner_json["type"] == "bidirectional" || !reads(inner_json["type"].get<std::string>()))
        throw Error(where + ".layer: Bidirectional wraps one recurrent layer (\"lstm\", \"gru\" or "
                    "\"simple_rnn\"), got " + json_brief(inner_json));
      if (inner_json.contains("return_state"))
        throw Error(where + ".layer: \"return_state\" belongs to the Bidirectional entry, not to "
                    "the layer it wraps");
      LayerConfig inner = from_json(inner_json, where + ".layer");
      inner.return_state = state;
      try {
        MergeMode mode = MergeMode::concat;
        if (l.contains("merge_mode") && l["merge_mode"].is_null()) {
          mode = MergeMode::none;  // as Keras writes it
        } else if (l.contains("merge_mode")) {
          if (!l["merge_mode"].is_string()) throw Error("\"merge_mode\" must be a string");
          mode = merge_mode_from_name(l["merge_mode"].get<std::string>());
        }
        return Bidirectional(inner, {.merge_mode = mode});
      } catch (const Error& e) {
        throw Error(where + ": " + e.what());
      }
    }
    std::set<std::string> keys = {"type", "units", "return_sequences", "return_state", "go_backwards",
                                  "dropout", "stateful"};
    if (type != "gru") keys.insert("activation");
    if (type == "gru") keys.insert("reset_after");
    if (type == "lstm")
      keys.insert({"recurrent_activation", "use_bias", "recurrent_dropout", "proj_size", "use_peepholes"});
    check_keys(l, keys, where);
    const int units = json_units(l, "units", where);
    const bool seq = json_bool(l, "return_sequences", false, where);
    const bool back = json_bool(l, "go_backwards", false, where);
    const float dropout = float(json_number(l, "dropout", 0.0, where));
    const bool stateful = json_bool(l, "stateful", false, where);
    if (type == "gru")
      return GRU(units, {.return_sequences = seq, .return_state = state, .go_backwards = back,
                         .dropout = dropout, .stateful = stateful,
                         .reset_after = json_bool(l, "reset_after", true, where)});
    if (type == "simple_rnn")
      return SimpleRNN(units, {.activation = json_activation(l, "activation", Activation::tanh, where),
                               .return_sequences = seq, .return_state = state, .go_backwards = back,
                               .dropout = dropout, .stateful = stateful});
    int64_t proj = 0;
    if (l.contains("proj_size")) proj = json_int(l, "proj_size", where);
    if (proj < 0 || proj >= units)
      throw Error(where + ": \"proj_size\" must be in 1.." + std::to_string(units - 1) +
                  " (smaller than units), or 0 for no projection, got " + std::to_string(proj));
    return LSTM(units, {.return_sequences = seq, .return_state = state, .go_backwards = back,
                        .activation = json_activation(l, "activation", Activation::tanh, where),
                        .recurrent_activation =
                            json_activation(l, "recurrent_activation", Activation::sigmoid, where),
                        .use_bias = json_bool(l, "use_bias", true, where),
                        .dropout = dropout,
                        .recurrent_dropout = float(json_number(l, "recurrent_dropout", 0.0, where)),
                        .proj_size = int(proj),
                        .use_peepholes = json_bool(l, "use_peepholes", false, where),
                        .stateful = stateful});
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

// ---- the builders (lstm/layers.h) ------------------------------------------------------------

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
  RecurrentLayerConfig<2> c = recurrent<2>(LayerType::gru, units, o);
  c.reset_after = o.reset_after;
  return c;
}

RecurrentLayerConfig<2> SimpleRNN(int units, SimpleRNNOptions o) {
  RecurrentLayerConfig<2> c = recurrent<2>(LayerType::simple_rnn, units, o);
  c.activation = o.activation;
  return c;
}

LayerConfig Bidirectional(const LayerConfig& layer, BidirectionalOptions options) {
  if (!layer.kind.empty() || !is_recurrent(layer.type))
    throw Error("Bidirectional wraps a recurrent layer (lstm, gru, simple_rnn), not " +
                (layer.kind.empty() ? std::string(layer_type_name(layer.type)) : layer.kind));
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

}  // namespace lstm
