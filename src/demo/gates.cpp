// lstm demo gates: what the seed's "fine-grained control over information flow" looks like in
// trained models. Two models are trained here - the seed's forecaster (LSTM(50) -> Dense(1) on
// 30 days of Seattle weather) and a character model of the State of the Union addresses - and
// each LSTM layer is run again by LSTMCell::trace over a sequence, which keeps every step's
// gates (input i, forget f, output o, candidate g) and cell state c. The page shows them as
// heat maps, and for the character model the units whose cell state follows the text's
// structure (Karpathy, Johnson & Fei-Fei 2015): the passage shaded by each such unit.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "demo/demo.h"
#include "io/file.h"
#include "lstm/cell.h"
#include "lstm/data.h"
#include "lstm/error.h"
#include "lstm/forecast.h"
#include "lstm/optim.h"
#include "lstm/text.h"
#include "report/report.h"

namespace lstm::demo {

namespace {

double correlation(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n,
               mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) * (a[k] - ma);
    sbb += (b[k] - mb) * (b[k] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

// Column u of a [T, H] tensor.
std::vector<double> unit_series(const Tensor& t, int64_t u) {
  std::vector<double> out(size_t(t.dim(0)));
  for (int64_t s = 0; s < t.dim(0); ++s) out[size_t(s)] = t[s * t.dim(1) + u];
  return out;
}

// A heat map of one gate: the chosen units as rows, the steps as columns.
Heatmap gate_map(const std::string& title, const Tensor& gate, const std::vector<int64_t>& units,
                 const std::vector<std::string>& columns, int64_t from, int64_t count,
                 bool signed_values) {
  Heatmap h{title, {}, {}, {}};
  for (int64_t t = from; t < from + count; ++t) h.column_labels.push_back(columns[size_t(t)]);
  for (int64_t u : units) {
    h.row_labels.push_back("unit " + std::to_string(u));
    for (int64_t t = from; t < from + count; ++t) {
      const float v = gate[t * gate.dim(1) + u];
      h.values.push_back(signed_values ? 0.5f + 0.5f * std::tanh(v) : v);  // c: tanh(c) in [0, 1]
    }
  }
  return h;
}

struct Summary {
  double mean_f_lo = 1, mean_f_hi = 0, median_f = 0, share_open = 0;
};

// Per unit, the forget gate's mean over the steps: its spread over the units.
Summary forget_summary(const Tensor& f) {
  const int64_t T = f.dim(0), H = f.dim(1);
  std::vector<double> m(size_t(H), 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t u = 0; u < H; ++u) m[size_t(u)] += f[t * H + u] / double(T);
  std::vector<double> sorted = m;
  std::sort(sorted.begin(), sorted.end());
  Summary s{sorted.front(), sorted.back(), sorted[sorted.size() / 2], 0};
  for (double v : m) s.share_open += v > 0.9 ? 1.0 / double(H) : 0.0;
  return s;
}

// The model's tensor `name` ("layers.1.weight"): where it sits in get_weights() and its shape.
const NamedWeight& weight_named(const std::vector<NamedWeight>& names, const std::string& name) {
  for (const NamedWeight& n : names)
    if (n.name == name) return n;
  throw Error("the demo's model has no tensor " + name);
}

}  // namespace

Page gates(const Settings& s) {
  const auto start = std::chrono::steady_clock::now();
  ReportContent page;
  page.title = "Inside the gates: a trained forecaster and a trained character model";
  nlohmann::json figures;
  page.notes = {
      "Every LSTM step computes three gates from its input and its last output: the input gate i "
      "(how much of the new candidate g to write into the cell), the forget gate f (how much of "
      "the cell state to keep) and the output gate o (how much of tanh(c) to show as h): c_t = f "
      "⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t). The pictures below are those values, step by step, "
      "from each trained model's own cell (LSTMCell::trace), darker for larger (gates in [0, 1]; "
      "the cell state drawn as tanh(c), white at -1, dark at +1)."};

  // ---- the seed's forecaster ----------------------------------------------------------------
  const auto t0 = std::chrono::steady_clock::now();
  const std::string csv = s.data_dir + "/seattle-weather.csv";
  ForecastOptions fo;
  fo.target = "temp_max";
  fo.features = {"temp_max", "temp_min", "precipitation", "wind"};
  fo.lookback = 30;
  fo.date_column = "date";
  const ForecastData data = prepare_forecast(read_csv(csv), fo);
  Sequential forecaster = default_forecast_model(data.setup, 50, 1, s.seed);
  forecaster.compile(Adam(), loss::mse);
  const int epochs = s.quick ? 2 : 25;
  const History fh =
      forecaster.fit(data.X_train, data.y_train,
                     {.epochs = epochs, .batch_size = 32, .validation_split = 0.2, .verbose = 0});
  const double test_mse = forecaster.evaluate(data.X_test, data.y_test);
  std::printf(
      "forecaster: LSTM(50) -> Dense(1), %d epochs, test MSE %.4f (scaled units)  (%.1f s)\n",
      epochs, test_mse, seconds_since(t0));
  std::fflush(stdout);
  {
    const LSTMCell cell = LSTMCell::from_model(forecaster, 0);
    const int64_t L = data.X_test.dim(1), F = data.X_test.dim(2), last = data.X_test.dim(0) - 1;
    const Tensor x({L, F}, std::vector<float>(data.X_test.data() + last * L * F,
                                              data.X_test.data() + (last + 1) * L * F));
    const LSTMCell::Trace tr = cell.trace(x);
    // the units the forecast leans on most: |Dense weight| × the spread of h over the window
    const std::vector<float> w = forecaster.get_weights();
    const std::vector<NamedWeight> names = forecaster.weights();
    const NamedWeight& dense = weight_named(names, "layers.1.weight");
    const int64_t H = tr.h.dim(1);
    std::vector<double> lean(static_cast<size_t>(H));
    for (int64_t u = 0; u < H; ++u) {
      const std::vector<double> h = unit_series(tr.h, u);
      const auto [lo, hi] = std::minmax_element(h.begin(), h.end());
      lean[size_t(u)] = std::abs(w[size_t(dense.offset + u)]) * (*hi - *lo + 1e-3);
    }
    std::vector<int64_t> order(static_cast<size_t>(H));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return lean[size_t(a)] > lean[size_t(b)]; });
    order.resize(size_t(std::min<int64_t>(12, H)));
    const int64_t first_row = data.test_rows[size_t(last)] - L;
    std::vector<std::string> days;
    for (int64_t t = 0; t < L; ++t) {
      const std::string& d = data.series.dates.empty() ? std::to_string(first_row + t)
                                                       : data.series.dates[size_t(first_row + t)];
      days.push_back(d.size() >= 2 ? d.substr(d.size() - 2) : d);  // the day of the month
    }
    const std::string span = data.series.dates.empty()
                                 ? ""
                                 : " (" + data.series.dates[size_t(first_row)] + " .. " +
                                       data.series.dates[size_t(first_row + L - 1)] + ")";
    page.notes.push_back("The forecaster's pictures follow its last test window" + span +
                         ", one column per day, for the 12 units its forecast leans on most (the "
                         "size of their Dense weight times how far their output moves over the "
                         "window).");
    page.heatmaps.push_back(gate_map("Forecaster: forget gate f", tr.f, order, days, 0, L, false));
    page.heatmaps.push_back(gate_map("Forecaster: input gate i", tr.i, order, days, 0, L, false));
    page.heatmaps.push_back(gate_map("Forecaster: output gate o", tr.o, order, days, 0, L, false));
    page.heatmaps.push_back(
        gate_map("Forecaster: cell state tanh(c)", tr.c, order, days, 0, L, true));
    LineChart lc{"Forecaster: temp_max (scaled) and the cell states of its top 3 units",
                 "day of the window",
                 {},
                 false,
                 false};
    LineChart::Series temp{"temp_max (scaled)", {}, {}, true};
    for (int64_t t = 0; t < L; ++t) temp.x.push_back(double(t + 1)), temp.y.push_back(x[t * F + 0]);
    lc.series.push_back(temp);
    for (size_t k = 0; k < 3 && k < order.size(); ++k) {
      LineChart::Series se{"c of unit " + std::to_string(order[k]), {}, {}};
      for (int64_t t = 0; t < L; ++t)
        se.x.push_back(double(t + 1)), se.y.push_back(tr.c[t * H + order[k]]);
      lc.series.push_back(se);
    }
    page.line_charts.push_back(lc);
    const Summary fs = forget_summary(tr.f);
    page.facts.push_back(
        {"forecaster",
         "LSTM(50) -> Dense(1) on 30 days of temp_max, temp_min, precipitation and wind (" +
             std::to_string(epochs) + " epochs), test MSE " + fmt("%.4f", test_mse) + " (scaled)"});
    page.facts.push_back({"forecaster's forget gates",
                          "mean over the window per unit: " + fmt("%.2f", fs.mean_f_lo) + " .. " +
                              fmt("%.2f", fs.mean_f_hi) + ", median " + fmt("%.2f", fs.median_f) +
                              "; " + fmt("%.0f", 100 * fs.share_open) + "% of units above 0.9"});
    figures["forecaster"] = {
        {"epochs", epochs},           {"test_mse_scaled", test_mse}, {"forget_median", fs.median_f},
        {"forget_min", fs.mean_f_lo}, {"forget_max", fs.mean_f_hi},  {"history", fh.history}};
  }

