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
#include <string>
#include <vector>

namespace lstm {

struct BenchShape {
  std::string name;  // the suite's row name, or "custom"
  int64_t I, H, L, B, T;
  std::string mode;  // train, infer, stream
};

struct BenchResult {
  BenchShape shape;
  int threads;
  double throughput;   // seq/s, or steps/s for stream
  std::string unit;    // "seq/s" or "steps/s"
  double ns_per_step;  // wall time of one call divided by its time steps
  double gflops;       // 8·B·T·H·(I+H) per layer forward, ×3 for train
};

BenchResult run_bench(const BenchShape& shape, int threads, double seconds, int windows = 5);
std::vector<BenchShape> read_suite(const std::string& path);  // the suite.tsv format
std::string bench_json(const BenchResult& r);

}  // namespace lstm
