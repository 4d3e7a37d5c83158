// lstm demo speed: the seed names training time as the LSTM's disadvantage. The use-case
// models of `lstm bench --fit` (the seed's forecaster, the adding problem, the sentiment
// classifier, the character model) are trained here and in PyTorch 1.13
// (scripts/bench_fit_torch.py: the same models, data of the same shapes, the same whole
// training steps), at the same thread count, one after the other in this run. PyTorch gets
// its best of two runs (OpenBLAS on 1 thread and on as many as it has), as
// scripts/bench-fit.sh gives it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bench/bench.h"
#include "core/threads.h"
#include "demo/demo.h"
#include "io/file.h"
#include "lstm/error.h"
#include "report/report.h"

extern char** environ;

namespace lstm::demo {

namespace {

// Runs argv with `env` added to the environment, its stdout into a file; returns its exit
// status (-1: not started) and the output.
int run_captured(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 std::string* out) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lstm-demo-XXXXXX").string();
  const int fd = mkstemp(tmpl.data());
  if (fd < 0) throw Error("cannot create a temporary file: " + std::string(std::strerror(errno)));
  std::vector<char*> args, envp;
  for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = env;
  for (char** e = environ; *e; ++e) env_strings.push_back(*e);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  pid_t pid;
  const int started = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  int status = 0;
  int rc = -1;
  if (started == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    rc = WIFEXITED(status) ? WEXITSTATUS(status)
                           : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  *out = rc >= 0 ? read_file(tmpl, "the script's output") : "";
  std::filesystem::remove(tmpl);
  return rc;
}

}  // namespace

Page speed(const Settings& s) {
  const auto start = std::chrono::steady_clock::now();
  const int threads = num_threads();
  const double seconds = s.quick ? 0.05 : 0.5;
  const std::string script = s.scripts_dir + "/bench_fit_torch.py";
  std::string out;
  // which BLAS PyTorch runs on: the reference BLAS would flatter this library tenfold
  int rc = run_captured({s.python, script, "--which-blas"}, {}, &out);
  if (rc == -1)
    throw Error("cannot run '" + s.python +
                "': the comparison needs Debian's python3 with python3-torch "
                "(scripts/install-deps.sh bench), or --python naming an interpreter that has it");
  if (rc != 0)
    throw Error("the PyTorch side (" + script + ") failed with exit status " + std::to_string(rc) +
                "; its message is above");
  std::string blas = "unknown";
  try {
    blas = nlohmann::json::parse(out).at("blas").get<std::string>();
  } catch (const std::exception&) {
  }
  const bool openblas = blas.find("openblas") != std::string::npos;
  if (!openblas)
    std::fprintf(
        stderr,
        "warning: PyTorch runs on %s, not OpenBLAS: its times are several times slower than they "
        "should be (scripts/install-deps.sh bench installs OpenBLAS)\n",
        blas.c_str());

  std::printf("lstm: the use-case models, %d thread(s)...\n", threads);
  std::fflush(stdout);
  std::map<std::string, double> ours, theirs;
  std::vector<std::string> order;
  const std::string only = s.quick ? "fit-forecaster" : "";  // the quick run: one model
  for (const BenchResult& r : run_fit_bench(only, threads, seconds)) {
    if (r.shape.name.ends_with("-lstm")) continue;  // the layer alone: PyTorch has no such row
    ours[r.shape.name] = r.throughput;
    order.push_back(r.shape.name);
  }
  const int blas_threads[] = {1, threads};
  for (int b = 0; b < (threads > 1 && !s.quick ? 2 : 1); ++b) {
    if (!s.quick) std::this_thread::sleep_for(std::chrono::seconds(10));  // let the cores cool down
    std::printf("PyTorch: the same models, %d thread(s), OpenBLAS on %d...\n", threads,
                blas_threads[b]);
    std::fflush(stdout);
    std::vector<std::string> argv = {s.python, script, std::to_string(threads), fmt("%g", seconds)};
    if (!only.empty()) argv.push_back(only);
    rc = run_captured(argv, {"OPENBLAS_NUM_THREADS=" + std::to_string(blas_threads[b])}, &out);
    if (rc != 0)
      throw Error("the PyTorch side (" + script + ") failed with exit status " +
                  std::to_string(rc) + "; its message is above");
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("name")) continue;
      const std::string name = j["name"].get<std::string>();
      theirs[name] = std::max(theirs[name], j["throughput"].get<double>());
    }
  }
  ReportContent page;
  page.title = "Training time: the same models here and in PyTorch";
  page.facts = {
      {"threads", std::to_string(threads) + " (both)"},
      {"PyTorch's BLAS", blas + (openblas ? ""
                                          : "  (NOT OpenBLAS: PyTorch is slower than it should be; "
                                            "scripts/install-deps.sh bench installs it)")},
      {"timing", "sequences per second, the best of 5 windows of " + fmt("%g", seconds) +
                     " s after 3 warm-up calls; a training call is 8 whole training steps"}};
  page.notes = {
      "Each row is one of the jobs' models, with data of its shapes in memory: the seed's "
      "forecaster (LSTM(50) on 30 steps, batch 32), the adding problem (LSTM(64), 100 steps, "
      "batch 64), the sentiment classifier (Embedding, LSTM(64) on padded texts of 5 to 40 words, "
      "batch 32) and the character model (Embedding, LSTM(256), 100 steps, batch 32). A training "
      "step is everything fit() does for a batch: forward, loss, backward through time, clipping "
      "where the job clips, the Adam update. PyTorch runs the same models (nn.LSTM, packed "
      "sequences for the padded texts) and the same steps; its best of OpenBLAS on one thread and "
      "on all of them is kept.",
      "The times to train on 100,000 sequences follow from the rates: what a user waits."};
  ReportTable table{"Sequences per second, and the time to train on 100,000",
                    {"model", "lstm", "PyTorch", "lstm / PyTorch", "lstm: 100k sequences",
                     "PyTorch: 100k sequences"},
                    {}};
  BarChart bars{"Time to train on 100,000 sequences (shorter is better)",
                "s",
                {"lstm", "PyTorch"},
                {},
                {{}, {}}};
  nlohmann::json figures = {{"threads", threads}, {"blas", blas}};
  for (const std::string& name : order) {
    const double a = ours[name], b = theirs.count(name) ? theirs[name] : 0.0;
    table.rows.push_back({name, fmt("%.0f", a), b > 0 ? fmt("%.0f", b) : "-",
                          b > 0 ? fmt("%.2fx", a / b) : "-", fmt("%.1f s", 1e5 / a),
                          b > 0 ? fmt("%.1f s", 1e5 / b) : "-"});
    figures["rows"].push_back({{"name", name}, {"lstm", a}, {"pytorch", b}});
    std::printf("%-24s lstm %10.0f seq/s   PyTorch %10.0f seq/s   %s\n", name.c_str(), a, b,
                b > 0 ? fmt("%.2fx", a / b).c_str() : "-");
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "-train") == 0 && b > 0) {
      bars.rows.push_back(name.substr(0, name.size() - 6));
      bars.values[0].push_back(1e5 / a), bars.values[1].push_back(1e5 / b);
    }
  }
  page.tables.push_back(table);
  const double total = seconds_since(start);
  page.facts.push_back({"wall time", fmt("%.0f s", total)});
  figures["seconds"] = total;
  page.bar_charts.push_back(bars);
  return {report_html(page), figures.dump()};
}

}  // namespace lstm::demo
