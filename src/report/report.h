// A training/evaluation report as one self-contained HTML file: inline SVG charts and tables,
// no scripts, no network, so it opens anywhere, offline.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lstm/forecast.h"
#include "lstm/text.h"

namespace lstm {

// A piano roll: each note a bar, time (in quarter notes) across, keys up, bar lines drawn.
struct PianoRoll {
  struct Note {
    double start = 0, duration = 0;  // quarter notes
    int pitch = 60;                  // 0..127
  };
  std::string title;
  std::vector<Note> notes;
  double quarters_per_bar = 4;
};

// A table of text cells (example translations, ...), drawn after the charts.
struct ReportTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// A heat map of weights in [0, 1]: one row per output step, one column per input token (an
// attention map: what each output token looked at).
struct Heatmap {
  std::string title;
  std::vector<std::string> row_labels, column_labels;
  std::vector<float> values;  // (rows, columns) row-major
};

// A recording as the model heard it and what it made of it: its features over time (a
// spectrogram: log-mel bands up, frames across) and, beneath on the same time axis, the
// network's per-frame probabilities of each output class (CTC's blank first), with the
// characters greedy decoding emits written where they are emitted.
struct Spectrogram {
  std::string title;
  int64_t frames = 0, bins = 0;
  std::vector<float> values;        // (frames, bins) row-major, any range: drawn min..max
  std::vector<std::string> classes;  // the output classes, the blank first
  int64_t steps = 0;                 // model frames (frames / steps feature frames each)
  std::vector<float> probabilities;  // (steps, classes) row-major, in [0, 1]
};

// Rows of video frames (grey or RGB, values in [0, 1]) as pictures: example clips of each class,
// or predicted frames under the true ones. Each row is its label and its frames left to right.
struct FrameStrip {
  std::string title;
  int64_t height = 0, width = 0, channels = 1;
  std::vector<std::string> column_labels;  // optional, one per frame ("t+1", ...)
  std::vector<std::string> row_labels;
  std::vector<std::vector<float>> rows;  // each: frames × height × width × channels, C order
};
std::string frame_strip_svg(const std::string& id, const FrameStrip& s);

// The picture of a Spectrogram as SVG (the images inside as BMP data: small, and sharp when
// scaled). Public for the tests.
std::string spectrogram_svg(const std::string& id, const Spectrogram& s);

// A line chart of its own (the demo pages: test error against the lag, gradient norms, gate
// values over time, learning curves side by side). Series are coloured in order from one
// palette: #1f77b4, #ff7f0e, #2ca02c, #d62728, #9467bd, #8c564b, #e377c2, #7f7f7f.
struct LineChart {
  struct Series {
    std::string name;
    std::vector<double> x, y;  // non-finite y: a gap
    bool dashed = false;
  };
  std::string title, xlabel;
  std::vector<Series> series;
  bool log_x = false, log_y = false;
};

// Horizontal bars: for each row, one bar per series side by side (lstm demo speed: the time to
// train each model here and in PyTorch). Series coloured as LineChart's.
struct BarChart {
  std::string title, unit;
  std::vector<std::string> series;
  std::vector<std::string> rows;
  std::vector<std::vector<double>> values;  // [series][row], >= 0
};

// Text with each piece (a character of a character model) shaded by a value in [-1, 1]: red
// for positive, blue for negative, white at zero - a cell's state as it reads the text
// (Karpathy et al. 2015, "Visualizing and Understanding Recurrent Networks").
struct ShadedText {
  std::string title;
  std::vector<std::string> pieces;  // UTF-8; "\n" breaks the line
  std::vector<float> values;        // one per piece
};

struct ReportContent {
  std::string title;
  std::vector<std::pair<std::string, std::string>> facts;  // "data" -> "seattle-weather.csv", ...
  std::map<std::string, std::vector<double>> history;      // loss / val_loss per epoch; may be empty
  const ForecastEvaluation* evaluation = nullptr;          // test metrics and predictions
  std::vector<ForecastPoint> future;                       // forecast past the data; may be empty
  std::vector<std::string> row_dates;  // the data's dates per row, for the forecast chart's axis
  std::vector<PianoRoll> rolls;        // music: drawn after the loss curves
  const ClassificationReport* classification = nullptr;  // per-class table and confusion matrix
  // History keys drawn together in a second chart, per epoch (held-out scores); may be empty.
  std::vector<std::string> metric_keys;
  std::string metric_title = "Held-out scores per epoch";
  std::vector<ReportTable> tables;
  const ForecastSelection* selection = nullptr;  // the transforms tried on validation
  std::vector<Heatmap> heatmaps;
  std::vector<Spectrogram> spectrograms;  // drawn after the heat maps
  std::vector<FrameStrip> frame_strips;   // drawn after the spectrograms
  // Paragraphs of prose under the facts (what a demo shows and how to read it); plain text.
  std::vector<std::string> notes;
  std::vector<LineChart> line_charts;    // drawn after the loss curves
  std::vector<BarChart> bar_charts;      // drawn after the line charts
  std::vector<ShadedText> shaded_texts;  // drawn after the frame strips
};

std::string report_html(const ReportContent& content);
// Text made safe inside HTML and SVG: < > & " as entities.
std::string html_escape(const std::string& text);

}  // namespace lstm
