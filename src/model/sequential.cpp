// Sequential: building, the one parameter buffer, batches, predict/evaluate and summary.
// fit() lives in src/train/fit.cpp, save/load in src/io/model_file.cpp, JSON in config.cpp.
// N = samples, T = time steps, B = batch, F = input features, E = output width.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <map>
#include <numeric>
#include <sstream>

#include "core/limits.h"
#include "graph/graph.h"
#include "io/safetensors.h"
#include "layers/loss_fn.h"
#include "layers/recurrence.h"
#include "layers/seq_dims.h"
#include "lstm/error.h"
#include "lstm/lstm.h"
#include "model/model_impl.h"
#include "model/data_checks.h"

namespace lstm {

const char* version() { return "0.1.0"; }

// ---- construction and building -------------------------------------------------------------

Sequential::Sequential(SequentialOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->rng.reseed(options.seed);
}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

Sequential Sequential::clone() const {
  Sequential copy(impl_->options);
  Impl& c = *copy.impl_;
  if (built()) {
    c.input_shape = impl_->input_shape;
    c.token_input = impl_->token_input;
    for (const LayerConfig& cfg : impl_->configs) c.append_layer(cfg);
    c.params = impl_->params;
    c.weights_changed();
  } else {
    c.configs = impl_->configs;
  }
  c.optimizer = impl_->optimizer;
  c.loss = impl_->loss;
  c.compiled = impl_->compiled;
  c.metric_names = impl_->metric_names;
  c.compiled_learning_rate = impl_->compiled_learning_rate;
  c.opt_state = impl_->opt_state;
  c.rng = impl_->rng;
  c.metadata = impl_->metadata;
  return copy;
}

void Sequential::Impl::bind_all() {
  grads.resize(params.size());
  int64_t offset = 0;
  for (auto& layer : layers) {
    layer->bind(params.data() + offset, grads.data() + offset);
    offset += layer->param_count();
  }
  weights_changed();
}

// The tensors layer `index` needs, each present in `source` with its shape (before anything is
// allocated for them).
static void check_source(const WeightSource& source, const Layer& layer, int index) {
  for (const ParamTensor& t : layer.param_tensors()) {
    const std::string name = "layers." + std::to_string(index) + "." + t.name;
    auto found = source.by_name.find(name);
    if (found == source.by_name.end())
      throw Error("'" + source.path + "' lacks tensor '" + name + "' " + shape_string(t.shape) +
                  ", which layer " + std::to_string(index) + " (" +
                  layer_type_name(layer.config.type) + ") of its config needs");
    if (found->second->shape != t.shape)
      throw Error("'" + source.path + "': tensor '" + name + "' has shape " +
                  shape_string(found->second->shape) + " but the config says " +
                  shape_string(t.shape));
  }
}

static std::string gigabytes(int64_t floats) {
  std::ostringstream s;
  s << std::setprecision(3) << double(floats) * 4.0 / 1e9 << " GB";
  return s.str();
}

void Sequential::Impl::append_layer(const LayerConfig& config) {
  const int index = int(layers.size());
  if (index >= limits::kLayers)
    throw Error("a model holds at most " + std::to_string(limits::kLayers) + " layers");
  const bool in_seq = index == 0 ? seq_input() : layers.back()->out_seq;
  const int64_t in_features = index == 0 ? features() : layers.back()->out_features;
  std::unique_ptr<Layer> layer = make_layer(config, in_features, in_seq, index);
  const std::string where = "layer " + std::to_string(index) + " (" + layer_type_name(config.type) + ")";
  const int64_t offset = int64_t(params.size()), n = layer->param_count();
  if (weight_source) check_source(*weight_source, *layer, index);
  if (n > max_params - offset)  // widths are at most 2^24, so n did not overflow
    throw Error(where + " would bring the model to " + std::to_string(offset + n) +
                " parameters (" + gigabytes(offset + n) + "), more than the limit of " +
                std::to_string(max_params) + " (" + gigabytes(max_params) +
                "): use fewer units");
  try {
    params.resize(size_t(offset + n));
    grads.resize(params.size());
  } catch (const std::bad_alloc&) {
    params.resize(size_t(offset)), grads.resize(size_t(offset));
    throw Error("out of memory allocating the weights of " + where + ": " + std::to_string(n) +
                " parameters and their gradients, " + gigabytes(2 * n));
  }
  layers.push_back(std::move(layer));
  configs.push_back(config);
  bind_all();
  if (weight_source) {
    for (const ParamTensor& t : layers.back()->param_tensors()) {
      const NamedTensor& src = *weight_source->by_name.at("layers." + std::to_string(index) + "." + t.name);
      std::copy(src.data.begin(), src.data.end(), params.begin() + offset + t.offset);
    }
  } else {
    layers.back()->init(rng);
  }
  weights_changed();
  opt_state = OptimizerState{};  // the parameter set changed: moments start afresh
}

void Sequential::add(const LayerConfig& layer) {
  Impl& m = *impl_;
  if (!layer.kind.empty())
    throw Error("a " + layer.kind + " layer runs in graphs only (it may join several tensors): "
                "build the model with lstm::Input and lstm::Model (lstm/functional.h)");
  const std::string where = "layer " + std::to_string(m.configs.size()) + " (" +
                            layer_type_name(layer.type) + ")";
  if (layer.type != LayerType::dropout && layer.type != LayerType::masking &&
      (layer.units <= 0 || layer.units > limits::kWidth))
    throw Error(where + ": units must be an integer in 1.." + std::to_string(limits::kWidth) +
                ", got " + std::to_string(layer.units));
  if (int64_t(m.configs.size()) >= limits::kLayers)
    throw Error(where + ": a model holds at most " + std::to_string(limits::kLayers) + " layers");
  if (!layer.input_shape.empty() && !m.configs.empty())
    throw Error(where + " sets input_shape, but only the first layer of a Sequential model may: "
                "remove it from this layer");
  if (!m.configs.empty() && m.configs.back().type == LayerType::bidirectional &&
      m.configs.back().merge_mode == MergeMode::none)
    throw Error(where + " follows a Bidirectional layer with merge_mode none, which returns two "
                "outputs (Keras: a list) and so must be the last layer: merge with concat, sum, "
                "mul or ave to pass both directions on");
  if (layer.batch_size != 0 && !m.configs.empty())
    throw Error(where + " sets batch_size, but only the first layer of a Sequential model may: "
                "remove it from this layer");
  if (layer.batch_size < 0)
    throw Error(where + ": batch_size must be a positive integer (or 0: any), got " +
                std::to_string(layer.batch_size));
  if (layer.stateful && (m.configs.empty() ? layer.batch_size : m.configs[0].batch_size) <= 0)
    throw Error(where + " is stateful, so the model needs a fixed batch size: each row's state "
                "goes on in the same row of the next batch. Give the first layer batch_size "
                "(Keras: batch_input_shape)");
  if (m.built()) {
    m.append_layer(layer);
    return;
  }
  m.configs.push_back(layer);
  if (m.configs.size() == 1 && !layer.input_shape.empty()) {
    try {
      build(layer.input_shape);
    } catch (...) {
      m.configs.pop_back();  // a layer that cannot be built is not added
      throw;
    }
  }
}

void Sequential::build(const std::vector<int64_t>& input_shape) {
  Impl& m = *impl_;
  if (m.built()) {
    if (input_shape != m.input_shape)
      throw Error("the model is already built for input shape " + shape_string(m.input_shape) +
                  ", not " + shape_string(input_shape));
    return;
  }
  if (m.configs.empty()) throw Error("the model has no layers: add() at least one before building");
  const bool tokens = m.configs[0].type == LayerType::embedding;
  const bool seq = input_shape.size() == 2;
  if (tokens && input_shape.size() != 1)
    throw Error("input_shape " + shape_string(input_shape) + " is not valid for a model that "
                "starts with an Embedding: give {timesteps} (0 for any length), the token ids "
                "of one sample");
  if (!tokens && (!(input_shape.size() == 1 || seq) || input_shape.back() <= 0 ||
                  input_shape.back() > limits::kWidth))
    throw Error("input_shape " + shape_string(input_shape) +
                " is not valid: give {timesteps, features} for sequences (timesteps <= 0 for any "
                "length) or {features} for plain vectors, with features in 1.." +
                std::to_string(limits::kWidth));
  if ((seq || tokens) && input_shape[0] > limits::kTimeSteps)
    throw Error("input_shape " + shape_string(input_shape) + ": at most " +
                std::to_string(limits::kTimeSteps) + " time steps");
  std::vector<LayerConfig> configs = std::move(m.configs);
  m.configs.clear();
  m.input_shape = input_shape;
  m.token_input = tokens;
  if ((seq || tokens) && m.input_shape[0] < 0) m.input_shape[0] = 0;
  try {
    for (const LayerConfig& c : configs) m.append_layer(c);
  } catch (...) {
    m.layers.clear(), m.params.clear(), m.grads.clear(), m.input_shape.clear();
    m.token_input = false;
    m.configs = std::move(configs);
    throw;
  }
}

void Sequential::compile(const Optimizer& optimizer, const Loss& loss, CompileOptions options) {
  optimizer_check(optimizer);
  if (!options.output_metrics.empty())
    throw Error("compile: output_metrics choose metrics per output of a graph (lstm::Model); a "
                "Sequential model has one output: use metrics");
  if (options.loss_weights.size() > 1)
    throw Error("compile: loss_weights weigh the outputs of a graph (lstm::Model); a Sequential "
                "model has one output");
  // names and loss checked now; widths once the model is built (reset_metrics)
  resolve_metrics(options.metrics, loss, built() ? impl_->out_width() / impl_->outputs() : 0, "compile");
  impl_->metric_names = options.metrics;
  impl_->compiled_learning_rate = optimizer.learning_rate;
  impl_->optimizer = optimizer;
  impl_->loss = loss;
  impl_->compiled = true;
  impl_->opt_state = OptimizerState{};
}

bool Sequential::built() const { return impl_->built(); }
int64_t Sequential::count_params() const { return int64_t(impl_->params.size()); }
std::vector<float> Sequential::get_weights() const { return impl_->params; }
void Sequential::set_weights(const std::vector<float>& weights) {
  if (weights.size() != impl_->params.size())
    throw Error("set_weights got " + std::to_string(weights.size()) +
                " values but the model has " + std::to_string(impl_->params.size()) +
                " parameters" + (built() ? "" : " (it is not built yet)"));
  std::copy(weights.begin(), weights.end(), impl_->params.begin());
  impl_->weights_changed();
}
const std::vector<LayerConfig>& Sequential::layers() const { return impl_->configs; }
const std::vector<int64_t>& Sequential::input_shape() const { return impl_->input_shape; }
std::vector<int64_t> Sequential::output_shape() const {
  if (!built()) return {};
  std::vector<int64_t> shape = impl_->output_shape(1, impl_->fixed_steps());
  shape.erase(shape.begin() + (impl_->outputs() == 2 ? 1 : 0));  // the batch axis
  return shape;
}
const Optimizer& Sequential::optimizer() const { return impl_->optimizer; }
void Sequential::set_learning_rate(float learning_rate) {
  Optimizer o = impl_->optimizer;
  o.learning_rate = learning_rate;
  optimizer_check(o);
  impl_->optimizer = o;
}
const Loss& Sequential::loss() const { return impl_->loss; }
void Sequential::set_seed(uint64_t seed) { impl_->rng.reseed(seed); }
std::map<std::string, std::string>& Sequential::metadata() { return impl_->metadata; }
const std::map<std::string, std::string>& Sequential::metadata() const { return impl_->metadata; }

// ---- boundary checks -----------------------------------------------------------------------

static std::string expected_x(const Sequential::Impl& m) {
  if (!m.seq_input()) return "[N, " + std::to_string(m.features()) + "]";
  std::string t = m.fixed_steps() > 0 ? std::to_string(m.fixed_steps()) : "T";
  if (m.tokens()) return "[N, " + t + "] (token ids)";
  return "[N, " + t + ", " + std::to_string(m.features()) + "]";
}

int64_t Sequential::Impl::check_x(const Tensor& x, const char* name) const {
  const std::string got = std::string(name) + " has shape " + x.shape_string();
  const std::string want = " but the model expects " + expected_x(*this);
  if (tokens()) {
    if (x.rank() != 2)
      throw Error(got + want + ": a model that starts with an Embedding takes one integer "
                  "token id per step");
  } else if (seq_input()) {
    if (x.rank() == 2)
      throw Error(got + want + ": did you forget the time axis? (one feature per step: reshape "
                  "to [N, T, 1])");
    if (x.rank() != 3) throw Error(got + want);
    if (x.dim(2) != features())
      throw Error(got + want + ": it has " + std::to_string(x.dim(2)) +
                  " features per step, the model " + std::to_string(features()));
  } else if (x.rank() != 2 || x.dim(1) != features()) {
    throw Error(got + want);
  }
  if (seq_input()) {
    if (fixed_steps() > 0 && x.dim(1) != fixed_steps())
      throw Error(got + want + ": the model was built for " + std::to_string(fixed_steps()) +
                  " time steps");
    if (x.dim(1) == 0) throw Error(got + ": sequences need at least one time step");
  }
  if (x.dim(0) == 0) throw Error(got + ": there are no samples");
  check_finite(x, name);
  if (tokens()) {
    const int64_t V = configs[0].input_dim;
    for (int64_t k = 0; k < x.size(); ++k)
      if (x[k] < 0.0f || x[k] >= float(V) || x[k] != std::floor(x[k]))
        throw Error(std::string(name) + "[" + std::to_string(k / x.dim(1)) + ", " +
                    std::to_string(k % x.dim(1)) + "] = " + std::to_string(x[k]) +
                    " is not a token id: the Embedding takes integers 0.." + std::to_string(V - 1) +
                    " (raise input_dim for a larger vocabulary)");
  }
  return seq_input() ? x.dim(1) : 1;
}

std::vector<int64_t> Sequential::Impl::resolve_lengths(const Tensor& x,
                                                       const std::vector<int64_t>& given,
                                                       const char* name) const {
  const int64_t N = x.dim(0);
  if (!given.empty() && !seq_input())
    throw Error("lengths were given, but the model takes plain vectors [N, F], not sequences");
  std::vector<int64_t> found;
  const LayerConfig& first = configs[0];
  const int64_t T = seq_input() ? x.dim(1) : 1, F = features();
  if (first.type == LayerType::embedding && first.mask_zero) {
    found = lengths_from_padding(N, T, [&](int64_t n, int64_t t) { return x[n * T + t] == 0.0f; },
                                 name, "token 0, with mask_zero");
  } else if (first.type == LayerType::masking) {
    found = lengths_from_padding(N, T, [&](int64_t n, int64_t t) {
      for (int64_t f = 0; f < F; ++f)
        if (x[(n * T + t) * F + f] != first.mask_value) return false;
      return true;
    }, name, "every feature " + std::to_string(first.mask_value) + ", Masking");
  }
  if (given.empty()) return found;
  if (int64_t(given.size()) != N)
    throw Error(std::string("lengths has ") + std::to_string(given.size()) + " entries but " +
                name + " has " + std::to_string(N) + " samples: give one length per sample");
  for (int64_t n = 0; n < N; ++n) {
    const int64_t L = given[size_t(n)];
    if (L < 1 || L > T)
      throw Error("lengths[" + std::to_string(n) + "] = " + std::to_string(L) + " is out of range: " +
                  name + " has " + std::to_string(T) + " steps, so a length must be in 1.." +
                  std::to_string(T));
    if (!found.empty() && found[size_t(n)] != L)
      throw Error("lengths[" + std::to_string(n) + "] = " + std::to_string(L) + " but the padding of " +
                  name + " (the first layer's mask) says " + std::to_string(found[size_t(n)]) +
                  ": give lengths or padding that agree, or only one of them");
  }
  return given;
}

std::vector<int64_t> Sequential::Impl::output_shape(int64_t N, int64_t T) const {
  std::vector<int64_t> shape = {N, T, out_width() / outputs()};
  if (!out_seq()) shape.erase(shape.begin() + 1);
  if (outputs() == 2) shape.insert(shape.begin(), 2);  // [forward, backward]
  return shape;
}

void Sequential::Impl::check_y(const Tensor& x, const Tensor& y, const char* xname,
                               const char* yname) const {
  const int64_t N = x.dim(0), T = seq_input() ? x.dim(1) : 1;
  const int64_t width = loss_target_width(loss, out_width() / outputs());
  if (outputs() == 2 && loss.kind != LossKind::mse && loss.kind != LossKind::mae && loss.kind != LossKind::bce)
    throw Error("the last layer is Bidirectional with merge_mode none, two outputs whose losses "
                "add up (Keras); that needs a loss of single values (mse, mae or binary "
                "cross-entropy), not " + loss_name(loss) + ": merge with concat and add a Dense "
                "head for classes");
  std::vector<int64_t> want = output_shape(N, T);
  want.back() = width;
  std::vector<int64_t> also = want;  // sparse labels may drop their last axis of 1
  if (width == 1) also.pop_back();
  if (y.shape() != want && y.shape() != also) {
    std::string hint;
    if (outputs() == 2)
      hint = ": merge_mode none gives two outputs, forward then backward, so " + std::string(yname) +
             " holds a target for each";
    else if (y.rank() > 0 && y.dim(0) != N)
      hint = ": " + std::string(xname) + " has " + std::to_string(N) + " samples but " + yname +
             " has " + std::to_string(y.dim(0));
    else if (out_seq() && y.rank() == 2)
      hint = ": the last layer returns sequences; for one target per sequence set "
             "return_sequences = false on the last LSTM";
    else if (!out_seq() && y.rank() == 3)
      hint = ": the last layer returns one vector per sequence; for one target per step set "
             "return_sequences = true on the last LSTM";
    else if (loss.kind == LossKind::scce)
      hint = ": sparse categorical cross-entropy takes one integer class index per prediction";
    else
      hint = ": the last layer has " + std::to_string(out_width()) + " units";
    throw Error(std::string(yname) + " has shape " + y.shape_string() + " but the model expects " +
                shape_string(want) + hint);
  }
  check_finite(y, yname);
  if (loss.kind == LossKind::scce && out_width() < 2)
    throw Error("sparse categorical cross-entropy needs a last layer with one unit per class "
                "(at least 2), but it has " + std::to_string(out_width()));
  loss_check_targets(loss, y.data(), y.size(), out_width(), yname);
}

// ---- batches -------------------------------------------------------------------------------

// Copies rows idx[0..B) of src (batch-first [N, T, W] when seq, [N, W] otherwise) to dst,
// time-major (T, B, W).
static void gather(const float* src, const int64_t* idx, int64_t B, int64_t T, int64_t W,
                   float* dst) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      std::memcpy(dst + (t * B + b) * W, src + (idx[b] * T + t) * W, sizeof(float) * size_t(W));
}

