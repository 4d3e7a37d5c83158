// lstm/data.h - from a CSV file to training windows.
//
//   lstm::CsvTable table = lstm::read_csv("data/seattle-weather.csv");
//   lstm::Series s = lstm::select_columns(table, {"temp_max", "temp_min"}, {.date_column = "date"});
//   lstm::Scaler scaler = lstm::Scaler::fit(s.values, s.columns(), 0, split_row, lstm::Scaling::standard);
//
// Most users want the Forecaster in lstm/forecast.h, which does all of this; these are its
// parts, for programs that need something else.
//
// Rows are numbered from 0 in the order of the CSV's data rows (the header is not a row); an
// error names the row, its line in the file and the column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lstm/tensor.h"

namespace lstm {

// A CSV file as text cells: RFC 4180 (quotes, "" escapes, CRLF), a header row of unique names.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // rows[r][c]
  std::vector<int64_t> lines;                  // 1-based line number where rows[r] starts
  int column(const std::string& name) const;   // throws lstm::Error listing the columns
};
CsvTable read_csv(const std::string& path);
CsvTable parse_csv(const std::string& text, const std::string& name = "<csv>");

// How missing cells (empty, NA, NaN, null) are handled: an error by default.
enum class Fill { none, previous, linear };
Fill fill_from_name(const std::string& name);  // "none", "previous", "linear"

struct SelectOptions {
  std::string date_column;  // optional: kept as text, for forecasts with dates
  Fill fill = Fill::none;
};

// Numeric columns of a table, row-major: values[r * columns() + c].
struct Series {
  std::vector<std::string> names;
  std::vector<float> values;
  std::vector<std::string> dates;  // one per row when a date column was selected
  int64_t rows() const { return names.empty() ? 0 : int64_t(values.size() / names.size()); }
  int64_t columns() const { return int64_t(names.size()); }
  float at(int64_t r, int64_t c) const { return values[size_t(r * columns() + c)]; }
};
Series select_columns(const CsvTable& table, const std::vector<std::string>& names,
                      const SelectOptions& options = {});

// Per-column affine scaling x' = (x - center) / scale, fitted on a range of rows only.
enum class Scaling { standard, minmax };  // (x - mean) / std, or (x - min) / (max - min)
Scaling scaling_from_name(const std::string& name);
const char* scaling_name(Scaling s);

struct Scaler {
  Scaling kind = Scaling::standard;
  std::vector<float> center, scale;  // one per column
  // Fits on rows [begin, end) of a row-major (rows x cols) array.
  static Scaler fit(const std::vector<float>& values, int64_t cols, int64_t begin, int64_t end,
                    Scaling kind);
  float apply(float x, int64_t col) const { return (x - center[size_t(col)]) / scale[size_t(col)]; }
  float invert(float x, int64_t col) const { return x * scale[size_t(col)] + center[size_t(col)]; }
};

// Dates: "2012-01-31", "2012/01/31" or "20120131", the first two optionally followed by
// " HH:MM[:SS]" or "THH:MM[:SS]".
// Parsed to seconds since 1970-01-01 (UTC, no time zones); throws lstm::Error otherwise.
int64_t parse_date(const std::string& text);
// Formats seconds the way `like` was written (same separators, time part if it had one).
std::string format_date(int64_t seconds, const std::string& like);

// The calendar of a date in seconds (parse_date's): weekday 0 = Monday .. 6 = Sunday; yearday
// 1..366; month_days and year_days the lengths of its month and year; second into the day.
struct CivilDate {
  int64_t year = 1970;
  int month = 1, day = 1, weekday = 3, yearday = 1, month_days = 31, year_days = 365;
  int64_t second = 0;
};
CivilDate civil_date(int64_t seconds);
// `seconds` moved by whole calendar months, the day kept (clamped to the month's last day).
int64_t add_months(int64_t seconds, int64_t months);
// Whole calendar months from `earlier` to `later` when they fall on the same day of their
// months (or both on their months' last days, or `later` on its last day and `earlier` past
// it, as 30 January and 28 February) at the same time; else 0.
int64_t months_apart(int64_t earlier, int64_t later);
// add_months, then to that month's last day when `month_end` (data dated at month ends).
int64_t add_months_like(int64_t seconds, int64_t months, bool month_end);
// The date k steps after `last`, stepping as the data does: by whole months when `previous`
// and `last` are 1 to 12 months apart (months_apart: monthly, quarterly or yearly data; at
// month ends when `last` is one), else by last - previous seconds.
int64_t step_date(int64_t previous, int64_t last, int64_t k);

}  // namespace lstm
