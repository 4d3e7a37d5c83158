// Many series, one model (ForecastOptions::series_column, include/lstm/forecast.h): a
// long-format table cut into one table per series, each built as a single series with its own
// scalers, their windows stacked for the one global model.
#include <algorithm>
#include <map>

#include "forecast/windows.h"
#include "lstm/error.h"
#include "lstm/forecast.h"

namespace lstm {

namespace {

struct SeriesTable {
  std::string id;
  CsvTable table;
};

// The table's rows per value of the series column, series in the order they first appear and
// rows in file order. An empty id is an error naming its line.
std::vector<SeriesTable> split_series(const CsvTable& table, const std::string& column) {
  const int c = table.column(column);
  std::vector<SeriesTable> out;
  std::map<std::string, size_t> index;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::vector<std::string>& row = table.rows[r];
    std::string id = size_t(c) < row.size() ? row[size_t(c)] : std::string();
    const size_t a = id.find_first_not_of(" \t"), b = id.find_last_not_of(" \t");
    id = a == std::string::npos ? std::string() : id.substr(a, b - a + 1);
    if (id.empty())
      throw Error("'" + table.path + "': the series column '" + column + "' is empty" +
                  (r < table.lines.size() ? " on line " + std::to_string(table.lines[r]) : "") +
                  ": every row needs the id of its series");
    auto [it, fresh] = index.emplace(id, out.size());
    if (fresh) {
      if (int64_t(out.size()) >= kMaxSeries)
        throw Error("'" + table.path + "' has more than " + std::to_string(kMaxSeries) + " series in '" + column + "'");
      SeriesTable s{id, {table.path + ", series " + id, table.header, {}, {}}};
      out.push_back(std::move(s));
    }
    CsvTable& t = out[it->second].table;
    t.rows.push_back(row);
    if (r < table.lines.size()) t.lines.push_back(table.lines[r]);
  }
  if (out.empty()) throw Error("'" + table.path + "' has no rows");
  return out;
}

}  // namespace

Tensor stack_rows(const std::vector<const Tensor*>& parts) {
  int64_t rows = 0;
  std::vector<int64_t> shape;
  for (const Tensor* t : parts)
    if (!t->empty()) rows += t->dim(0), shape = t->shape();
  if (shape.empty()) return Tensor();
  shape[0] = rows;
  Tensor out(shape);
  float* p = out.data();
  for (const Tensor* t : parts)
    if (!t->empty()) p = std::copy(t->data(), t->data() + t->size(), p);
  return out;
}

ForecastData build_many_series(const CsvTable& table, const ForecastSetup& setup, double test_fraction,
                               bool fit_scaling) {
  const std::string& column = setup.options.series_column;
  std::vector<SeriesTable> tables = split_series(table, column);
  ForecastData all;
  all.setup = setup;
  std::vector<SeriesTable> kept;
  auto build = [&](const SeriesTable& t, ForecastSetup s) {
    try {
      all.parts.push_back(build_forecast_data(t.table, s, test_fraction, fit_scaling));
      return true;
    } catch (const SeriesTooShort& e) {
      all.skipped.push_back("series " + t.id + " is skipped: " + e.what());
      return false;
    }
  };
  if (fit_scaling) {
    // every series its own scalers; the one-hot inputs count the series kept, so a series
    // skipped with an embedding means building the others again
    int64_t count = int64_t(tables.size());
    for (int pass = 0; pass < 2; ++pass) {  // the second pass skips nothing: same tables
      all.parts.clear(), kept.clear();
      for (const SeriesTable& t : tables) {
        ForecastSetup s;
        s.options = setup.options;
        s.series_count = count;
        s.series_index = int64_t(kept.size());
        if (build(t, s)) kept.push_back(t);
      }
      if (kept.size() == tables.size() || !setup.options.series_embedding || kept.empty()) break;
      tables = kept;
      count = int64_t(kept.size());
    }
    if (all.parts.empty())
      throw Error("'" + table.path + "': every one of its " + std::to_string(tables.size()) + " series in '" +
                  column + "' is too short for a training and a test window (" + all.skipped.front() +
                  "): use more data, a shorter --lookback or --horizon, or a smaller --test-fraction");
    all.setup.series.clear();
    for (size_t i = 0; i < all.parts.size(); ++i) {
      const ForecastSetup& s = all.parts[i].setup;
      all.setup.series.push_back({kept[i].id, s.features, s.target, s.known, s.boxcox_lambda, s.interval_adjust,
                                  s.interval_step});
    }
    all.setup.options = all.parts.front().setup.options;  // with the median among the quantiles
    all.setup.series_count = int64_t(all.setup.series.size());
    all.setup.series_index = -1;
    const SeriesScaling& first = all.setup.series.front();  // the setup's own scalers: the first series'
    all.setup.features = first.features, all.setup.target = first.target, all.setup.known = first.known;
    all.setup.boxcox_lambda = first.boxcox_lambda;
  } else {
    std::map<std::string, int64_t> known;
    for (size_t i = 0; i < setup.series.size(); ++i) known[setup.series[i].id] = int64_t(i);
    for (const SeriesTable& t : tables) {
      auto it = known.find(t.id);
      if (it == known.end()) {  // too short when the model was trained, or new: no scaling for it
        std::string names;
        for (size_t i = 0; i < setup.series.size() && i < 8; ++i) names += (i ? ", " : "") + setup.series[i].id;
        if (setup.series.size() > 8) names += ", ...";
        all.skipped.push_back("series '" + t.id + "' (" + column + ") is skipped: it is not one the model was "
                              "trained on (" + std::to_string(setup.series.size()) + " series: " + names +
                              "), so there is no scaling for it; train a model with it to forecast it");
        continue;
      }
      build(t, setup.for_series(it->second));
    }
    if (all.parts.empty())
      throw Error("'" + table.path + "': none of its series can be forecast by this model (" +
                  (all.skipped.empty() ? std::string("it has none") : all.skipped.front()) + ")");
  }
  std::vector<const Tensor*> xs, ys, xt, yt;
  for (const ForecastData& p : all.parts)
    xs.push_back(&p.X_train), ys.push_back(&p.y_train), xt.push_back(&p.X_test), yt.push_back(&p.y_test);
  all.X_train = stack_rows(xs), all.y_train = stack_rows(ys), all.X_test = stack_rows(xt), all.y_test = stack_rows(yt);
  return all;
}

}  // namespace lstm
