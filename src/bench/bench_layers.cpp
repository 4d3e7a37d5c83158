// `lstm bench` for a variant (bench.h): the recurrent layers as a model runs them, so that one
// direction, both directions and padded batches are timed by the same code on the same shape.
// T = time steps, B = batch, I = input, H = hidden units, L = layers.
#include <algorithm>
#include <memory>

#include "bench/bench.h"
#include "core/rng.h"
#include "core/threads.h"
#include "layers/op.h"
#include "layers/recurrent.h"
#include "layers/seq_dims.h"
#include "lstm/error.h"

namespace lstm {

BenchResult run_layer_bench(const BenchShape& s, int threads, double seconds, int windows) {
  static const char* kVariants[] = {"lstm",         "gru",       "simple_rnn", "bidirectional",
                                    "padded",       "full_lengths", "peepholes", "projection"};
  if (std::find_if(std::begin(kVariants), std::end(kVariants),
                   [&](const char* v) { return s.variant == v; }) == std::end(kVariants))
    throw Error("bench variant '" + s.variant + "' is not one of lstm, gru, simple_rnn, "
                "bidirectional, padded, full_lengths, peepholes, projection");
  const bool stream = s.mode == "stream";  // step() calls, one sequence, state carried
  if (stream && (s.variant == "bidirectional" || s.variant == "padded" || s.variant == "full_lengths"))
    throw Error("bench variant '" + s.variant + "' needs whole sequences: use train or infer, or "
                "stream lstm, gru, simple_rnn, peepholes or projection");
  if (stream && s.B != 1) throw Error("bench --mode stream steps one sequence: give B = 1");
  set_num_threads(threads);
  const bool train = s.mode == "train";
  const int64_t T = s.T, B = s.B;
  LayerConfig config = LSTM(int(s.H), {.return_sequences = true});
  if (s.variant == "gru") config = GRU(int(s.H), {.return_sequences = true});
  if (s.variant == "simple_rnn") config = SimpleRNN(int(s.H), {.return_sequences = true});
  // the cell's gates, for its arithmetic: 2·gates·(I + H) per unit and step, forward
  const double gates = s.variant == "gru" ? 3.0 : s.variant == "simple_rnn" ? 1.0 : 4.0;
  if (s.variant == "bidirectional") config = Bidirectional(config);
  // the general LSTM (layers/lstm_general.h): peepholes, or a projection to H/2
  if (s.variant == "peepholes") config.use_peepholes = true;
  if (s.variant == "projection") config.proj_size = int(std::max<int64_t>(1, s.H / 2));
  // The model's Batch: for padded variants, lengths sorted longest first as Sequential does.
  Rng rng(1);
  std::vector<int64_t> lengths, active;
  if (s.variant == "padded" || s.variant == "full_lengths") {
    for (int64_t b = 0; b < B; ++b)
      lengths.push_back(s.variant == "padded" ? 1 + int64_t(rng.below(uint32_t(T))) : T);
    std::sort(lengths.begin(), lengths.end(), std::greater<>());
    active = rows_running(lengths, T);
  }
  Batch batch{T, B, lengths.empty() ? nullptr : lengths.data(),
              active.empty() ? nullptr : active.data(), train, &rng};
  // The stack, its one parameter buffer, activations and gradients, allocated up front.
  const Pass pass{B, train, &rng};
  std::vector<std::unique_ptr<Op>> layers;
  std::vector<int64_t> widths;  // each layer's output features
  int64_t in = s.I, count = 0;
  for (int64_t l = 0; l < s.L; ++l) {
    layers.push_back(make_recurrent_op(config, in, false));
    count += layers.back()->param_count();
    const int64_t h = recurrent_width(config);
    in = s.variant == "bidirectional" ? 2 * h : h;
    widths.push_back(in);
  }
  std::vector<float> params(static_cast<size_t>(count)), grads(static_cast<size_t>(count));
  int64_t offset = 0;
  for (auto& layer : layers) {
    layer->bind(params.data() + offset, grads.data() + offset);
    layer->init(rng);
    offset += layer->param_count();
  }
  std::vector<float> x(size_t(T * B * s.I));
  for (float& v : x) v = rng.uniform(-1, 1);
  std::vector<std::vector<float>> outs, grad_outs;
  for (int64_t w : widths) {
    outs.emplace_back(size_t(T * B * w));
    grad_outs.emplace_back(size_t(T * B * w));
  }
  for (float& v : grad_outs.back()) v = rng.uniform(-0.01f, 0.01f);
  // the op's inputs carry the batch's mask; its outputs' buffers are its own to fill
  auto value = [&](float* data, int64_t F) { return Value{data, true, T, F, batch.lengths, batch.active}; };
  auto output = [&](float* data, int64_t F) { return Value{data, true, T, F, nullptr, nullptr}; };
  // every layer's working memory, planned once for this shape (layers/workspace.h)
  WorkspaceStorage memory;
  memory.plan([&](Workspace& ws) {
    for (size_t l = 0; l < layers.size(); ++l) {
      const Value in_v[] = {value(nullptr, l == 0 ? s.I : widths[l - 1])};
      const Value out_v[] = {output(nullptr, widths[l])};
      layers[l]->plan(pass, in_v, out_v, ws);
    }
  }, train);
  auto call = [&] {
    for (size_t l = 0; l < layers.size(); ++l) {
      if (train) layers[l]->weights_changed();  // training repacks after every update: timed
      const Value in_v[] = {value(l == 0 ? x.data() : outs[l - 1].data(), l == 0 ? s.I : widths[l - 1])};
      const Value out_v[] = {output(outs[l].data(), widths[l])};
      layers[l]->forward(pass, in_v, out_v);
    }
    if (!train) return;
    for (size_t l = layers.size(); l-- > 0;) {
      const Value in_v[] = {value(l == 0 ? x.data() : outs[l - 1].data(), l == 0 ? s.I : widths[l - 1])};
      const Value out_v[] = {output(outs[l].data(), widths[l])};
      const float* dout[] = {grad_outs[l].data()};
      float* din[] = {l == 0 ? nullptr : grad_outs[l - 1].data()};
      layers[l]->backward(pass, in_v, out_v, dout, din);
    }
  };
  // streaming: one time step through every layer's step() (Op::Stepping::own)
  std::vector<float> y(size_t(widths.back()));
  auto step = [&] {
    const float* from = x.data();
    for (size_t l = 0; l < layers.size(); ++l) {
      float* to = l + 1 < layers.size() ? outs[l].data() : y.data();
      const float* step_in[] = {from};
      float* const step_out[] = {to};
      layers[l]->step(step_in, step_out);
      from = to;
    }
  };
  if (stream) {
    const double steps = bench_rate(step, seconds, windows);
    BenchResult r;
    r.shape = s;
    r.threads = threads;
    r.throughput = steps;
    r.unit = "steps/s";
    r.ns_per_step = 1e9 / steps;
    double flops = 0;
    for (int64_t l = 0; l < s.L; ++l)
      flops += 2.0 * gates * double(s.H) * double((l == 0 ? s.I : widths[size_t(l - 1)]) + s.H);
    r.gflops = flops * steps / 1e9;
    return r;
  }
  const double calls = bench_rate(call, seconds, windows);
  BenchResult r;
  r.shape = s;
  r.threads = threads;
  r.throughput = calls * double(B);
  r.unit = "seq/s";
  r.ns_per_step = 1e9 / calls / double(T);
  double flops = 0;  // of one direction over all T steps, as the standard suite counts
  for (int64_t l = 0; l < s.L; ++l)
    flops += 2.0 * gates * double(B * T * s.H) * double((l == 0 ? s.I : widths[size_t(l - 1)]) + s.H);
  r.gflops = flops * (train ? 3.0 : 1.0) * calls / 1e9;
  return r;
}

}  // namespace lstm