void Sequential::Impl::gather_x(const Tensor& x, const int64_t* idx, int64_t B, int64_t T,
                                const std::vector<int64_t>& lengths) {
  batch_rows.assign(idx, idx + B);
  batch_lengths.clear(), batch_active.clear();
  if (!lengths.empty()) {  // longest first: the rows still running at step t are a prefix
    std::stable_sort(batch_rows.begin(), batch_rows.end(), [&](int64_t a, int64_t b) {
      return lengths[size_t(a)] > lengths[size_t(b)];
    });
    for (int64_t r : batch_rows) batch_lengths.push_back(lengths[size_t(r)]);
    batch_active = rows_running(batch_lengths, T);
  }
  batch = Batch{T, B, batch_lengths.empty() ? nullptr : batch_lengths.data(),
                batch_active.empty() ? nullptr : batch_active.data(), false, &rng};
  grow(x_batch, T * B * features());
  gather(x.data(), batch_rows.data(), B, T, features(), x_batch.data());
}

void Sequential::Impl::gather_y(const Tensor& y) {
  const int64_t steps = out_seq() ? batch.T : 1, width = loss_target_width(loss, out_width());
  grow(y_batch, steps * batch.B * width);
  if (outputs() == 1) return gather(y.data(), batch_rows.data(), batch.B, steps, width, y_batch.data());
  // y [2, N, steps, W] -> (steps, B, 2W): each row's two targets side by side, as the outputs
  const int64_t W = width / 2, N = y.dim(1);
  for (int64_t o = 0; o < 2; ++o)
    for (int64_t b = 0; b < batch.B; ++b)
      for (int64_t t = 0; t < steps; ++t)
        std::memcpy(y_batch.data() + (t * batch.B + b) * width + o * W,
                    y.data() + ((o * N + batch_rows[size_t(b)]) * steps + t) * W, sizeof(float) * size_t(W));
}

