// lstm demo long-memory | gates | overfitting | speed: the seed's claims shown, each a page of
// pictures (demo/demo.h; docs/claims.md has the full runs' figures).
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "demo/demo.h"
#include "io/file.h"
#include "lstm/error.h"

namespace lstm::cli {

namespace {

std::vector<Option> demo_options(std::vector<Option> own) {
  std::vector<Option> o = {
      {"out", "FILE", "the page to write (default: <demo>.html in the current folder)"},
      {"json", "FILE", "also write the figures as one JSON object"},
      {"quick", "",
       "a small version that runs in seconds (the tests use it); its figures mean little"},
      {"seed", "N", "data, initial weights and shuffling (default 42)"}};
  o.insert(o.end(), own.begin(), own.end());
  o.push_back({"threads", "N", "compute threads (default: all cores)"});
  return o;
}

// The shipped data (data/): LSTM_DATA, else installed beside the CLI, else the source tree's.
std::string data_dir() {
  return installed_or_source("LSTM_DATA", "data", "seattle-weather.csv", LSTM_DATA_DIR);
}

std::vector<int64_t> integer_list(const Args& a, const std::string& name) {
  std::vector<int64_t> out;
  std::stringstream in(a.str(name));
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw UsageError("--" + name + " takes integers separated by commas, got '" + a.str(name) +
                       "'");
    }
  }
  if (out.empty()) throw UsageError("--" + name + " needs at least one value");
  return out;
}

int run_demo(const Args& a, const std::string& name, demo::Page (*run)(const demo::Settings&)) {
  const std::string out = a.str("out", name + ".html");
  check_outputs_distinct(a, {"out", "json"}, {});
  check_writable(out);
  if (a.has("json")) check_writable(a.str("json"));
  demo::Settings s;
  s.quick = a.has("quick");
  s.seed = uint64_t(a.integer("seed", 42, 0, INT64_MAX));
  if (a.has("steps")) s.steps = a.integer("steps", 0, 1, 10000000);
  if (a.has("units")) s.units = int(a.integer("units", 0, 1, 4096));
  if (a.has("lags")) {
    s.lags = integer_list(a, "lags");
    for (int64_t lag : s.lags)
      if (lag < 4 || lag > 100000)
        throw UsageError("--lags: each lag must be in 4..100000, got " + std::to_string(lag));
  }
  if (a.has("recall")) s.recall = int(a.integer("recall", 0, 1, 100));
  if (a.has("gradient-lag")) s.gradient_lag = a.integer("gradient-lag", 0, 4, 100000);
  if (a.has("lr")) {
    s.learning_rate = float(a.number("lr", 0));
    if (!(s.learning_rate > 0)) throw UsageError("--lr must be positive");
  }
  if (a.has("cells")) {
    std::stringstream in(a.str("cells"));
    for (std::string c; std::getline(in, c, ',');) {
      if (c != "lstm" && c != "gru" && c != "simple_rnn")
        throw UsageError("--cells takes lstm, gru and/or simple_rnn, got '" + c + "'");
      s.cells.push_back(c);
    }
  }
  if (a.has("tasks")) {
    std::stringstream in(a.str("tasks"));
    for (std::string t; std::getline(in, t, ',');) {
      if (t != "adding" && t != "copy")
        throw UsageError("--tasks takes adding and/or copy, got '" + t + "'");
      s.tasks.push_back(t);
    }
  }
  s.data_dir = a.str("data", data_dir());
  s.scripts_dir = scripts_dir();
  s.python = a.str("python", "/usr/bin/python3");
  const demo::Page page = run(s);
  write_file_atomic(out, page.html, "page");
  if (a.has("json")) write_file_atomic(a.str("json"), page.json + "\n", "figures");
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

const Command kDemoLongMemory{
    "demo long-memory",
    "Long-term dependencies: the adding and copy-memory tasks at growing lags, LSTM, GRU and\n"
    "SimpleRNN of the same width and budget; test error against the lag and the gradient that\n"
    "reaches step 1 (vanishing gradients), through the model's own backward. About 7 minutes.",
    demo_options({{"lags", "L,L,...",
                   "the lags to train at: the adding problem's sequence length, copy "
                   "memory's blanks (default 20,40,80,160)"},
                  {"tasks", "NAMES", "adding, copy or both (default)"},
                  {"cells", "NAMES", "which of lstm, gru, simple_rnn to train (default all three)"},
                  {"units", "N", "hidden units of every cell (default 64)"},
                  {"steps", "N", "training steps of 32 sequences per model (default 600)"},
                  {"lr", "X", "Adam's learning rate (default 0.01)"},
                  {"recall", "K", "copy memory: the symbols to remember (default 3)"},
                  {"gradient-lag", "T",
                   "the length of the adding sequences the gradient is measured on "
                   "(default 1000)"}})};

const Command kDemoGates{
    "demo gates",
    "Inside the gates: a forecaster trained on data/seattle-weather.csv and a character model\n"
    "trained on data/text/sotu-1989-2021.txt, their gate activations and cell states over a\n"
    "sequence, and the text shaded by the cells that track it. About 4 minutes.",
    demo_options({{"units", "N", "the character model's LSTM units (default 128)"},
                  {"steps", "N", "the character model's training steps (default 1500)"},
                  {"data", "DIR", "the shipped data folder (default: the project's data/)"}})};

const Command kDemoOverfitting{
    "demo overfitting",
    "Overfitting on small data, answered: a sentiment classifier trained on 400 reviews of\n"
    "data/text/sentiment.tsv without and with dropout, recurrent dropout, weight decay and early\n"
    "stopping; learning curves and the train/validation gap of each. About 3 minutes.",
    demo_options({{"data", "DIR", "the shipped data folder (default: the project's data/)"}})};

const Command kDemoSpeed{
    "demo speed",
    "Training time: the use-case models (lstm bench --fit) trained here and in PyTorch\n"
    "(scripts/bench_fit_torch.py under --python), at the same thread count, side by side, in the\n"
    "same run. Time PyTorch with OpenBLAS installed (scripts/install-deps.sh bench). About 2 "
    "minutes.",
    demo_options({{"python", "PATH", "the Python that has PyTorch (default /usr/bin/python3)"}})};

int run_demo_long_memory(const Args& a) {
  return run_demo(a, "long-memory", demo::long_memory);
}
int run_demo_gates(const Args& a) {
  return run_demo(a, "gates", demo::gates);
}
int run_demo_overfitting(const Args& a) {
  return run_demo(a, "overfitting", demo::overfitting);
}
int run_demo_speed(const Args& a) {
  return run_demo(a, "speed", demo::speed);
}

}  // namespace lstm::cli
