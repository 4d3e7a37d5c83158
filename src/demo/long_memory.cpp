// lstm demo long-memory: do LSTMs "capture long-term dependencies" where plain RNNs suffer
// vanishing gradients? Two tasks whose answer depends on the first steps of long sequences,
// three cells of the same width trained with the same budget, and the gradient that reaches
// step 1 measured through the model's own backward (model_input_gradients).
//
// Adding problem (Hochreiter & Schmidhuber 1997, experiment 4; as in Le et al. 2015): each step
// is (value ~ U(0, 1), marker); two steps are marked, the first within the first 10 steps, the
// second in the second half; the target is the sum of the two marked values. Predicting 1
// always scores MSE 1/6 ≈ 0.167.
//
// Copy memory (Arjovsky et al. 2016): K symbols from 1..8, then blanks (0), then the delimiter
// (9) K steps before the end, after which the model must output the K symbols in order; every
// other step it outputs blank. The lag from a symbol to its copy is T + K steps (T = the
// sequence's length less 2K). Guessing scores 1/8 of the symbols.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/rng.h"
#include "demo/demo.h"
#include "graph/graph_model.h"
#include "lstm/error.h"
#include "lstm/functional.h"
#include "lstm/layers.h"
#include "report/report.h"

namespace lstm::demo {

namespace {

constexpr int kSymbols = 8;  // copy memory: symbols 1..8; 0 blank, 9 the delimiter

struct Batch {
  Tensor x, y;
};

// n adding-problem samples of `steps` steps: x [n, steps, 2], y [n, 1].
Batch adding_batch(int64_t n, int64_t steps, Rng& rng) {
  Batch b{Tensor({n, steps, 2}), Tensor({n, 1})};
  const int64_t early = std::min<int64_t>(10, steps / 2), half = steps / 2;
  for (int64_t s = 0; s < n; ++s) {
    float* x = b.x.data() + s * steps * 2;
    for (int64_t t = 0; t < steps; ++t) x[2 * t] = rng.uniform();
    const int64_t first = rng.below(uint32_t(early)),
                  second = half + rng.below(uint32_t(steps - half));
    x[2 * first + 1] = 1.0f, x[2 * second + 1] = 1.0f;
    b.y[s] = x[2 * first] + x[2 * second];
  }
  return b;
}

// n copy-memory samples with `lag` blanks between the symbols and the delimiter's stretch:
// token ids x [n, lag + 2K], targets y [n, lag + 2K] (sparse classes).
Batch copy_batch(int64_t n, int64_t lag, int64_t recall, Rng& rng) {
  const int64_t T = lag + 2 * recall;
  Batch b{Tensor({n, T}), Tensor({n, T})};
  for (int64_t s = 0; s < n; ++s) {
    float* x = b.x.data() + s * T;
    float* y = b.y.data() + s * T;
    for (int64_t k = 0; k < recall; ++k) {
      const float symbol = float(1 + rng.below(kSymbols));
      x[k] = symbol;
      y[T - recall + k] = symbol;
    }
    x[T - recall - 1] = 9.0f;  // the delimiter: output from the next step on
  }
  return b;
}

Batch make_batch(const std::string& task, int64_t n, int64_t lag, int64_t recall, Rng& rng) {
  return task == "adding" ? adding_batch(n, lag, rng) : copy_batch(n, lag, recall, rng);
}

LayerConfig cell(const std::string& name, int units, bool sequences) {
  if (name == "lstm") return LSTM(units, {.return_sequences = sequences});
  if (name == "gru") return GRU(units, {.return_sequences = sequences});
  return SimpleRNN(units, {.return_sequences = sequences});
}

Model make_model(const std::string& task, const std::string& kind, int units, int64_t lag,
                 int64_t recall, uint64_t seed, float learning_rate) {
  if (task == "adding") {  // any length: trained at its lag, its gradient measured on longer ones
    auto in = Input({kAnyLength, 2});
    Model m(in, Dense(1)(cell(kind, units, false)(in)), {.name = kind, .seed = seed});
    m.compile(Adam({.learning_rate = learning_rate, .global_clipnorm = 1.0f}), loss::mse);
    return m;
  }
  auto in = Input({lag + 2 * recall});
  auto seq = cell(kind, units, true)(Embedding(kSymbols + 2, 16)(in));
  Model m(in, Dense(kSymbols + 2, {.activation = Activation::softmax})(seq),
          {.name = kind, .seed = seed});
  m.compile(Adam({.learning_rate = learning_rate, .global_clipnorm = 1.0f}),
            loss::sparse_categorical_crossentropy);
  return m;
}

// The test score: adding, the MSE; copy, the share of the K recalled symbols right.
double score(Model& m, const std::string& task, const Batch& test, int64_t recall) {
  if (task == "adding") return m.evaluate({test.x}, {test.y}, 256);
  const Tensor p = m.predict({test.x}, 256)[0];
  const int64_t n = test.x.dim(0), T = test.x.dim(1), V = kSymbols + 2;
  int64_t right = 0;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t t = T - recall; t < T; ++t) {
      const float* row = p.data() + (s * T + t) * V;
      right += int64_t(std::max_element(row, row + V) - row) == int64_t(test.y[s * T + t]);
    }
  return double(right) / double(n * recall);
}

// Mean over samples of |dL/dx_t| (the 2-vector of step t), per step t: [T].
std::vector<double> gradient_by_step(Model& m, const Batch& b) {
  const Tensor g = model_input_gradients(m, {b.x}, {b.y})[0];
  const int64_t n = g.dim(0), T = g.dim(1), F = g.dim(2);
  std::vector<double> out(size_t(T), 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t t = 0; t < T; ++t) {
      double sq = 0;
      for (int64_t f = 0; f < F; ++f) sq += double(g[(s * T + t) * F + f]) * g[(s * T + t) * F + f];
      out[size_t(t)] += std::sqrt(sq) / double(n);
    }
  return out;
}

}  // namespace

