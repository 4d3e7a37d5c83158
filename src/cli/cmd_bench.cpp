// lstm bench: throughput of the project's LSTM on one shape or on the standard suite.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "bench/bench.h"
#include "cli/commands.h"
#include "core/threads.h"
#include "lstm/distributed.h"
#include "lstm/error.h"

namespace lstm::cli {

const Command kBench{
    "bench",
    "Measure LSTM throughput: --shape I,H,L,B,T with --mode, or every row of a suite file\n"
    "(../shared/bench/suite.tsv), or the use-case models with --fit. train = forward with\n"
    "saved activations + full backward; infer = forward; stream = T=1 calls carrying h and c.",
    {
        {"shape", "I,H,L,B,T", "input size, hidden size, layers, batch, time steps"},
        {"mode", "MODE", "train, infer or stream (default infer)"},
        {"variant", "NAME", "time the layer as a model runs it: lstm, gru, simple_rnn, "
                            "bidirectional, padded (lengths 1..T), full_lengths (all T), "
                            "peepholes or projection (proj_size H/2)"},
        {"suite", "FILE", "run every row of a suite file instead of --shape"},
        {"fit", "", "the use-case rows instead: whole training steps (fit) and predict calls of "
                    "the jobs' models (forecaster, adding problem, sentiment, char LM) on data "
                    "in memory; scripts/bench_fit_torch.py times the same in PyTorch"},
        {"use-case", "NAME", "with --fit, only this one (fit-forecaster, fit-adding, fit-sentiment, fit-charlm)"},
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
        {"seconds", "S", "length of each of the 5 timing windows (default 0.5)"},
        {"precision", "P", "fp32 (default), bf16 or int8: infer and stream rows with the weights as bfloat16 (AVX512_BF16 where the CPU has it) or int8 with a scale per row (AVX512_VNNI)"},
        {"json", "", "one JSON object per row: name, I, H, L, B, T, mode, variant, threads, "
                     "throughput, unit, ns_per_step, gflops"},
    }};

static void print_result(const Args& a, const BenchResult& r) {
  if (a.has("json")) {
    std::printf("%s\n", bench_json(r).c_str());
  } else {
    std::printf("%-24s %12.1f %-8s %10.1f ns/step %8.1f GFLOP/s  (%d threads%s)\n", r.shape.name.c_str(),
                r.throughput, r.unit.c_str(), r.ns_per_step, r.gflops, r.threads,
                r.shape.precision == "fp32" ? "" : (", " + r.shape.precision).c_str());
  }
  std::fflush(stdout);
}

int run_bench(const Args& a) {
  // its timing windows run a different number of fit() calls on each rank, which under MPI would
  // leave ranks waiting for each other: scripts/bench-mpi.sh times data-parallel training
  if (distributed::active())
    throw UsageError("bench times one process: run it without mpirun (scripts/bench-mpi.sh times "
                     "training across ranks)");
  const double seconds = a.number("seconds", 0.5);
  if (!(seconds > 0)) throw UsageError("--seconds must be positive");
  if (a.has("fit")) {
    if (a.has("shape") || a.has("suite") || a.has("mode") || a.has("variant") || a.has("precision"))
      throw UsageError("--fit times the use-case models: leave out --shape, --suite, --mode, --variant and --precision");
    const std::string only = a.str("use-case", "");
    const std::vector<std::string> names = fit_bench_names();
    if (!only.empty() && std::find(names.begin(), names.end(), only) == names.end())
      throw UsageError("--use-case '" + only + "' is not one of fit-forecaster, fit-adding, fit-sentiment, fit-charlm");
    for (const BenchResult& r : run_fit_bench(only, num_threads(), seconds)) print_result(a, r);
    return 0;
  }
  if (a.has("use-case")) throw UsageError("--use-case goes with --fit");
  if (a.has("shape") == a.has("suite")) throw UsageError("give either --shape I,H,L,B,T, --suite FILE or --fit");
  std::vector<BenchShape> shapes;
  if (a.has("suite")) {
    if (a.has("mode") || a.has("variant"))
      throw UsageError("--mode and --variant go with --shape; a suite names each row's");
    shapes = read_suite(a.str("suite"));
  } else {
    BenchShape s{"custom", 0, 0, 0, 0, 0, a.str("mode", "infer"), a.str("variant", "")};
    std::vector<long> v;
    std::stringstream in(a.str("shape"));
    for (std::string item; std::getline(in, item, ',');) {
      try {
        size_t used = 0;
        v.push_back(std::stol(item, &used));
        if (used != item.size()) v.back() = 0;
      } catch (...) {
        v.push_back(0);
      }
    }
    if (v.size() != 5 || *std::min_element(v.begin(), v.end()) < 1 ||
        *std::max_element(v.begin(), v.end()) > 65536 || v[2] > 64 || v[3] * v[4] > (1 << 24))
      throw UsageError("--shape expects five positive integers I,H,L,B,T (I and H at most 65536, "
                       "L at most 64, B x T at most 16777216), got '" + a.str("shape") + "'");
    s.I = v[0], s.H = v[1], s.L = v[2], s.B = v[3], s.T = v[4];
    if (s.mode == "stream" && s.T != 1) throw UsageError("--mode stream runs T = 1 calls: give T = 1");
    shapes.push_back(s);
  }
  const int threads = num_threads();
  const std::string precision = a.str("precision", "fp32");
  if (precision != "fp32" && precision != "bf16" && precision != "int8")
    throw UsageError("--precision must be fp32, bf16 or int8, got '" + precision + "'");
  for (BenchShape& s : shapes) {
    s.precision = precision;
    if (precision != "fp32" && s.mode == "train") {
      if (!a.has("suite")) throw UsageError("--precision " + precision + " is for inference: give --mode infer or stream");
      continue;  // a suite's training rows are left out
    }
    if (precision != "fp32" && !s.variant.empty())
      throw UsageError("--precision " + precision + " times the LSTM kernels alone: leave out --variant");
    print_result(a, lstm::run_bench(s, threads, seconds));
  }
  return 0;
}

}  // namespace lstm::cli
