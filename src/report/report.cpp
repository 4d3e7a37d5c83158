// report_html (report.h): SVG line charts drawn here, in C++, so the file needs nothing else.
#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace lstm {

namespace {

struct Line {
  std::string name, color;
  std::vector<double> x, y;
  bool dashed = false;
};

// A shaded band between two lines (a prediction interval), drawn under the lines.
struct Band {
  std::string name, color;
  std::vector<double> x, lo, hi;
  double opacity = 0.25;
};

std::string escape(const std::string& s) { return html_escape(s); }

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// A line chart with axes, ticks and a legend. `log_y` for loss curves.
// x tick labels come from x_labels[round(x)] when given (dates of data rows).
std::string chart(const std::string& id, const std::string& title, const std::string& xlabel,
                  const std::vector<Line>& lines, bool log_y,
                  const std::vector<std::string>& x_labels = {},
                  const std::vector<Band>& bands = {}, bool log_x = false) {
  const double W = 900, H = 320, left = 70, right = 20, top = 30, bottom = 45;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto ty = [&](double v) { return log_y ? std::log10(std::max(v, 1e-300)) : v; };
  auto tx = [&](double v) { return log_x ? std::log10(std::max(v, 1e-12)) : v; };
  // on a log scale a value <= 0 has no place: a gap, as a non-finite one
  auto drawn = [&](double y) { return std::isfinite(y) && (!log_y || y > 0); };
  auto extend = [&](double x, double y) {
    if (!drawn(y)) return;
    x0 = std::min(x0, tx(x)), x1 = std::max(x1, tx(x));
    y0 = std::min(y0, ty(y)), y1 = std::max(y1, ty(y));
  };
  for (const Line& l : lines)
    for (size_t k = 0; k < l.x.size(); ++k) extend(l.x[k], l.y[k]);
  for (const Band& b : bands)
    for (size_t k = 0; k < b.x.size(); ++k) extend(b.x[k], b.lo[k]), extend(b.x[k], b.hi[k]);
  if (!(x1 > x0)) x1 = x0 + 1;
  if (!(y1 > y0)) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return left + (tx(x) - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return top + (y1 - ty(y)) / (y1 - y0) * (H - top - bottom); };
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart\" viewBox=\"0 0 " << W << " " << H
    << "\" width=\"" << W << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s << "<text x=\"" << left << "\" y=\"18\" class=\"title\">" << escape(title) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right
    << "\" height=\"" << H - top - bottom << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (int k = 0; k <= 4; ++k) {  // y ticks
    double v = y0 + (y1 - y0) * k / 4.0, yy = top + (H - top - bottom) * (1 - k / 4.0);
    s << "<text x=\"" << left - 6 << "\" y=\"" << yy + 4 << "\" class=\"tick\" text-anchor=\"end\">"
      << num(log_y ? std::pow(10.0, v) : v) << "</text>\n";
  }
  for (int k = 0; k <= 5; ++k) {  // x ticks
    const double at_x = x0 + (x1 - x0) * k / 5.0, v = log_x ? std::pow(10.0, at_x) : at_x;
    const size_t at = size_t(std::max(0.0, std::round(v)));
    const char* anchor = k == 0 ? "start" : k == 5 ? "end" : "middle";  // keep the ends inside
    s << "<text x=\"" << num(left + (at_x - x0) / (x1 - x0) * (W - left - right)) << "\" y=\""
      << H - bottom + 16 << "\" class=\"tick\" text-anchor=\"" << anchor << "\">"
      << (at < x_labels.size() ? escape(x_labels[at]) : num(std::round(v))) << "</text>\n";
  }
  s << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 6
    << "\" class=\"tick\" text-anchor=\"middle\">" << escape(xlabel) << "</text>\n";
  double legend_x = left + 10;
  for (const Band& b : bands) {  // the upper edge left to right, the lower one back
    s << "<polygon class=\"band\" data-name=\"" << escape(b.name) << "\" fill=\"" << b.color
      << "\" fill-opacity=\"" << b.opacity << "\" stroke=\"none\" points=\"";
    for (size_t k = 0; k < b.x.size(); ++k) s << num(px(b.x[k])) << "," << num(py(b.hi[k])) << " ";
    for (size_t k = b.x.size(); k-- > 0;) s << num(px(b.x[k])) << "," << num(py(b.lo[k])) << " ";
    s << "\"/>\n";
    s << "<rect x=\"" << legend_x << "\" y=\"" << top + 6 << "\" width=\"14\" height=\"8\" fill=\""
      << b.color << "\" fill-opacity=\"" << b.opacity << "\"/><text x=\"" << legend_x + 18 << "\" y=\""
      << top + 14 << "\" class=\"tick\">" << escape(b.name) << "</text>\n";
    legend_x += 30 + 7 * double(b.name.size());
  }
  for (const Line& l : lines) {
    s << "<polyline class=\"series\" data-name=\"" << escape(l.name) << "\" fill=\"none\" stroke=\""
      << l.color << "\" stroke-width=\"2\"" << (l.dashed ? " stroke-dasharray=\"6 4\"" : "")
      << " points=\"";
    for (size_t k = 0; k < l.x.size(); ++k)
      if (drawn(l.y[k])) s << num(px(l.x[k])) << "," << num(py(l.y[k])) << " ";
    s << "\"/>\n";
    s << "<rect x=\"" << legend_x << "\" y=\"" << top + 8 << "\" width=\"14\" height=\"4\" fill=\""
      << l.color << "\"/><text x=\"" << legend_x + 18 << "\" y=\"" << top + 14 << "\" class=\"tick\">"
      << escape(l.name) << "</text>\n";
    legend_x += 30 + 8 * double(l.name.size());
  }
  s << "</svg>\n";
  return s.str();
}

// A piano roll as SVG: one rectangle per note; C keys labelled (C4 = 60); bar lines.
std::string piano_roll(const std::string& id, const PianoRoll& roll) {
  const double W = 900, left = 44, right = 10, top = 30, bottom = 30;
  int lo = 127, hi = 0;
  double end = 0;
  for (const PianoRoll::Note& n : roll.notes)
    lo = std::min(lo, n.pitch), hi = std::max(hi, n.pitch), end = std::max(end, n.start + n.duration);
  if (lo > hi) lo = 60, hi = 72;
  lo = std::max(0, lo - 2), hi = std::min(127, hi + 2);
  if (!(end > 0)) end = roll.quarters_per_bar;
  const double row = std::clamp(360.0 / (hi - lo + 1), 3.0, 10.0), H = top + bottom + row * (hi - lo + 1);
  auto px = [&](double q) { return left + q / end * (W - left - right); };
  auto py = [&](int pitch) { return top + (hi - pitch) * row; };
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart roll\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W
    << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s << "<text x=\"" << left << "\" y=\"18\" class=\"title\">" << escape(roll.title) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << W - left - right << "\" height=\""
    << H - top - bottom << "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  for (int p = lo; p <= hi; ++p) {
    if (p % 12 == 1 || p % 12 == 3 || p % 12 == 6 || p % 12 == 8 || p % 12 == 10)  // black keys shaded
      s << "<rect x=\"" << left << "\" y=\"" << num(py(p)) << "\" width=\"" << W - left - right << "\" height=\""
        << num(row) << "\" fill=\"#eee\"/>\n";
    if (p % 12 == 0)
      s << "<text x=\"" << left - 4 << "\" y=\"" << num(py(p) + row) << "\" class=\"tick\" text-anchor=\"end\">C"
        << p / 12 - 1 << "</text>\n";
  }
  const double bar = roll.quarters_per_bar > 0 ? roll.quarters_per_bar : 4;
  const int bars = int(std::ceil(end / bar)), label_every = std::max(1, bars / 16);
  for (int b = 0; b <= bars && b * bar <= end; ++b) {
    s << "<line x1=\"" << num(px(b * bar)) << "\" x2=\"" << num(px(b * bar)) << "\" y1=\"" << top << "\" y2=\""
      << H - bottom << "\" stroke=\"#ccc\"/>\n";
    if (b % label_every == 0 && b < bars)
      s << "<text x=\"" << num(px(b * bar) + 2) << "\" y=\"" << H - bottom + 14 << "\" class=\"tick\">" << b + 1
        << "</text>\n";
  }
  s << "<text x=\"" << W - right << "\" y=\"" << H - 6 << "\" class=\"tick\" text-anchor=\"end\">bar</text>\n";
  for (const PianoRoll::Note& n : roll.notes)
    s << "<rect class=\"note\" x=\"" << num(px(n.start)) << "\" y=\"" << num(py(n.pitch) + 0.5) << "\" width=\""
      << num(std::max(1.0, px(n.start + n.duration) - px(n.start) - 0.5)) << "\" height=\"" << num(std::max(1.0, row - 1))
      << "\" fill=\"#1f77b4\"/>\n";
  s << "</svg>\n";
  return s.str();
}