const float* Sequential::Impl::forward(bool training) {
  acts.resize(layers.size());
  grad_acts.resize(layers.size());
  batch.training = training;
  const float* in = x_batch.data();
  for (size_t l = 0; l < layers.size(); ++l) {
    Layer& layer = *layers[l];
    grow(acts[l], (layer.out_seq ? batch.T : 1) * batch.B * layer.out_features);
    layer.forward(in, acts[l].data(), batch);
    in = acts[l].data();
  }
  return in;
}

double Sequential::Impl::loss_and_backward(bool backward) {
  const size_t last = layers.size() - 1;
  const int64_t B = batch.B, E = out_width(), W = loss_target_width(loss, E);
  const int64_t R = (out_seq() ? batch.T : 1) * B;
  float* dout = nullptr;
  if (backward) {
    grow(grad_acts[last], R * E);
    dout = grad_acts[last].data();
  }
  double value = 0.0;
  if (out_seq() && batch.active) {
    // Padded steps are not predictions: the mean runs over valid steps only, step by step.
    int64_t valid = 0;
    for (int64_t t = 0; t < batch.T; ++t) valid += batch.active[t];
    for (int64_t t = 0; t < batch.T; ++t) {
      const int64_t n = batch.active[t], row = t * B;
      float* d = dout ? dout + row * E : nullptr;
      if (n == 0) {  // every row of this batch has ended
        if (d) std::memset(d, 0, sizeof(float) * size_t(B * E));
        continue;
      }
      value += loss_forward_backward(loss, acts[last].data() + row * E, y_batch.data() + row * W,
                                     n, E, d) * double(n) / double(valid);
      for (MetricState& m : metrics) m.update(acts[last].data() + row * E, y_batch.data() + row * W, n, E);
      if (!d) continue;
      const float share = float(double(n) / double(valid));
      for (int64_t k = 0; k < n * E; ++k) d[k] *= share;
      std::memset(d + n * E, 0, sizeof(float) * size_t((B - n) * E));
    }
  } else {
    value = loss_forward_backward(loss, acts[last].data(), y_batch.data(), R, E, dout);
    for (MetricState& m : metrics) m.update(acts[last].data(), y_batch.data(), R, E);
  }
  if (outputs() == 2) {  // the two outputs' mean losses add up (Keras), each over half of E
    value *= 2.0;
    for (int64_t k = 0; dout && k < R * E; ++k) dout[k] *= 2.0f;
  }
  if (!backward) return value;
  std::fill(grads.begin(), grads.end(), 0.0f);
  for (size_t l = layers.size(); l-- > 0;) {
    Layer& layer = *layers[l];
    float* dx = nullptr;
    if (l > 0) {
      grow(grad_acts[l - 1], (layers[l - 1]->out_seq ? batch.T : 1) * B * layers[l - 1]->out_features);
      dx = grad_acts[l - 1].data();
    }
    const float* x = l == 0 ? x_batch.data() : acts[l - 1].data();
    layer.backward(x, acts[l].data(), grad_acts[l].data(), dx, batch);
  }
  return value;
}

