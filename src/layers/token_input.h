// Token input: an Embedding fused into the input projection of the recurrent layer it feeds.
//
// An LSTM's input projection on embedded tokens is  a_r = E[id_r]·W_ihᵀ + b  for each of the
// T·B rows r. With a vocabulary smaller than the rows (a character model: V = 87 against 3,200),
// the same products come from a table made once per pass,
//   P = E·W_ihᵀ + b   (V, 4H)          forward:  a_r = P[id_r]   (a row copy)
// and backward sums the gradient by token before any product,
//   dP[v] = Σ_{r : id_r = v} da_r       dW_ih += dPᵀ·E,  db += Σ_v dP[v],  dE += dP·W_ih
// which replaces three (T·B)×D×4H products (forward, dW_ih, dx) by three V×D×4H ones. It is the
// same sum in another order (the parity tests hold it to PyTorch's), and what one-hot inputs do
// to W_ih anyway.
//
// The graph makes the pair (graph/model.cpp, fuse_token_inputs): an Embedding without
// mask_zero whose output only the first input of one op reads, when that op's read_tokens()
// accepts it. In each pass without a mask the Embedding then writes no vectors and leaves its
// gradient to the reader.
#pragma once

#include <cstdint>

namespace lstm {

struct TokenInput {
  const float* table = nullptr;  // (V, D) the Embedding's weights
  float* table_grad = nullptr;   // (V, D) its gradient, accumulated into by the reader
  int64_t V = 0, D = 0;
  // (T·B) this pass's ids, time-major, set by the Embedding's forward; null in a pass with a
  // mask, which runs unfused (the Embedding writes its vectors and the reader reads them)
  const float* ids = nullptr;
  bool taken = false;  // a reader took them (the graph sets it)
};

}  // namespace lstm