// The confusion matrix as a heat map: rows the true class, columns the predicted one, each cell
// shaded by its share of the row (the recall on the diagonal) and labelled with its count.
std::string confusion_chart(const ClassificationReport& r) {
  const size_t K = r.labels.size();
  size_t longest = 4;
  for (const std::string& l : r.labels) longest = std::max(longest, std::min<size_t>(l.size(), 24));
  const double cell = std::clamp(480.0 / double(std::max<size_t>(K, 1)), 18.0, 90.0), left = 30 + 7.0 * double(longest),
               top = 60, W = left + cell * double(K) + 20, H = top + cell * double(K) + 40;
  std::ostringstream s;
  s << "<svg id=\"confusion-chart\" class=\"chart\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W
    << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s << "<text x=\"10\" y=\"18\" class=\"title\">Confusion matrix (rows: true class, columns: predicted)</text>\n";
  auto clip = [](const std::string& l) { return l.size() > 24 ? l.substr(0, 23) + "~" : l; };
  for (size_t k = 0; k < K; ++k) {
    s << "<text x=\"" << num(left - 6) << "\" y=\"" << num(top + cell * (double(k) + 0.5) + 4)
      << "\" class=\"tick\" text-anchor=\"end\">" << escape(clip(r.labels[k])) << "</text>\n";
    s << "<text x=\"" << num(left + cell * (double(k) + 0.5)) << "\" y=\"" << top - 8
      << "\" class=\"tick\" text-anchor=\"middle\">" << escape(clip(r.labels[k])) << "</text>\n";
  }
  for (size_t t = 0; t < K; ++t) {
    int64_t row = 0;
    for (size_t p = 0; p < K; ++p) row += r.confusion[t][p];
    for (size_t p = 0; p < K; ++p) {
      const double share = row ? double(r.confusion[t][p]) / double(row) : 0.0;
      const int shade = int(std::lround(255 - 200 * share));
      s << "<rect class=\"cell\" data-true=\"" << t << "\" data-predicted=\"" << p << "\" x=\""
        << num(left + cell * double(p)) << "\" y=\"" << num(top + cell * double(t)) << "\" width=\"" << num(cell)
        << "\" height=\"" << num(cell) << "\" fill=\"rgb(" << shade << "," << shade << ",255)\" stroke=\"#fff\"/>\n";
      s << "<text x=\"" << num(left + cell * (double(p) + 0.5)) << "\" y=\"" << num(top + cell * (double(t) + 0.5) + 4)
        << "\" class=\"tick\" text-anchor=\"middle\"" << (share > 0.6 ? " fill=\"#fff\"" : "") << ">"
        << r.confusion[t][p] << "</text>\n";
    }
  }
  s << "</svg>\n";
  return s.str();
}

