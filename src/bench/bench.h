// The LSTM benchmark behind `lstm bench`: the project's own layer code on a shape of the
// standard suite (../shared/bench/suite.tsv), measured the way the anchors are.
//
//   train   forward with saved activations + backward producing input, state and weight
//           gradients, for every layer (no loss, head or optimizer: the oneDNN anchor's work)
//   infer   forward only
//   stream  T = 1 calls with h and c carried from call to call (B = 1 in the suite)
// Throughput: sequences per second (stream: steps per second); best of `windows` windows of
// `seconds` each after 3 warm-up calls.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lstm {

struct BenchShape {
  std::string name;  // the suite's row name, or "custom"
  int64_t I, H, L, B, T;
  std::string mode;  // train, infer, stream
  // "" : the LSTM kernels alone (the standard suite). Otherwise the whole layer as a model
  // runs it (layers/recurrent.cpp), every layer returning sequences:
  //   lstm, gru, simple_rnn   one direction, every row running all T steps
  //   bidirectional           Bidirectional(LSTM), concat
  //   padded                  LSTM, lengths drawn uniformly from 1..T (seeded; rows sorted)
  //   full_lengths            LSTM, lengths given and all equal to T (the cost of the machinery)
  std::string variant;
  // fp32, or bf16 / int8: infer and stream with the weights as bfloat16 or int8
  // (kernels/lstm_step_bf16.h, lstm_step_int8.h).
  std::string precision = "fp32";
};

struct BenchResult {
  BenchShape shape;
  int threads;
  double throughput;   // seq/s, or steps/s for stream
  std::string unit;    // "seq/s" or "steps/s"
  double ns_per_step;  // wall time of one call divided by its time steps
  double gflops;       // 8·B·T·H·(I+H) per layer forward, ×3 for train (GRU rows: 6·, SimpleRNN: 2·)
};

BenchResult run_bench(const BenchShape& shape, int threads, double seconds, int windows = 5);
// The suite.tsv format: name I H L B T mode, and an optional 8th column, the variant.
std::vector<BenchShape> read_suite(const std::string& path);
std::string bench_json(const BenchResult& r);

// Calls per second of f: best of `windows` windows of `seconds`, after 3 warm-up calls.
double bench_rate(const std::function<void()>& f, double seconds, int windows);
// run_bench for a shape with a variant (bench_layers.cpp).
BenchResult run_layer_bench(const BenchShape& shape, int threads, double seconds, int windows);

// The use-case rows (bench_fit.cpp): for each job's model (fit-forecaster, fit-adding,
// fit-sentiment, fit-charlm; `only` picks one), "-train": fit() over 8 batches in memory,
// sequences/s of whole training steps (gather, forward, loss, backward, clipping, the update);
// "-predict": predict() on one batch; "-lstm": the LSTM's work alone in the step, timed as
// run_bench's "train" (for the masked sentiment texts, the layer on lengths of the same mean).
// The shape's I is the input width (the vocabulary for token models), H the LSTM's units;
// variant "fit". The team is pinned to `threads`.
std::vector<BenchResult> run_fit_bench(const std::string& only, int threads, double seconds, int windows = 5);
std::vector<std::string> fit_bench_names();

}  // namespace lstm
