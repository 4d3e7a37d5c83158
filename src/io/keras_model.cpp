// Keras .keras and .h5 files to lstm models (see keras_model.h).
#include "io/keras_model.h"

#include <zip.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "core/limits.h"
#include "io/file.h"
#include "io/hdf5_file.h"
#include "graph/graph_model.h"
#include "io/model_file.h"
#include "io/zip_writer.h"
#include "lstm/lstm.h"
#include "lstm/error.h"

namespace lstm {

namespace {

using json = nlohmann::json;

constexpr uint64_t kConfigBytes = uint64_t(64) << 20;

// ---- the archive of a .keras file -------------------------------------------------------------

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

// The entry `entry` of the zip in `bytes`, stored uncompressed (as Keras writes it), at most
// `limit` bytes; "" with *found = false when absent.
std::string zip_entry(zip_t* z, const char* entry, uint64_t limit, const std::string& name, bool* found) {
  const zip_int64_t index = zip_name_locate(z, entry, 0);
  *found = index >= 0;
  if (index < 0) return "";
  const std::string where = name + ": " + entry;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(z, zip_uint64_t(index), 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > limit)
    throw Error(where + ": unreadable, or larger than " + std::to_string(limit >> 20) + " MiB");
  if (!(st.valid & ZIP_STAT_COMP_METHOD) || st.comp_method != ZIP_CM_STORE || st.comp_size != st.size)
    throw Error(where + ": a compressed entry, which Keras does not write (its size would not be bounded by the "
                        "file); refused: save the model again with model.save, or zip it without compression");
  zip_file_t* f = zip_fopen_index(z, zip_uint64_t(index), 0);
  if (!f) throw Error(where + ": cannot open it in the zip");
  std::string out(size_t(st.size), '\0');
  const zip_int64_t n = out.empty() ? 0 : zip_fread(f, out.data(), out.size());
  char beyond;
  const zip_int64_t more = n == zip_int64_t(out.size()) ? zip_fread(f, &beyond, 1) : -1;  // the CRC is checked at the end
  zip_fclose(f);
  if (n != zip_int64_t(out.size()) || more != 0) throw Error(where + ": truncated or corrupt (length or CRC-32)");
  return out;
}

// ---- the layers ---------------------------------------------------------------------------

json parse(const std::string& text, const std::string& where) {
  try {
    return json::parse(text, nullptr, true, false);
  } catch (const json::exception& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
}

// "SimpleRNN" -> "simple_rnn", "TimeDistributed" -> "time_distributed" (Keras's to_snake_case)
std::string snake_case(const std::string& s) {
  std::string a;
  for (size_t k = 0; k < s.size(); ++k) {  // (.)([A-Z][a-z]+) -> \1_\2
    if (k > 0 && std::isupper(static_cast<unsigned char>(s[k])) && k + 1 < s.size() &&
        std::islower(static_cast<unsigned char>(s[k + 1])))
      a += '_';
    a += s[k];
  }
  std::string b;
  for (size_t k = 0; k < a.size(); ++k) {  // ([a-z])([A-Z]) -> \1_\2
    if (k > 0 && std::islower(static_cast<unsigned char>(a[k - 1])) && std::isupper(static_cast<unsigned char>(a[k])))
      b += '_';
    b += char(std::tolower(static_cast<unsigned char>(a[k])));
  }
  return b;
}

// One Keras layer of the file: its class, config and place.
struct KerasLayer {
  std::string cls, name, where;
  json config;
};

const json& member(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  return j[key];
}

std::string string_of(const json& j, const char* key, const std::string& where, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw Error(where + ": \"" + key + "\" is not a string");
  return j[key].get<std::string>();
}

bool bool_of(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) throw Error(where + ": \"" + key + "\" is not true or false");
  return j[key].get<bool>();
}

int64_t int_of(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_integer()) throw Error(where + ": \"" + key + "\" is not an integer");
  const int64_t v = j[key].get<int64_t>();
  if (v < 1 || v > limits::kWidth) throw Error(where + ": \"" + key + "\" = " + std::to_string(v) + " is out of range");
  return v;
}

// An activation by name, as Keras serialises it (a string; Keras 3 may wrap it).
std::string activation_of(const json& c, const char* key, const std::string& fallback, const std::string& where,
                          bool keras2) {
  std::string a = fallback;
  if (c.contains(key) && c[key].is_object() && c[key].contains("config") && c[key]["config"].is_string())
    a = c[key]["config"].get<std::string>();
  else
    a = string_of(c, key, where, fallback);
  if (a == "hard_sigmoid" && keras2)
    throw Error(where + ": \"" + key + "\": hard_sigmoid, which Keras 2 defined as clip(0.2x + 0.5, 0, 1) and "
                "lstm (as Keras 3 and PyTorch) as clip(x/6 + 0.5, 0, 1): the weights would not carry over");
  if (a != "linear" && a != "relu" && a != "sigmoid" && a != "tanh" && a != "softmax" && a != "hard_sigmoid")
    throw Error(where + ": \"" + key + "\": the activation '" + a + "' is not one lstm has (linear, relu, sigmoid, "
                "tanh, softmax, hard_sigmoid)");
  return a;
}

// The lstm config entry of a recurrent Keras layer.
bool is_recurrent_class(const std::string& cls) { return cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN"; }

// (return_state is the caller's: a graph's layer may have it, a Sequential's may not)
json recurrent_entry(const KerasLayer& l, bool keras2, std::vector<std::string>& notes) {
  const json& c = l.config;
  const std::string& w = l.where;
  if (bool_of(c, "time_major", false, w)) throw Error(w + ": time_major = true is not supported");
  json e = {{"units", int_of(c, "units", w)},
            {"return_sequences", bool_of(c, "return_sequences", false, w)}};
  if (bool_of(c, "go_backwards", false, w)) e["go_backwards"] = true;
  if (bool_of(c, "stateful", false, w)) e["stateful"] = true;
  if (c.contains("dropout") && c["dropout"].is_number() && c["dropout"].get<double>() > 0)
    e["dropout"] = c["dropout"].get<double>();
  if (l.cls == "LSTM") {
    e["type"] = "lstm";
    const std::string act = activation_of(c, "activation", "tanh", w, keras2);
    const std::string ract = activation_of(c, "recurrent_activation", "sigmoid", w, keras2);
    if (act != "tanh") e["activation"] = act;
    if (ract != "sigmoid") e["recurrent_activation"] = ract;
    if (!bool_of(c, "use_bias", true, w)) e["use_bias"] = false;
    if (c.contains("recurrent_dropout") && c["recurrent_dropout"].is_number() && c["recurrent_dropout"].get<double>() > 0)
      e["recurrent_dropout"] = c["recurrent_dropout"].get<double>();
  } else if (l.cls == "GRU") {
    e["type"] = "gru";
    // Keras's default: true since TF 2 and in Keras 3; Keras 2's standalone releases: false
    if (!c.contains("reset_after")) notes.push_back(w + ": no reset_after in its config; true assumed (TF 2, Keras 3)");
    if (!bool_of(c, "reset_after", true, w)) e["reset_after"] = false;
    if (activation_of(c, "activation", "tanh", w, keras2) != "tanh" ||
        activation_of(c, "recurrent_activation", "sigmoid", w, keras2) != "sigmoid")
      throw Error(w + ": a GRU with activations other than tanh and sigmoid, which lstm's GRU does not have");
    if (!bool_of(c, "use_bias", true, w)) throw Error(w + ": a GRU without bias, which lstm's GRU does not have");
    if (c.contains("recurrent_dropout") && c["recurrent_dropout"].is_number() && c["recurrent_dropout"].get<double>() > 0)
      throw Error(w + ": recurrent_dropout on a GRU, which lstm has for LSTM only");
  } else {
    e["type"] = "simple_rnn";
    const std::string act = activation_of(c, "activation", "tanh", w, keras2);
    if (act != "tanh" && act != "relu") throw Error(w + ": a SimpleRNN activation of '" + act + "' (tanh or relu)");
    e["activation"] = act;
    if (!bool_of(c, "use_bias", true, w)) throw Error(w + ": a SimpleRNN without bias, which lstm does not have");
    if (c.contains("recurrent_dropout") && c["recurrent_dropout"].is_number() && c["recurrent_dropout"].get<double>() > 0)
      throw Error(w + ": recurrent_dropout on a SimpleRNN, which lstm has for LSTM only");
  }
  return e;
}

json dense_entry(const KerasLayer& l, bool keras2) {
  json e = {{"type", "dense"},
            {"units", int_of(l.config, "units", l.where)},
            {"activation", activation_of(l.config, "activation", "linear", l.where, keras2)}};
  if (!bool_of(l.config, "use_bias", true, l.where)) e["use_bias"] = false;
  return e;
}

KerasLayer layer_of(const json& j, const std::string& where) {
  KerasLayer l;
  l.cls = string_of(j, "class_name", where, "");
  if (l.cls.empty()) throw Error(where + ": a layer without \"class_name\"");
  l.config = member(j, "config", where);
  l.name = string_of(l.config, "name", where, "");
  l.where = where + " (" + l.cls + (l.name.empty() ? "" : " '" + l.name + "'") + ")";
  return l;
}

// [null, T, F] (or [null, T]) -> input_shape [T, F] with T null for any length
json input_shape_of(const json& batch_shape, const std::string& where) {
  if (!batch_shape.is_array() || batch_shape.size() < 2 || batch_shape.size() > 3)
    throw Error(where + ": the input shape " + batch_shape.dump() + " is not [batch, steps, features] or [batch, steps]");
  json s = json::array();
  for (size_t k = 1; k < batch_shape.size(); ++k) {
    if (!batch_shape[k].is_null() && !batch_shape[k].is_number_integer())
      throw Error(where + ": the input shape " + batch_shape.dump() + " holds a non-integer");
    s.push_back(batch_shape[k]);
  }
  return s;
}

// ---- weights --------------------------------------------------------------------------------

NamedTensor transposed(const NamedTensor& t, const std::string& where) {
  if (t.shape.size() != 2) throw Error(where + ": '" + t.name + "' is not 2-D");
  const int64_t a = t.shape[0], b = t.shape[1];
  NamedTensor out{t.name, {b, a}, std::vector<float>(t.data.size())};
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) out.data[size_t(j * a + i)] = t.data[size_t(i * b + j)];
  return out;
}

// Keras GRU blocks (z, r, h) along the first axis -> lstm's (r, z, n).
std::vector<float> gru_order(const std::vector<float>& v) {
  const size_t block = v.size() / 3;
  std::vector<float> out(v.size());
  std::copy(v.begin() + ptrdiff_t(block), v.begin() + ptrdiff_t(2 * block), out.begin());
  std::copy(v.begin(), v.begin() + ptrdiff_t(block), out.begin() + ptrdiff_t(block));
  std::copy(v.begin() + ptrdiff_t(2 * block), v.end(), out.begin() + ptrdiff_t(2 * block));
  return out;
}

// One direction of a recurrent layer (its lstm config entry): Keras's [kernel, recurrent_kernel,
// bias] -> lstm's tensors.
void add_recurrent(const json& entry, const std::vector<NamedTensor>& w, const std::string& prefix,
                   const std::string& where, std::vector<NamedTensor>& out) {
  const std::string type = entry["type"].get<std::string>();
  const bool use_bias = entry.value("use_bias", true);
  const size_t want = use_bias ? 3 : 2;
  if (w.size() != want)
    throw Error(where + ": " + std::to_string(w.size()) + " weight arrays where a " + type + " has " +
                std::to_string(want) + " (kernel, recurrent_kernel" + (use_bias ? ", bias)" : ")"));
  NamedTensor ih = transposed(w[0], where), hh = transposed(w[1], where);
  if (type == "gru") {
    ih.data = gru_order(ih.data), hh.data = gru_order(hh.data);
    out.push_back({prefix + "weight_ih", ih.shape, ih.data});
    out.push_back({prefix + "weight_hh", hh.shape, hh.data});
    const NamedTensor& b = w[2];
    if (!entry.value("reset_after", true)) {  // one bias
      if (b.shape.size() != 1)
        throw Error(where + ": the GRU bias '" + b.name + "' is not [3 units] (reset_after = false keeps one)");
      out.push_back({prefix + "bias", b.shape, gru_order(b.data)});
      return;
    }
    if (b.shape.size() != 2 || b.shape[0] != 2)
      throw Error(where + ": the GRU bias '" + b.name + "' is not [2, 3 units] (reset_after = true keeps two)");
    const int64_t n = b.shape[1];
    out.push_back({prefix + "bias_ih", {n}, gru_order({b.data.begin(), b.data.begin() + n})});
    out.push_back({prefix + "bias_hh", {n}, gru_order({b.data.begin() + n, b.data.end()})});
    return;
  }
  out.push_back({prefix + "weight_ih", ih.shape, ih.data});
  out.push_back({prefix + "weight_hh", hh.shape, hh.data});
  if (use_bias) out.push_back({prefix + "bias", w[2].shape, w[2].data});
}

// Where a file keeps each layer's weight arrays.
class WeightStore {
 public:
  WeightStore(Hdf5File file, bool keras3) : f_(std::move(file)), keras3_(keras3) {
    if (keras3_) return;
    group_ = f_.exists("/model_weights") ? "/model_weights" : "";
    for (const std::string& n : f_.string_list_attribute(group_.empty() ? "/" : group_, "layer_names")) names_.insert(n);
  }
  // The arrays of layer `l` (the k-th of its class, for Keras 3), per part: one part for most
  // layers, two (forward, backward) for Bidirectional.
  std::vector<std::vector<NamedTensor>> arrays(const KerasLayer& l, int k) {
    if (keras3_) {
      const std::string p = "/layers/" + snake_case(l.cls) + (k ? "_" + std::to_string(k) : "");
      if (l.cls == "Bidirectional") return {vars(p + "/forward_layer/cell/vars"), vars(p + "/backward_layer/cell/vars")};
      if (l.cls == "LSTM" || l.cls == "GRU" || l.cls == "SimpleRNN") return {vars(p + "/cell/vars")};
      if (l.cls == "TimeDistributed") return {vars(p + "/layer/vars")};
      return {vars(p + "/vars")};
    }
    if (!names_.count(l.name)) return {{}};
    const std::string g = group_ + "/" + l.name;
    std::vector<NamedTensor> all;
    for (const std::string& w : f_.string_list_attribute(g, "weight_names")) all.push_back(f_.dataset(g + "/" + w));
    if (l.cls != "Bidirectional") return {all};
    const size_t half = all.size() / 2;
    return {{all.begin(), all.begin() + ptrdiff_t(half)}, {all.begin() + ptrdiff_t(half), all.end()}};
  }

