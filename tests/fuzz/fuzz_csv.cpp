// CSV files: parsed, then every column selected as numbers (with the first as dates when it
// parses as one), with missing cells filled linearly.
#include "fuzz.h"
#include "lstm/data.h"

LSTM_FUZZ_TARGET({
  const lstm::CsvTable table = lstm::parse_csv(bytes, "fuzz.csv");
  std::vector<std::string> names(table.header.begin() + (table.header.size() > 1 ? 1 : 0),
                                 table.header.end());
  lstm::SelectOptions options{.fill = lstm::Fill::linear};
  if (table.header.size() > 1) options.date_column = table.header[0];
  try {
    (void)lstm::select_columns(table, names, options);
  } catch (const lstm::Error&) {
    options.date_column.clear();
    (void)lstm::select_columns(table, table.header, options);
  }
})
