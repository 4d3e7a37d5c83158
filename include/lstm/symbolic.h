// lstm/symbolic.h - the tensors of a graph being described (Keras's KerasTensor).
//
//   auto x = lstm::Input({lstm::kAnyLength, 32}, {.name = "source"});   // [N, T, 32]
//   auto y = lstm::Dense(8)(x);                                         // [N, T, 8]
//
// A SymbolicTensor holds no data: it says which layer call made it and one sample's shape,
// without the batch axis: {T, F} for sequences (T = kAnyLength: any length), {F} for vectors,
// {T} for token ids. lstm::Model (lstm/functional.h) turns the calls into a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace lstm {

inline constexpr int64_t kAnyLength = 0;

struct GraphNode;  // internal: src/graph/graph.h

class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  SymbolicTensor(std::shared_ptr<GraphNode> node, int index) : node_(std::move(node)), index_(index) {}

  bool defined() const { return node_ != nullptr; }
  // One sample's shape: {T, F}, {F} or {T} (token ids); T = 0 for any length.
  std::vector<int64_t> shape() const;
  // "<layer name>" for a layer's first output, "<layer name>:<k>" for its others, with
  // "@<n>" after the layer name for the n-th call of a shared layer once it is in a Model
  // ("proj@2:1"); an Input's own name.
  std::string name() const;
  // Whether the tensor carries a mask (right-padded sequences with per-sample lengths).
  bool masked() const;

  const std::shared_ptr<GraphNode>& node() const { return node_; }
  int index() const { return index_; }

 private:
  std::shared_ptr<GraphNode> node_;
  int index_ = 0;
};

struct InputOptions {
  std::string name;        // unique in the model; empty: "input", "input_1", ...
  int64_t batch_size = 0;  // a fixed batch size (stateful layers need one); 0: any
  // Right-padded sequences whose per-sample lengths the caller gives (FitOptions::lengths,
  // Model::predict(x, lengths)), PyTorch's packed sequences: the input's mask, as a padding
  // that Embedding(mask_zero) or Masking finds is. Sequences and token ids only.
  bool lengths = false;
};

// A model input: one sample's shape {T, F} (sequences; T = kAnyLength for any length), {F}
// (vectors), {T} (token ids, for an Embedding), {H, W, C} (an image, channels last) or
// {T, H, W, C} (a clip of T frames; T = kAnyLength for any length). Image data comes to fit,
// predict and evaluate as [N, H, W, C] / [N, T, H, W, C] - or with each image's values joined,
// [N, H·W·C] / [N, T, H·W·C], the same memory - and image outputs come back that way too.
SymbolicTensor Input(std::vector<int64_t> shape, InputOptions options = {});

// What a recurrent layer's call returns: its output and, with return_state, its final states
// (Keras's list [output, h, c]; a Bidirectional layer's [output, h_fwd, c_fwd, h_bwd, c_bwd]).
// Bind them with  auto [seq, h, c] = lstm::LSTM(64, {.return_state = true})(x);  or use the
// result as one tensor when the layer returns only its output.
template <size_t N>
class LayerOutputs {
 public:
  explicit LayerOutputs(std::vector<SymbolicTensor> tensors) : tensors_(std::move(tensors)) {}
  operator SymbolicTensor() const { return single(); }  // NOLINT: the one-output case
  const std::vector<SymbolicTensor>& tensors() const { return tensors_; }
  size_t size() const { return tensors_.size(); }
  template <size_t I>
  SymbolicTensor get() const {
    static_assert(I < N);
    return at(I);
  }
  SymbolicTensor at(size_t k) const;  // throws lstm::Error when k is out of range
  std::vector<int64_t> shape() const { return single().shape(); }

 private:
  SymbolicTensor single() const;  // throws lstm::Error unless there is exactly one
  std::vector<SymbolicTensor> tensors_;
};

// (Out of line so that the messages live in one place: src/graph/graph.cpp.)
SymbolicTensor layer_outputs_at(const std::vector<SymbolicTensor>& tensors, size_t k);
SymbolicTensor layer_outputs_single(const std::vector<SymbolicTensor>& tensors);
template <size_t N>
SymbolicTensor LayerOutputs<N>::at(size_t k) const { return layer_outputs_at(tensors_, k); }
template <size_t N>
SymbolicTensor LayerOutputs<N>::single() const { return layer_outputs_single(tensors_); }

}  // namespace lstm

template <size_t N>
struct std::tuple_size<lstm::LayerOutputs<N>> : std::integral_constant<size_t, N> {};
template <size_t I, size_t N>
struct std::tuple_element<I, lstm::LayerOutputs<N>> {
  using type = lstm::SymbolicTensor;
};