 private:
  std::vector<NamedTensor> vars(const std::string& group) {
    std::vector<NamedTensor> out;
    for (int i = 0; f_.exists(group + "/" + std::to_string(i)); ++i) out.push_back(f_.dataset(group + "/" + std::to_string(i)));
    return out;
  }
  Hdf5File f_;
  bool keras3_;
  std::string group_;
  std::set<std::string> names_;
};

// One Keras layer as lstm's config entry; its weights appended to `tensors` under `prefix`
// ("layers.<i>." in a Sequential, "<name>." in a graph). An Embedding without an input shape
// yet gives one.
json convert_layer(const KerasLayer& l, int index, WeightStore& store, bool keras2, const std::string& prefix,
                   std::vector<NamedTensor>& tensors, std::vector<std::string>& notes, json& input_shape) {
  const json& c = l.config;
  json entry;
  std::vector<std::vector<NamedTensor>> w;
  const auto weights = [&]() -> const std::vector<std::vector<NamedTensor>>& {
    w = store.arrays(l, index);
    return w;
  };
  if (l.cls == "LSTM" || l.cls == "GRU" || l.cls == "SimpleRNN") {
    entry = recurrent_entry(l, keras2, notes);
    add_recurrent(entry, weights()[0], prefix, l.where, tensors);
  } else if (l.cls == "Bidirectional") {
    const KerasLayer inner = layer_of(member(c, "layer", l.where), l.where + ".layer");
    if (inner.cls != "LSTM" && inner.cls != "GRU" && inner.cls != "SimpleRNN")
      throw Error(l.where + ": wraps a " + inner.cls + " (lstm's Bidirectional wraps LSTM, GRU, SimpleRNN)");
    if (c.contains("backward_layer") && !c["backward_layer"].is_null())
      throw Error(l.where + ": a backward_layer of its own, which lstm's Bidirectional does not have");
    json in = recurrent_entry(inner, keras2, notes);
    const std::string mode = c.contains("merge_mode") && c["merge_mode"].is_null() ? "none"
                                                                                 : string_of(c, "merge_mode", l.where, "concat");
    entry = {{"type", "bidirectional"}, {"merge_mode", mode}, {"layer", in}};
    weights();
    if (w.size() != 2) throw Error(l.where + ": no forward and backward weights");
    add_recurrent(in, w[0], prefix + "forward.", l.where, tensors);
    add_recurrent(in, w[1], prefix + "backward.", l.where, tensors);
  } else if (l.cls == "Dense" || l.cls == "TimeDistributed") {
    KerasLayer dense = l;
    if (l.cls == "TimeDistributed") {
      dense = layer_of(member(c, "layer", l.where), l.where + ".layer");
      if (dense.cls != "Dense") throw Error(l.where + ": wraps a " + dense.cls + " (lstm's TimeDistributed wraps Dense)");
    }
    entry = dense_entry(dense, keras2);
    if (l.cls == "TimeDistributed") entry = {{"type", "time_distributed"}, {"layer", entry}};
    const std::vector<NamedTensor>& d = weights()[0];
    const size_t want = dense.config.value("use_bias", true) ? 2 : 1;
    if (d.size() != want)
      throw Error(l.where + ": " + std::to_string(d.size()) + " weight arrays where it has " + std::to_string(want));
    const NamedTensor kernel = transposed(d[0], l.where);
    tensors.push_back({prefix + "weight", kernel.shape, kernel.data});
    if (want == 2) tensors.push_back({prefix + "bias", d[1].shape, d[1].data});
  } else if (l.cls == "Embedding") {
    entry = {{"type", "embedding"},
             {"input_dim", int_of(c, "input_dim", l.where)},
             {"output_dim", int_of(c, "output_dim", l.where)},
             {"mask_zero", bool_of(c, "mask_zero", false, l.where)}};
    if (input_shape.is_null()) {
      const json length = c.contains("input_length") ? c["input_length"] : json();
      input_shape = json::array({length.is_number_integer() ? length : json()});
    }
    const std::vector<NamedTensor>& e = weights()[0];
    if (e.size() != 1) throw Error(l.where + ": " + std::to_string(e.size()) + " weight arrays where it has 1");
    tensors.push_back({prefix + "weight", e[0].shape, e[0].data});
  } else if (l.cls == "Masking") {
    double v = 0.0;
    if (c.contains("mask_value") && c["mask_value"].is_number()) v = c["mask_value"].get<double>();
    entry = {{"type", "masking"}, {"mask_value", v}};
  } else if (l.cls == "Dropout") {
    double rate = 0.0;
    if (c.contains("rate") && c["rate"].is_number()) rate = c["rate"].get<double>();
    entry = {{"type", "dropout"}, {"rate", rate}};
  } else if (l.cls == "Concatenate" || l.cls == "Add" || l.cls == "Multiply" || l.cls == "Average") {
    if (l.cls == "Concatenate" && c.contains("axis") && c["axis"] != -1)
      throw Error(l.where + ": a Concatenate along axis " + c["axis"].dump() + " (lstm's joins the last axis, -1)");
    entry = {{"type", snake_case(l.cls)}};
  } else if (l.cls == "RepeatVector") {
    entry = {{"type", "repeat_vector"}, {"n", int_of(c, "n", l.where)}};
  } else if (l.cls == "LayerNormalization") {
    const json axis = c.contains("axis") ? c["axis"] : json(-1);
    if (!(axis == -1 || axis == json::array({-1})))
      throw Error(l.where + ": normalising over axis " + axis.dump() + " (lstm's LayerNormalization: the last, -1)");
    if (!bool_of(c, "center", true, l.where) || !bool_of(c, "scale", true, l.where) || bool_of(c, "rms_scaling", false, l.where))
      throw Error(l.where + ": center, scale or rms_scaling other than Keras's defaults, which lstm's does not have");
    double eps = 1e-3;
    if (c.contains("epsilon") && c["epsilon"].is_number()) eps = c["epsilon"].get<double>();
    entry = {{"type", "layer_normalization"}, {"epsilon", eps}};
    const std::vector<NamedTensor>& g = weights()[0];
    if (g.size() != 2) throw Error(l.where + ": " + std::to_string(g.size()) + " weight arrays where it has 2 (gamma, beta)");
    tensors.push_back({prefix + "gamma", g[0].shape, g[0].data});
    tensors.push_back({prefix + "beta", g[1].shape, g[1].data});
  } else if (l.cls == "Attention" || l.cls == "AdditiveAttention") {
    const bool additive = l.cls == "AdditiveAttention";
    if (string_of(c, "score_mode", l.where, "dot") != "dot")
      throw Error(l.where + ": score_mode '" + c["score_mode"].get<std::string>() + "' (lstm's Attention scores by dot products; "
                  "AdditiveAttention is the additive one)");
    if (bool_of(c, "causal", false, l.where)) throw Error(l.where + ": a causal mask, which lstm's attention does not have");
    const bool scale = bool_of(c, "use_scale", additive, l.where);
    entry = {{"type", additive ? "additive_attention" : "attention"}, {"use_scale", scale}};
    const std::vector<NamedTensor>& s = weights()[0];
    if (s.size() != (scale ? 1u : 0u)) throw Error(l.where + ": " + std::to_string(s.size()) + " weight arrays");
    if (scale) tensors.push_back({prefix + "scale", additive ? s[0].shape : std::vector<int64_t>{1}, s[0].data});
  } else {
    throw Error(l.where + ": the layer class " + l.cls + " is not one lstm reads from Keras (LSTM, GRU, SimpleRNN, "
                "Bidirectional, Dense, TimeDistributed(Dense), Embedding, Masking, Dropout, InputLayer, Concatenate, "
                "Add, Multiply, Average, RepeatVector, LayerNormalization, Attention, AdditiveAttention)");
  }
  return entry;
}

// One tensor a layer call reads: Keras's [layer, node, tensor], the output `k` of call `node`
// of `layer` (node counts the layer's calls, as its inbound_nodes list them).
struct KerasRef {
  std::string layer;
  int64_t node = 0, k = 0;
  std::string key() const { return layer + "#" + std::to_string(node); }  // names have no '#'
};

KerasRef reference(const json& history, const std::string& where) {
  if (!history.is_array() || history.size() < 3 || !history[0].is_string() || !history[1].is_number_integer() ||
      !history[2].is_number_integer())
    throw Error(where + ": an inbound tensor that is not [layer, node, tensor]: " + history.dump());
  KerasRef r{history[0].get<std::string>(), history[1].get<int64_t>(), history[2].get<int64_t>()};
  if (r.node < 0 || r.node > limits::kLayers) throw Error(where + ": call number " + std::to_string(r.node) + " of '" + r.layer + "'");
  if (r.k < 0 || r.k > 64) throw Error(where + ": tensor index " + std::to_string(r.k));
  return r;
}

// Keras 3's serialised call arguments: every __keras_tensor__ in order.
void keras_tensors(const json& j, std::vector<KerasRef>& out, const std::string& where, int depth = 0) {
  if (depth > 8) throw Error(where + ": call arguments nested too deep");
  if (j.is_object() && j.value("class_name", "") == "__keras_tensor__") {
    out.push_back(reference(member(member(j, "config", where), "keras_history", where), where));
  } else if (j.is_array()) {
    for (const json& e : j) keras_tensors(e, out, where, depth + 1);
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) keras_tensors(value, out, where, depth + 1);
  }
}

