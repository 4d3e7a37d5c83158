// Greedy and beam-search decoding of a seq2seq_model (include/lstm/seq2seq.h).
//
// Dimensions: N = sources in the batch, Ts = their longest length, R = rows (live hypotheses,
// at most N·beam), E = embedding, H = units, L = layers, V = target vocabulary.
// One step, for every row r (source n(r), last token y_r):
//   x = target_embedding[y_r]                                     (R, E)
//   h_l, c_l = LSTM cell of layer l (x, then h_{l-1}; h_l, c_l of the row's hypothesis)
//   s_j = score(h_L, enc[n, j]) for j < Ls[n];  a = softmax(s);  ctx = Σ_j a_j enc[n, j]
//   out = tanh(W_att·[ctx, h_L] + b_att)   (h_L without attention)
//   log p = log_softmax(W_out·out + b_out)                        (R, V)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "kernels/lstm_step.h"
#include "layers/dense.h"
#include "lstm/error.h"
#include "lstm/seq2seq.h"
#include "seq2seq/encoder_graph.h"

namespace lstm {

namespace {

// One hypothesis of one source: its tokens so far, log P, the row holding its state.
struct Hypothesis {
  std::vector<int64_t> ids;
  double log_probability = 0.0;
  std::vector<float> attention;  // (ids.size(), Ls) when kept
  int64_t row = 0;
};

double length_normalised(double log_probability, size_t length, float alpha) {
  return alpha == 0.0f ? log_probability : log_probability / std::pow(double(length), double(alpha));
}

}  // namespace

struct Seq2seqDecoder::Impl {
  Seq2seqArchitecture a;
  int64_t start = 0, end = 0, H = 0, E = 0, V = 0, L = 0;
  Model encoder;
  std::vector<float> weights;  // the whole model's, views below point into it
  const float* embedding = nullptr;  // (V, E)
  std::vector<std::vector<float>> packed;  // per layer: W_ih and W_hh in the step kernel's layout
  std::vector<const float*> bias;          // per layer (4H)
  const float *key_w = nullptr, *query_w = nullptr, *scale = nullptr;  // (H, H), (H, H), (H)
  const float *att_w = nullptr, *att_b = nullptr, *out_w = nullptr, *out_b = nullptr;

  // the batch: sized once per decode()
  int64_t N = 0, Ts = 0, R = 0;
  std::vector<float> enc, keys;     // (N, Ts, H)
  std::vector<int64_t> source_len;  // (N)
  std::vector<std::vector<float>> h, c, h_next, c_next;  // per layer (R, H)
  std::vector<float> x, query, scores, joined, attended, logp;  // (R, E), (R, H), (R, Ts), (R, 2H), (R, H), (R, V)
  std::vector<int64_t> row_source, row_token, parent, next_source;  // (R) each