void Sequential::Impl::reset_metrics() {
  const std::vector<MetricSpec> specs = resolve_metrics(metric_names, loss, out_width() / outputs(), "compile");
  for (const MetricSpec& s : specs)
    if (outputs() == 2 && s.kind == MetricKind::auc)  // the two outputs lie side by side
      throw Error("compile: metric \"" + s.name + "\": AUC of one binary output, but the last layer "
                  "is Bidirectional with merge_mode none (two outputs): merge them, or use "
                  "binary_accuracy");
  metrics = metric_states(specs, loss);
  for (MetricState& m : metrics) m.reset();
}

double Sequential::Impl::evaluate(const Tensor& x, const Tensor& y,
                                  const std::vector<int64_t>& lengths, const int64_t* idx,
                                  int64_t n, int64_t batch_size) {
  const int64_t T = seq_input() ? x.dim(1) : 1;
  double total = 0.0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t B = std::min(batch_size, n - start);
    gather_x(x, idx + start, B, T, lengths);
    gather_y(y);
    forward();
    total += loss_and_backward(false) * double(B);
  }
  return total / double(n);
}

static void check_batch_size(int64_t batch_size) {
  if (batch_size <= 0)
    throw Error("batch_size must be a positive integer, got " + std::to_string(batch_size));
}

