// CSV reading (include/lstm/data.h): RFC 4180 quoting, a header of unique names, and errors that
// name the line.
#include <set>

#include "io/file.h"
#include "lstm/data.h"
#include "lstm/error.h"

namespace lstm {

int CsvTable::column(const std::string& name) const {
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return int(c);
  std::string list;
  for (const std::string& h : header) list += (list.empty() ? "" : ", ") + h;
  throw Error("'" + path + "' has no column '" + name + "' (its columns: " + list + ")");
}

CsvTable parse_csv(const std::string& text, const std::string& name) {
  CsvTable t;
  t.path = name;
  size_t p = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // UTF-8 byte order mark
  int64_t line = 1;
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> starts;
  while (p < text.size()) {
    std::vector<std::string> record;
    const int64_t start = line;
    std::string cell;
    bool quoted = false, end_of_record = false;
    while (!end_of_record) {
      if (p >= text.size()) {
        if (quoted) throw Error("'" + name + "': a quoted cell opened on line " + std::to_string(start) + " never closes");
        record.push_back(cell);
        break;
      }
      char ch = text[p++];
      if (quoted) {
        if (ch == '"') {
          if (p < text.size() && text[p] == '"') cell += '"', ++p;
          else quoted = false;
        } else {
          if (ch == '\n') ++line;
          cell += ch;
        }
      } else if (ch == '"' && cell.empty()) {
        quoted = true;
      } else if (ch == ',') {
        record.push_back(cell);
        cell.clear();
      } else if (ch == '\n' || ch == '\r') {
        if (ch == '\r' && p < text.size() && text[p] == '\n') ++p;
        ++line;
        record.push_back(cell);
        end_of_record = true;
      } else {
        cell += ch;
      }
    }
    bool blank = record.size() == 1 && record[0].find_first_not_of(" \t") == std::string::npos;
    if (!blank) {
      records.push_back(std::move(record));
      starts.push_back(start);
    }
  }
  if (records.empty()) throw Error("'" + name + "' is empty: a CSV needs a header row and data rows");
  t.header = std::move(records[0]);
  std::set<std::string> seen;
  for (std::string& h : t.header) {
    size_t a = h.find_first_not_of(" \t"), b = h.find_last_not_of(" \t");
    h = a == std::string::npos ? "" : h.substr(a, b - a + 1);
    if (h.empty()) throw Error("'" + name + "': the header (line " + std::to_string(starts[0]) + ") has an empty column name");
    if (!seen.insert(h).second) throw Error("'" + name + "': the header names column '" + h + "' twice");
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != t.header.size())
      throw Error("'" + name + "': line " + std::to_string(starts[r]) + " has " +
                  std::to_string(records[r].size()) + " cells but the header has " +
                  std::to_string(t.header.size()) + " columns");
    t.rows.push_back(std::move(records[r]));
    t.lines.push_back(starts[r]);
  }
  if (t.rows.empty()) throw Error("'" + name + "' has a header but no data rows");
  return t;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file(path, "CSV file"), path); }

}  // namespace lstm
