// lstm models as ONNX graphs (see onnx_model.h).
#include "io/onnx_model.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "core/limits.h"
#include "io/file.h"
#include "io/model_file.h"
#include "lstm/error.h"
#include "lstm/lstm.h"

namespace lstm {

namespace {

constexpr int kOpset = 14;

class Builder {
 public:
  explicit Builder(onnx::GraphProto* g) : g_(g) {}

  std::string fresh(const std::string& base) { return base + "_" + std::to_string(count_++); }

  std::string floats(const std::string& base, const std::vector<int64_t>& dims, const std::vector<float>& data) {
    onnx::TensorProto* t = g_->add_initializer();
    const std::string name = fresh(base);
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float)));
    return name;
  }
  std::string ints(const std::string& base, const std::vector<int64_t>& dims, const std::vector<int64_t>& data) {
    onnx::TensorProto* t = g_->add_initializer();
    const std::string name = fresh(base);
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : data) t->add_int64_data(v);
    return name;
  }

  onnx::NodeProto* node(const std::string& op, std::vector<std::string> inputs, const std::vector<std::string>& outputs) {
    while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();  // optional inputs left out
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (const std::string& i : inputs) n->add_input(i);
    for (const std::string& o : outputs) n->add_output(o);
    return n;
  }
  // A node with one output, returned by name.
  std::string op(const std::string& type, const std::vector<std::string>& inputs, onnx::NodeProto** made = nullptr) {
    const std::string out = fresh(type == "Identity" ? "y" : "t");
    onnx::NodeProto* n = node(type, inputs, {out});
    if (made) *made = n;
    return out;
  }

 private:
  onnx::GraphProto* g_;
  int count_ = 0;
};

void attr(onnx::NodeProto* n, const char* name, int64_t v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::INT), a->set_i(v);
}
void attr(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void attr(onnx::NodeProto* n, const char* name, float v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(v);
}
void attr(onnx::NodeProto* n, const char* name, const std::vector<float>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::FLOATS);
  for (float x : v) a->add_floats(x);
}
void attr(onnx::NodeProto* n, const char* name, const std::string& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::STRING), a->set_s(v);
}
void attr(onnx::NodeProto* n, const char* name, const std::vector<std::string>& v) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name), a->set_type(onnx::AttributeProto::STRINGS);
  for (const std::string& x : v) a->add_strings(x);
}

void value_info(onnx::ValueInfoProto* v, const std::string& name, int elem, const std::vector<std::string>& dims) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem);
  onnx::TensorShapeProto* s = t->mutable_shape();
  for (const std::string& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = s->add_dim();
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) dim->set_dim_value(std::stoll(d));
    else dim->set_dim_param(d);
  }
}

// The ONNX name of an activation of a recurrent node, with its alpha and beta.
struct RnnActivation {
  std::string name;
  float alpha = 0.0f, beta = 0.0f;
};
RnnActivation rnn_activation(Activation a, const std::string& where) {
  switch (a) {
    case Activation::sigmoid: return {"Sigmoid"};
    case Activation::tanh: return {"Tanh"};
    case Activation::relu: return {"Relu"};
    case Activation::hard_sigmoid: return {"HardSigmoid", 1.0f / 6.0f, 0.5f};
    case Activation::linear: return {"Affine", 1.0f, 0.0f};
    default: throw Error(where + ": a softmax inside a recurrent cell has no ONNX form");
  }
}

// Rows in blocks of `block` rows, reordered: block k of the result is block order[k] of `v`.
std::vector<float> blocks(const std::vector<float>& v, int64_t block_rows, int64_t cols, const std::vector<int>& order) {
  std::vector<float> out;
  out.reserve(v.size());
  const size_t block = size_t(block_rows * cols);
  for (int k : order) out.insert(out.end(), v.begin() + ptrdiff_t(size_t(k) * block), v.begin() + ptrdiff_t(size_t(k + 1) * block));
  return out;
}

struct Exporter {
  Builder& b;
  const std::map<std::string, const NamedTensor*>& w;

  const NamedTensor& tensor(const std::string& name) const {
    auto it = w.find(name);
    if (it == w.end()) throw Error("the model has no tensor '" + name + "'");
    return *it->second;
  }

