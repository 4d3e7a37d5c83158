// lstm/layers/attention.h - attention (Keras's Attention and AdditiveAttention), for graphs:
//
//   auto ctx = lstm::Attention()({dec_seq, enc_seq});            // query, value (= key)
//   auto ctx = lstm::Attention({.use_scale = true})({q, v, k});  // query, value, key
//
// For each sample, query Q (T_q, D), key K (T_v, D), value V (T_v, D_v):
//   scores = s · Q·Kᵀ   (T_q, T_v)   s = 1, or a learned scalar "scale" (initially 1) with use_scale
//   A = softmax over the keys, padded keys (the value's mask) left out
//   out = A·V           (T_q, D_v), zero at padded query steps; it carries the query's mask
// AdditiveAttention (Bahdanau) scores each query step against each key step instead as
//   scores[i, j] = Σ_d s_d · tanh(Q[i, d] + K[j, d])
// with s a learned vector "scale" (D, Keras's glorot_uniform) with use_scale (its default),
// else all ones; the rest is the same.
#pragma once

#include "lstm/layers.h"

namespace lstm {

struct AttentionOptions {
  bool use_scale = false;
};
LayerConfig Attention(AttentionOptions options = {});

struct AdditiveAttentionOptions {
  bool use_scale = true;
};
LayerConfig AdditiveAttention(AdditiveAttentionOptions options = {});

}  // namespace lstm
