// The encoder-decoder network of include/lstm/seq2seq.h, built from the public layers as a
// user's program would build it.
#include <cmath>
#include <string>

#include "core/rng.h"

#include "core/limits.h"
#include "lstm/error.h"
#include "lstm/seq2seq.h"
#include "seq2seq/encoder_graph.h"

namespace lstm {

const char* attention_kind_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::none: return "none";
    case AttentionKind::dot: return "dot";
    case AttentionKind::general: return "general";
    case AttentionKind::additive: return "additive";
  }
  return "none";
}

AttentionKind attention_kind_from_name(const std::string& name) {
  for (AttentionKind k : {AttentionKind::none, AttentionKind::dot, AttentionKind::general, AttentionKind::additive})
    if (name == attention_kind_name(k)) return k;
  throw Error("unknown attention '" + name +
              "': use none, dot (Luong), general (Luong, the default) or additive (Bahdanau)");
}

namespace {

LayerConfig named(LayerConfig layer, const std::string& name) {
  layer.name = name;
  return layer;
}

void check_architecture(const Seq2seqArchitecture& a) {
  auto range = [](const char* field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw Error(std::string("seq2seq: ") + field + " must be in " + std::to_string(lo) + ".." +
                  std::to_string(hi) + ", got " + std::to_string(v));
  };
  range("source_vocabulary", a.source_vocabulary, 2, limits::kWidth);
  range("target_vocabulary", a.target_vocabulary, 2, limits::kWidth);
  range("embedding", a.embedding, 1, limits::kWidth);
  range("units", a.units, a.bidirectional ? 2 : 1, limits::kWidth);
  range("layers", a.layers, 1, 16);
  if (a.bidirectional && a.units % 2 != 0)
    throw Error("seq2seq: a bidirectional encoder splits units between its two directions, so "
                "units must be even, got " + std::to_string(a.units));
  if (!(a.dropout >= 0.0f && a.dropout < 1.0f))
    throw Error("seq2seq: dropout must be in [0, 1), got " + std::to_string(a.dropout));
}

}  // namespace

// The encoder: the source's embedding, dropout and LSTM layers; its output sequence and each
// layer's final (h, c).
Seq2seqEncoderGraph seq2seq_encoder_graph(const Seq2seqArchitecture& a) {
  check_architecture(a);
  const int H = a.units;
  Seq2seqEncoderGraph g;
  g.source = Input({kAnyLength}, {.name = "source"});
  SymbolicTensor x = named(Embedding(a.source_vocabulary, a.embedding, {.mask_zero = true}), "source_embedding")(g.source);
  if (a.dropout > 0.0f) x = named(Dropout(a.dropout), "source_dropout")(x);
  for (int k = 1; k <= a.layers; ++k) {
    const std::string name = "encoder_" + std::to_string(k);
    const LSTMOptions o{.return_sequences = true, .return_state = true};
    if (!a.bidirectional) {
      RecurrentLayerConfig<3> lstm = LSTM(H, o);
      lstm.name = name;
      auto [seq, h, c] = lstm(x);
      g.states.push_back({h, c});
      x = seq;
      continue;
    }
    RecurrentLayerConfig<5> both = Bidirectional(LSTM(H / 2, o));
    both.name = name;
    auto [seq, h_fwd, c_fwd, h_bwd, c_bwd] = both(x);
    g.states.push_back({named(Concatenate(), name + "_h")({h_fwd, h_bwd}),
                        named(Concatenate(), name + "_c")({c_fwd, c_bwd})});
    x = seq;
  }
  g.sequence = x;
  return g;
}