  // [N, T, I] -> the layer's output; `lens` an int32 [N] tensor or "".
  std::string recurrent(const LayerConfig& layer, size_t i, const std::string& x, const std::string& lens) {
    const bool bidir = layer.type == LayerType::bidirectional;
    const LayerConfig& c = bidir ? layer.wrapped.at(0) : layer;
    const std::string where = "layer " + std::to_string(i) + " (" + layer_type_name(layer.type) + ")";
    if (c.type == LayerType::lstm && c.proj_size > 0)
      throw Error(where + ": an LSTM with proj_size, which ONNX's LSTM operator does not have");
    if (bidir && c.go_backwards) throw Error(where + ": a Bidirectional over a go_backwards layer has no ONNX form here");
    const int64_t H = c.units, dirs = bidir ? 2 : 1;
    const int gates = c.type == LayerType::lstm ? 4 : c.type == LayerType::gru ? 3 : 1;
    const std::vector<int> order = c.type == LayerType::lstm ? std::vector<int>{0, 3, 1, 2}   // i f g o -> i o f c
                                   : c.type == LayerType::gru ? std::vector<int>{1, 0, 2}    // r z n -> z r n
                                                              : std::vector<int>{0};
    std::vector<float> W, R, B, P;
    int64_t I = 0;
    for (int64_t d = 0; d < dirs; ++d) {
      const std::string p = "layers." + std::to_string(i) + "." + (bidir ? (d == 0 ? "forward." : "backward.") : "");
      const NamedTensor& ih = tensor(p + "weight_ih");
      const NamedTensor& hh = tensor(p + "weight_hh");
      I = ih.shape[1];
      for (float v : blocks(ih.data, H, I, order)) W.push_back(v);
      for (float v : blocks(hh.data, H, H, order)) R.push_back(v);
      if (c.type == LayerType::gru && c.reset_after) {
        for (float v : blocks(tensor(p + "bias_ih").data, H, 1, order)) B.push_back(v);
        for (float v : blocks(tensor(p + "bias_hh").data, H, 1, order)) B.push_back(v);
      } else if (c.use_bias) {
        for (float v : blocks(tensor(p + "bias").data, H, 1, order)) B.push_back(v);
        B.insert(B.end(), size_t(gates * H), 0.0f);
      }
      if (c.type == LayerType::lstm && c.use_peepholes)
        for (float v : tensor(p + "weight_peephole").data) P.push_back(v);  // rows i, f, o: ONNX's order
    }
    const std::string xt = b.op("Transpose", {x}, &made_);
    attr(made_, "perm", std::vector<int64_t>{1, 0, 2});
    const std::string Wn = b.floats("W", {dirs, gates * H, I}, W), Rn = b.floats("R", {dirs, gates * H, H}, R);
    const std::string Bn = B.empty() ? "" : b.floats("B", {dirs, 2 * gates * H}, B);
    const std::string Pn = P.empty() ? "" : b.floats("P", {dirs, 3 * H}, P);
    const std::string Y = b.fresh("Y"), Yh = b.fresh("Y_h");
    const char* op = c.type == LayerType::lstm ? "LSTM" : c.type == LayerType::gru ? "GRU" : "RNN";
    std::vector<std::string> inputs = {xt, Wn, Rn, Bn, lens};
    if (c.type == LayerType::lstm) inputs.insert(inputs.end(), {"", "", Pn});
    onnx::NodeProto* n = b.node(op, inputs, {Y, Yh});
    attr(n, "hidden_size", H);
    if (bidir) attr(n, "direction", std::string("bidirectional"));
    else if (c.go_backwards) attr(n, "direction", std::string("reverse"));
    // reset_after = true is linear_before_reset = 1; false is 0, where R's bias adds outside r
    if (c.type == LayerType::gru) attr(n, "linear_before_reset", int64_t(c.reset_after ? 1 : 0));
    std::vector<RnnActivation> acts;
    if (c.type == LayerType::lstm)
      acts = {rnn_activation(c.recurrent_activation, where), rnn_activation(c.activation, where),
              rnn_activation(c.activation, where)};
    else if (c.type == LayerType::simple_rnn)
      acts = {rnn_activation(c.activation, where)};
    if (!acts.empty()) {
      std::vector<std::string> names;
      std::vector<float> alpha, beta;
      for (int64_t d = 0; d < dirs; ++d)
        for (const RnnActivation& a : acts) names.push_back(a.name), alpha.push_back(a.alpha), beta.push_back(a.beta);
      attr(n, "activations", names);
      attr(n, "activation_alpha", alpha);
      attr(n, "activation_beta", beta);
    }
    const MergeMode mode = bidir ? layer.merge_mode : MergeMode::concat;
    if (c.return_sequences) {
      // Y [T, dirs, N, H] -> [N, T, dirs, H]
      std::string y = b.op("Transpose", {Y}, &made_);
      attr(made_, "perm", mode == MergeMode::none ? std::vector<int64_t>{1, 2, 0, 3} : std::vector<int64_t>{2, 0, 1, 3});
      if (mode == MergeMode::none) return y;  // [2, N, T, H]
      y = merge(y, mode, 2, {0, 0, -1});
      if (c.go_backwards) y = reversed(y, x, lens);  // lstm returns a reversed layer's steps in its order
      return y;
    }
    // Y_h [dirs, N, H]
    if (mode == MergeMode::none) return Yh;
    std::string h = b.op("Transpose", {Yh}, &made_);
    attr(made_, "perm", std::vector<int64_t>{1, 0, 2});
    return merge(h, mode, 1, {0, -1});
  }

  // Joins the directions' axis `axis` by the merge mode (concat: a reshape to `shape`).
  std::string merge(const std::string& y, MergeMode mode, int64_t axis, const std::vector<int64_t>& shape) {
    if (mode == MergeMode::concat) return b.op("Reshape", {y, b.ints("shape", {int64_t(shape.size())}, shape)});
    if (mode == MergeMode::sum) {
      const std::string out = b.op("ReduceSum", {y, b.ints("axes", {1}, {axis})}, &made_);
      attr(made_, "keepdims", int64_t(0));
      return out;
    }
    const std::string out = b.op(mode == MergeMode::ave ? "ReduceMean" : "ReduceProd", {y}, &made_);
    attr(made_, "axes", std::vector<int64_t>{axis});
    attr(made_, "keepdims", int64_t(0));
    return out;
  }

  // y [N, T, H], each row's first L steps reversed (L: lens, or T).
  std::string reversed(const std::string& y, const std::string& x, const std::string& lens) {
    std::string L;
    if (!lens.empty()) {
      L = b.op("Cast", {lens}, &made_);
      attr(made_, "to", int64_t(onnx::TensorProto::INT64));
    } else {
      const std::string shape = b.op("Shape", {x});
      const std::string n = b.op("Gather", {shape, b.ints("index", {1}, {0})});
      std::string t = b.op("Gather", {shape, b.ints("index", {}, {1})});
      L = b.op("Expand", {t, n});
    }
    const std::string out = b.op("ReverseSequence", {y, L}, &made_);
    attr(made_, "batch_axis", int64_t(0));
    attr(made_, "time_axis", int64_t(1));
    return out;
  }

  std::string dense(const LayerConfig& layer, size_t i, const std::string& x) {
    const std::string p = "layers." + std::to_string(i) + ".";
    const NamedTensor& weight = tensor(p + "weight");
    const int64_t out = weight.shape[0], in = weight.shape[1];
    std::vector<float> wt(weight.data.size());
    for (int64_t r = 0; r < out; ++r)
      for (int64_t c = 0; c < in; ++c) wt[size_t(c * out + r)] = weight.data[size_t(r * in + c)];
    std::string y = b.op("MatMul", {x, b.floats("kernel", {in, out}, wt)});
    if (layer.use_bias) y = b.op("Add", {y, b.floats("bias", {out}, tensor(p + "bias").data)});
    switch (layer.activation) {
      case Activation::linear: return y;
      case Activation::relu: return b.op("Relu", {y});
      case Activation::sigmoid: return b.op("Sigmoid", {y});
      case Activation::tanh: return b.op("Tanh", {y});
      case Activation::softmax: {
        const std::string s = b.op("Softmax", {y}, &made_);
        attr(made_, "axis", int64_t(-1));
        return s;
      }
      case Activation::hard_sigmoid: {
        const std::string s = b.op("HardSigmoid", {y}, &made_);
        attr(made_, "alpha", 1.0f / 6.0f);
        attr(made_, "beta", 0.5f);
        return s;
      }
    }
    return y;
  }