  Impl(const Model& model, const Seq2seqArchitecture& arch, int64_t start_id, int64_t end_id)
      : a(arch), start(start_id), end(end_id), H(arch.units), E(arch.embedding), V(arch.target_vocabulary),
        L(arch.layers), encoder(make_encoder(arch)) {
    for (int64_t id : {start_id, end_id})
      if (id < 1 || id >= V)
        throw Error("Seq2seqDecoder: start and end ids must be target ids in 1.." + std::to_string(V - 1) +
                    ", got " + std::to_string(id));
    weights = model.get_weights();
    std::map<std::string, NamedWeight> named;
    for (const NamedWeight& w : model.weights()) named[w.name] = w;
    auto tensor = [&](const std::string& name, std::vector<int64_t> shape) -> const float* {
      auto it = named.find(name);
      auto str = [](const std::vector<int64_t>& s) {
        std::string out = "[";
        for (size_t k = 0; k < s.size(); ++k) out += (k ? ", " : "") + std::to_string(s[k]);
        return out + "]";
      };
      if (it == named.end())
        throw Error("Seq2seqDecoder: the model has no tensor '" + name + "': decode a network of "
                    "lstm::seq2seq_model with the architecture it was built with");
      if (it->second.shape != shape)
        throw Error("Seq2seqDecoder: the model's '" + name + "' is " + str(it->second.shape) + ", but the "
                    "architecture makes it " + str(shape) + ": give the architecture the model was built with");
      return weights.data() + it->second.offset;
    };
    // the encoder's weights, by name
    std::vector<float> ew = encoder.get_weights();
    for (const NamedWeight& w : encoder.weights()) {
      const float* from = tensor(w.name, w.shape);
      int64_t n = 1;
      for (int64_t d : w.shape) n *= d;
      std::copy(from, from + n, ew.begin() + w.offset);
    }
    encoder.set_weights(ew);
    embedding = tensor("target_embedding.weight", {V, E});
    for (int64_t l = 0; l < L; ++l) {
      const std::string name = "decoder_" + std::to_string(l + 1);
      const int64_t I = l == 0 ? E : H;
      const float* w_ih = tensor(name + ".weight_ih", {4 * H, I});
      const float* w_hh = tensor(name + ".weight_hh", {4 * H, H});
      packed.emplace_back(size_t(lstm_packed_forward_size(I, H)));
      lstm_pack_forward(w_ih, I, w_hh, H, packed.back().data());
      bias.push_back(tensor(name + ".bias", {4 * H}));
    }
    if (a.attention == AttentionKind::general || a.attention == AttentionKind::additive)
      key_w = tensor("attention_key.weight", {H, H});
    if (a.attention == AttentionKind::additive) {
      query_w = tensor("attention_query.weight", {H, H});
      scale = tensor("attention.scale", {H});
    }
    if (a.attention != AttentionKind::none) {
      att_w = tensor("attentional.weight", {H, 2 * H});
      att_b = tensor("attentional.bias", {H});
    }
    out_w = tensor("output.weight", {V, H});
    out_b = tensor("output.bias", {V});
  }

  static Model make_encoder(const Seq2seqArchitecture& arch) {
    const Seq2seqEncoderGraph g = seq2seq_encoder_graph(arch);
    std::vector<SymbolicTensor> outputs = {g.sequence};
    for (const std::vector<SymbolicTensor>& hc : g.states) outputs.insert(outputs.end(), hc.begin(), hc.end());
    return Model({g.source}, outputs, {.name = "seq2seq_encoder"});
  }

  // Encodes the sources and makes room for `rows_max` rows; row n starts as source n.
  void encode(std::span<const std::vector<int64_t>> sources, int64_t rows_max) {
    N = int64_t(sources.size()), Ts = 1;
    for (size_t n = 0; n < sources.size(); ++n) {
      const std::vector<int64_t>& s = sources[n];
      if (s.empty()) throw Error("decode: source " + std::to_string(n + 1) + " is empty: give at least one token");
      for (int64_t id : s)
        if (id < 1 || id >= a.source_vocabulary)
          throw Error("decode: source " + std::to_string(n + 1) + " holds id " + std::to_string(id) +
                      ", outside the source vocabulary's 1.." + std::to_string(a.source_vocabulary - 1));
      Ts = std::max(Ts, int64_t(s.size()));
    }
    Tensor ids({N, Ts});
    source_len.assign(size_t(N), 0);
    for (int64_t n = 0; n < N; ++n) {
      source_len[size_t(n)] = int64_t(sources[size_t(n)].size());
      for (int64_t t = 0; t < source_len[size_t(n)]; ++t) ids[n * Ts + t] = float(sources[size_t(n)][size_t(t)]);
    }
    const std::vector<Tensor> out = encoder.predict(ids, int(N));
    enc.assign(out[0].data(), out[0].data() + out[0].size());
    if (key_w) {  // Wk·enc, once per batch
      keys.assign(enc.size(), 0.0f);
      dense_forward(enc.data(), key_w, nullptr, keys.data(), N * Ts, H, H, Activation::linear);
    }
    const size_t rows = size_t(rows_max);
    h.assign(size_t(L), std::vector<float>(rows * size_t(H))), c = h, h_next = h, c_next = h;
    for (int64_t l = 0; l < L; ++l) {
      std::copy(out[size_t(1 + 2 * l)].data(), out[size_t(1 + 2 * l)].data() + N * H, h[size_t(l)].begin());
      std::copy(out[size_t(2 + 2 * l)].data(), out[size_t(2 + 2 * l)].data() + N * H, c[size_t(l)].begin());
    }
    x.assign(rows * size_t(E), 0.0f);
    query.assign(rows * size_t(H), 0.0f);
    scores.assign(rows * size_t(Ts), 0.0f);
    joined.assign(rows * size_t(2 * H), 0.0f);
    attended.assign(rows * size_t(H), 0.0f);
    logp.assign(rows * size_t(V), 0.0f);
    row_source.assign(rows, 0), row_token.assign(rows, start), parent.assign(rows, 0), next_source.assign(rows, 0);
    R = N;
    for (int64_t r = 0; r < R; ++r) row_source[size_t(r)] = r;
  }