// A heat map: rows the output steps, columns the input tokens, each cell shaded by its weight.
std::string heatmap_chart(const std::string& id, const Heatmap& h) {
  const size_t R = h.row_labels.size(), C = h.column_labels.size();
  size_t longest = 2;
  for (const std::string& l : h.row_labels) longest = std::max(longest, std::min<size_t>(l.size(), 16));
  const double cell = std::clamp(640.0 / double(std::max<size_t>(C, 1)), 12.0, 36.0), left = 20 + 7.0 * double(longest),
               top = 70, W = left + cell * double(C) + 20, H = top + cell * double(R) + 20;
  auto clip = [](const std::string& l) { return l.size() > 16 ? l.substr(0, 15) + "~" : l; };
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart heatmap\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W
    << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s << "<text x=\"10\" y=\"18\" class=\"title\">" << escape(h.title) << "</text>\n";
  for (size_t c = 0; c < C; ++c)
    s << "<text x=\"" << num(left + cell * (double(c) + 0.5)) << "\" y=\"" << top - 8
      << "\" class=\"tick\" text-anchor=\"middle\">" << escape(clip(h.column_labels[c])) << "</text>\n";
  for (size_t r = 0; r < R; ++r) {
    s << "<text x=\"" << num(left - 6) << "\" y=\"" << num(top + cell * (double(r) + 0.5) + 4)
      << "\" class=\"tick\" text-anchor=\"end\">" << escape(clip(h.row_labels[r])) << "</text>\n";
    for (size_t c = 0; c < C && r * C + c < h.values.size(); ++c) {
      const double v = std::clamp(double(h.values[r * C + c]), 0.0, 1.0);
      const int shade = int(std::lround(255 - 220 * v));
      s << "<rect class=\"cell\" x=\"" << num(left + cell * double(c)) << "\" y=\"" << num(top + cell * double(r))
        << "\" width=\"" << num(cell) << "\" height=\"" << num(cell) << "\" fill=\"rgb(" << shade << "," << shade
        << ",255)\" stroke=\"#fff\"><title>" << num(v) << "</title></rect>\n";
    }
  }
  s << "</svg>\n";
  return s.str();
}

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