  // ---- the character model ------------------------------------------------------------------
  const auto t1 = std::chrono::steady_clock::now();
  std::string text = read_file(s.data_dir + "/text/sotu-1989-2021.txt", "text");
  if (s.quick) text = text.substr(0, 60000);
  LanguageModelOptions lo;
  lo.units = s.units ? s.units : s.quick ? 16 : 128;
  lo.lookback = 100;
  lo.seed = s.seed;
  lo.verbose = 0;
  const int64_t want_steps = s.steps ? s.steps : s.quick ? 15 : 1500;
  const double per_epoch =
      (1.0 - lo.holdout) * double(text.size()) / double(lo.lookback * lo.batch_size);
  lo.epochs = std::max(1, int(std::lround(double(want_steps) / per_epoch)));
  if (s.quick) lo.epochs = 1;
  LanguageModel lm = train_language_model(text, lo, "the State of the Union text");
  std::printf(
      "character model: Embedding -> LSTM(%d) -> Dense, %d epoch(s) (about %.0f steps), held-out "
      "%.3f bits per character  (%.1f s)\n",
      lo.units, lo.epochs, per_epoch * lo.epochs, lm.heldout.bits_per_token(), seconds_since(t1));
  std::fflush(stdout);
  {
    // the held-out text (never trained on), run continuously from a zero state
    const size_t from = size_t(double(text.size()) * (1.0 - lo.holdout));
    size_t begin = text.find("\n", from);
    begin = begin == std::string::npos ? from : begin + 1;
    const std::string passage_text = text.substr(begin, s.quick ? 800 : 4000);
    const std::vector<int64_t> ids = lm.vocabulary.encode(passage_text);
    const int64_t T = int64_t(ids.size());
    // the LSTM's input: each character's embedding row (layer 0's table)
    const std::vector<float> w = lm.model.get_weights();
    const std::vector<NamedWeight> names = lm.model.weights();
    const NamedWeight& table = weight_named(names, "layers.0.weight");
    const int64_t E = table.shape.at(1);
    Tensor x({T, E});
    for (int64_t t = 0; t < T; ++t)
      std::copy_n(w.data() + table.offset + ids[size_t(t)] * E, E, x.data() + t * E);
    // in windows of `lookback` characters, each from a zero state: as the model was trained and
    // is scored (run on far longer stretches, its cell states drift and saturate)
    const LSTMCell cell = LSTMCell::from_model(lm.model, 1);
    const int64_t H = cell.units();
    LSTMCell::Trace tr{Tensor({T, H}), Tensor({T, H}), Tensor({T, H}),
                       Tensor({T, H}), Tensor({T, H}), Tensor({T, cell.output_size()})};
    for (int64_t t0 = 0; t0 < T; t0 += lm.lookback) {
      const int64_t n = std::min(lm.lookback, T - t0);
      const LSTMCell::Trace part = cell.trace(
          Tensor({n, E}, std::vector<float>(x.data() + t0 * E, x.data() + (t0 + n) * E)));
      const std::pair<Tensor*, const Tensor*> pieces[] = {{&tr.i, &part.i}, {&tr.f, &part.f},
                                                          {&tr.g, &part.g}, {&tr.o, &part.o},
                                                          {&tr.c, &part.c}, {&tr.h, &part.h}};
      for (auto [whole, piece] : pieces)
        std::copy_n(piece->data(), piece->size(), whole->data() + t0 * whole->dim(1));
    }
    std::vector<std::string> chars;
    for (int64_t id : ids) chars.push_back(lm.vocabulary.token(id));
    // what the text is doing at each character
    std::vector<double> word_pos(static_cast<size_t>(T)), sentence_pos(static_cast<size_t>(T)),
        in_parens(static_cast<size_t>(T)), line_pos(static_cast<size_t>(T));
    double wp = 0, sp = 0, lp = 0, depth = 0;
    for (int64_t t = 0; t < T; ++t) {
      const std::string& c = chars[size_t(t)];
      wp = c == " " || c == "\n" ? 0 : wp + 1;
      sp = c == "." || c == "?" || c == "!" || c == "\n" ? 0 : sp + 1;
      lp = c == "\n" ? 0 : lp + 1;
      if (c == "(" || c == "[") depth = 1;
      if (c == ")" || c == "]") depth = 0;
      word_pos[size_t(t)] = wp, sentence_pos[size_t(t)] = sp, in_parens[size_t(t)] = depth,
      line_pos[size_t(t)] = lp;
    }
    struct Feature {
      const char* name;
      const std::vector<double>* values;
    };
    const Feature features[] = {
        {"the position in the word (characters since the last space)", &word_pos},
        {"the position in the sentence (characters since the last . ? !)", &sentence_pos},
        {"the position in the paragraph (characters since the line began)", &line_pos},
        {"inside brackets ( ) or [ ]", &in_parens}};
    ReportTable found{
        "Character model: the unit whose cell state follows each feature best (over " +
            std::to_string(T) + " held-out characters)",
        {"feature", "unit", "correlation of c with it"},
        {}};
    const int64_t shown = std::min<int64_t>(T, s.quick ? 300 : 600);
    for (const Feature& f : features) {
      const double spread = *std::max_element(f.values->begin(), f.values->end());
      if (spread <= 0) continue;  // the passage has none of it
      int64_t best = 0;
      double best_r = 0;
      for (int64_t u = 0; u < H; ++u) {
        const double r = correlation(unit_series(tr.c, u), *f.values);
        if (std::abs(r) > std::abs(best_r)) best_r = r, best = u;
      }
      found.rows.push_back({f.name, std::to_string(best), fmt("%+.2f", best_r)});
      figures["char_model"]["cells"].push_back(
          {{"feature", f.name}, {"unit", best}, {"correlation", best_r}});
      std::printf("  unit %3lld follows %s: r = %+.2f\n", static_cast<long long>(best), f.name,
                  best_r);
      if (std::abs(best_r) < 0.3) continue;  // no unit follows it closely enough to show
      ShadedText st{
          "Unit " + std::to_string(best) + ": " + f.name + " (r = " + fmt("%+.2f", best_r) + ")",
          {},
          {}};
      for (int64_t t = 0; t < shown; ++t) {
        st.pieces.push_back(chars[size_t(t)]);
        st.values.push_back(float((best_r < 0 ? -1 : 1) * std::tanh(tr.c[t * H + best])));
      }
      page.shaded_texts.push_back(st);
    }
    page.tables.push_back(found);
    page.notes.push_back(
        "The character model reads the held-out text in windows of " + std::to_string(lm.lookback) +
        " characters, each from a zero state, as it was trained. Its heat maps follow its first " +
        std::to_string(std::min<int64_t>(T, 48)) +
        " held-out characters for the 12 units whose cell state moves most. Below them, the "
        "held-out text shaded by the cell state of the unit that follows each feature best "
        "(correlation of at least 0.3): red where tanh(c) is high, blue where it is low (the sign "
        "flipped for a unit that runs against its feature).");
    // the gates of the most active units over the passage's first characters
    std::vector<double> spread(static_cast<size_t>(H));
    for (int64_t u = 0; u < H; ++u) {
      const std::vector<double> c = unit_series(tr.c, u);
      const auto [lo_c, hi_c] = std::minmax_element(c.begin(), c.begin() + shown);
      spread[size_t(u)] = *hi_c - *lo_c;
    }
    std::vector<int64_t> order(static_cast<size_t>(H));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return spread[size_t(a)] > spread[size_t(b)]; });
    order.resize(size_t(std::min<int64_t>(12, H)));
    std::vector<std::string> labels;
    for (const std::string& c : chars) labels.push_back(c == " " ? "␣" : c == "\n" ? "⏎" : c);
    const int64_t cols = std::min<int64_t>(T, 48);
    page.heatmaps.push_back(
        gate_map("Character model: forget gate f", tr.f, order, labels, 0, cols, false));
    page.heatmaps.push_back(
        gate_map("Character model: input gate i", tr.i, order, labels, 0, cols, false));
    page.heatmaps.push_back(
        gate_map("Character model: cell state tanh(c)", tr.c, order, labels, 0, cols, true));
    const Summary fs = forget_summary(tr.f);
    page.facts.push_back(
        {"character model", "Embedding(64) -> LSTM(" + std::to_string(lo.units) + ") -> Dense on " +
                                std::to_string(text.size()) +
                                " characters of State of the Union addresses, " +
                                std::to_string(lo.epochs) + " epoch(s); held-out " +
                                fmt("%.3f", lm.heldout.bits_per_token()) + " bits per character"});
    page.facts.push_back({"character model's forget gates",
                          "mean over the passage per unit: " + fmt("%.2f", fs.mean_f_lo) + " .. " +
                              fmt("%.2f", fs.mean_f_hi) + ", median " + fmt("%.2f", fs.median_f) +
                              "; " + fmt("%.0f", 100 * fs.share_open) + "% of units above 0.9"});
    figures["char_model"]["units"] = lo.units;
    figures["char_model"]["epochs"] = lo.epochs;
    figures["char_model"]["bits_per_character"] = lm.heldout.bits_per_token();
    figures["char_model"]["forget_median"] = fs.median_f;
  }
  const double total = seconds_since(start);
  page.facts.push_back({"wall time", fmt("%.0f s", total)});
  figures["seconds"] = total;
  return {report_html(page), figures.dump()};
}

}  // namespace lstm::demo
