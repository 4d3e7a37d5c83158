// Dates: a date that parses formats back to text that parses to the same instant.
#include "fuzz.h"
#include "lstm/data.h"

LSTM_FUZZ_TARGET({
  const int64_t t = lstm::parse_date(bytes);
  const std::string again = lstm::format_date(t, bytes);
  if (lstm::parse_date(again) != t) __builtin_trap();
  (void)lstm::format_date(t + int64_t(86400) * 365 * 100, bytes);
})