std::string line_chart(const std::string& id, const LineChart& c) {
  std::vector<Line> lines;
  for (size_t k = 0; k < c.series.size(); ++k) {
    const LineChart::Series& se = c.series[k];
    lines.push_back({se.name, kPalette[k % 8], se.x, se.y, se.dashed});
  }
  return chart(id, c.title, c.xlabel, lines, c.log_y, {}, {}, c.log_x);
}

std::string bar_chart(const std::string& id, const BarChart& c) {
  double top = 1e-12;
  for (const std::vector<double>& v : c.values)
    for (double x : v) top = std::max(top, std::isfinite(x) ? x : 0.0);
  const size_t S = c.series.size();
  const double W = 900, left = 200, right = 140, bar = 16, gap = 14, head = 44;
  const double H = head + double(c.rows.size()) * (double(S) * bar + gap) + 10;
  std::ostringstream s;
  s << "<svg id=\"" << id << "\" class=\"chart bars\" viewBox=\"0 0 " << W << " " << H
    << "\" width=\"" << W << "\" height=\"" << H << "\" xmlns=\"http://www.w3.org/2000/svg\">\n"
    << "<text x=\"10\" y=\"18\" class=\"title\">" << escape(c.title) << "</text>\n";
  double legend_x = left;
  for (size_t k = 0; k < S; ++k) {
    s << "<rect x=\"" << legend_x << "\" y=\"28\" width=\"14\" height=\"8\" fill=\""
      << kPalette[k % 8] << "\"/><text x=\"" << legend_x + 18 << "\" y=\"36\" class=\"tick\">"
      << escape(c.series[k]) << "</text>\n";
    legend_x += 30 + 8 * double(c.series[k].size());
  }
  for (size_t r = 0; r < c.rows.size(); ++r) {
    const double y = head + double(r) * (double(S) * bar + gap);
    s << "<text x=\"" << left - 8 << "\" y=\"" << y + double(S) * bar / 2 + 4
      << "\" class=\"tick\" text-anchor=\"end\">" << escape(c.rows[r]) << "</text>\n";
    for (size_t k = 0; k < S; ++k) {
      const double v =
          r < c.values[k].size() && std::isfinite(c.values[k][r]) ? c.values[k][r] : 0.0;
      const double w = std::max(1.0, (W - left - right) * v / top), yy = y + double(k) * bar;
      s << "<rect class=\"bar\" x=\"" << left << "\" y=\"" << yy << "\" width=\"" << num(w)
        << "\" height=\"" << bar - 2 << "\" fill=\"" << kPalette[k % 8] << "\"/><text x=\""
        << num(left + w + 6) << "\" y=\"" << yy + bar - 4 << "\" class=\"tick\">" << num(v) << " "
        << escape(c.unit) << "</text>\n";
    }
  }
  s << "</svg>\n";
  return s.str();
}