// The list of [layer, node, tensor] triples of Keras 2's input_layers / output_layers (Keras 3
// writes one triple bare when there is one).
std::vector<KerasRef> endpoints(const json& j, const std::string& where) {
  if (!j.is_array() || j.empty()) throw Error(where + ": missing");
  if (j[0].is_string()) return {reference(j, where)};
  std::vector<KerasRef> out;
  for (const json& t : j) out.push_back(reference(t, where));
  return out;
}

// One call of a layer (one entry of its inbound_nodes): what it reads.
struct KerasCall {
  size_t layer;       // in the graph's layers
  std::string name;   // the Keras layer's
  int64_t node;       // which of its calls
  std::string where;
  std::vector<KerasRef> inputs, initial;
};

KerasCall call_of(const json& node, const KerasLayer& l, size_t layer, const std::string& name, int64_t k) {
  KerasCall call{layer, name, k, l.where + (k ? ", call " + std::to_string(k + 1) : ""), {}, {}};
  if (node.is_object()) {  // Keras 3: {"args": [...], "kwargs": {...}}
    if (node.contains("args")) keras_tensors(node["args"], call.inputs, call.where);
    if (node.contains("kwargs") && node["kwargs"].is_object())
      for (const auto& [key, value] : node["kwargs"].items()) {
        std::vector<KerasRef> found;
        keras_tensors(value, found, call.where);
        if (key == "initial_state") call.initial = found;
        else if (!found.empty()) throw Error(call.where + ": tensors passed as '" + key + "', which lstm does not read");
      }
  } else if (node.is_array()) {  // Keras 2: [[layer, node, tensor, kwargs], ...]
    for (const json& t : node) call.inputs.push_back(reference(t, call.where));
    if ((is_recurrent_class(l.cls) || l.cls == "Bidirectional") && call.inputs.size() > 1)  // x, then the initial states
      call.initial.assign(call.inputs.begin() + 1, call.inputs.end()), call.inputs.resize(1);
  } else {
    throw Error(call.where + ": an inbound node that is neither Keras 2's nor Keras 3's");
  }
  return call;
}

