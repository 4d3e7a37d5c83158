// LSTMCell: one step of the LSTM, on the general LSTM's sequence code with T = 1 (every option
// of the cell; lstm_general.h has the equations). The weights are laid out and initialised as
// the layer's own (layers/recurrence.h), so a model's tensors copy over by name.
#include "lstm/cell.h"

#include <algorithm>
#include <cstring>

#include "layers/lstm_general.h"
#include "layers/recurrence.h"
#include "layers/recurrent.h"
#include "lstm/error.h"
#include "model/model_impl.h"

namespace lstm {

static LayerConfig cell_config(int units, const LSTMCellOptions& o) {
  return LSTM(units, {.activation = o.activation,
                      .recurrent_activation = o.recurrent_activation,
                      .use_bias = o.use_bias,
                      .proj_size = o.proj_size,
                      .use_peepholes = o.use_peepholes});
}

LSTMCell::LSTMCell(const LayerConfig& config, int64_t input_size)
    : config_(config),
      I_(input_size),
      H_(config.units),
      P_(config.proj_size > 0 ? config.proj_size : config.units) {
  if (input_size <= 0)
    throw Error("LSTMCell: input_size must be a positive integer, got " +
                std::to_string(input_size));
  if (config.units <= 0)
    throw Error("LSTMCell: units must be a positive integer, got " + std::to_string(config.units));
  check_recurrent_options(config, "LSTMCell");
  std::unique_ptr<Recurrence> layout = make_recurrence(config, input_size);
  for (const ParamTensor& t : layout->param_tensors()) {
    names_.push_back(t.name);
    shapes_.push_back(t.shape);
    offsets_.push_back(t.offset);
  }
  params_.assign(size_t(layout->param_count()), 0.0f);
}

LSTMCell::LSTMCell(int64_t input_size, int units, LSTMCellOptions options)
    : LSTMCell(cell_config(units, options), input_size) {
  std::unique_ptr<Recurrence> init = make_recurrence(config_, I_);
  std::vector<float> grads(params_.size());
  init->bind(params_.data(), grads.data());
  Rng rng(options.seed);
  init->init(rng);
}

LSTMCell LSTMCell::from_model(const Sequential& model, int layer, bool backward) {
  if (!model.built())
    throw Error("LSTMCell::from_model: the model is not built yet, so it has no weights");
  const Sequential::Impl& m = model.impl();
  if (layer < 0 || layer >= int(m.layers.size()))
    throw Error("LSTMCell::from_model: layer " + std::to_string(layer) +
                " is out of range: the "
                "model has " +
                std::to_string(m.layers.size()) + " layers");
  const ChainLayer& l = m.layers[size_t(layer)];
  const bool bi = l.config.type == LayerType::bidirectional;
  const LayerConfig& c = bi ? l.config.wrapped.at(0) : l.config;
  if (c.type != LayerType::lstm)
    throw Error("LSTMCell::from_model: layer " + std::to_string(layer) + " is " +
                layer_type_name(l.config.type) +
                (bi ? " of " + std::string(layer_type_name(c.type)) : "") + ", not an LSTM");
  if (backward && !bi)
    throw Error("LSTMCell::from_model: layer " + std::to_string(layer) +
                " has one direction: "
                "backward = true is for a Bidirectional layer");
  LSTMCell cell(c, l.in_features);
  const int64_t offset = l.offset;
  const std::string prefix = bi ? (backward ? "backward." : "forward.") : "";
  for (const ParamTensor& t : l.tensors) {  // "forward.weight_ih" -> "weight_ih"
    if (t.name.rfind(prefix, 0) != 0) continue;
    const auto it = std::find(cell.names_.begin(), cell.names_.end(), t.name.substr(prefix.size()));
    const size_t k = size_t(it - cell.names_.begin());
    const auto from = m.graph().params.begin() + offset + t.offset;
    std::copy(from, from + t.size(), cell.params_.begin() + cell.offsets_.at(k));
  }
  return cell;
}

RecurrentState LSTMCell::zero_state(int64_t batch) const {
  if (batch <= 0)
    throw Error("LSTMCell: batch must be a positive integer, got " + std::to_string(batch));
  return {Tensor({batch, P_}), Tensor({batch, H_})};
}

const float* LSTMCell::tensor(const std::string& name) const {
  for (size_t k = 0; k < names_.size(); ++k)
    if (names_[k] == name) return params_.data() + offsets_[k];
  return nullptr;
}

RecurrentState LSTMCell::step(const Tensor& x, const RecurrentState& state) const {
  if (x.rank() != 2 || x.dim(1) != I_)
    throw Error("LSTMCell::step: x has shape " + x.shape_string() + " but the cell takes [batch, " +
                std::to_string(I_) + "]");
  const int64_t B = x.dim(0);
  const std::vector<int64_t> want_h = {B, P_}, want_c = {B, H_};
  if (state.h.shape() != want_h || state.c.shape() != want_c)
    throw Error("LSTMCell::step: the state has h " + state.h.shape_string() + " and c " +
                state.c.shape_string() + " but x's batch of " + std::to_string(B) + " needs h " +
                shape_string(want_h) + " and c " + shape_string(want_c) +
                ": start from zero_state(" + std::to_string(B) + ")");
  // slots 0 (the state before) and 1 (after) of h and c, as the sequence code lays them out
  std::vector<float> gates(size_t(B * 4 * H_)), c(size_t(2 * B * H_)), h(size_t(2 * B * P_));
  std::vector<float> u(size_t(P_ != H_ ? B * H_ : 0));
  std::copy(state.h.data(), state.h.data() + B * P_, h.begin());
  std::copy(state.c.data(), state.c.data() + B * H_, c.begin());
  LstmGeneralActivations act{gates.data(), c.data(), h.data(), u.empty() ? nullptr : u.data(),
                             nullptr};
  const LstmGeneralWeights w{tensor("weight_ih"), tensor("weight_hh"), tensor("bias"),
                             tensor("weight_peephole"), tensor("weight_hr")};
  lstm_general_forward({1, B, I_, H_, nullptr},
                       {P_, config_.activation, config_.recurrent_activation}, w, nullptr, x.data(),
                       act);
  return {Tensor({B, P_}, std::vector<float>(h.begin() + B * P_, h.end())),
          Tensor({B, H_}, std::vector<float>(c.begin() + B * H_, c.end()))};
}

LSTMCell::Trace LSTMCell::trace(const Tensor& x, const RecurrentState& start) const {
  if (x.rank() != 2 || x.dim(1) != I_ || x.dim(0) < 1)
    throw Error("LSTMCell::trace: x has shape " + x.shape_string() +
                " but the cell traces one sequence [steps, " + std::to_string(I_) + "]");
  const bool given = start.h.size() > 0 || start.c.size() > 0;
  const std::vector<int64_t> want_h = {1, P_}, want_c = {1, H_};
  if (given && (start.h.shape() != want_h || start.c.shape() != want_c))
    throw Error("LSTMCell::trace: the start state has h " + start.h.shape_string() + " and c " +
                start.c.shape_string() + " but one sequence needs h " + shape_string(want_h) +
                " and c " + shape_string(want_c));
  const int64_t T = x.dim(0);
  // slot 0 of h and c is the state before the first step (the sequence code's layout)
  std::vector<float> gates(size_t(T * 4 * H_)), c(size_t((T + 1) * H_)), h(size_t((T + 1) * P_));
  std::vector<float> u(size_t(P_ != H_ ? T * H_ : 0));
  if (given) {
    std::copy(start.h.data(), start.h.data() + P_, h.begin());
    std::copy(start.c.data(), start.c.data() + H_, c.begin());
  }
  LstmGeneralActivations act{gates.data(), c.data(), h.data(), u.empty() ? nullptr : u.data(),
                             nullptr};
  const LstmGeneralWeights w{tensor("weight_ih"), tensor("weight_hh"), tensor("bias"),
                             tensor("weight_peephole"), tensor("weight_hr")};
  lstm_general_forward({T, 1, I_, H_, nullptr},
                       {P_, config_.activation, config_.recurrent_activation}, w, nullptr, x.data(),
                       act);
  Trace out{Tensor({T, H_}),
            Tensor({T, H_}),
            Tensor({T, H_}),
            Tensor({T, H_}),
            Tensor({T, H_}, std::vector<float>(c.begin() + H_, c.end())),
            Tensor({T, P_}, std::vector<float>(h.begin() + P_, h.end()))};
  Tensor* gate[4] = {&out.i, &out.f, &out.g, &out.o};
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < 4; ++k)
      std::copy_n(gates.data() + (t * 4 + k) * H_, H_, gate[k]->data() + t * H_);
  return out;
}

std::vector<std::string> LSTMCell::weight_names() const {
  return names_;
}

Tensor LSTMCell::weight(const std::string& name) const {
  for (size_t k = 0; k < names_.size(); ++k) {
    if (names_[k] != name) continue;
    Tensor t(shapes_[k]);
    std::copy(params_.begin() + offsets_[k], params_.begin() + offsets_[k] + t.size(), t.data());
    return t;
  }
  std::string list;
  for (const std::string& n : names_) list += (list.empty() ? "" : ", ") + n;
  throw Error("LSTMCell: no weight named '" + name + "' (this cell has " + list + ")");
}

void LSTMCell::set_weight(const std::string& name, const Tensor& value) {
  const Tensor current = weight(name);  // throws for an unknown name
  if (value.shape() != current.shape())
    throw Error("LSTMCell::set_weight: " + name + " has shape " + current.shape_string() +
                ", not " + value.shape_string());
  const size_t k = size_t(std::find(names_.begin(), names_.end(), name) - names_.begin());
  std::copy(value.data(), value.data() + value.size(), params_.begin() + offsets_[k]);
}

}  // namespace lstm
