// The working memory of a pass, planned in one place.
//
// Every float buffer a layer's forward or backward uses whose size depends on the batch (B and
// the steps T of its tensors) is declared in one function of that layer, Op::plan(), as
// ws.kept.take(n) or ws.grad.take(n):
//   kept - written by forward and read again by backward or by the model: activations, gates,
//          dropout masks, the tensors between layers;
//   grad - used by backward only: the tensors' gradients, the cells' dgates.
// The model runs every plan() twice for the largest shape it will run: once measuring (take()
// counts and returns null), once binding (take() hands out the same pieces of one allocation,
// in the same order). A size therefore can't be planned one way and used another. A smaller
// batch uses a prefix of each buffer (the layouts are time-major, T·B·F). fit() plans before its
// first batch, so no epoch allocates; predict() and evaluate() plan for their batch size.
//
// What is not here: the parameters and their gradients (the model's one buffer), weights packed
// for the kernels and the streaming state (one per layer, sized by its widths), the carried state
// of stateful layers, and index vectors of B or T entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/limits.h"
#include "lstm/error.h"

namespace lstm {

// One arena of a plan.
class Arena {
 public:
  static constexpr int64_t kAlign = 16;  // floats: every piece starts on a 64-byte boundary

  // n floats (n >= 0): null while measuring, or when this arena was not allocated (a plan
  // without backward leaves grad so).
  float* take(int64_t n) {
    if (n < 0 || n > limits::kPlanFloats - used_)
      throw Error("this batch shape needs over " + std::to_string(limits::kPlanFloats >> 38) +
                  " TiB of working memory: use smaller batches or shorter sequences");
    const int64_t at = used_;
    used_ += (n + kAlign - 1) / kAlign * kAlign;
    return base_ ? base_ + at : nullptr;
  }
  int64_t floats() const { return used_; }

 private:
  friend class WorkspaceStorage;
  float* base_ = nullptr;
  int64_t used_ = 0;
};

// What plan() takes from.
struct Workspace {
  Arena kept, grad;
};

// The allocation behind a plan, kept from plan to plan: it grows when a plan needs more and is
// otherwise reused in place, so planning the same shape again binds the same addresses (the
// model adds the grad arena after a forward without losing what forward kept).
class WorkspaceStorage {
 public:
  // declare(Workspace&) takes every buffer. Runs it to measure, sizes kept (and grad when
  // with_grad; else grad's pieces are null), then runs it again to bind.
  template <class Declare>
  void plan(Declare&& declare, bool with_grad) {
    Workspace measure;
    declare(measure);
    Workspace bind;
    bind.kept.base_ = reserve(kept_, measure.kept.floats());
    bind.grad.base_ = with_grad ? reserve(grad_, measure.grad.floats()) : nullptr;
    kept_floats_ = measure.kept.floats();
    grad_floats_ = with_grad ? measure.grad.floats() : 0;
    declare(bind);
  }
  // What the last plan used, in bytes.
  int64_t kept_bytes() const { return kept_floats_ * int64_t(sizeof(float)); }
  int64_t grad_bytes() const { return grad_floats_ * int64_t(sizeof(float)); }

 private:
  // The aligned start of v after growing it (zero-filled) to hold n floats.
  static float* reserve(std::vector<float>& v, int64_t n) {
    if (int64_t(v.size()) < n + Arena::kAlign) v.resize(size_t(n + Arena::kAlign));
    const auto addr = reinterpret_cast<uintptr_t>(v.data());
    const uintptr_t align = Arena::kAlign * sizeof(float);
    return v.data() + (align - addr % align) % align / sizeof(float);
  }
  std::vector<float> kept_, grad_;
  int64_t kept_floats_ = 0, grad_floats_ = 0;
};

}  // namespace lstm