std::unique_ptr<Model> from_functional(const json& root, WeightStore& store, const std::string& name, bool keras3,
                                       std::vector<std::string>& notes) {
  const std::string at = name + ": the model config";
  const json& cfg = member(root, "config", at);
  const json& list = member(cfg, "layers", at);
  if (!list.is_array() || list.empty()) throw Error(at + " has no layers");
  // lstm's graph file schema (src/graph/graph_file.cpp): inputs, layers {name, config}, calls
  // {layer, inputs, initial_state} whose tensors are {"input": k} or {"call": i, "output": k}.
  // A layer Keras calls more than once (shared weights) is one layer with one call per node.
  json graph = {{"name", "model"}, {"inputs", json::array()}, {"layers", json::array()}, {"calls", json::array()},
                {"outputs", json::array()}};
  std::map<std::string, json> made;  // KerasRef::key() -> {"input": k} or {"call": i}
  const auto tensor = [&](const KerasRef& ref, const std::string& where) {
    auto it = made.find(ref.key());
    if (it == made.end())
      throw Error(where + ": reads '" + ref.layer + "' (call " + std::to_string(ref.node + 1) +
                  "), which is not an input or a layer call of the model");
    if (it->second.contains("input")) {
      if (ref.k != 0) throw Error(where + ": reads output " + std::to_string(ref.k) + " of the input '" + ref.layer + "'");
      return it->second;
    }
    return json{{"call", it->second["call"]}, {"output", ref.k}};
  };
  std::vector<NamedTensor> tensors;
  std::vector<KerasCall> pending;
  std::map<std::string, int> seen;
  std::set<std::string> names;
  int shared = 0;
  for (size_t k = 0; k < list.size(); ++k) {
    const KerasLayer l = layer_of(list[k], name + ": layer " + std::to_string(k));
    std::string lname = list[k].contains("name") && list[k]["name"].is_string() ? list[k]["name"].get<std::string>() : l.name;
    if (lname.empty() || lname.find_first_of(":@#") != std::string::npos)
      throw Error(l.where + ": a layer name lstm cannot use (empty, or with ':', '@' or '#')");
    if (!names.insert(lname).second) throw Error(l.where + ": a second layer named '" + lname + "'");
    const int index = keras3 ? seen[l.cls]++ : 0;
    if (l.cls == "InputLayer") {
      const json& c = l.config;
      const char* key = c.contains("batch_shape") ? "batch_shape" : "batch_input_shape";
      const json& shape = member(c, key, l.where);
      json s = json::array();
      if (!shape.is_array() || shape.size() < 2 || shape.size() > 3) throw Error(l.where + ": the input shape " + shape.dump());
      for (size_t d = 1; d < shape.size(); ++d) {  // null (any length) is 0 in a graph file
        if (!shape[d].is_null() && !shape[d].is_number_integer()) throw Error(l.where + ": the input shape " + shape.dump());
        s.push_back(shape[d].is_null() ? json(0) : shape[d]);
      }
      made[KerasRef{lname, 0, 0}.key()] = {{"input", graph["inputs"].size()}};
      graph["inputs"].push_back({{"name", lname}, {"shape", s}});
      continue;
    }
    const json& nodes = member(list[k], "inbound_nodes", l.where);
    if (!nodes.is_array() || nodes.empty()) throw Error(l.where + ": never called (no inbound_nodes)");
    if (nodes.size() > 1) ++shared;
    if (pending.size() + nodes.size() > size_t(limits::kLayers))
      throw Error(l.where + ": more than " + std::to_string(limits::kLayers) + " layer calls in the model");
    for (size_t n = 0; n < nodes.size(); ++n)
      pending.push_back(call_of(nodes[n], l, graph["layers"].size(), lname, int64_t(n)));
    json unused;
    json entry = convert_layer(l, index, store, !keras3, lname + ".", tensors, notes, unused);
    // a recurrent layer's states as outputs (Bidirectional: the flag of the layer it wraps)
    const json& rc = l.cls == "Bidirectional" ? member(member(l.config, "layer", l.where), "config", l.where) : l.config;
    if ((is_recurrent_class(l.cls) || l.cls == "Bidirectional") && bool_of(rc, "return_state", false, l.where))
      entry["return_state"] = true;
    graph["layers"].push_back({{"name", lname}, {"config", entry}});
  }
  // The calls in an order where each reads inputs and earlier calls only: the list's order,
  // except that a shared layer's later call may read layers listed after it.
  const auto ready = [&](const KerasCall& c) {
    for (const std::vector<KerasRef>* refs : {&c.inputs, &c.initial})
      for (const KerasRef& r : *refs)
        if (!made.count(r.key())) return false;
    return true;
  };
  while (!pending.empty()) {
    std::vector<KerasCall> later;
    for (KerasCall& c : pending) {
      if (!ready(c)) {
        later.push_back(std::move(c));
        continue;
      }
      json call = {{"layer", c.layer}, {"inputs", json::array()}};
      for (const KerasRef& ref : c.inputs) call["inputs"].push_back(tensor(ref, c.where));
      if (!c.initial.empty()) {
        call["initial_state"] = json::array();
        for (const KerasRef& ref : c.initial) call["initial_state"].push_back(tensor(ref, c.where));
      }
      made[KerasRef{c.name, c.node, 0}.key()] = {{"call", graph["calls"].size()}};
      graph["calls"].push_back(call);
    }
    if (later.size() == pending.size()) {  // no progress: name what the first one waits for
      const KerasCall& c = later.front();
      for (const std::vector<KerasRef>* refs : {&c.inputs, &c.initial})
        for (const KerasRef& r : *refs) tensor(r, c.where);
      throw Error(c.where + ": its inputs are never computed (a cycle)");
    }
    pending = std::move(later);
  }
  for (const KerasRef& ref : endpoints(member(cfg, "output_layers", at), at + ".output_layers"))
    graph["outputs"].push_back(tensor(ref, at + ".output_layers"));
  SafetensorsFile file;
  file.metadata["lstm.graph"] = graph.dump();
  file.metadata["lstm.format_version"] = "2";
  file.tensors = std::move(tensors);
  notes.push_back("a functional model: read as an lstm graph of " + std::to_string(graph["layers"].size()) + " layers" +
                  (shared ? " (" + std::to_string(shared) + " of them shared: called more than once)" : ""));
  return std::make_unique<Model>(graph_model_from_safetensors(file, name));
}