void build_from(Sequential& model, const Tensor& x) {
  if (model.built()) return;
  if (x.rank() == 3) model.build({x.dim(1), x.dim(2)});
  else if (x.rank() == 2) model.build({x.dim(1)});
  else
    throw Error("X has shape " + x.shape_string() +
                " but a model takes [N, T, F] sequences (or [N, F] vectors for a Dense-first model)");
}

Tensor Sequential::predict(const Tensor& x, int batch_size) {
  build_from(*this, x);
  return impl_->predict(x, {}, batch_size, nullptr, nullptr);
}

Tensor Sequential::predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size) {
  build_from(*this, x);
  return impl_->predict(x, lengths, batch_size, nullptr, nullptr);
}

PredictionWithState Sequential::predict_with_state(const Tensor& x, const States& initial_state,
                                                   std::span<const int64_t> lengths, int batch_size) {
  build_from(*this, x);
  PredictionWithState out;
  out.states = zero_states(x.rank() >= 1 ? x.dim(0) : 0);
  out.y = impl_->predict(x, lengths, batch_size, initial_state.empty() ? nullptr : &initial_state,
                         &out.states);
  return out;
}

States Sequential::zero_states(int64_t N) const {
  if (!built())
    throw Error("the model is not built yet, so its states' shapes are unknown: give the first "
                "layer input_shape, or build() it");
  States states;
  for (const Recurrence* r : impl_->directions())
    states.push_back({Tensor({N, r->O}), r->has_cell_state() ? Tensor({N, r->H}) : Tensor()});
  return states;
}

