// lstm/layers/attention.h - dot-product attention (Luong; Keras's Attention), for graphs:
//
//   auto ctx = lstm::Attention()({dec_seq, enc_seq});            // query, value (= key)
//   auto ctx = lstm::Attention({.use_scale = true})({q, v, k});  // query, value, key
//
// For each sample, query Q (T_q, D), key K (T_v, D), value V (T_v, D_v):
//   scores = s · Q·Kᵀ   (T_q, T_v)   s = 1, or a learned scalar "scale" (initially 1) with use_scale
//   A = softmax over the keys, padded keys (the value's mask) left out
//   out = A·V           (T_q, D_v), zero at padded query steps; it carries the query's mask
#pragma once

#include "lstm/layers.h"

namespace lstm {

struct AttentionOptions {
  bool use_scale = false;
};
LayerConfig Attention(AttentionOptions options = {});

}  // namespace lstm
