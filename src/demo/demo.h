// The seed's claims, shown (`lstm demo NAME`): each demo trains what it needs, prints its
// numbers as it goes and returns one self-contained HTML page (report/report.h) with its
// pictures. docs/claims.md has the figures of the full runs and the commands that made them.
//
//   long-memory  LSTMs capture long-term dependencies where plain RNNs' gradients vanish: the
//                adding and copy-memory tasks at growing lags, LSTM, GRU and SimpleRNN of the
//                same size and budget; test error against the lag; the gradient reaching
//                step 1, through the model's own backward.
//   gates        what the gates do: a trained forecaster's and character model's gate
//                activations and cell states over a sequence, from the cell's forward pass.
//   overfitting  small data overfits; dropout, recurrent dropout, weight decay and early
//                stopping answer it: learning curves and the train/validation gap of each.
//   speed        training time: the same models trained here and in PyTorch, side by side.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lstm::demo {

struct Page {
  std::string html;  // the page (report_html)
  std::string json;  // the figures, one JSON object (--json)
};

// Every demo's size: `quick` shrinks it to seconds (the tests), the rest overrides the
// defaults (0 / empty: the demo's own).
struct Settings {
  bool quick = false;
  int64_t steps = 0;               // training steps (batches) per model
  int units = 0;                   // hidden units per model
  std::vector<int64_t> lags;       // long-memory
  std::vector<std::string> tasks;  // long-memory: adding, copy
  std::vector<std::string> cells;  // long-memory: lstm, gru, simple_rnn
  int recall = 0;                  // long-memory: copy memory's symbols to remember
  float learning_rate = 0;         // long-memory: Adam's
  int64_t gradient_lag = 0;        // long-memory: the sequences the gradient is measured on
  std::string data_dir;            // the shipped data (data/): gates, overfitting
  std::string scripts_dir;         // speed: scripts/bench_fit_torch.py
  std::string python = "/usr/bin/python3";
  uint64_t seed = 42;
};

Page long_memory(const Settings& s);
Page gates(const Settings& s);
Page overfitting(const Settings& s);
Page speed(const Settings& s);

// What every demo prints: one number by a printf format ("%.3f"), and the seconds since t0.
inline std::string fmt(const char* format, double value) {
  char b[64];
  std::snprintf(b, sizeof b, format, value);
  return b;
}
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace lstm::demo
