// Numeric columns from a CSV table, missing-value filling, and scaling (include/lstm/data.h).
#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/json.h"
#include "lstm/data.h"
#include "lstm/error.h"

namespace lstm {

Fill fill_from_name(const std::string& name) {
  if (name == "none") return Fill::none;
  if (name == "previous") return Fill::previous;
  if (name == "linear") return Fill::linear;
  throw Error("unknown fill '" + name + "': use previous or linear");
}

Scaling scaling_from_name(const std::string& name) {
  if (name == "standard") return Scaling::standard;
  if (name == "minmax") return Scaling::minmax;
  throw Error("unknown scaling '" + name + "': use standard or minmax");
}

const char* scaling_name(Scaling s) { return s == Scaling::standard ? "standard" : "minmax"; }

static bool is_missing(const std::string& cell) {
  static const char* kMissing[] = {"", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "?"};
  for (const char* m : kMissing)
    if (cell == m) return true;
  return false;
}

static std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

Series select_columns(const CsvTable& table, const std::vector<std::string>& names,
                      const SelectOptions& options) {
  if (names.empty()) throw Error("no columns selected from '" + table.path + "'");
  Series s;
  s.names = names;
  const int64_t R = int64_t(table.rows.size()), C = int64_t(names.size());
  std::vector<int> cols;
  for (const std::string& n : names) {
    if (!is_valid_utf8(n))
      throw Error("'" + table.path + "': the column name '" + n.substr(0, 40) + "' is not valid "
                  "UTF-8, so it cannot be saved with the model: save the CSV as UTF-8");
    cols.push_back(table.column(n));
  }
  s.values.assign(size_t(R * C), NAN);
  auto where = [&](int64_t r, int64_t c) {
    return "'" + table.path + "', data row " + std::to_string(r) + " (line " +
           std::to_string(table.lines[size_t(r)]) + "), column '" + names[size_t(c)] + "'";
  };
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      const std::string cell = trim(table.rows[size_t(r)][size_t(cols[size_t(c)])]);
      if (is_missing(cell)) {
        if (options.fill == Fill::none)
          throw Error(where(r, c) + " is missing ('" + cell.substr(0, 40) + "'): clean the data, or opt in to "
                      "filling gaps with --fill previous or --fill linear");
        continue;  // stays NaN until filled below
      }
      float v = 0;
      const char* first = cell.data() + (cell[0] == '+' ? 1 : 0);
      auto [end, ec] = std::from_chars(first, cell.data() + cell.size(), v);
      if (ec != std::errc() || end != cell.data() + cell.size() || !std::isfinite(v))
        throw Error(where(r, c) + ": '" + (cell.size() > 40 ? cell.substr(0, 40) + "..." : cell) +
                    "' is not a number");
      s.values[size_t(r * C + c)] = v;
    }
  }
  for (int64_t c = 0; c < C; ++c) {  // fill gaps column by column
    int64_t prev = -1;
    for (int64_t r = 0; r < R; ++r) {
      float& v = s.values[size_t(r * C + c)];
      if (!std::isnan(v)) {
        if (options.fill == Fill::linear && prev >= 0 && prev < r - 1) {
          float a = s.at(prev, c), b = v;
          for (int64_t k = prev + 1; k < r; ++k)
            s.values[size_t(k * C + c)] = a + (b - a) * float(k - prev) / float(r - prev);
        }
        prev = r;
      } else if (options.fill == Fill::previous && prev >= 0) {
        v = s.at(prev, c);
        prev = r;
      }
    }
    if (prev < 0) throw Error("'" + table.path + "', column '" + names[size_t(c)] + "' has no values at all");
    // Leading gaps take the first value; trailing gaps (linear) the last.
    int64_t first = 0;
    while (std::isnan(s.at(first, c))) ++first;
    for (int64_t r = 0; r < R; ++r)
      if (std::isnan(s.values[size_t(r * C + c)]))
        s.values[size_t(r * C + c)] = r < first ? s.at(first, c) : s.at(prev, c);
  }
  if (!options.date_column.empty()) {
    if (!is_valid_utf8(options.date_column))
      throw Error("'" + table.path + "': the date column's name is not valid UTF-8, so it cannot "
                  "be saved with the model: save the CSV as UTF-8");
    const int dc = table.column(options.date_column);
    int64_t previous = 0;
    for (int64_t r = 0; r < R; ++r) {
      const std::string d = trim(table.rows[size_t(r)][size_t(dc)]);
      const std::string at = "'" + table.path + "', data row " + std::to_string(r) + " (line " +
                             std::to_string(table.lines[size_t(r)]) + "), column '" + options.date_column + "'";
      int64_t seconds = 0;
      try {
        seconds = parse_date(d);
      } catch (const Error& e) {
        throw Error(at + ": " + e.what());
      }
      // windows read rows in order: the dates must go forward, each once
      if (r > 0 && seconds <= previous)
        throw Error(at + ": " + d + (seconds == previous ? " repeats the date of the row before" : " is before the date "
                    "of the row before (" + s.dates.back() + ")") + ": the rows must be in time order, one per "
                    "date; sort the file by '" + options.date_column + "' and remove duplicated rows");
      previous = seconds;
      s.dates.push_back(d);
    }
  }
  return s;
}

Scaler Scaler::fit(const std::vector<float>& values, int64_t cols, int64_t begin, int64_t end,
                   Scaling kind) {
  if (end <= begin) throw Error("cannot fit scaling on an empty range of rows");
  Scaler s;
  s.kind = kind;
  for (int64_t c = 0; c < cols; ++c) {
    double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
    for (int64_t r = begin; r < end; ++r) {
      double v = values[size_t(r * cols + c)];
      lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
    }
    const double mean = sum / double(end - begin);
    for (int64_t r = begin; r < end; ++r) {
      double d = values[size_t(r * cols + c)] - mean;
      sq += d * d;
    }
    double center = kind == Scaling::standard ? mean : lo;
    double scale = kind == Scaling::standard ? std::sqrt(sq / double(end - begin)) : hi - lo;
    if (!(scale > 1e-12)) scale = 1.0;  // a constant column: shift only
    s.center.push_back(float(center));
    s.scale.push_back(float(scale));
  }
  return s;
}

}  // namespace lstm
