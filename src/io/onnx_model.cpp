// lstm models as ONNX graphs (see onnx_model.h).
#include "io/onnx_model.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>

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
      if (c.type == LayerType::gru) {
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
    if (c.type == LayerType::gru) attr(n, "linear_before_reset", int64_t(1));
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
      case LayerType::dropout: break;  // identity outside training
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

}  // namespace lstm