Page long_memory(const Settings& s) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> kinds =
      s.cells.empty() ? std::vector<std::string>{"lstm", "gru", "simple_rnn"} : s.cells;
  for (const std::string& k : kinds)
    if (k != "lstm" && k != "gru" && k != "simple_rnn")
      throw Error("long-memory: no cell '" + k + "' (lstm, gru or simple_rnn)");
  const std::vector<std::string> tasks =
      s.tasks.empty() ? std::vector<std::string>{"adding", "copy"} : s.tasks;
  for (const std::string& t : tasks)
    if (t != "adding" && t != "copy")
      throw Error("long-memory: no task '" + t + "' (adding or copy)");
  std::vector<int64_t> lags = s.lags;
  if (lags.empty())
    lags = s.quick ? std::vector<int64_t>{10, 30} : std::vector<int64_t>{20, 40, 80, 160};
  for (int64_t lag : lags)
    if (lag < 4 || lag > 100000)
      throw Error("long-memory: a lag must be in 4..100000, got " + std::to_string(lag));
  std::sort(lags.begin(), lags.end());
  lags.erase(std::unique(lags.begin(), lags.end()), lags.end());
  const int units = s.units ? s.units : s.quick ? 8 : 64;
  const int64_t steps = s.steps ? s.steps : s.quick ? 20 : 600, batch = 32, evals = s.quick ? 2 : 6;
  const int64_t test_n = s.quick ? 64 : 512, grad_n = s.quick ? 16 : 128;
  const int64_t recall = s.recall ? s.recall : 3;
  const int64_t gradient_lag = s.gradient_lag ? s.gradient_lag : s.quick ? 60 : 1000;
  const float learning_rate = s.learning_rate > 0 ? s.learning_rate : 0.01f;

  ReportContent page;
  page.title = "Long-term dependencies: LSTM, GRU and SimpleRNN at growing lags";
  std::string task_list, lag_list;
  for (const std::string& k : tasks) task_list += (task_list.empty() ? "" : ", ") + k;
  for (int64_t lag : lags) lag_list += (lag_list.empty() ? "" : ", ") + std::to_string(lag);
  page.facts = {
      {"tasks", task_list},
      {"lags", lag_list},
      {"cells",
       "LSTM, GRU and SimpleRNN (Keras's initialisers: glorot input weights, orthogonal recurrent "
       "ones; the LSTM's forget bias 1), each followed by a Dense head"},
      {"units per cell", std::to_string(units)},
      {"budget per model", std::to_string(steps) + " steps of " + std::to_string(batch) +
                               " fresh sequences, Adam (learning rate " + fmt("%g", learning_rate) +
                               ", global clipnorm 1)"},
      {"test set", std::to_string(test_n) + " sequences per task and lag, never trained on"}};
  page.notes = {
      "The adding problem (Hochreiter & Schmidhuber 1997): each step carries a value and a "
      "marker; the answer is the sum of the two marked values, the first marked within the first "
      "10 steps and the second in the second half, so the model must carry the first across "
      "nearly the whole sequence (the lag is the sequence's length). Predicting 1 always scores "
      "an MSE of 1/6 = 0.167; a model that has learned the task is near 0.",
      "Copy memory (Arjovsky et al. 2016, with " + std::to_string(recall) +
          " symbols): " + std::to_string(recall) +
          " symbols from 8, then `lag` blanks, then a delimiter after which the model must write "
          "the symbols back in order. Guessing gets 1/8 = 12.5% of them.",
      "The gradient reaching step t is the mean over sequences of |dL/dx_t|, computed by the "
      "model's own backward pass (backpropagation through time). Going back one step multiplies "
      "it by the cell's recurrent Jacobian: a plain RNN's is its recurrent weights times tanh's "
      "slope, so its gradient shrinks geometrically with the distance; an LSTM's cell state "
      "passes it back through the forget gate alone (c_t = f ⊙ c_{t-1} + i ⊙ g), so where a "
      "trained LSTM holds f near 1 it arrives undiminished: the constant error carousel. "
      "Untrained, every cell's gradient fades (an LSTM's forget gates start near σ(1) = 0.73); "
      "what training makes of it is what the pictures show, measured on " +
          std::to_string(gradient_lag) +
          "-step adding sequences before and after training at lag " + std::to_string(lags.back()) +
          ". A line ends where its gradient fell below the smallest float.",
      "Every model of a task and lag trains on the same sequences in the same order; each cell "
      "gets the same width and the same number of steps (an LSTM has 4 weight sets per unit, a "
      "GRU 3, a SimpleRNN 1)."};

  nlohmann::json figures = {{"units", units},
                            {"steps", steps},
                            {"batch_size", batch},
                            {"lags", lags},
                            {"recall", recall},
                            {"learning_rate", learning_rate},
                            {"gradient_lag", gradient_lag}};
  Rng data_rng(s.seed);
  int64_t score_tables = 0;
  for (const std::string& task : tasks) {
    const bool adding = task == "adding";
    std::map<std::string, std::vector<double>> by_lag;  // kind -> test score per lag
    std::vector<LineChart::Series> curves;              // the longest lag: score per step
    const Batch long_test = adding ? adding_batch(grad_n, gradient_lag, data_rng) : Batch{};
    LineChart grad_init{"Gradient reaching each step of " + std::to_string(gradient_lag) +
                            "-step sequences, untrained",
                        "steps before the end",
                        {},
                        false,
                        true};
    LineChart grad_trained{"The same after training at lag " + std::to_string(lags.back()),
                           "steps before the end",
                           {},
                           false,
                           true};
    // the gradient k steps before the end relative to the last step's, at these distances
    std::vector<int64_t> back;
    for (int64_t k : {10, 50, 100, 200, 500})
      if (k < gradient_lag - 1) back.push_back(k);
    back.push_back(gradient_lag - 1);  // step 1
    ReportTable gtable{
        "Gradient k steps before the end relative to the last step's, |dL/dx_(T-k)| / |dL/dx_T|, "
        "on " +
            std::to_string(gradient_lag) + "-step adding sequences (0: below the float range)",
        {"cell"},
        {}};
    for (int64_t k : back) gtable.header.push_back("k = " + std::to_string(k));
    auto ratios = [&](const std::string& name, const std::vector<double>& g) {
      std::vector<std::string> row = {name};
      const double last = g.back();
      for (int64_t k : back)
        row.push_back(last > 0 ? fmt("%.2g", g[g.size() - 1 - size_t(k)] / last) : "-");
      return row;
    };
    auto ratio = [](const std::vector<double>& g) {
      return g.back() > 0 ? g.front() / g.back() : 0.0;
    };
    for (int64_t lag : lags) {
      const Batch test = make_batch(task, test_n, lag, recall, data_rng);
      for (const std::string& kind : kinds) {
        const auto t0 = std::chrono::steady_clock::now();
        Model m = make_model(task, kind, units, lag, recall, s.seed, learning_rate);
        const bool longest = lag == lags.back();
        std::vector<double> g0;
        if (adding && longest) g0 = gradient_by_step(m, long_test);
        LineChart::Series curve{kind, {}, {}};
        Rng train_rng(s.seed * 7919 + uint64_t(lag));  // the same sequences for every cell
        int64_t done = 0;
        double last = 0;
        for (int64_t e = 1; e <= evals; ++e) {
          const int64_t until = steps * e / evals, n = (until - done) * batch;
          if (n > 0) {
            const Batch train = make_batch(task, n, lag, recall, train_rng);
            m.fit({train.x}, {train.y},
                  {.epochs = 1, .batch_size = int(batch), .shuffle = false, .verbose = 0});
          }
          done = until;
          last = score(m, task, test, recall);
          curve.x.push_back(double(done)), curve.y.push_back(last);
        }
        by_lag[kind].push_back(last);
        if (longest) curves.push_back(curve);
        nlohmann::json row = {{"task", task},
                              {"lag", lag},
                              {"cell", kind},
                              {"score", last},
                              {"seconds", seconds_since(t0)}};
        std::string grad_text;
        if (adding && longest) {
          const std::vector<double> g1 = gradient_by_step(m, long_test);
          row["gradient_ratio_untrained"] = ratio(g0);
          row["gradient_ratio_trained"] = ratio(g1);
          gtable.rows.push_back(ratios(kind + ", untrained", g0));
          gtable.rows.push_back(
              ratios(kind + ", trained at lag " + std::to_string(lags.back()), g1));
          grad_text = "  |dL/dx_1|/|dL/dx_T| over " + std::to_string(gradient_lag) +
                      " steps: " + fmt("%.2g", ratio(g0)) + " untrained, " +
                      fmt("%.2g", ratio(g1)) + " trained";
          const std::pair<LineChart*, const std::vector<double>*> pictures[] = {
              {&grad_init, &g0}, {&grad_trained, &g1}};
          for (auto [chart, g] : pictures) {
            LineChart::Series se{kind, {}, {}};
            const int64_t T = int64_t(g->size());
            for (int64_t t = 0; t < T; ++t) {  // x: steps before the end (0 = the last)
              se.x.push_back(double(T - 1 - t));
              se.y.push_back((*g)[size_t(t)] > 0 ? (*g)[size_t(t)] : NAN);
            }
            chart->series.push_back(se);
          }
        }
        figures["runs"].push_back(row);
        std::printf(
            "%-6s lag %5lld  %-10s  %s %s  (%.1f s)%s\n", task.c_str(), static_cast<long long>(lag),
            kind.c_str(), adding ? "test MSE" : "symbols right",
            fmt(adding ? "%.4f" : "%.3f", last).c_str(), seconds_since(t0), grad_text.c_str());
        std::fflush(stdout);
      }
    }
    LineChart by{
        adding ? "Adding problem: test MSE against the lag (lower is better)"
               : "Copy memory: share of the symbols recalled against the lag (higher is better)",
        "lag (steps)",
        {},
        lags.size() > 1 && lags.back() >= 4 * lags.front(),
        adding};
    for (const std::string& kind : kinds) {
      LineChart::Series se{kind, {}, by_lag[kind]};
      for (int64_t lag : lags) se.x.push_back(double(lag));
      by.series.push_back(se);
    }
    LineChart::Series base{adding ? "predict 1 (MSE 0.167)" : "guessing (1/8)", {}, {}, true};
    for (int64_t lag : lags)
      base.x.push_back(double(lag)), base.y.push_back(adding ? 1.0 / 6.0 : 1.0 / kSymbols);
    by.series.push_back(base);
    page.line_charts.push_back(by);
    page.line_charts.push_back({std::string(adding ? "Adding problem" : "Copy memory") + ", lag " +
                                    std::to_string(lags.back()) + ": test " +
                                    (adding ? "MSE" : "symbols recalled") + " during training",
                                "training steps", curves, false, adding});
    if (adding) {
      page.line_charts.push_back(grad_init);
      page.line_charts.push_back(grad_trained);
      page.tables.push_back(gtable);
    }
    ReportTable t{std::string(adding ? "Adding problem: test MSE"
                                     : "Copy memory: share of the symbols recalled") +
                      " by lag",
                  {"lag"},
                  {}};
    for (const std::string& kind : kinds) t.header.push_back(kind);
    for (size_t k = 0; k < lags.size(); ++k) {
      std::vector<std::string> row = {std::to_string(lags[k])};
      for (const std::string& kind : kinds)
        row.push_back(fmt(adding ? "%.4f" : "%.3f", by_lag[kind][k]));
      t.rows.push_back(row);
    }
    page.tables.insert(page.tables.begin() + score_tables++, t);  // the scores first, in task order
  }
  const double total = seconds_since(start);
  page.facts.push_back({"wall time", fmt("%.0f s", total)});
  figures["seconds"] = total;
  return {report_html(page), figures.dump()};
}

}  // namespace lstm::demo