  // One step for rows 0..R-1: logp (R, V), scores (R, Ts) the attention weights; the states
  // after it in h_next, c_next.
  void step() {
    for (int64_t r = 0; r < R; ++r)
      std::memcpy(x.data() + r * E, embedding + row_token[size_t(r)] * E, sizeof(float) * size_t(E));
    const float* in = x.data();
    int64_t Kx = E;
    for (int64_t l = 0; l < L; ++l) {
      const LstmStepForward s{packed[size_t(l)].data(), Kx, H, R, in, Kx, h[size_t(l)].data(), bias[size_t(l)], 0,
                              c[size_t(l)].data(), nullptr, c_next[size_t(l)].data(), h_next[size_t(l)].data()};
      lstm_step_forward(s, 0, lstm_forward_blocks(H));
      in = h_next[size_t(l)].data(), Kx = H;
    }
    const float* top = in;  // (R, H)
    const float* head_in = top;
    if (a.attention != AttentionKind::none) {
      if (query_w) dense_forward(top, query_w, nullptr, query.data(), R, H, H, Activation::linear);
      for (int64_t r = 0; r < R; ++r) attend(r, top + r * H);
      dense_forward(joined.data(), att_w, att_b, attended.data(), R, 2 * H, H, Activation::tanh);
      head_in = attended.data();
    }
    dense_forward(head_in, out_w, out_b, logp.data(), R, H, V, Activation::linear);
    for (int64_t r = 0; r < R; ++r) {  // log-softmax
      float* z = logp.data() + r * V;
      const float top_z = *std::max_element(z, z + V);
      double sum = 0.0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[v]) - top_z);
      const float lse = top_z + float(std::log(sum));
      for (int64_t v = 0; v < V; ++v) z[v] -= lse;
    }
  }

  // Row r's attention over its source: weights into scores, [ctx, h_L] into joined.
  void attend(int64_t r, const float* q) {
    const int64_t n = row_source[size_t(r)], Ls = source_len[size_t(n)];
    const float* values = enc.data() + n * Ts * H;
    const float* k = key_w ? keys.data() + n * Ts * H : values;
    float* s = scores.data() + r * Ts;
    for (int64_t j = 0; j < Ls; ++j) {
      const float* kj = k + j * H;
      float v = 0.0f;
      if (a.attention == AttentionKind::additive) {
        const float* qr = query.data() + r * H;
        for (int64_t d = 0; d < H; ++d) v += scale[d] * std::tanh(qr[d] + kj[d]);
      } else {
        for (int64_t d = 0; d < H; ++d) v += q[d] * kj[d];
      }
      s[j] = v;
    }
    const float top = *std::max_element(s, s + Ls);
    double sum = 0.0;
    for (int64_t j = 0; j < Ls; ++j) sum += s[j] = std::exp(s[j] - top);
    for (int64_t j = 0; j < Ls; ++j) s[j] = float(s[j] / sum);
    float* ctx = joined.data() + r * 2 * H;
    std::fill(ctx, ctx + H, 0.0f);
    for (int64_t j = 0; j < Ls; ++j)
      for (int64_t d = 0; d < H; ++d) ctx[d] += s[j] * values[j * H + d];
    std::memcpy(ctx + H, q, sizeof(float) * size_t(H));
  }

  // The next step's rows: row i continues the hypothesis of row parent[i] with token[i].
  void reorder(int64_t rows) {
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t p = parent[size_t(i)];
        std::memcpy(h[size_t(l)].data() + i * H, h_next[size_t(l)].data() + p * H, sizeof(float) * size_t(H));
        std::memcpy(c[size_t(l)].data() + i * H, c_next[size_t(l)].data() + p * H, sizeof(float) * size_t(H));
      }
    R = rows;
  }

  bool allowed(int64_t v) const { return v != 0 && v != start; }

  std::vector<Decoded> decode_batch(std::span<const std::vector<int64_t>> sources, const DecodeOptions& o) {
    const int64_t k = o.beam;
    encode(sources, int64_t(sources.size()) * k);
    const bool keep_attention = o.attention && a.attention != AttentionKind::none;
    std::vector<std::vector<Hypothesis>> live(static_cast<size_t>(N));
    std::vector<Decoded> result(static_cast<size_t>(N));
    std::vector<bool> have_finished(static_cast<size_t>(N), false);
    std::vector<int64_t> finished(static_cast<size_t>(N), 0);
    std::vector<int64_t> max_length(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      live[size_t(n)].push_back({{}, 0.0, {}, n});
      max_length[size_t(n)] = o.max_length > 0 ? o.max_length : 2 * source_len[size_t(n)] + 10;
    }
    struct Candidate {
      double log_probability;
      int64_t hypothesis, token;
    };
    std::vector<Candidate> candidates;
    for (int64_t t = 0; R > 0; ++t) {
      step();
      int64_t rows = 0;
      for (int64_t n = 0; n < N; ++n) {
        std::vector<Hypothesis>& hyps = live[size_t(n)];
        if (hyps.empty()) continue;
        const bool last = t >= max_length[size_t(n)];  // only the end token may follow
        candidates.clear();
        for (size_t i = 0; i < hyps.size(); ++i) {
          const float* lp = logp.data() + hyps[i].row * V;
          if (last) {
            candidates.push_back({hyps[i].log_probability + lp[end], int64_t(i), end});
            continue;
          }
          for (int64_t v = 0; v < V; ++v)
            if (allowed(v)) candidates.push_back({hyps[i].log_probability + lp[v], int64_t(i), v});
        }
        const size_t keep = std::min(candidates.size(), size_t(2 * k));
        std::partial_sort(candidates.begin(), candidates.begin() + long(keep), candidates.end(),
                          [](const Candidate& x, const Candidate& y) {
                            if (x.log_probability != y.log_probability) return x.log_probability > y.log_probability;
                            return x.hypothesis != y.hypothesis ? x.hypothesis < y.hypothesis : x.token < y.token;
                          });
        std::vector<Hypothesis> next;
        const int64_t Ls = source_len[size_t(n)];
        for (size_t ci = 0; ci < keep && int64_t(next.size()) < k; ++ci) {
          const Candidate& cand = candidates[ci];
          const Hypothesis& from = hyps[size_t(cand.hypothesis)];
          std::vector<float> attention;
          if (keep_attention) {
            attention = from.attention;
            const float* w = scores.data() + from.row * Ts;
            attention.insert(attention.end(), w, w + Ls);
          }
          if (cand.token == end) {
            if (int64_t(ci) >= k) continue;  // an end ranked below the beam is not taken (as fairseq)
            ++finished[size_t(n)];
            const double score = length_normalised(cand.log_probability, from.ids.size() + 1, o.length_penalty);
            if (!have_finished[size_t(n)] || score > result[size_t(n)].score) {
              result[size_t(n)] = {from.ids, cand.log_probability, score, std::move(attention)};
              have_finished[size_t(n)] = true;
            }
            continue;
          }
          Hypothesis h2{from.ids, cand.log_probability, std::move(attention), rows};
          h2.ids.push_back(cand.token);
          parent[size_t(rows)] = from.row, row_token[size_t(rows)] = cand.token;
          ++rows;
          next.push_back(std::move(h2));
        }
        // done: `beam` hypotheses ended, or none is live, or (without length normalisation)
        // none live is more likely than the best ended, which no continuation can change
        bool done = next.empty() || finished[size_t(n)] >= k;
        if (!done && have_finished[size_t(n)] && o.length_penalty == 0.0f) {
          done = true;
          for (const Hypothesis& hy : next)
            if (hy.log_probability > result[size_t(n)].log_probability) done = false;
        }
        if (done) {
          rows -= int64_t(next.size());  // their rows are the last ones taken
          next.clear();
        }
        hyps = std::move(next);
      }
      // row_source of the new rows, from their parents'
      for (int64_t i = 0; i < rows; ++i) next_source[size_t(i)] = row_source[size_t(parent[size_t(i)])];
      std::copy(next_source.begin(), next_source.begin() + rows, row_source.begin());
      reorder(rows);
    }
    return result;
  }
};