KerasModel from_parts(const std::string& config_text, WeightStore& store, const std::string& name, bool keras3,
                      std::vector<std::string>& notes) {
  const json root = parse(config_text, name + ": the model config");
  const std::string cls = string_of(root, "class_name", name + ": the model config", "");
  if (cls == "Functional" || cls == "Model") return {nullptr, from_functional(root, store, name, keras3, notes)};
  if (cls != "Sequential") throw Error(name + ": the model is a '" + cls + "', not a Keras Sequential or functional model");
  const json& cfg = member(root, "config", name + ": the model config");
  const json& list = cfg.is_array() ? cfg : member(cfg, "layers", name + ": the model config");
  if (!list.is_array() || list.empty()) throw Error(name + ": the model config has no layers");
  const bool keras2 = !keras3;

  json layers = json::array();
  json input_shape;
  std::vector<NamedTensor> tensors;
  std::map<std::string, int> seen;  // Keras 3's per-class counters
  for (size_t k = 0; k < list.size(); ++k) {
    const KerasLayer l = layer_of(list[k], name + ": layer " + std::to_string(k));
    const json& c = l.config;
    if (l.cls == "InputLayer") {
      if (!layers.empty()) throw Error(l.where + ": an InputLayer after other layers");
      const char* key = c.contains("batch_shape") ? "batch_shape" : "batch_input_shape";
      input_shape = input_shape_of(member(c, key, l.where), l.where);
      continue;
    }
    if (input_shape.is_null() && c.contains("batch_input_shape")) input_shape = input_shape_of(c["batch_input_shape"], l.where);
    if (input_shape.is_null() && list[k].contains("build_config") && list[k]["build_config"].contains("input_shape"))
      input_shape = input_shape_of(list[k]["build_config"]["input_shape"], l.where);
    const int index = keras3 ? seen[l.cls]++ : 0;
    const json& rc = l.cls == "Bidirectional" && c.contains("layer") && c["layer"].is_object() && c["layer"].contains("config")
                         ? c["layer"]["config"] : c;
    if (bool_of(rc, "return_state", false, l.where))
      throw Error(l.where + ": return_state in a Sequential model (only a graph model can use the states)");
    const json entry = convert_layer(l, index, store, keras2, "layers." + std::to_string(layers.size()) + ".", tensors, notes, input_shape);
    layers.push_back(entry);
  }
  if (input_shape.is_null())
    throw Error(name + ": the model config gives no input shape (an InputLayer, batch_input_shape or build_config)");
  SafetensorsFile file;
  file.metadata["lstm.config"] = json{{"input_shape", input_shape}, {"layers", layers}}.dump();
  file.tensors = std::move(tensors);
  return {std::make_unique<Sequential>(model_from_safetensors(file, name)), nullptr};
}

}  // namespace