// The states of initial (one per direction, given for all N samples) must have the shapes of
// zero_states(N); an empty c stands for zeros.
static void check_states(const States& initial, const States& expect) {
  if (initial.size() != expect.size())
    throw Error("initial_state has " + std::to_string(initial.size()) + " states, but the model has " +
                std::to_string(expect.size()) + " recurrent directions (one per recurrent layer, two "
                "for a Bidirectional one): see zero_states()");
  for (size_t k = 0; k < initial.size(); ++k) {
    const std::string which = "initial_state[" + std::to_string(k) + "]";
    if (initial[k].h.shape() != expect[k].h.shape())
      throw Error(which + ".h has shape " + initial[k].h.shape_string() + " but the model needs " +
                  expect[k].h.shape_string() + " (samples, units)");
    if (!initial[k].c.empty() && initial[k].c.shape() != expect[k].c.shape())
      throw Error(which + ".c has shape " + initial[k].c.shape_string() + " but the model needs " +
                  (expect[k].c.empty() ? std::string("none (GRU and SimpleRNN have no cell state)")
                                       : expect[k].c.shape_string() + " (samples, units)"));
  }
}

Tensor Sequential::Impl::predict(const Tensor& x, std::span<const int64_t> lengths,
                                 int batch_size, const States* initial, States* final_states) {
  check_batch_size(batch_size);
  if (!built()) throw Error("the model is not built");
  const int64_t T = check_x(x, "X"), N = x.dim(0), E = out_width();
  const std::vector<int64_t> L = resolve_lengths(x, {lengths.begin(), lengths.end()}, "X");
  check_stateful(N, batch_size, !L.empty(), "X");
  if (initial) check_states(*initial, *final_states);
  const std::vector<Recurrence*> dirs = directions();
  Tensor out(output_shape(N, T));
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  const int64_t steps = out_seq() ? T : 1;
  std::vector<float> h, c;  // one direction's state rows, in batch order
  for (int64_t start = 0; start < N; start += batch_size) {
    const int64_t B = std::min<int64_t>(batch_size, N - start);
    gather_x(x, order.data() + start, B, T, L);
    for (size_t k = 0; initial && k < dirs.size(); ++k) {  // rows of the given states
      const Recurrence& r = *dirs[k];
      const RecurrentState& s = (*initial)[k];
      h.resize(size_t(B * r.O)), c.resize(size_t(B * r.H));
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = batch_rows[size_t(b)];
        std::copy(s.h.data() + n * r.O, s.h.data() + (n + 1) * r.O, h.data() + b * r.O);
        if (!s.c.empty()) std::copy(s.c.data() + n * r.H, s.c.data() + (n + 1) * r.H, c.data() + b * r.H);
      }
      dirs[k]->set_initial_state(h.data(), s.c.empty() ? nullptr : c.data(), B);
    }
    const float* y = forward();  // (steps, B, E), rows in batch_rows order
    const int64_t W = E / outputs();  // merge_mode none: out [2, N, steps, W]
    for (int64_t o = 0; o < outputs(); ++o)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < steps; ++t)
          std::memcpy(out.data() + ((o * N + batch_rows[size_t(b)]) * steps + t) * W,
                      y + (t * B + b) * E + o * W, sizeof(float) * size_t(W));
    for (size_t k = 0; final_states && k < dirs.size(); ++k) {
      const Recurrence& r = *dirs[k];
      RecurrentState& s = (*final_states)[k];
      h.resize(size_t(B * r.O)), c.resize(size_t(B * r.H));
      r.final_state(batch, h.data(), s.c.empty() ? nullptr : c.data());
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = batch_rows[size_t(b)];
        std::copy(h.data() + b * r.O, h.data() + (b + 1) * r.O, s.h.data() + n * r.O);
        if (!s.c.empty()) std::copy(c.data() + b * r.H, c.data() + (b + 1) * r.H, s.c.data() + n * r.H);
      }
    }
  }
  return out;
}