Seq2seqDecoder::Seq2seqDecoder(const Model& model, const Seq2seqArchitecture& a, int64_t start_id, int64_t end_id)
    : impl_(std::make_unique<Impl>(model, a, start_id, end_id)) {}
Seq2seqDecoder::~Seq2seqDecoder() = default;
Seq2seqDecoder::Seq2seqDecoder(Seq2seqDecoder&&) noexcept = default;
Seq2seqDecoder& Seq2seqDecoder::operator=(Seq2seqDecoder&&) noexcept = default;

std::vector<Decoded> Seq2seqDecoder::decode(std::span<const std::vector<int64_t>> sources, const DecodeOptions& o) {
  if (o.beam < 1 || o.beam > 1024) throw Error("decode: beam must be in 1..1024, got " + std::to_string(o.beam));
  if (o.batch_size < 1) throw Error("decode: batch_size must be positive, got " + std::to_string(o.batch_size));
  if (o.max_length < 0) throw Error("decode: max_length must be >= 0 (0: 2 × the source's tokens + 10)");
  if (!(o.length_penalty >= 0.0f && o.length_penalty <= 10.0f))
    throw Error("decode: length_penalty must be in [0, 10], got " + std::to_string(o.length_penalty));
  std::vector<Decoded> out;
  out.reserve(sources.size());
  for (size_t first = 0; first < sources.size(); first += size_t(o.batch_size)) {
    const size_t n = std::min(sources.size() - first, size_t(o.batch_size));
    std::vector<Decoded> part = impl_->decode_batch(sources.subspan(first, n), o);
    for (Decoded& d : part) out.push_back(std::move(d));
  }
  return out;
}

double Seq2seqDecoder::log_probability(const std::vector<int64_t>& source, const std::vector<int64_t>& target) {
  Impl& m = *impl_;
  m.encode(std::span<const std::vector<int64_t>>(&source, 1), 1);
  double total = 0.0;
  for (size_t t = 0; t <= target.size(); ++t) {
    const int64_t next = t < target.size() ? target[t] : m.end;
    if (next < 1 || next >= m.V)
      throw Error("log_probability: target id " + std::to_string(next) + " is outside 1.." + std::to_string(m.V - 1));
    m.step();
    total += m.logp[size_t(next)];
    m.parent[0] = 0, m.row_token[0] = next;
    m.reorder(1);
  }
  return total;
}

}  // namespace lstm