void init_seq2seq_like_pytorch(Model& model, uint64_t seed) {
  std::vector<float> w = model.get_weights();
  Rng rng(seed ^ 0x70797430726368ULL);  // "pyt0rch": a stream of its own, apart from the layers'
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  float dense_bound = 0.0f;  // the last Dense weight's, for its bias (which follows it)
  for (const NamedWeight& t : model.weights()) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    float* at = w.data() + t.offset;
    const std::string layer = t.name.substr(0, t.name.find('.'));
    if (ends_with(layer, "embedding")) {
      for (int64_t k = 0; k < n; ++k) at[k] = float(rng.normal());
    } else if (layer.rfind("encoder_", 0) == 0 || layer.rfind("decoder_", 0) == 0) {
      // weight_ih (4h, in), weight_hh (4h, h), bias (4h): h units in this direction
      const float bound = 1.0f / std::sqrt(float(t.shape[0] / 4));
      const bool bias = ends_with(t.name, ".bias");
      for (int64_t k = 0; k < n; ++k) at[k] = rng.uniform(-bound, bound) + (bias ? rng.uniform(-bound, bound) : 0.0f);
    } else if (t.name == "attention.scale") {
      const float bound = 1.0f / std::sqrt(float(n));
      for (int64_t k = 0; k < n; ++k) at[k] = rng.uniform(-bound, bound);
    } else if (ends_with(t.name, ".weight")) {  // Dense (out, in)
      dense_bound = 1.0f / std::sqrt(float(t.shape[1]));
      for (int64_t k = 0; k < n; ++k) at[k] = rng.uniform(-dense_bound, dense_bound);
    } else if (ends_with(t.name, ".bias")) {
      for (int64_t k = 0; k < n; ++k) at[k] = rng.uniform(-dense_bound, dense_bound);
    } else {
      throw Error("init_seq2seq_like_pytorch: the model holds '" + t.name +
                  "', which seq2seq_model does not make: initialise it yourself");
    }
  }
  model.set_weights(w);
}

Model seq2seq_model(const Seq2seqArchitecture& a, uint64_t seed) {
  const Seq2seqEncoderGraph encoder = seq2seq_encoder_graph(a);
  const int H = a.units;
  auto dropout = [&](SymbolicTensor x, const char* name) {
    return a.dropout > 0.0f ? named(Dropout(a.dropout), name)(x) : x;
  };
  const SymbolicTensor enc = encoder.sequence;
  const std::vector<std::vector<SymbolicTensor>>& states = encoder.states;

  // decoder, teacher-forced: layer k starts from encoder layer k's final states
  SymbolicTensor target_in = Input({kAnyLength}, {.name = "target_in"});
  SymbolicTensor y = named(Embedding(a.target_vocabulary, a.embedding, {.mask_zero = true}), "target_embedding")(target_in);
  y = dropout(y, "target_dropout");
  for (int k = 1; k <= a.layers; ++k) {
    RecurrentLayerConfig<3> lstm = LSTM(H, {.return_sequences = true});
    lstm.name = "decoder_" + std::to_string(k);
    y = lstm(y, states[size_t(k - 1)]);
  }

  SymbolicTensor out = y;
  if (a.attention != AttentionKind::none) {
    SymbolicTensor ctx;
    if (a.attention == AttentionKind::dot) {
      ctx = named(Attention(), "attention")({y, enc});
    } else if (a.attention == AttentionKind::general) {
      const SymbolicTensor keys = named(Dense(H, {.use_bias = false}), "attention_key")(enc);
      ctx = named(Attention(), "attention")({y, enc, keys});
    } else {
      const SymbolicTensor query = named(Dense(H, {.use_bias = false}), "attention_query")(y);
      const SymbolicTensor keys = named(Dense(H, {.use_bias = false}), "attention_key")(enc);
      ctx = named(AdditiveAttention(), "attention")({query, enc, keys});
    }
    out = named(Dense(H, {.activation = Activation::tanh}), "attentional")(named(Concatenate(), "context_and_state")({ctx, y}));
  }
  out = dropout(out, "output_dropout");
  out = named(Dense(int(a.target_vocabulary)), "output")(out);  // logits
  return Model({encoder.source, target_in}, out, {.name = "seq2seq", .seed = seed});
}

}  // namespace lstm
