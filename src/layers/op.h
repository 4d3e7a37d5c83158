// A layer as a graph runs it: one call of a layer (an Op) over a batch, on any number of input
// tensors and output tensors, forward and backward side by side. Calls of one shared layer are
// several Ops bound to the same slice of the model's one parameter buffer.
//
// Dimensions: T = time steps, B = batch, F = features. Time-major: a sequence is (T, B, F), a
// vector per sample (B, F). Every tensor has its own T (a translator's source and target differ)
// and its own lengths (its mask), which the model sets before forward.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"
#include "layers/layer.h"
#include "layers/workspace.h"

namespace lstm {

class Recurrence;   // layers/recurrence.h
struct TokenInput;  // layers/token_input.h

// One tensor of one batch.
struct Value {
  float* data = nullptr;
  bool seq = false;  // (T, B, F), else (B, F)
  int64_t T = 1;     // steps (1 for vectors)
  int64_t F = 0;
  // The mask: valid steps per row (B), each 0..T (0: all padding, the output of the initial state), or null (every row runs all T steps).
  const int64_t* lengths = nullptr;
  // (T) rows with length > t when the lengths are non-increasing (the model sorted the batch's
  // rows by them), else null: a recurrent layer then orders the rows itself.
  const int64_t* active = nullptr;
  int64_t rows(int64_t B) const { return (seq ? T : 1) * B; }
  int64_t size(int64_t B) const { return rows(B) * F; }
};

// What one pass is about.
struct Pass {
  int64_t B = 1;
  bool training = false;  // dropout draws its masks from rng then
  Rng* rng = nullptr;
  // The Batch of the layers/ code for a tensor: its steps and mask.
  Batch batch(const Value& v) const {
    return Batch{v.seq ? v.T : 1, B, v.lengths, v.active, training, rng};
  }
};

class Op {
 public:
  virtual ~Op() = default;

  // The layer's tensors in file order; their sizes add up to param_count().
  virtual std::vector<ParamTensor> param_tensors() const { return {}; }
  int64_t param_count() const {
    int64_t n = 0;
    for (const ParamTensor& t : param_tensors()) n += t.size();
    return n;
  }
  virtual void bind(float* params, float* grads) { params_ = params, grads_ = grads; }
  virtual void init(Rng& rng) { (void)rng; }

  // The op's working memory for every pass up to this shape (layers/workspace.h): in and out
  // as forward sees them with T and F set and data null, pass.B the batch; `lengths` is not
  // null where a tensor may come with a mask and `active` where that mask then always comes
  // sorted (neither is to be read). Takes each buffer whose size depends on the shape from ws
  // and keeps the pointer; the model calls it before forward whenever the shape grows. An op
  // without such buffers takes nothing.
  virtual void plan(const Pass& pass, std::span<const Value> in, std::span<const Value> out, Workspace& ws) {
    (void)pass, (void)in, (void)out, (void)ws;
  }

  // in: the call's inputs (then its initial states); out: its outputs, with data, T and mask
  // set by the model (outputs' buffers are the op's to fill). Saves what backward needs.
  virtual void forward(const Pass& pass, std::span<const Value> in, std::span<const Value> out) = 0;
  // After forward on the same batch. dout[k]: ∂L/∂out[k], or null where no gradient flows
  // (zero). din[k]: receives ∂L/∂in[k] (written, not added), or null where none is needed.
  // Accumulates into the parameter gradients.
  virtual void backward(const Pass& pass, std::span<const Value> in, std::span<const Value> out,
                        std::span<const float* const> dout, std::span<float* const> din) = 0;

  // Token fusion (layers/token_input.h), which the graph sets up once, before plan: an
  // Embedding gives its table and ids (null for other ops); the op reading them takes them if
  // it can. Then, in each pass without a mask, the Embedding writes no vectors and the reader
  // leaves their gradient unwritten, adding into the table's gradient instead.
  virtual TokenInput* token_output() { return nullptr; }
  virtual bool read_tokens(TokenInput& tokens) { (void)tokens; return false; }

  // The parameters were written (optimizer step, set_weights, load).
  virtual void weights_changed() {}
  // Stateful layers: forget the state carried from batch to batch.
  virtual void reset_carried_state() {}
  // A recurrent op's directions (one; Bidirectional's forward then backward), whose carried
  // states a stateful model saves in checkpoints; none for other ops.
  virtual std::vector<Recurrence*> directions() const { return {}; }

  // Streaming (Model::step): one time step of one sequence per call. by_forward: forward on
  // that one step (T = 1, B = 1) is the step, nothing is kept between steps (merges, layer
  // normalisation); own: step() runs it and keeps the op's state until reset_state() (the
  // recurrent layers, and the layers/ code's own step paths); none: the op needs whole
  // sequences (Bidirectional, go_backwards, attention), repeats a vector over time, or is a
  // recurrent call given its initial states.
  enum class Stepping { none, by_forward, own };
  virtual Stepping stepping() const { return Stepping::none; }
  // in[k], out[k]: one step's features of input / output k. After the first call after a
  // reset, allocates nothing.
  virtual void step(std::span<const float* const> in, std::span<float* const> out) { (void)in, (void)out; }
  virtual void reset_state() {}

 protected:
  float* params_ = nullptr;
  float* grads_ = nullptr;
};

}  // namespace lstm