KerasModel decode_keras_model(const std::string& bytes, const std::string& name, std::vector<std::string>* notes_out) {
  std::vector<std::string> notes;
  KerasModel model;
  if (bytes.rfind("PK", 0) == 0) {  // Keras 3: a zip
    zip_error_t e;
    zip_error_init(&e);
    zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &e);
    if (!src) throw Error(name + ": out of memory opening the zip");
    std::unique_ptr<zip_t, ZipCloser> z(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &e));
    if (!z) {
      zip_source_free(src);
      const std::string why = zip_error_strerror(&e);
      zip_error_fini(&e);
      throw Error(name + ": cannot read it as a .keras zip file: " + why);
    }
    zip_error_fini(&e);
    bool found = false;
    const std::string config = zip_entry(z.get(), "config.json", kConfigBytes, name, &found);
    if (!found) throw Error(name + ": no config.json in the zip, so not a Keras 3 .keras file");
    const std::string weights = zip_entry(z.get(), "model.weights.h5", uint64_t(limits::kParams) * 4, name, &found);
    if (!found)
      throw Error(name + ": no model.weights.h5 in the zip (a .keras file saved with weights in another format?)");
    WeightStore store(Hdf5File::from_bytes(weights, name + ": model.weights.h5"), true);
    model = from_parts(config, store, name, true, notes);
  } else if (bytes.rfind("\x89HDF\r\n\x1a\n", 0) == 0) {  // Keras 2 (or Keras 3's legacy) .h5
    Hdf5File f = Hdf5File::from_bytes(bytes, name);
    const std::string config = f.string_attribute("/", "model_config");
    if (config.empty())
      throw Error(name + ": an HDF5 file without the model_config attribute: weights saved alone (save_weights) carry "
                  "no architecture; save the whole model with model.save");
    WeightStore store(std::move(f), false);
    model = from_parts(config, store, name, false, notes);
  } else {
    throw Error(name + ": neither a Keras 3 .keras file (a zip) nor a Keras 2 .h5 file (HDF5)");
  }
  if (notes_out) *notes_out = std::move(notes);
  return model;
}

KerasModel load_keras_model(const std::string& path, std::vector<std::string>* notes) {
  return decode_keras_model(read_file(path, "Keras model"), path, notes);
}

Sequential decode_keras(const std::string& bytes, const std::string& name, std::vector<std::string>* notes) {
  KerasModel m = decode_keras_model(bytes, name, notes);
  if (!m.sequential) throw Error(name + ": a functional Keras model, which reads as a graph (lstm::Model): decode_keras_model");
  return std::move(*m.sequential);
}

Sequential load_keras(const std::string& path, std::vector<std::string>* notes) {
  return decode_keras(read_file(path, "Keras model"), path, notes);
}

// ---- the writer ------------------------------------------------------------------------------

