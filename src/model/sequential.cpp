// Sequential, the chain case of lstm::Model: its layers' checks, building the chain (the graph
// Input -> layer 0 -> ... that runs every batch), predict/evaluate/step through it, and its
// summary. fit() lives in src/train/fit.cpp, save/load in src/io/model_file.cpp, JSON in
// config.cpp.
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
#include "graph/graph_model.h"
#include "io/safetensors.h"
#include "layers/loss_fn.h"
#include "layers/recurrence.h"
#include "layers/recurrent.h"
#include "layers/seq_dims.h"
#include "lstm/error.h"
#include "lstm/lstm.h"
#include "graph/model_impl.h"
#include "lstm/version.h"
#include "model/model_impl.h"
#include "model/data_checks.h"

namespace lstm {

// A layer's type as messages and summaries name it: its room's kind, or the LayerType's name.
static std::string type_of(const LayerConfig& c) { return c.kind.empty() ? layer_type_name(c.type) : c.kind; }

const char* version() { return LSTM_VERSION_STRING; }

// ---- construction and building -------------------------------------------------------------

Sequential::Sequential(SequentialOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->unbuilt_rng.reseed(options.seed);
}
Sequential::~Sequential() = default;
Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;

Rng& Sequential::Impl::rng() { return built() ? graph().rng : unbuilt_rng; }
std::vector<float>& Sequential::Impl::params() { return graph().params; }
std::vector<float>& Sequential::Impl::grads() { return graph().grads; }
void Sequential::Impl::weights_changed() {
  if (built()) graph().weights_changed();
}
std::vector<Recurrence*> Sequential::Impl::directions() const {
  return built() ? graph().directions() : std::vector<Recurrence*>{};
}

Sequential Sequential::clone() const {
  const Impl& m = *impl_;
  Sequential copy(m.options);
  Impl& c = *copy.impl_;
  c.configs = m.configs;
  c.optimizer = m.optimizer;
  c.compiled_learning_rate = m.compiled_learning_rate;
  c.loss = m.loss;
  c.compiled = m.compiled;
  c.metric_names = m.metric_names;
  c.metadata = m.metadata;
  c.max_params = m.max_params;
  c.unbuilt_rng = m.unbuilt_rng;
  if (m.built()) {
    c.input_shape = m.input_shape;
    const std::vector<float> weights = m.graph().params;
    c.build_chain(&weights);
    Model::Impl &from = m.graph(), &to = c.graph();
    to.rng = from.rng;
    to.opt_state = from.opt_state;
  }
  return copy;
}

void Sequential::Impl::build_chain(const std::vector<float>* keep) {
  // The graph: Input -> layer 0 -> ... -> the last layer (merge_mode none's two outputs side
  // by side, as the model has always laid them out). Each call is checked by its layer's room
  // as it is made (its messages name it "layer <i> (<type>)"), then the whole against the
  // parameter limit and, from a file, its tensors against the file, before anything is
  // allocated.
  InputOptions in_options;
  in_options.name = "input";
  in_options.batch_size = configs[0].batch_size;
  in_options.lengths = seq_input();
  const SymbolicTensor input = Input(input_shape, in_options);
  SymbolicTensor t = input;
  for (size_t i = 0; i < configs.size(); ++i) {
    LayerConfig c = configs[i];
    c.input_shape.clear(), c.batch_size = 0, c.name.clear(), c.identity.reset();
    const std::string where = "layer " + std::to_string(i) + " (" + type_of(c) + ")";
    const std::vector<SymbolicTensor> out = call_layer(c, {t}, {}, where);
    const bool two = c.type == LayerType::bidirectional && c.merge_mode == MergeMode::none;
    t = two ? Concatenate()({out[0], out[1]}) : out[0];
  }
  Model model = lstm::build_chain(input, t, {options.name, options.seed}, rng(), weight_source, keep, max_params);
  // What each layer is, as built: its layer slot and its one call.
  const Model::Impl& g = model.impl();
  std::vector<ChainLayer> built_layers;
  for (size_t i = 0; i < configs.size(); ++i) {
    const LayerSlot& slot = g.layers[i];
    const Step& step = g.steps[size_t(slot.steps[0])];
    const ValueSpec& y = step.node->outputs[0];
    const bool two = configs[i].type == LayerType::bidirectional && configs[i].merge_mode == MergeMode::none;
    ChainLayer l{configs[i], i == 0 ? features() : built_layers.back().out_features, (two ? 2 : 1) * y.F,
                 y.seq, slot.tensors, slot.offset, slot.count, step.op->stepping() != Op::Stepping::none};
    built_layers.push_back(std::move(l));
  }
  std::unique_ptr<Model> old_chain = std::move(chain);
  std::vector<ChainLayer> old_layers = std::move(layers);
  chain = std::make_unique<Model>(std::move(model));
  layers = std::move(built_layers);
  step_checked = false;
  try {
    if (compiled) compile_chain();  // compile()'s metrics against the built widths
    // the inference precision the model was given (set_precision keeps it in the metadata)
    // holds for the new chain too: clone(), add() after build
    apply_saved_precision(metadata, [&](Precision p) { chain->set_precision(p); });
  } catch (...) {
    chain = std::move(old_chain), layers = std::move(old_layers);
    throw;
  }
}

void Sequential::Impl::compile_chain() {
  Model::Impl& g = graph();
  g.optimizer = optimizer;
  g.compiled_learning_rate = compiled_learning_rate;
  g.losses = {loss};
  if (loss.kind == LossKind::ctc && (!out_seq() || outputs() != 1 || out_width() < 2))
    throw Error("compile: the CTC loss needs a sequence of logits over the blank and at least one label "
                "([T, C], C >= 2), but the model outputs " +
                std::string(outputs() == 2 ? "two directions" : out_seq() ? "a sequence" : "one vector per sample") +
                " of " + std::to_string(out_width() / outputs()) + " units" +
                ": return_sequences = true on the last recurrent layer, then Dense(C)");
  // merge_mode none: two outputs whose mean losses add up (Keras), each half of the output
  g.loss_weights = {outputs() == 2 ? 2.0 : 1.0};
  const std::vector<MetricSpec> specs = resolve_metrics(metric_names, loss, out_width() / outputs(), "compile");
  for (const MetricSpec& s : specs)
    if (outputs() == 2 && s.kind == MetricKind::auc)  // the two outputs lie side by side
      throw Error("compile: metric \"" + s.name + "\": AUC of one binary output, but the last layer "
                  "is Bidirectional with merge_mode none (two outputs): merge them, or use "
                  "binary_accuracy");
  g.metrics = {metric_states(specs, loss)};
  g.compiled = true;
  g.opt_state = OptimizerState{};
}

void Sequential::Impl::check_add(const LayerConfig& layer, size_t index) const {
  if (!layer.kind.empty() && !room_for(layer).chains())
    throw Error("a " + layer.kind + " layer runs in graphs only (it may join several tensors): "
                "build the model with lstm::Input and lstm::Model (lstm/functional.h)");
  const std::string where = "layer " + std::to_string(index) + " (" + type_of(layer) + ")";
  if (layer.return_state)
    throw Error(where + " sets return_state, but each layer of a Sequential model has one output: "
                "build the model with lstm::Input and lstm::Model (lstm/functional.h) to use its states");
  if (layer.kind.empty() && layer.type != LayerType::dropout && layer.type != LayerType::masking &&
      (layer.units <= 0 || layer.units > limits::kWidth))
    throw Error(where + ": units must be an integer in 1.." + std::to_string(limits::kWidth) +
                ", got " + std::to_string(layer.units));
  if (int64_t(index) >= limits::kLayers)
    throw Error(where + ": a model holds at most " + std::to_string(limits::kLayers) + " layers");
  if (!layer.input_shape.empty() && index > 0)
    throw Error(where + " sets input_shape, but only the first layer of a Sequential model may: "
                "remove it from this layer");
  if (index > 0 && configs[index - 1].type == LayerType::bidirectional &&
      configs[index - 1].merge_mode == MergeMode::none)
    throw Error(where + " follows a Bidirectional layer with merge_mode none, which returns two "
                "outputs (Keras: a list) and so must be the last layer: merge with concat, sum, "
                "mul or ave to pass both directions on");
  if (layer.batch_size != 0 && index > 0)
    throw Error(where + " sets batch_size, but only the first layer of a Sequential model may: "
                "remove it from this layer");
  if (layer.batch_size < 0)
    throw Error(where + ": batch_size must be a positive integer (or 0: any), got " +
                std::to_string(layer.batch_size));
  if (layer.stateful && (index == 0 ? layer.batch_size : configs[0].batch_size) <= 0)
    throw Error(where + " is stateful, so the model needs a fixed batch size: each row's state "
                "goes on in the same row of the next batch. Give the first layer batch_size "
                "(Keras: batch_input_shape)");
}

void Sequential::add(const LayerConfig& layer) {
  Impl& m = *impl_;
  m.check_add(layer, m.configs.size());
  m.configs.push_back(layer);
  try {
    if (m.built()) {  // the layers before keep their weights; the new one is initialised
      const std::vector<float> weights = m.graph().params;
      m.build_chain(&weights);
    } else if (m.configs.size() == 1 && !layer.input_shape.empty()) {
      build(layer.input_shape);
    }
  } catch (...) {
    m.configs.pop_back();  // a layer that cannot be built is not added
    throw;
  }
}

void add_layers(Sequential& model, const std::vector<LayerConfig>& configs) {
  Sequential::Impl& m = model.impl();
  for (const LayerConfig& c : configs) {
    m.check_add(c, m.configs.size());
    m.configs.push_back(c);
  }
  if (!m.built() && !m.configs.empty() && !m.configs[0].input_shape.empty())
    model.build(m.configs[0].input_shape);
}

void Sequential::build(const std::vector<int64_t>& input_shape) {
  Impl& m = *impl_;
  std::vector<int64_t> shape = input_shape;
  const bool tokens = !m.configs.empty() && m.configs[0].type == LayerType::embedding;
  const bool seq = shape.size() == 2;
  if ((seq || (tokens && shape.size() == 1)) && shape[0] < 0) shape[0] = 0;
  if (m.built()) {
    if (shape != m.input_shape)
      throw Error("the model is already built for input shape " + shape_string(m.input_shape) +
                  ", not " + shape_string(input_shape));
    return;
  }
  if (m.configs.empty()) throw Error("the model has no layers: add() at least one before building");
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
  m.input_shape = shape;
  try {
    m.build_chain(nullptr);
  } catch (...) {
    m.input_shape.clear();
    throw;
  }
}

void Sequential::compile(const Optimizer& optimizer, const Loss& loss, CompileOptions options) {
  optimizer_check(optimizer);
  loss_check_options(loss);
  if (!options.output_metrics.empty())
    throw Error("compile: output_metrics choose metrics per output of a graph (lstm::Model); a "
                "Sequential model has one output: use metrics");
  if (options.loss_weights.size() > 1)
    throw Error("compile: loss_weights weigh the outputs of a graph (lstm::Model); a Sequential "
                "model has one output");
  // names and loss checked now; widths once the model is built (compile_chain)
  resolve_metrics(options.metrics, loss, built() ? impl_->out_width() / impl_->outputs() : 0, "compile");
  Impl& m = *impl_;
  m.metric_names = options.metrics;
  m.optimizer = optimizer;
  m.compiled_learning_rate = optimizer.learning_rate;
  m.loss = loss;
  m.compiled = true;
  if (m.built()) m.compile_chain();
}

bool Sequential::built() const { return impl_->built(); }
int64_t Sequential::count_params() const { return built() ? int64_t(impl_->graph().params.size()) : 0; }
std::vector<float> Sequential::get_weights() const {
  return built() ? impl_->graph().params : std::vector<float>{};
}
void Sequential::set_weights(const std::vector<float>& weights) {
  if (weights.size() != size_t(count_params()))
    throw Error("set_weights got " + std::to_string(weights.size()) +
                " values but the model has " + std::to_string(count_params()) +
                " parameters" + (built() ? "" : " (it is not built yet)"));
  if (!built()) return;
  std::copy(weights.begin(), weights.end(), impl_->graph().params.begin());
  impl_->weights_changed();
}
std::vector<NamedWeight> Sequential::weights() const {
  return built() ? impl_->chain->weights() : std::vector<NamedWeight>{};
}
const std::vector<LayerConfig>& Sequential::layers() const { return impl_->configs; }
const std::vector<int64_t>& Sequential::input_shape() const { return impl_->input_shape; }
std::vector<int64_t> Sequential::output_shape() const {
  if (!built()) return {};
  std::vector<int64_t> shape = impl_->output_shape(1, impl_->fixed_steps());
  shape.erase(shape.begin() + (impl_->outputs() == 2 ? 1 : 0));  // the batch axis
  return shape;
}
const Optimizer& Sequential::optimizer() const {
  return built() ? impl_->graph().optimizer : impl_->optimizer;
}
void Sequential::set_learning_rate(float learning_rate) {
  const Optimizer o = with_learning_rate(optimizer(), learning_rate);
  impl_->optimizer.learning_rate = learning_rate;
  if (built()) impl_->graph().optimizer = o;
}
const Loss& Sequential::loss() const { return impl_->loss; }
void Sequential::set_seed(uint64_t seed) { impl_->rng().reseed(seed); }
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
  if (loss.kind == LossKind::ctc) {  // label sequences [N, L]; labels checked with the lengths
    if (y.rank() != 2 || y.dim(0) != N)
      throw Error(std::string(yname) + " has shape " + y.shape_string() + " but the CTC loss takes label "
                  "sequences [N, L] (N = " + std::to_string(N) + " samples in " + xname + "): label ids 1.." +
                  std::to_string(out_width() - 1) + ", each row right-padded with 0");
    check_finite(y, yname);
    return;
  }
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

const Tensor& Sequential::Impl::chain_targets(const Tensor& y, Tensor& storage) const {
  if (outputs() == 1) return y;
  // y [2, N, steps, W] -> [N, steps, 2W]: each row's two targets side by side, as the outputs
  // (W from the model: labels of width 1 may come without their last axis, [2, N, steps])
  const int64_t N = y.dim(1), W = loss_target_width(loss, out_width() / 2), steps = y.size() / (2 * N * W);
  storage = Tensor(out_seq() ? std::vector<int64_t>{N, steps, 2 * W} : std::vector<int64_t>{N, 2 * W});
  join_halves(y.data(), y.data() + N * steps * W, N * steps, W, storage.data());
  return storage;
}

void Sequential::Impl::gather_x(const Tensor& x, const int64_t* idx, int64_t B, int64_t,
                                const std::vector<int64_t>& lengths) {
  graph().gather(x, {lengths}, idx, B);
}

void Sequential::Impl::gather_y(const Tensor& y) { y_in_hand = &chain_targets(y, y_pairs); }

const float* Sequential::Impl::forward(bool training) {
  Model::Impl& g = graph();
  g.forward(training);
  return g.slots[size_t(g.output_slots[0])].value.data;
}

double Sequential::Impl::loss_and_backward(bool backward) {
  return graph().loss_and_backward(*y_in_hand, backward, nullptr);
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
  return predict(x, std::span<const int64_t>(), batch_size);
}

Tensor Sequential::predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size) {
  build_from(*this, x);
  return impl_->predict(x, lengths, batch_size, nullptr, nullptr);
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

PredictionWithState Sequential::predict_with_state(const Tensor& x, const States& initial_state,
                                                   std::span<const int64_t> lengths, int batch_size) {
  build_from(*this, x);
  PredictionWithState out;
  out.states = zero_states(x.rank() >= 1 ? x.dim(0) : 0);
  out.y = impl_->predict(x, lengths, batch_size, initial_state.empty() ? nullptr : &initial_state,
                         &out.states);
  return out;
}

Tensor Sequential::Impl::predict(const Tensor& x, std::span<const int64_t> lengths, int batch_size,
                                 const States* initial, States* final_states) {
  check_batch_size(batch_size);
  const int64_t T = check_x(x, "X"), N = x.dim(0);
  const std::vector<int64_t> L = resolve_lengths(x, {lengths.begin(), lengths.end()}, "X");
  check_stateful(N, batch_size, !L.empty(), "X");
  if (initial) check_states(*initial, *final_states);
  std::vector<Tensor> y = graph().predict(x, lengths, batch_size, initial, final_states);
  if (outputs() == 1) return std::move(y[0]);
  // [N, steps, 2W] -> [2, N, steps, W]: forward, then backward
  Tensor out(output_shape(N, T));
  const int64_t W = out_width() / 2, rows = y[0].size() / (2 * W);
  split_halves(y[0].data(), rows, W, out.data(), out.data() + rows * W);
  return out;
}

double Sequential::evaluate(const Tensor& x, const Tensor& y, int batch_size) {
  return evaluate(x, y, std::span<const int64_t>(), batch_size);
}

double Sequential::evaluate(const Tensor& x, const Tensor& y, std::span<const int64_t> lengths,
                            int batch_size) {
  check_batch_size(batch_size);
  Impl& m = *impl_;
  if (!m.compiled)
    throw Error("evaluate() needs a loss: call compile(optimizer, loss) first");
  build_from(*this, x);
  m.check_x(x, "X");
  m.check_y(x, y, "X", "y");
  const std::vector<int64_t> L = m.resolve_lengths(x, {lengths.begin(), lengths.end()}, "X");
  m.check_stateful(x.dim(0), batch_size, !L.empty(), "X");
  std::vector<int64_t> order(static_cast<size_t>(x.dim(0)));
  std::iota(order.begin(), order.end(), 0);
  Model::Impl& g = m.graph();
  g.reset_metrics();
  Tensor pairs;
  const double loss = g.evaluate(x, m.chain_targets(y, pairs), {L}, order.data(), x.dim(0), batch_size, nullptr);
  m.last_logs = {{"loss", loss}};
  add_metrics(g.metrics[0], "", m.last_logs);
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
  if (!m.step_checked) {  // the first call: every layer can stream
    for (size_t l = 0; l < m.layers.size(); ++l)
      if (!m.layers[l].can_step)
        throw Error("layer " + std::to_string(l) + " (" + type_of(m.layers[l].config) +
                    (m.layers[l].config.go_backwards ? ", go_backwards" : "") +
                    ") reads each sequence from its end, so the model cannot run one step at a "
                    "time: use predict() on whole sequences");
    m.step_checked = true;
  }
  const float* in[] = {x_t};
  float* out[] = {y_t};
  m.chain->step(in, out);
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
  if (impl_->built()) impl_->chain->reset_states();
}

int Sequential::set_precision(Precision p) {
  if (!impl_->built())
    throw Error("set_precision: the model is not built yet: give the first layer input_shape, or "
                "call build(), fit() or load() first");
  const int running = impl_->chain->set_precision(p);
  if (p == Precision::fp32) impl_->metadata.erase(kPrecisionKey);  // saved with the model
  else impl_->metadata[kPrecisionKey] = precision_name(p);
  return running;
}
Precision Sequential::precision() const { return impl_->built() ? impl_->chain->precision() : Precision::fp32; }

// ---- summary -------------------------------------------------------------------------------

std::vector<MemoryRow> Sequential::memory_plan(int64_t batch, int64_t steps) const {
  if (!impl_->built())
    throw Error("the model is not built yet, so its shapes are unknown: give the first layer "
                "input_shape, or call build() or fit() first");
  return impl_->chain->memory_plan(batch, steps);
}

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
    const std::string type = type_of(layer.config);
    const int n = seen[type]++;
    const std::string name = type + (n ? "_" + std::to_string(n) : "");
    const bool two = layer.config.type == LayerType::bidirectional &&
                     layer.config.merge_mode == MergeMode::none;  // Keras: a list of two
    const std::string shape = "(" + batch + ", " + (layer.out_seq ? T + ", " : "") +
                              std::to_string(layer.out_features / (two ? 2 : 1)) + ")";
    rows.push_back({name + " (" + room_for(layer.config).keras_class(layer.config) + ")",
                    two ? "[" + shape + ", " + shape + "]" : shape, with_commas(layer.count)});
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