  // A [N, T] float 0/1 step mask -> int32 [N] lengths.
  std::string lengths_of(const std::string& step_mask) {
    const std::string sum = b.op("ReduceSum", {step_mask, b.ints("axes", {1}, {1})}, &made_);
    attr(made_, "keepdims", int64_t(0));
    const std::string lens = b.op("Cast", {sum}, &made_);
    attr(made_, "to", int64_t(onnx::TensorProto::INT32));
    return lens;
  }

  onnx::NodeProto* made_ = nullptr;
};

}  // namespace

std::string encode_onnx(const Sequential& model, const OnnxExportOptions& options) {
  if (!model.built()) throw Error("the model is not built yet (no weights to export)");
  const SafetensorsFile file = model_to_safetensors(model);
  std::map<std::string, const NamedTensor*> weights;
  for (const NamedTensor& t : file.tensors) weights[t.name] = &t;
  const std::vector<LayerConfig>& layers = model.layers();
  const std::vector<int64_t>& shape = model.input_shape();

  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("lstm");
  m.set_producer_version(version());
  onnx::OperatorSetIdProto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("lstm");
  Builder b(g);
  Exporter e{b, weights};

  const bool tokens = layers[0].kind.empty() && layers[0].type == LayerType::embedding;
  if (!tokens && shape.size() != 2)
    throw Error("only sequence models ([T, F] inputs, or token ids before an Embedding) are exported to ONNX");
  const std::string T = !shape.empty() && shape[0] > 0 ? std::to_string(shape[0]) : "T";
  if (tokens) value_info(g->add_input(), "x", onnx::TensorProto::INT64, {"N", T});
  else value_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {"N", T, std::to_string(shape[1])});
  std::string lens;
  const bool masked = layers[0].kind.empty() && ((tokens && layers[0].mask_zero) || layers[0].type == LayerType::masking);
  if (options.lengths_input && masked)
    throw Error("the model finds its lengths in its input (Embedding(mask_zero) or Masking), so its graph computes "
                "them; the \"lengths\" input is for models without a mask");
  if (options.lengths_input) {
    value_info(g->add_input(), "lengths", onnx::TensorProto::INT32, {"N"});
    lens = "lengths";
  }
  std::string cur = "x";
  int rank = tokens ? 2 : 3;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerConfig& l = layers[i];
    const std::string where = "layer " + std::to_string(i) + " (" + (l.kind.empty() ? layer_type_name(l.type) : l.kind) + ")";
    if (!l.kind.empty()) throw Error(where + ": this layer type has no ONNX form in the exporter");
    switch (l.type) {
      case LayerType::embedding: {
        if (l.mask_zero && lens.empty()) {
          const std::string zero = b.ints("zero", {}, {0});
          const std::string valid = b.op("Not", {b.op("Equal", {cur, zero})});
          std::string f = b.op("Cast", {valid}, &e.made_);
          attr(e.made_, "to", int64_t(onnx::TensorProto::FLOAT));
          lens = e.lengths_of(f);
        }
        const NamedTensor& table = *weights.at("layers." + std::to_string(i) + ".weight");
        cur = b.op("Gather", {b.floats("embeddings", table.shape, table.data), cur});
        rank = 3;
        break;
      }
      case LayerType::masking: {
        const std::string mv = b.floats("mask_value", {}, {l.mask_value});
        const std::string differs = b.op("Not", {b.op("Equal", {cur, mv})});
        std::string f = b.op("Cast", {differs}, &e.made_);
        attr(e.made_, "to", int64_t(onnx::TensorProto::FLOAT));
        std::string step = b.op("ReduceMax", {f}, &e.made_);  // [N, T]: 1 where any feature differs
        attr(e.made_, "axes", std::vector<int64_t>{2});
        attr(e.made_, "keepdims", int64_t(0));
        if (lens.empty()) lens = e.lengths_of(step);
        cur = b.op("Mul", {cur, b.op("Unsqueeze", {step, b.ints("axes", {1}, {2})})});
        break;
      }
      case LayerType::dropout:  // ONNX's Dropout, an identity outside training; its ratio kept
        cur = b.op("Dropout", {cur, b.floats("ratio", {}, {l.rate})});
        break;
      case LayerType::dense: cur = e.dense(l, i, cur); break;
      case LayerType::lstm:
      case LayerType::gru:
      case LayerType::simple_rnn:
      case LayerType::bidirectional: {
        if (rank != 3) throw Error(where + ": a recurrent layer after one that returned no sequence");
        const LayerConfig& c = l.type == LayerType::bidirectional ? l.wrapped.at(0) : l;
        if (c.stateful) throw Error(where + ": a stateful layer (its state carries over between calls) has no ONNX form here");
        cur = e.recurrent(l, i, cur, lens);
        if (!c.return_sequences) rank = 2;
        break;
      }
    }
  }
  b.node("Identity", {cur}, {"y"});
  std::vector<std::string> dims;  // named, not fixed: the runtime's shape inference fills them
  for (size_t k = 0; k <= model.output_shape().size(); ++k) dims.push_back("y_" + std::to_string(k));
  value_info(g->add_output(), "y", onnx::TensorProto::FLOAT, dims);
  try {  // ONNX's own checker (libonnx), as python's onnx.checker.check_model runs it
    onnx::checker::check_model(m);
  } catch (const std::exception& err) {
    throw Error(std::string("the exported ONNX graph fails onnx::checker: ") + err.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("cannot serialise the ONNX model");
  return bytes;
}

std::vector<std::string> onnx_input_names(const std::string& path) {
  onnx::ModelProto m;
  if (!m.ParseFromString(read_file(path, "ONNX model"))) throw Error(path + ": not an ONNX model (protobuf)");
  std::vector<std::string> out;
  for (const onnx::ValueInfoProto& v : m.graph().input()) out.push_back(v.name());
  return out;
}

void save_onnx(const std::string& path, const Sequential& model, const OnnxExportOptions& options) {
  write_file_atomic(path, encode_onnx(model, options), "ONNX model");
}

// ---- the reader -------------------------------------------------------------------------------

namespace {

using nlohmann::json;

// A node's k-th input or output name, "" past the end (names come from the file).
const std::string& input_of(const onnx::NodeProto* n, int k) {
  static const std::string none;
  return k >= 0 && k < n->input_size() ? n->input(k) : none;
}
const std::string& output_of(const onnx::NodeProto* n, int k) {
  static const std::string none;
  return k >= 0 && k < n->output_size() ? n->output(k) : none;
}

class Reader {
 public:
  Reader(const onnx::GraphProto& g, std::string name) : g_(g), name_(std::move(name)) {
    for (const onnx::TensorProto& t : g.initializer()) init_[t.name()] = &t;
    for (const onnx::NodeProto& n : g.node()) {
      for (const std::string& i : n.input())
        if (!i.empty()) consumers_[i].push_back(&n);  // "": an optional input left out
      for (const std::string& o : n.output())
        if (!o.empty()) producer_[o] = &n;
      if (n.op_type() == "Constant")
        for (const onnx::AttributeProto& a : n.attribute())
          if (a.name() == "value" && a.has_t() && n.output_size() == 1) init_[n.output(0)] = &a.t();
    }
  }

  [[noreturn]] void fail(const onnx::NodeProto* n, const std::string& why) const {
    throw Error(name_ + ": " + (n ? "node '" + n->name() + "' (" + n->op_type() + "): " : std::string()) + why);
  }

  // The one node reading `tensor` on the data path (not the nodes that compute lengths or masks).
  const onnx::NodeProto* next(const std::string& tensor, const onnx::NodeProto* from) const {
    const onnx::NodeProto* found = nullptr;
    if (tensor.empty()) fail(from, "a missing output where the chain goes on");
    auto it = consumers_.find(tensor);
    if (it == consumers_.end()) fail(from, "its output '" + tensor + "' leads nowhere (no node reads it)");
    for (const onnx::NodeProto* n : it->second) {
      const std::string& op = n->op_type();
      if (op == "Equal" || op == "Shape") continue;  // lengths and masks are computed from the input
      if (found) fail(n, "'" + tensor + "' feeds two nodes; lstm reads chains of layers");
      found = n;
    }
    if (!found) fail(from, "its output '" + tensor + "' leads nowhere");
    return found;
  }
  bool feeds_equal(const std::string& tensor) const {
    auto it = consumers_.find(tensor);
    if (it == consumers_.end()) return false;
    for (const onnx::NodeProto* n : it->second)
      if (n->op_type() == "Equal") return true;
    return false;
  }
  const onnx::NodeProto* equal_of(const std::string& tensor) const {
    for (const onnx::NodeProto* n : consumers_.at(tensor))
      if (n->op_type() == "Equal") return n;
    return nullptr;
  }

  // An initializer (or Constant) as floats, its shape checked against its data.
  NamedTensor floats(const std::string& tensor, const onnx::NodeProto* n) const {
    auto it = init_.find(tensor);
    if (it == init_.end()) fail(n, "'" + tensor + "' is not a constant (an initializer); lstm's layers need their weights");
    const onnx::TensorProto& t = *it->second;
    NamedTensor out{tensor, {}, {}};
    uint64_t count = 1;
    for (int64_t d : t.dims()) {
      if (d < 0 || d > limits::kParams || (count *= uint64_t(d)) > uint64_t(limits::kParams))
        fail(n, "'" + tensor + "' has a dimension out of range");
      out.shape.push_back(d);
    }
    if (t.data_type() != onnx::TensorProto::FLOAT) fail(n, "'" + tensor + "' is not float32");
    if (t.has_raw_data()) {
      if (t.raw_data().size() != count * 4) fail(n, "'" + tensor + "' holds " + std::to_string(t.raw_data().size()) +
                                                      " bytes, its shape needs " + std::to_string(count * 4));
      out.data.resize(size_t(count));
      if (count) std::memcpy(out.data.data(), t.raw_data().data(), size_t(count) * 4);
    } else {
      if (uint64_t(t.float_data_size()) != count) fail(n, "'" + tensor + "' holds a number of values its shape does not");
      out.data.assign(t.float_data().begin(), t.float_data().end());
    }
    return out;
  }
  std::vector<int64_t> ints(const std::string& tensor, const onnx::NodeProto* n) const {
    auto it = init_.find(tensor);
    if (it == init_.end()) fail(n, "'" + tensor + "' is not a constant");
    const onnx::TensorProto& t = *it->second;
    if (t.data_type() != onnx::TensorProto::INT64) fail(n, "'" + tensor + "' is not int64");
    if (t.has_raw_data()) {
      if (t.raw_data().size() % 8 || t.raw_data().size() > 1024) fail(n, "'" + tensor + "' is not a short int64 list");
      std::vector<int64_t> v(t.raw_data().size() / 8);
      if (!v.empty()) std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
      return v;
    }
    if (t.int64_data_size() > 128) fail(n, "'" + tensor + "' is not a short int64 list");
    return {t.int64_data().begin(), t.int64_data().end()};
  }

  const onnx::AttributeProto* attribute(const onnx::NodeProto* n, const char* key) const {
    for (const onnx::AttributeProto& a : n->attribute())
      if (a.name() == key) return &a;
    return nullptr;
  }
  std::vector<int64_t> ints_attribute(const onnx::NodeProto* n, const char* key) const {
    const onnx::AttributeProto* a = attribute(n, key);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }

  // Whether `tensor` is all zeros whatever the input: a ConstantOfShape of 0 (PyTorch's export of
  // zero initial states), or a slice or reshape of one.
  bool zeros(const std::string& tensor, int depth = 0) const {
    auto it = producer_.find(tensor);
    if (it == producer_.end() || depth > 16) return false;
    const onnx::NodeProto* p = it->second;
    const std::string& op = p->op_type();
    if (op == "ConstantOfShape") {
      const onnx::AttributeProto* v = attribute(p, "value");
      if (!v) return true;  // ONNX's default: float 0
      if (!v->has_t() || v->t().data_type() != onnx::TensorProto::FLOAT) return false;
      const onnx::TensorProto& t = v->t();
      if (t.has_raw_data()) return t.raw_data().size() == 4 && t.raw_data() == std::string(4, '\0');
      return t.float_data_size() == 1 && t.float_data(0) == 0.0f;
    }
    if (op == "Slice" || op == "Gather" || op == "Squeeze" || op == "Unsqueeze" || op == "Reshape" || op == "Identity")
      return zeros(input_of(p, 0), depth + 1);
    return false;
  }
  // The one int64 a constant holds (a scalar or [1]), or `otherwise`.
  int64_t one_int(const std::string& tensor, const onnx::NodeProto* n, int64_t otherwise) const {
    if (!init_.count(tensor)) return otherwise;
    const std::vector<int64_t> v = ints(tensor, n);
    return v.size() == 1 ? v[0] : otherwise;
  }
  bool is_output(const std::string& tensor) const {
    for (const onnx::ValueInfoProto& o : g_.output())
      if (o.name() == tensor) return true;
    return false;
  }

  const onnx::GraphProto& g_;
  std::string name_;
  std::map<std::string, const onnx::TensorProto*> init_;
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers_;
  std::map<std::string, const onnx::NodeProto*> producer_;
};

bool is_rnn_op(const onnx::NodeProto* n) {
  return n->op_type() == "LSTM" || n->op_type() == "GRU" || n->op_type() == "RNN";
}

std::string activation_from_onnx(const Reader& r, const onnx::NodeProto* n, const std::string& op, float alpha, float beta) {
  if (op == "Sigmoid") return "sigmoid";
  if (op == "Tanh") return "tanh";
  if (op == "Relu") return "relu";
  if (op == "HardSigmoid" && std::fabs(alpha - 1.0f / 6.0f) < 1e-7f && beta == 0.5f) return "hard_sigmoid";
  if (op == "Affine" && alpha == 1.0f && beta == 0.0f) return "linear";
  r.fail(n, "the activation " + op + " (with these alpha and beta) is not one lstm's cells have");
}

// A recurrent node and the nodes after it, as lstm's layer; appends its tensors.
json read_recurrent(const Reader& r, const onnx::NodeProto* n, size_t i, std::vector<NamedTensor>& tensors,
                    std::string* out, bool* time_major) {
  *time_major = false;
  const std::string& op = n->op_type();
  const std::string type = op == "LSTM" ? "lstm" : op == "GRU" ? "gru" : "simple_rnn";
  for (const char* unsupported : {"clip", "input_forget", "layout"})
    if (const onnx::AttributeProto* a = r.attribute(n, unsupported); a && (a->i() != 0 || a->f() != 0.0f))
      r.fail(n, std::string("the attribute ") + unsupported + ", which lstm's cells do not have");
  bool reset_after = true;  // a GRU's linear_before_reset: 1 (PyTorch's) or 0 (absent: ONNX's default)
  if (op == "GRU") {
    const onnx::AttributeProto* lbr = r.attribute(n, "linear_before_reset");
    if (lbr && lbr->i() != 0 && lbr->i() != 1) r.fail(n, "linear_before_reset must be 0 or 1");
    reset_after = lbr && lbr->i() == 1;
  }
  // initial states: none, or zeros however computed (PyTorch's exporter builds them from the input's shape)
  for (int k : {5, 6})
    if (n->input_size() > k && !input_of(n, k).empty() && !r.zeros(input_of(n, k)))
      r.fail(n, std::string(k == 5 ? "an initial_h" : "an initial_c") + " input that is not zeros; lstm's layers "
                "start from zeros here");
  const onnx::AttributeProto* hs = r.attribute(n, "hidden_size");
  if (!hs || hs->i() < 1 || hs->i() > limits::kWidth) r.fail(n, "no hidden_size in 1..2^24");
  const int64_t H = hs->i();
  const onnx::AttributeProto* dir = r.attribute(n, "direction");
  const std::string direction = dir ? dir->s() : "forward";
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") r.fail(n, "direction '" + direction + "'");
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const int gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
  const NamedTensor W = r.floats(input_of(n, 1), n), R = r.floats(input_of(n, 2), n);
  if (W.shape.size() != 3 || W.shape[0] != dirs || W.shape[1] != gates * H) r.fail(n, "W is not [directions, gates x hidden_size, input]");
  const int64_t I = W.shape[2];
  if (R.shape != std::vector<int64_t>{dirs, gates * H, H}) r.fail(n, "R is not [directions, gates x hidden_size, hidden_size]");
  const bool bias = n->input_size() > 3 && !input_of(n, 3).empty();
  NamedTensor B;
  if (bias) {
    B = r.floats(input_of(n, 3), n);
    if (B.shape != std::vector<int64_t>{dirs, 2 * gates * H}) r.fail(n, "B is not [directions, 2 x gates x hidden_size]");
  }
  const bool peep = op == "LSTM" && n->input_size() > 7 && !input_of(n, 7).empty();
  NamedTensor P;
  if (peep) {
    P = r.floats(input_of(n, 7), n);
    if (P.shape != std::vector<int64_t>{dirs, 3 * H}) r.fail(n, "P is not [directions, 3 x hidden_size]");
  }
  if (op != "LSTM" && !bias) r.fail(n, "a GRU or RNN without B, which lstm's have");
  // activations, per direction the same
  std::vector<std::string> acts;
  std::vector<float> alpha, beta;
  if (const onnx::AttributeProto* a = r.attribute(n, "activations")) acts.assign(a->strings().begin(), a->strings().end());
  if (const onnx::AttributeProto* a = r.attribute(n, "activation_alpha")) alpha.assign(a->floats().begin(), a->floats().end());
  if (const onnx::AttributeProto* a = r.attribute(n, "activation_beta")) beta.assign(a->floats().begin(), a->floats().end());
  const std::vector<std::string> defaults = op == "LSTM" ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                                            : op == "GRU" ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                          : std::vector<std::string>{"Tanh"};
  if (acts.empty()) acts = defaults;
  if (acts.size() == defaults.size() && dirs == 2) acts.insert(acts.end(), defaults.begin(), defaults.end());
  if (acts.size() != defaults.size() * size_t(dirs)) r.fail(n, "activations has the wrong length");
  std::vector<std::string> names;
  for (size_t k = 0; k < acts.size(); ++k)
    names.push_back(activation_from_onnx(r, n, acts[k], k < alpha.size() ? alpha[k] : 0.0f, k < beta.size() ? beta[k] : 0.0f));
  for (size_t k = 0; k < defaults.size() && dirs == 2; ++k)
    if (names[k] != names[k + defaults.size()]) r.fail(n, "different activations in the two directions");
  json layer = {{"type", type}, {"units", H}};
  if (op == "LSTM") {
    if (names[1] != names[2]) r.fail(n, "an LSTM whose g and h activations differ (lstm's use one activation for both)");
    if (names[0] != "sigmoid") layer["recurrent_activation"] = names[0];
    if (names[1] != "tanh") layer["activation"] = names[1];
    if (!bias) layer["use_bias"] = false;
    if (peep) layer["use_peepholes"] = true;
  } else if (op == "GRU") {
    if (names[0] != "sigmoid" || names[1] != "tanh") r.fail(n, "a GRU with other activations than sigmoid and tanh");
    if (!reset_after) layer["reset_after"] = false;
  } else {
    if (names[0] != "tanh" && names[0] != "relu") r.fail(n, "an RNN activation other than tanh or relu");
    layer["activation"] = names[0];
  }
  if (direction == "reverse") layer["go_backwards"] = true;
  // the weights, gate blocks back in lstm's order
  const std::vector<int> order = op == "LSTM" ? std::vector<int>{0, 2, 3, 1}   // i o f c -> i f g o
                                 : op == "GRU" ? std::vector<int>{1, 0, 2}     // z r h -> r z n
                                               : std::vector<int>{0};
  const std::string base = "layers." + std::to_string(i) + ".";
  for (int64_t d = 0; d < dirs; ++d) {
    const std::string p = base + (dirs == 2 ? (d == 0 ? "forward." : "backward.") : "");
    auto slice = [&](const NamedTensor& t, int64_t rows, int64_t cols, int64_t offset = 0) {
      const size_t start = size_t(d * t.data.size() / size_t(dirs)) + size_t(offset);
      return std::vector<float>(t.data.begin() + ptrdiff_t(start), t.data.begin() + ptrdiff_t(start + size_t(rows * cols)));
    };
    tensors.push_back({p + "weight_ih", {gates * H, I}, blocks(slice(W, gates * H, I), H, I, order)});
    tensors.push_back({p + "weight_hh", {gates * H, H}, blocks(slice(R, gates * H, H), H, H, order)});
    if (bias) {
      std::vector<float> wb = blocks(slice(B, gates * H, 1), H, 1, order);
      std::vector<float> rb = blocks(slice(B, gates * H, 1, gates * H), H, 1, order);
      if (op == "GRU" && reset_after) {
        tensors.push_back({p + "bias_ih", {gates * H}, wb});
        tensors.push_back({p + "bias_hh", {gates * H}, rb});
      } else {
        // lstm keeps one bias: their sum (a GRU with linear_before_reset = 0 adds both outside r)
        for (size_t k = 0; k < wb.size(); ++k) wb[k] += rb[k];
        tensors.push_back({p + "bias", {gates * H}, wb});
      }
    }
    if (peep) tensors.push_back({p + "weight_peephole", {3, H}, slice(P, 3, H)});
  }
  // what follows: Y (sequences) or Y_h (the last step), then the merge
  const std::string Y = n->output_size() > 0 ? output_of(n, 0) : "";
  const std::string Yh = n->output_size() > 1 ? output_of(n, 1) : "";
  const bool seq = !Y.empty() && r.consumers_.count(Y);
  const onnx::NodeProto* m = r.next(seq ? Y : Yh, n);
  const auto wrap = [&](json l, const std::string& merge) {
    return dirs == 1 ? l : json{{"type", "bidirectional"}, {"merge_mode", merge}, {"layer", l}};
  };
  // PyTorch's exporter: Y [T, dirs, N, H] -> [T, N, dirs H] by Squeeze (one direction) or by
  // Transpose and Reshape (both, concatenated); then the next layer's node (num_layers), or
  // Transpose to [N, T, F] (batch_first), and maybe out[:, -1] (Gather). h_n[-1] is Y_h
  // through Gather (with the layers below Concat'ed first).
  const auto constant_axes = [&](const onnx::NodeProto* q) {
    std::vector<int64_t> axes = r.ints_attribute(q, "axes");
    if (axes.empty() && q->input_size() > 1 && !input_of(q, 1).empty()) axes = r.ints(input_of(q, 1), q);
    return axes;
  };
  const auto last_of = [&](const onnx::NodeProto* q, int64_t axis) {  // Gather(axis, index -1)
    const onnx::AttributeProto* a = r.attribute(q, "axis");
    return q->op_type() == "Gather" && input_of(q, 0) != "" && (a ? a->i() : 0) == axis &&
           r.one_int(input_of(q, 1), q, 0) == -1;
  };
  if (seq && ((dirs == 1 && m->op_type() == "Squeeze" && constant_axes(m) == std::vector<int64_t>{1}) ||
              (dirs == 2 && m->op_type() == "Transpose" &&
               r.ints_attribute(m, "perm") == std::vector<int64_t>{0, 2, 1, 3}))) {
    std::string cur = output_of(m, 0);
    if (dirs == 2) {
      const onnx::NodeProto* reshape = r.next(cur, m);
      if (reshape->op_type() != "Reshape" || r.ints(input_of(reshape, 1), reshape) != std::vector<int64_t>{0, 0, -1})
        r.fail(reshape, "not the Reshape to [T, N, 2 hidden] that joins two directions");
      cur = output_of(reshape, 0), m = reshape;
    }
    layer["return_sequences"] = true;
    const onnx::NodeProto* after = r.is_output(cur) ? nullptr : r.next(cur, m);
    if (after && is_rnn_op(after)) {  // the next layer reads the sequence time-major
      *time_major = true, *out = cur;
      return wrap(layer, "concat");
    }
    if (!after || after->op_type() != "Transpose" || r.ints_attribute(after, "perm") != std::vector<int64_t>{1, 0, 2})
      r.fail(after ? after : m, "a recurrent layer's time-major sequence not turned back to [N, T, F] by a Transpose");
    cur = output_of(after, 0);
    if (!r.is_output(cur)) {
      const onnx::NodeProto* pick = r.next(cur, after);
      if (last_of(pick, 1)) {  // out[:, -1]: the last step, for one direction the final state
        if (dirs == 2)
          r.fail(pick, "out[:, -1] of a bidirectional layer (the backward direction at its first step); lstm's "
                       "Bidirectional returns each direction's final state: use torch.cat([h_n[-2], h_n[-1]], -1)");
        layer["return_sequences"] = false;
        cur = output_of(pick, 0);
      }
    }
    *out = cur;
    return wrap(layer, "concat");
  }
  if (!seq && (m->op_type() == "Gather" || m->op_type() == "Concat")) {  // h_n[-1]
    const onnx::NodeProto* pick = m;
    if (m->op_type() == "Concat") {  // num_layers: every layer's h_n, this one's last
      const onnx::AttributeProto* a = r.attribute(m, "axis");
      if (!a || a->i() != 0 || input_of(m, m->input_size() - 1) != Yh) r.fail(m, "not the stacked layers' h_n");
      pick = r.next(output_of(m, 0), m);
    }
    if (!last_of(pick, 0)) r.fail(pick, "a selection from h_n other than h_n[-1]");
    if (dirs == 2)
      r.fail(pick, "h_n[-1] of a bidirectional layer is its backward direction alone; lstm's Bidirectional joins "
                   "both: use torch.cat([h_n[-2], h_n[-1]], -1)");
    layer["return_sequences"] = false;
    *out = output_of(pick, 0);
    return layer;
  }
  std::string mode = "concat";
  std::string cur;
  if (m->op_type() == "Transpose") {
    const std::vector<int64_t> perm = r.ints_attribute(m, "perm");
    cur = output_of(m, 0);
    if (seq && perm == std::vector<int64_t>{1, 2, 0, 3}) {
      mode = "none";
    } else if ((seq && perm == std::vector<int64_t>{2, 0, 1, 3}) || (!seq && perm == std::vector<int64_t>{1, 0, 2})) {
      const onnx::NodeProto* j = r.next(cur, m);
      const std::string& jop = j->op_type();
      mode = jop == "Reshape" ? "concat" : jop == "ReduceSum" ? "sum" : jop == "ReduceMean" ? "ave" : jop == "ReduceProd" ? "mul" : "";
      if (mode.empty()) r.fail(j, "not a way lstm joins directions (Reshape, ReduceSum, ReduceMean, ReduceProd)");
      if (dirs == 1 && mode != "concat") r.fail(j, "a reduction over one direction");
      cur = output_of(j, 0);
      if (seq && direction == "reverse") {
        const onnx::NodeProto* rev = r.next(cur, j);
        if (rev->op_type() != "ReverseSequence") r.fail(rev, "a reverse layer's sequence not put in its reading order");
        cur = output_of(rev, 0);
      }
    } else {
      r.fail(m, "a Transpose lstm does not write after a recurrent node");
    }
  } else if (!seq && dirs == 2 && m->op_type() == "Identity") {
    mode = "none", cur = Yh;
  } else {
    r.fail(m, "not what follows a recurrent node in lstm's graphs");
  }
  if (mode == "none" && dirs == 1) r.fail(m, "a single direction kept apart");
  layer["return_sequences"] = seq;
  *out = cur;
  if (dirs == 1) return layer;
  return {{"type", "bidirectional"}, {"merge_mode", mode}, {"layer", layer}};
}

}  // namespace

Sequential decode_onnx(const std::string& bytes, const std::string& name, std::vector<std::string>* notes) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes)) throw Error(name + ": not an ONNX model (the protobuf does not parse)");
  for (const onnx::OperatorSetIdProto& o : m.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && (o.version() < 14 || o.version() > 21))
      throw Error(name + ": opset " + std::to_string(o.version()) + "; lstm reads opsets 14 to 21");
  const onnx::GraphProto& g = m.graph();
  Reader r(g, name);
  std::string x;
  const onnx::TypeProto_Tensor* type = nullptr;
  for (const onnx::ValueInfoProto& v : g.input()) {
    if (r.init_.count(v.name())) continue;  // an initializer listed as an input
    if (v.name() == "lengths") continue;
    if (!x.empty()) throw Error(name + ": more than one data input ('" + x + "', '" + v.name() + "')");
    x = v.name(), type = &v.type().tensor_type();
  }
  if (x.empty() || !type) throw Error(name + ": no input tensor");
  json input_shape;
  const bool tokens = type->elem_type() == onnx::TensorProto::INT64;
  const auto& dims = type->shape().dim();
  if (tokens && dims.size() == 2) {
    input_shape = json::array({dims[1].has_dim_value() && dims[1].dim_value() > 0 ? json(dims[1].dim_value()) : json()});
  } else if (!tokens && type->elem_type() == onnx::TensorProto::FLOAT && dims.size() == 3 && dims[2].has_dim_value()) {
    input_shape = json::array({dims[1].has_dim_value() && dims[1].dim_value() > 0 ? json(dims[1].dim_value()) : json(),
                               dims[2].dim_value()});
  } else {
    throw Error(name + ": input '" + x + "' is not float [N, T, F] or int64 token ids [N, T]");
  }
  json layers = json::array();
  std::vector<NamedTensor> tensors;
  std::string cur = x;
  const onnx::NodeProto* prev = nullptr;
  int rank = tokens ? 2 : 3;
  bool time_major = false;  // the sequence is [T, N, F] between two of PyTorch's recurrent nodes
  // A Dense layer's activation after `n` (none: n's output goes on as it is).
  const auto dense_activation = [&](json& dense, const onnx::NodeProto* n, std::string& cur) {
    if (r.is_output(cur)) return;
    const onnx::NodeProto* a = r.next(cur, n);
    const std::string& aop = a->op_type();
    std::string act = aop == "Relu" ? "relu" : aop == "Sigmoid" ? "sigmoid" : aop == "Tanh" ? "tanh" : aop == "Softmax" ? "softmax" : "";
    if (aop == "HardSigmoid") {
      const onnx::AttributeProto* al = r.attribute(a, "alpha");
      const onnx::AttributeProto* be = r.attribute(a, "beta");
      if (!al || !be || std::fabs(al->f() - 1.0f / 6.0f) > 1e-7f || be->f() != 0.5f)
        r.fail(a, "a HardSigmoid other than lstm's (alpha 1/6, beta 0.5)");
      act = "hard_sigmoid";
    }
    if (aop == "Softmax")
      if (const onnx::AttributeProto* ax = r.attribute(a, "axis"); ax && ax->i() != -1 && ax->i() != rank - 1)
        r.fail(a, "a softmax over another axis than the last");
    if (!act.empty()) dense["activation"] = act, cur = output_of(a, 0);
  };
  for (size_t steps = 0;; ++steps) {
    if (steps > size_t(g.node_size())) throw Error(name + ": the graph loops");
    // PyTorch's exporter ends on the last layer's node; lstm's graphs end on an Identity
    if (!layers.empty() && !time_major && g.output_size() == 1 && cur == g.output(0).name()) break;
    const onnx::NodeProto* n = r.next(cur, prev);
    const std::string& op = n->op_type();
    const std::string i = std::to_string(layers.size());
    if (time_major) {
      if (!is_rnn_op(n)) r.fail(n, "not a recurrent node reading the time-major sequence");
      json layer = read_recurrent(r, n, layers.size(), tensors, &cur, &time_major);
      const json& inner = layer["type"] == "bidirectional" ? layer["layer"] : layer;
      if (!inner["return_sequences"].get<bool>()) rank = 2;
      layers.push_back(layer);
      prev = n;
      continue;
    }
    if (op == "Identity") {
      if (g.output_size() != 1 || output_of(n, 0) != g.output(0).name()) r.fail(n, "not the graph's one output");
      break;
    }
    if (op == "Gather" && n->input_size() == 2 && input_of(n, 1) == cur) {
      NamedTensor e = r.floats(input_of(n, 0), n);
      if (e.shape.size() != 2) r.fail(n, "an embedding table that is not [V, D]");
      layers.push_back({{"type", "embedding"}, {"input_dim", e.shape[0]}, {"output_dim", e.shape[1]},
                        {"mask_zero", r.feeds_equal(cur)}});
      tensors.push_back({"layers." + i + ".weight", e.shape, e.data});
      cur = output_of(n, 0), rank = 3;
    } else if (op == "Mul" && r.feeds_equal(cur)) {
      const onnx::NodeProto* eq = r.equal_of(cur);
      const NamedTensor mv = r.floats(input_of(eq, 1) == cur ? input_of(eq, 0) : input_of(eq, 1), eq);
      if (mv.data.size() != 1) r.fail(eq, "a mask value that is not one number");
      layers.push_back({{"type", "masking"}, {"mask_value", mv.data[0]}});
      cur = output_of(n, 0);
    } else if (op == "Dropout") {
      const NamedTensor ratio = n->input_size() > 1 && !input_of(n, 1).empty() ? r.floats(input_of(n, 1), n)
                                                                             : NamedTensor{"", {}, {0.5f}};
      if (ratio.data.size() != 1 || !(ratio.data[0] >= 0.0f && ratio.data[0] < 1.0f)) r.fail(n, "a ratio outside [0, 1)");
      if (n->input_size() > 2 && !input_of(n, 2).empty()) r.fail(n, "a training_mode input");
      layers.push_back({{"type", "dropout"}, {"rate", ratio.data[0]}});
      cur = output_of(n, 0);
    } else if (op == "Transpose") {
      if (r.ints_attribute(n, "perm") != std::vector<int64_t>{1, 0, 2}) r.fail(n, "a Transpose that is not to time-major");
      const onnx::NodeProto* cell = r.next(output_of(n, 0), n);
      if (cell->op_type() != "LSTM" && cell->op_type() != "GRU" && cell->op_type() != "RNN")
        r.fail(cell, "not a recurrent node after the time-major Transpose");
      if (rank != 3) r.fail(cell, "a recurrent node after a layer that returned no sequence");
      json layer = read_recurrent(r, cell, layers.size(), tensors, &cur, &time_major);
      const json& inner = layer["type"] == "bidirectional" ? layer["layer"] : layer;
      if (!inner["return_sequences"].get<bool>()) rank = 2;
      layers.push_back(layer);
    } else if (op == "MatMul" && input_of(n, 0) == cur) {
      const NamedTensor k = r.floats(input_of(n, 1), n);
      if (k.shape.size() != 2) r.fail(n, "a kernel that is not [in, out]");
      const int64_t in = k.shape[0], out = k.shape[1];
      std::vector<float> wt(k.data.size());
      for (int64_t a = 0; a < in; ++a)
        for (int64_t b = 0; b < out; ++b) wt[size_t(b * in + a)] = k.data[size_t(a * out + b)];
      tensors.push_back({"layers." + i + ".weight", {out, in}, wt});
      json dense = {{"type", "dense"}, {"units", out}, {"activation", "linear"}};
      cur = output_of(n, 0);
      const onnx::NodeProto* a = r.is_output(cur) ? nullptr : r.next(cur, n);
      const onnx::NodeProto* last = n;
      if (a && a->op_type() == "Add") {
        const NamedTensor bias = r.floats(input_of(a, 0) == cur ? input_of(a, 1) : input_of(a, 0), a);
        if (bias.shape != std::vector<int64_t>{out}) r.fail(a, "a bias that is not [out]");
        tensors.push_back({"layers." + i + ".bias", {out}, bias.data});
        cur = output_of(a, 0), last = a;
      } else {
        dense["use_bias"] = false;
      }
      dense_activation(dense, last, cur);
      layers.push_back(rank == 3 ? json{{"type", "time_distributed"}, {"layer", dense}} : dense);
    } else if (op == "Gemm" && input_of(n, 0) == cur && rank == 2) {  // PyTorch's nn.Linear on [N, F]
      for (const char* k : {"alpha", "beta"})
        if (const onnx::AttributeProto* a = r.attribute(n, k); a && a->f() != 1.0f) r.fail(n, std::string(k) + " other than 1");
      if (const onnx::AttributeProto* a = r.attribute(n, "transA"); a && a->i() != 0) r.fail(n, "transA");
      const onnx::AttributeProto* tb = r.attribute(n, "transB");
      const NamedTensor k = r.floats(input_of(n, 1), n);
      if (k.shape.size() != 2) r.fail(n, "a weight that is not 2-D");
      const bool trans = tb && tb->i() != 0;  // [out, in] as lstm keeps it, or [in, out]
      const int64_t in = trans ? k.shape[1] : k.shape[0], out = trans ? k.shape[0] : k.shape[1];
      std::vector<float> wt = k.data;
      if (!trans)
        for (int64_t a = 0; a < in; ++a)
          for (int64_t b = 0; b < out; ++b) wt[size_t(b * in + a)] = k.data[size_t(a * out + b)];
      tensors.push_back({"layers." + i + ".weight", {out, in}, wt});
      json dense = {{"type", "dense"}, {"units", out}, {"activation", "linear"}};
      if (n->input_size() > 2 && !input_of(n, 2).empty()) {
        const NamedTensor bias = r.floats(input_of(n, 2), n);
        if (bias.shape != std::vector<int64_t>{out}) r.fail(n, "a bias C that is not [out]");
        tensors.push_back({"layers." + i + ".bias", {out}, bias.data});
      } else {
        dense["use_bias"] = false;
      }
      cur = output_of(n, 0);
      dense_activation(dense, n, cur);
      layers.push_back(dense);
    } else {
      r.fail(n, "an operator lstm does not read here (it reads the graphs it writes: docs/interop.md)");
    }
    prev = n;
  }
  if (layers.empty()) throw Error(name + ": the graph has no layers");
  if (notes) notes->push_back("ONNX graph read as " + std::to_string(layers.size()) + " layers");
  SafetensorsFile file;
  file.metadata["lstm.config"] = json{{"input_shape", input_shape}, {"layers", layers}}.dump();
  file.tensors = std::move(tensors);
  return model_from_safetensors(file, name);
}

Sequential load_onnx(const std::string& path, std::vector<std::string>* notes) {
  return decode_onnx(read_file(path, "ONNX model"), path, notes);
}

}  // namespace lstm