namespace {

json keras_layer(const char* cls, const std::string& name, json config) {
  config["name"] = name;
  config["trainable"] = true;
  config["dtype"] = "float32";
  return {{"module", "keras.layers"}, {"class_name", cls}, {"config", config}, {"registered_name", nullptr}};
}

const char* recurrent_class(LayerType t) {
  return t == LayerType::lstm ? "LSTM" : t == LayerType::gru ? "GRU" : "SimpleRNN";
}

json recurrent_config(const LayerConfig& c, const std::string& where) {
  if (c.type == LayerType::lstm && (c.proj_size > 0 || c.use_peepholes))
    throw Error(where + ": an LSTM with proj_size or peepholes, which Keras's LSTM does not have");
  json j = {{"units", c.units},
            {"return_sequences", c.return_sequences},
            {"return_state", false},
            {"go_backwards", c.go_backwards},
            {"stateful", c.stateful},
            {"unroll", false},
            {"dropout", c.dropout},
            {"recurrent_dropout", c.recurrent_dropout},
            {"use_bias", c.type == LayerType::lstm ? c.use_bias : true}};
  if (c.type == LayerType::lstm) {
    j["activation"] = activation_name(c.activation);
    j["recurrent_activation"] = activation_name(c.recurrent_activation);
    j["unit_forget_bias"] = true;
  } else if (c.type == LayerType::gru) {
    j["activation"] = "tanh", j["recurrent_activation"] = "sigmoid", j["reset_after"] = c.reset_after;
  } else {
    j["activation"] = activation_name(c.activation);
  }
  return j;
}

// One direction's tensors (lstm's names under `prefix`) as Keras's [kernel, recurrent_kernel, bias].
void write_recurrent(Hdf5Writer& h5, const std::string& group, const LayerConfig& c,
                     const std::map<std::string, const NamedTensor*>& w, const std::string& prefix) {
  const std::string where = "writing " + prefix;
  const LayerType type = c.type;
  const bool use_bias = type != LayerType::lstm || c.use_bias;
  NamedTensor ih = transposed(*w.at(prefix + "weight_ih"), where), hh = transposed(*w.at(prefix + "weight_hh"), where);
  if (type == LayerType::gru) {  // lstm's r, z, n -> Keras's z, r, h along the gate axis (columns now)
    auto columns = [](NamedTensor t) {
      NamedTensor back = transposed(t, "");
      back.data = gru_order(back.data);
      return transposed(back, "");
    };
    ih = columns(ih), hh = columns(hh);
  }
  h5.dataset(group + "/0", ih.shape, ih.data);
  h5.dataset(group + "/1", hh.shape, hh.data);
  if (type == LayerType::gru && !c.reset_after) {
    const NamedTensor& b = *w.at(prefix + "bias");
    h5.dataset(group + "/2", b.shape, gru_order(b.data));
  } else if (type == LayerType::gru) {
    std::vector<float> bias = gru_order(w.at(prefix + "bias_ih")->data);
    const std::vector<float> hh_bias = gru_order(w.at(prefix + "bias_hh")->data);
    bias.insert(bias.end(), hh_bias.begin(), hh_bias.end());
    h5.dataset(group + "/2", {2, int64_t(hh_bias.size())}, bias);
  } else if (use_bias) {
    const NamedTensor& b = *w.at(prefix + "bias");
    h5.dataset(group + "/2", b.shape, b.data);
  }
}

// A layer's Keras class and config; `lj` is its entry in lstm's config (the type of a layer of
// another room, its options).
std::pair<std::string, json> keras_class(const LayerConfig& l, const json& lj, const std::string& where) {
  if (!l.kind.empty()) {
    const std::string t = lj.value("type", "");
    if (t == "concatenate") return {"Concatenate", {{"axis", -1}}};
    if (t == "add") return {"Add", json::object()};
    if (t == "multiply") return {"Multiply", json::object()};
    if (t == "average") return {"Average", json::object()};
    if (t == "repeat_vector") return {"RepeatVector", {{"n", lj.at("n")}}};
    if (t == "layer_normalization")
      return {"LayerNormalization", {{"axis", -1}, {"epsilon", lj.value("epsilon", 1e-3)}, {"center", true},
                                     {"scale", true}, {"rms_scaling", false}}};
    if (t == "attention")
      return {"Attention", {{"use_scale", lj.value("use_scale", false)}, {"score_mode", "dot"}, {"dropout", 0.0}}};
    if (t == "additive_attention")
      return {"AdditiveAttention", {{"use_scale", lj.value("use_scale", true)}, {"dropout", 0.0}}};
    throw Error(where + ": the layer type '" + t + "' has no Keras counterpart in the writer");
  }
  switch (l.type) {
    case LayerType::lstm:
    case LayerType::gru:
    case LayerType::simple_rnn: {
      json config = recurrent_config(l, where);
      config["return_state"] = l.return_state;
      return {recurrent_class(l.type), config};
    }
    case LayerType::bidirectional: {
      const LayerConfig& c = l.wrapped.at(0);
      json inner = recurrent_config(c, where);
      inner["return_state"] = l.return_state;
      return {"Bidirectional",
              {{"merge_mode", l.merge_mode == MergeMode::none ? json(nullptr) : json(merge_mode_name(l.merge_mode))},
               {"layer", keras_layer(recurrent_class(c.type), snake_case(recurrent_class(c.type)), inner)}}};
    }
    case LayerType::dense: {
      json dense = {{"units", l.units}, {"activation", activation_name(l.activation)}, {"use_bias", l.use_bias}};
      if (l.time_distributed) return {"TimeDistributed", {{"layer", keras_layer("Dense", "dense", dense)}}};
      return {"Dense", dense};
    }
    case LayerType::embedding:
      return {"Embedding", {{"input_dim", l.input_dim}, {"output_dim", l.units}, {"mask_zero", l.mask_zero}}};
    case LayerType::masking: return {"Masking", {{"mask_value", l.mask_value}}};
    case LayerType::dropout: return {"Dropout", {{"rate", l.rate}}};
  }
  throw Error(where + ": a layer type the Keras writer does not know");
}

// A layer's variables where Keras 3's saving_lib puts them, under group g; its tensors in `w`
// are "<prefix><tensor>".
void write_layer_vars(Hdf5Writer& h5, const std::string& g, const LayerConfig& l, const std::string& cls,
                      const std::map<std::string, const NamedTensor*>& w, const std::string& p, const std::string& where) {
  const auto at = [&](const std::string& n) -> const NamedTensor& {
    auto it = w.find(p + n);
    if (it == w.end()) throw Error(where + ": the model has no tensor '" + p + n + "'");
    return *it->second;
  };
  h5.group(g + "/vars");
  if (l.kind.empty() && is_recurrent(l.type)) {
    h5.group(g + "/cell/vars");
    write_recurrent(h5, g + "/cell/vars", l, w, p);
  } else if (l.kind.empty() && l.type == LayerType::bidirectional) {
    const LayerConfig& c = l.wrapped.at(0);
    for (const char* d : {"forward", "backward"}) {
      h5.group(g + "/" + d + "_layer/vars");
      h5.group(g + "/" + d + "_layer/cell/vars");
      write_recurrent(h5, g + "/" + d + "_layer/cell/vars", c, w, p + d + ".");
    }
  } else if (l.kind.empty() && l.type == LayerType::dense) {
    const std::string vars = l.time_distributed ? g + "/layer/vars" : g + "/vars";
    h5.group(vars);
    const NamedTensor kernel = transposed(at("weight"), where);
    h5.dataset(vars + "/0", kernel.shape, kernel.data);
    if (l.use_bias) h5.dataset(vars + "/1", at("bias").shape, at("bias").data);
  } else if (l.kind.empty() && l.type == LayerType::embedding) {
    h5.dataset(g + "/vars/0", at("weight").shape, at("weight").data);
  } else if (cls == "LayerNormalization") {
    h5.dataset(g + "/vars/0", at("gamma").shape, at("gamma").data);
    h5.dataset(g + "/vars/1", at("beta").shape, at("beta").data);
  } else if ((cls == "Attention" || cls == "AdditiveAttention") && w.count(p + "scale")) {
    const NamedTensor& scale = at("scale");  // Attention's is a scalar in Keras
    h5.dataset(g + "/vars/0", cls == "Attention" ? std::vector<int64_t>{} : scale.shape, scale.data);
  }
}

// Keras 3's weight path of a layer of class cls: its snake_case name with a per-class counter.
std::string keras_path(const std::string& cls, std::map<std::string, int>& seen) {
  const int k = seen[cls]++;
  return "/layers/" + snake_case(cls) + (k ? "_" + std::to_string(k) : "");
}

std::string keras_archive(const json& config, Hdf5Writer& h5) {
  char saved[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(saved, sizeof saved, "%Y-%m-%d@%H:%M:%S", &utc);
  const json metadata = {{"keras_version", "3.0.0"}, {"date_saved", saved},
                         {"written_by", std::string("lstm ") + version()}};
  return zip_stored({{"metadata.json", metadata.dump()}, {"config.json", config.dump()}, {"model.weights.h5", h5.bytes()}});
}

json keras_tensor_ref(const std::string& layer, int64_t node, int64_t k) {
  return {{"class_name", "__keras_tensor__"},
          {"config", {{"shape", nullptr}, {"dtype", "float32"}, {"keras_history", {layer, node, k}}}}};
}

}  // namespace

std::string encode_keras(const Sequential& model) {
  if (!model.built()) throw Error("the model is not built yet (no weights to write)");
  const SafetensorsFile file = model_to_safetensors(model);
  std::map<std::string, const NamedTensor*> w;
  for (const NamedTensor& t : file.tensors) w[t.name] = &t;
  const std::vector<LayerConfig>& layers = model.layers();
  const json ours = json::parse(model.to_json());
  json batch_shape = json::array({nullptr});
  for (int64_t d : model.input_shape()) batch_shape.push_back(d > 0 ? json(d) : json(nullptr));

  Hdf5Writer h5;
  h5.group("/vars");
  json list = json::array({keras_layer("InputLayer", "input_layer", {{"batch_shape", batch_shape}, {"sparse", false}})});
  std::map<std::string, int> seen;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerConfig& l = layers[i];
    const std::string where = "layer " + std::to_string(i) + " (" + (l.kind.empty() ? layer_type_name(l.type) : l.kind) + ")";
    const auto [cls, config] = keras_class(l, ours.at("layers").at(i), where);
    const std::string g = keras_path(cls, seen);
    list.push_back(keras_layer(cls.c_str(), g.substr(8), config));  // named as Keras names them
    write_layer_vars(h5, g, l, cls, w, "layers." + std::to_string(i) + ".", where);
  }
  const json config = {{"module", "keras"},
                       {"class_name", "Sequential"},
                       {"config", {{"name", "sequential"}, {"trainable", true}, {"dtype", "float32"}, {"layers", list}}},
                       {"registered_name", nullptr},
                       {"build_config", {{"input_shape", batch_shape}}},
                       {"compile_config", nullptr}};
  return keras_archive(config, h5);
}