double Sequential::evaluate(const Tensor& x, const Tensor& y, int batch_size) {
  return evaluate(x, y, std::span<const int64_t>(), batch_size);
}

double Sequential::evaluate(const Tensor& x, const Tensor& y, std::span<const int64_t> lengths,
                            int batch_size) {
  check_batch_size(batch_size);
  if (!impl_->compiled)
    throw Error("evaluate() needs a loss: call compile(optimizer, loss) first");
  build_from(*this, x);
  impl_->check_x(x, "X");
  impl_->check_y(x, y, "X", "y");
  const std::vector<int64_t> L = impl_->resolve_lengths(x, {lengths.begin(), lengths.end()}, "X");
  impl_->check_stateful(x.dim(0), batch_size, !L.empty(), "X");
  std::vector<int64_t> order(static_cast<size_t>(x.dim(0)));
  std::iota(order.begin(), order.end(), 0);
  impl_->reset_metrics();
  const double loss = impl_->evaluate(x, y, L, order.data(), x.dim(0), batch_size);
  impl_->last_logs = {{"loss", loss}};
  add_metrics(impl_->metrics, "", impl_->last_logs);
  return loss;
}

Logs Sequential::last_logs() const { return impl_->last_logs; }

// ---- streaming -----------------------------------------------------------------------------

static void check_built_for_step(const Sequential& model) {
  if (!model.built())
    throw Error("step() needs a built model: give the first layer input_shape, or build() it");
}