// Each piece on a background from blue (-1) through white (0) to red (+1), its value in a
// tooltip; monospace, so that columns of text line up as the model read them.
std::string shaded_text(const std::string& id, const ShadedText& t) {
  std::ostringstream s;
  s << "<h3>" << escape(t.title) << "</h3>\n<div id=\"" << id
    << "\" class=\"shaded\" style=\"font-family:monospace;font-size:14px;line-height:1.6;"
    << "white-space:pre-wrap;border:1px solid #ccc;padding:8px\">";
  for (size_t k = 0; k < t.pieces.size(); ++k) {
    const double v = k < t.values.size() && std::isfinite(t.values[k])
                         ? std::clamp(double(t.values[k]), -1.0, 1.0)
                         : 0.0;
    const int fade = int(std::lround(255 - 255 * std::abs(v)));
    char color[32];
    if (v >= 0)
      std::snprintf(color, sizeof color, "rgb(255,%d,%d)", fade, fade);
    else
      std::snprintf(color, sizeof color, "rgb(%d,%d,255)", fade, fade);
    s << "<span style=\"background:" << color << "\" title=\"" << num(v) << "\">"
      << escape(t.pieces[k]) << "</span>";
  }
  s << "</div>\n";
  return s.str();
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string report_html(const ReportContent& c) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
    << escape(c.title) << "</title>\n<style>\n"
    << "body{font-family:sans-serif;margin:24px;color:#222;max-width:960px}"
    << "table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:4px 10px;"
    << "text-align:right}th:first-child,td:first-child{text-align:left}"
    << ".title{font-size:15px;font-weight:bold}.tick{font-size:11px;fill:#444}"
    << ".emitted{font-size:13px;font-weight:bold;fill:#222}"
    << "svg.chart{display:block;margin:16px 0;background:#fff}\n</style></head><body>\n";
  s << "<h1>" << escape(c.title) << "</h1>\n";
  if (!c.facts.empty()) {
    s << "<table>\n";
    for (const auto& [k, v] : c.facts) s << "<tr><th>" << escape(k) << "</th><td>" << escape(v) << "</td></tr>\n";
    s << "</table>\n";
  }
  for (const std::string& p : c.notes) s << "<p>" << escape(p) << "</p>\n";
  if (const ForecastEvaluation* ev = c.evaluation) {
    s << "<h2>Test metrics: " << escape(ev->target) << "</h2>\n<table id=\"metrics\">\n"
      << "<tr><th></th><th>RMSE</th><th>MAE</th><th>sMAPE %</th><th>MASE</th></tr>\n";
    auto row = [&](const std::string& name, const Metrics& m) {
      s << "<tr><td>" << escape(name) << "</td><td>" << num(m.rmse) << "</td><td>" << num(m.mae)
        << "</td><td>" << num(m.smape) << "</td><td>" << (std::isfinite(m.mase) ? num(m.mase) : std::string("-"))
        << "</td></tr>\n";
    };
    row("model", ev->model);
    for (const auto& [name, m] : ev->baselines()) row(name, m);  // best first
    s << "</table>\n";
    const auto best = ev->baselines().front();
    s << "<p>Best baseline: " << escape(best.first) << "; the model's RMSE is "
      << num(100.0 * ev->model.rmse / best.second.rmse) << "% of it"
      << (ev->model.rmse < best.second.rmse ? "" : " (the model does <b>not</b> beat it on this test part)")
      << ".</p>\n";
    if (!ev->intervals.empty()) {
      s << "<table id=\"intervals\">\n<tr><th>interval</th><th>nominal</th><th>test values inside</th>"
        << "<th>mean width</th></tr>\n";
      for (const IntervalScore& in : ev->intervals)
        s << "<tr><td>q" << num(in.lower) << " .. q" << num(in.upper) << "</td><td>" << num(100.0 * double(in.upper - in.lower))
          << "%</td><td>" << num(100.0 * in.coverage) << "%</td><td>" << num(in.mean_width) << "</td></tr>\n";
      s << "</table>\n<p>Mean pinball loss over the levels: " << num(ev->pinball) << "; the model's point forecast is the median.</p>\n";
    }
  }
  if (const ForecastSelection* sel = c.selection; sel && sel->kept >= 0) {
    s << "<h2>Target transform, chosen on validation</h2>\n<table id=\"transforms\">\n"
      << "<tr><th>transform</th><th>" << (sel->series_validation.empty() ? "validation RMSE" : "validation RMSE / sd (mean over the series)")
      << "</th><th>epochs</th><th></th></tr>\n";
    for (size_t i = 0; i < sel->trials.size(); ++i) {
      const TransformTrial& t = sel->trials[i];
      std::string name = transform_name(t.transform);
      if (t.transform == Transform::boxcox) name += " (λ = " + num(t.boxcox_lambda) + ")";
      s << "<tr><td>" << escape(name) << "</td><td>"
        << (std::isfinite(t.validation_rmse) ? num(t.validation_rmse) : std::string("-")) << "</td><td>"
        << t.epochs << "</td><td>" << (int(i) == sel->kept ? "kept" : escape(t.note)) << "</td></tr>\n";
    }
    s << "</table>\n";
    std::istringstream lines(sel->summary());
    std::string line;
    while (std::getline(lines, line))
      if (line.rfind("kept", 0) == 0 || line.rfind("validation", 0) == 0 || line.rfind("calibrated", 0) == 0)
        s << "<p>" << escape(line) << "</p>\n";
  }
  if (!c.history.empty()) {
    std::vector<Line> lines;
    const char* colors[] = {"#1f77b4", "#ff7f0e"};
    int k = 0;
    for (const char* key : {"loss", "val_loss"}) {
      auto it = c.history.find(key);
      if (it == c.history.end()) continue;
      Line l{key, colors[k++], {}, it->second};
      for (size_t e = 0; e < it->second.size(); ++e) l.x.push_back(double(e + 1));
      lines.push_back(l);
    }
    s << chart("loss-chart", "Training loss (log scale)", "epoch", lines, true);
  }
  if (!c.metric_keys.empty()) {
    std::vector<Line> lines;
    const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
    size_t k = 0;
    for (const std::string& key : c.metric_keys) {
      auto it = c.history.find(key);
      if (it == c.history.end() || it->second.empty()) continue;
      Line l{key, colors[k++ % 6], {}, it->second};
      for (size_t e = 0; e < it->second.size(); ++e) l.x.push_back(double(e + 1));
      lines.push_back(l);
    }
    if (!lines.empty()) s << chart("metrics-chart", c.metric_title, "epoch", lines, false);
  }
  for (size_t k = 0; k < c.line_charts.size(); ++k)
    s << line_chart("line-chart-" + std::to_string(k), c.line_charts[k]);
  for (size_t k = 0; k < c.bar_charts.size(); ++k)
    s << bar_chart("bar-chart-" + std::to_string(k), c.bar_charts[k]);
  for (size_t k = 0; k < c.rolls.size(); ++k) s << piano_roll("roll-" + std::to_string(k), c.rolls[k]);
  for (size_t k = 0; k < c.heatmaps.size(); ++k) s << heatmap_chart("heatmap-" + std::to_string(k), c.heatmaps[k]);
  for (size_t k = 0; k < c.spectrograms.size(); ++k)
    s << spectrogram_svg("spectrogram-" + std::to_string(k), c.spectrograms[k]);
  for (size_t k = 0; k < c.frame_strips.size(); ++k)
    s << frame_strip_svg("frames-" + std::to_string(k), c.frame_strips[k]);
  for (size_t k = 0; k < c.shaded_texts.size(); ++k)
    s << shaded_text("shaded-" + std::to_string(k), c.shaded_texts[k]);
  for (size_t k = 0; k < c.tables.size(); ++k) {
    const ReportTable& t = c.tables[k];
    s << "<h2>" << escape(t.title) << "</h2>\n<table id=\"table-" << k << "\">\n<tr>";
    for (const std::string& h : t.header) s << "<th>" << escape(h) << "</th>";
    s << "</tr>\n";
    for (const std::vector<std::string>& row : t.rows) {
      s << "<tr>";
      for (const std::string& cell : row) s << "<td style=\"text-align:left\">" << escape(cell) << "</td>";
      s << "</tr>\n";
    }
    s << "</table>\n";
  }
  if (const ClassificationReport* r = c.classification) {
    s << "<h2>Held-out test: accuracy " << num(r->accuracy) << " on " << r->samples() << " samples</h2>\n"
      << "<table id=\"classes\">\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n";
    for (size_t k = 0; k < r->labels.size(); ++k) {
      int64_t support = 0;
      for (int64_t v : r->confusion[k]) support += v;
      s << "<tr><td>" << escape(r->labels[k]) << "</td><td>" << num(r->precision[k]) << "</td><td>" << num(r->recall[k])
        << "</td><td>" << num(r->f1[k]) << "</td><td>" << support << "</td></tr>\n";
    }
    s << "</table>\n" << confusion_chart(*r);
  }
  if (c.evaluation) {
    Line actual{"actual", "#444444", {}, {}}, predicted{"predicted (1 step ahead)", "#d62728", {}, {}};
    for (const PredictionRow& p : c.evaluation->predictions) {
      if (p.step != 1) continue;
      actual.x.push_back(double(p.row)), actual.y.push_back(p.actual);
      predicted.x.push_back(double(p.row)), predicted.y.push_back(p.predicted);
    }
    std::vector<Line> lines = {actual, predicted};
    if (!c.future.empty() && !actual.x.empty()) {
      Line future{"forecast", "#2ca02c", {}, {}, true};
      for (const ForecastPoint& f : c.future)
        future.x.push_back(actual.x.back() + f.step), future.y.push_back(f.value);
      lines.push_back(future);
    }
    // a fan chart: each interval of a quantile forecaster shaded, the widest the lightest
    std::vector<Band> bands;
    const ForecastEvaluation& ev = *c.evaluation;
    for (size_t i = 0; i < ev.intervals.size(); ++i) {
      const IntervalScore& in = ev.intervals[i];
      char name[64];
      std::snprintf(name, sizeof name, "%g%% interval", 100.0 * double(in.upper - in.lower));
      Band b{name, "#d62728", {}, {}, {}, 0.15 + 0.15 * double(i)};
      const size_t Q = ev.quantile_levels.size();
      for (const PredictionRow& p : ev.predictions)
        if (p.step == 1 && p.quantiles.size() == Q)
          b.x.push_back(double(p.row)), b.lo.push_back(p.quantiles[i]), b.hi.push_back(p.quantiles[Q - 1 - i]);
      bands.push_back(b);
    }
    s << chart("forecast-chart", "Test split: forecast against actual " + c.evaluation->target,
               c.row_dates.empty() ? "data row" : "date", lines, false, c.row_dates, bands);
  }
  if (!c.future.empty()) {
    s << "<h2>Forecast past the data</h2>\n<table id=\"future\">\n<tr><th>step</th><th>date</th><th>value</th></tr>\n";
    for (const ForecastPoint& f : c.future)
      s << "<tr><td>" << f.step << "</td><td>" << escape(f.date) << "</td><td>" << num(f.value) << "</td></tr>\n";
    s << "</table>\n";
  }
  s << "</body></html>\n";
  return s.str();
}

}  // namespace lstm