std::string encode_keras(const Model& model) {
  const SafetensorsFile file = graph_model_to_safetensors(model);
  std::map<std::string, const NamedTensor*> w;
  for (const NamedTensor& t : file.tensors) w[t.name] = &t;
  const json g = graph_to_json(model);
  const std::vector<LayerConfig> layers = model.layers();
  const json& glayers = g.at("layers");
  if (glayers.size() != layers.size()) throw Error("the graph's layers and its config disagree");

  Hdf5Writer h5;
  h5.group("/vars");
  json list = json::array();
  std::vector<std::string> input_names;
  for (const json& in : g.at("inputs")) {
    if (in.value("lengths", false))
      throw Error("the input '" + in.at("name").get<std::string>() + "' takes lengths (PyTorch's packed sequences), "
                  "which a Keras input does not: mask the padding with Masking or Embedding(mask_zero) instead");
    json batch_shape = json::array({in.value("batch_size", int64_t(0)) > 0 ? json(in["batch_size"]) : json(nullptr)});
    for (const json& d : in.at("shape")) batch_shape.push_back(d.get<int64_t>() > 0 ? d : json(nullptr));
    const std::string name = in.at("name").get<std::string>();
    json entry = keras_layer("InputLayer", name, {{"batch_shape", batch_shape}, {"sparse", false}});
    entry["name"] = name;
    entry["inbound_nodes"] = json::array();
    list.push_back(entry);
    input_names.push_back(name);
  }
  // every call of a layer is one of its inbound nodes; a tensor is [layer, node, output]
  std::vector<std::pair<std::string, int64_t>> call_at;  // call i -> (layer name, node)
  std::vector<int64_t> nodes(layers.size(), 0);
  std::vector<json> inbound(layers.size(), json::array());
  const auto ref = [&](const json& t) {
    if (t.contains("input")) return keras_tensor_ref(input_names.at(t["input"].get<size_t>()), 0, 0);
    const auto& [layer, node] = call_at.at(t.at("call").get<size_t>());
    return keras_tensor_ref(layer, node, t.value("output", int64_t(0)));
  };
  for (const json& call : g.at("calls")) {
    const size_t li = call.at("layer").get<size_t>();
    const std::string name = glayers.at(li).at("name").get<std::string>();
    json args = json::array();
    for (const json& t : call.at("inputs")) args.push_back(ref(t));
    json kwargs = json::object();
    if (call.contains("initial_state")) {
      kwargs["initial_state"] = json::array();
      for (const json& t : call["initial_state"]) kwargs["initial_state"].push_back(ref(t));
    }
    // Keras 3 passes one tensor as the argument, several (merges, attention) as one list
    inbound[li].push_back({{"args", args.size() == 1 ? args : json::array({args})}, {"kwargs", kwargs}});
    call_at.emplace_back(name, nodes[li]++);
  }
  std::map<std::string, int> seen;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerConfig& l = layers[i];
    const std::string name = glayers[i].at("name").get<std::string>();
    const std::string where = "layer '" + name + "'";
    if (l.stateful || (l.type == LayerType::bidirectional && l.wrapped.at(0).stateful))
      throw Error(where + ": a stateful layer, which the .keras writer does not write");
    const auto [cls, config] = keras_class(l, glayers[i].at("config"), where);
    json entry = keras_layer(cls.c_str(), name, config);
    entry["name"] = name;
    entry["inbound_nodes"] = inbound[i];
    list.push_back(entry);
    write_layer_vars(h5, keras_path(cls, seen), l, cls, w, name + ".", where);
  }
  json outputs = json::array();
  for (const json& t : g.at("outputs")) outputs.push_back(ref(t).at("config").at("keras_history"));
  json inputs = json::array();
  for (const std::string& n : input_names) inputs.push_back({n, 0, 0});
  const json config = {{"module", "keras.src.models.functional"},
                       {"class_name", "Functional"},
                       {"config", {{"name", g.value("name", "model")}, {"trainable", true}, {"layers", list},
                                   {"input_layers", inputs}, {"output_layers", outputs}}},
                       {"registered_name", "Functional"},
                       {"build_config", {{"input_shape", nullptr}}},
                       {"compile_config", nullptr}};
  return keras_archive(config, h5);
}

}  // namespace lstm