void Sequential::step(const float* x_t, float* y_t) {
  Impl& m = *impl_;
  check_built_for_step(*this);
  if (m.step_out.size() != m.layers.size()) {  // the first call: size every layer's output
    for (size_t l = 0; l < m.layers.size(); ++l)
      if (!m.layers[l]->can_step())
        throw Error("layer " + std::to_string(l) + " (" + layer_type_name(m.layers[l]->config.type) +
                    (m.layers[l]->config.go_backwards ? ", go_backwards" : "") +
                    ") reads each sequence from its end, so the model cannot run one step at a "
                    "time: use predict() on whole sequences");
    m.step_out.resize(m.layers.size());
    for (size_t l = 0; l < m.layers.size(); ++l) m.step_out[l].assign(size_t(m.layers[l]->out_features), 0.0f);
  }
  const float* in = x_t;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    float* out = l + 1 == m.layers.size() ? y_t : m.step_out[l].data();
    m.layers[l]->step(in, out);
    in = out;
  }
}

Tensor Sequential::step(const Tensor& x_t) {
  check_built_for_step(*this);
  const Impl& m = *impl_;
  if (x_t.size() != m.features())
    throw Error("step() takes the " + std::to_string(m.features()) + " features of one time step, got " +
                x_t.shape_string());
  check_finite(x_t, "x_t");
  Tensor y({m.out_width()});
  step(x_t.data(), y.data());
  return y;
}

int64_t Sequential::Impl::stateful_batch() const {
  for (const LayerConfig& c : configs)
    if (c.stateful) return configs[0].batch_size;
  return 0;
}

void Sequential::Impl::check_stateful(int64_t n, int64_t batch_size, bool lengths,
                                      const char* name) const {
  const int64_t fixed = stateful_batch();
  if (fixed == 0) return;
  const std::string B = std::to_string(fixed);
  if (batch_size != fixed)
    throw Error("the model has stateful layers and runs batches of exactly " + B + " (the first "
                "layer's batch_size), not " + std::to_string(batch_size) + ": pass batch_size = " + B);
  if (n % fixed != 0)
    throw Error(std::string(name) + " has " + std::to_string(n) + " samples, not a multiple of the "
                "stateful model's batch size " + B + ": each row's state goes on in the same row of "
                "the next batch, so every batch must be full");
  if (lengths)
    throw Error(std::string(name) + " has per-sample lengths, but stateful layers carry each row's "
                "state on from step T: give sequences that run all T steps");
}

void Sequential::reset_states() {
  for (auto& layer : impl_->layers) layer->reset_state(), layer->reset_carried_state();
}

// ---- summary -------------------------------------------------------------------------------

std::string Sequential::summary() const {
  const Impl& m = *impl_;
  if (!m.built())
    throw Error("the model is not built yet, so its shapes are unknown: give the first layer "
                "input_shape, or call build() or fit() first");
  auto with_commas = [](int64_t n) {
    std::string s = std::to_string(n);
    for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
    return s;
  };
  const std::string T = m.fixed_steps() > 0 ? std::to_string(m.fixed_steps()) : "None";
  // One row per layer: "name (Class)", output shape, parameters; the first column widens
  // for long names (Keras's layout otherwise).
  std::vector<std::array<std::string, 3>> rows;
  std::map<std::string, int> seen;
  size_t width = 28;
  const std::string batch = m.configs[0].batch_size > 0 ? std::to_string(m.configs[0].batch_size) : "None";
  for (const auto& layer : m.layers) {
    const std::string type = layer_type_name(layer->config.type);
    const int n = seen[type]++;
    const std::string name = type + (n ? "_" + std::to_string(n) : "");
    const bool two = layer->config.type == LayerType::bidirectional &&
                     layer->config.merge_mode == MergeMode::none;  // Keras: a list of two
    const std::string shape = "(" + batch + ", " + (layer->out_seq ? T + ", " : "") +
                              std::to_string(layer->out_features / (two ? 2 : 1)) + ")";
    rows.push_back({name + " (" + room_for(layer->config).keras_class(layer->config) + ")",
                    two ? "[" + shape + ", " + shape + "]" : shape, with_commas(layer->param_count())});
    width = std::max(width, rows.back()[0].size() + 1);
  }
  std::ostringstream s;
  const std::string rule(width + 37, '_'), thick(width + 37, '=');
  s << "Model: \"" << m.options.name << "\"\n" << rule << "\n";
  s << std::left << " " << std::setw(int(width)) << "Layer (type)" << std::setw(26) << "Output Shape"
    << "Param #\n" << thick << "\n";
  for (const auto& row : rows)
    s << " " << std::setw(int(width)) << row[0] << std::setw(26) << row[1] << row[2] << "\n";
  s << thick << "\n";
  s << "Total params: " << with_commas(count_params()) << "\n";
  s << "Trainable params: " << with_commas(count_params()) << "\n";
  s << "Non-trainable params: 0\n" << rule << "\n";
  return s.str();
}

}  // namespace lstm
