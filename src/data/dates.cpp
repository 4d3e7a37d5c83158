// Dates as seconds since 1970-01-01 (UTC), for forecasts that continue a dated series.
// Civil-calendar conversions after Howard Hinnant's days_from_civil / civil_from_days.
#include <algorithm>
#include <cstdio>

#include "lstm/data.h"
#include "lstm/error.h"

namespace lstm {

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

static void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = int64_t(yoe) + era * 400 + (m <= 2);
}

static bool compact(const std::string& t) {  // YYYYMMDD
  return t.size() == 8 && t.find_first_not_of("0123456789") == std::string::npos;
}

// Digits [at, at + n) of t as a number, or -1 if any is not a digit.
static int digits(const std::string& t, size_t at, size_t n) {
  int v = 0;
  for (size_t k = at; k < at + n; ++k) {
    if (t[k] < '0' || t[k] > '9') return -1;
    v = v * 10 + (t[k] - '0');
  }
  return v;
}

int64_t parse_date(const std::string& text) {
  // By position, as written: YYYYMMDD, or YYYY-MM-DD / YYYY/MM/DD optionally followed by
  // " HH:MM" or "THH:MM" and ":SS" - so format_date can write a date back the same way.
  const size_t n = text.size();
  int y = -1, mo = -1, d = -1, h = 0, mi = 0, s = 0;
  bool ok = false;
  if (compact(text)) {
    y = digits(text, 0, 4), mo = digits(text, 4, 2), d = digits(text, 6, 2);
    ok = true;
  } else if ((n == 10 || n == 16 || n == 19) && (text[4] == '-' || text[4] == '/') &&
             text[7] == text[4]) {
    y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    ok = y >= 0 && mo >= 0 && d >= 0;
    if (ok && n >= 16) {
      h = digits(text, 11, 2), mi = digits(text, 14, 2);
      ok = (text[10] == ' ' || text[10] == 'T') && text[13] == ':' && h >= 0 && mi >= 0;
    }
    if (ok && n == 19) {
      s = digits(text, 17, 2);
      ok = text[16] == ':' && s >= 0;
    }
  }
  // The day must exist in its month (2020-02-31 does not); years 1..9999; 60 seconds: a leap second.
  static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  ok = ok && y >= 1 && mo >= 1 && mo <= 12 && d >= 1 &&
       d <= days_in[mo >= 1 && mo <= 12 ? mo - 1 : 0] + (mo == 2 && leap) && h < 24 && mi < 60 &&
       s < 61;
  if (!ok)
    throw Error("'" + (text.size() > 40 ? text.substr(0, 40) + "..." : text) + "' is not a date: "
                "use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, optionally with HH:MM[:SS]");
  return days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + s;
}

std::string format_date(int64_t seconds, const std::string& like) {
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t rest = seconds - days * 86400, y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  if (compact(like)) {
    std::snprintf(buf, sizeof buf, "%04lld%02u%02u", (long long)y, m, d);
    return buf;
  }
  const char sep = like.size() > 4 && like[4] == '/' ? '/' : '-';
  int n = std::snprintf(buf, sizeof buf, "%04lld%c%02u%c%02u", (long long)y, sep, m, sep, d);
  if (like.size() > 10) {
    const bool with_seconds = like.size() > 16;
    n += std::snprintf(buf + n, sizeof buf - size_t(n), "%c%02lld:%02lld", like[10],
                       (long long)(rest / 3600), (long long)(rest / 60 % 60));
    if (with_seconds) std::snprintf(buf + n, sizeof buf - size_t(n), ":%02lld", (long long)(rest % 60));
  }
  return buf;
}

static bool leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int64_t y, unsigned m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return days[m - 1] + (m == 2 && leap_year(y));
}

CivilDate civil_date(int64_t seconds) {
  const int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  CivilDate c;
  unsigned m = 0, d = 0;
  civil_from_days(days, c.year, m, d);
  c.month = int(m), c.day = int(d);
  c.second = seconds - days * 86400;
  c.weekday = int(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3)
  c.yearday = int(days - days_from_civil(c.year, 1, 1)) + 1;
  c.month_days = days_in_month(c.year, m);
  c.year_days = leap_year(c.year) ? 366 : 365;
  return c;
}

int64_t add_months(int64_t seconds, int64_t months) {
  const CivilDate c = civil_date(seconds);
  const int64_t index = c.year * 12 + (c.month - 1) + months, y = index >= 0 ? index / 12 : (index - 11) / 12;
  const unsigned m = unsigned(index - y * 12 + 1);
  const unsigned d = unsigned(std::min(c.day, days_in_month(y, m)));
  return days_from_civil(y, m, d) * 86400 + c.second;
}

int64_t months_apart(int64_t earlier, int64_t later) {
  const CivilDate a = civil_date(earlier), b = civil_date(later);
  const bool a_end = a.day == a.month_days, b_end = b.day == b.month_days;
  const bool same_day = a.day == b.day || (a_end && b_end) || (b_end && a.day > b.day);
  if (!same_day || a.second != b.second) return 0;
  return (b.year - a.year) * 12 + (b.month - a.month);
}

int64_t add_months_like(int64_t seconds, int64_t months, bool month_end) {
  const int64_t moved = add_months(seconds, months);
  if (!month_end) return moved;
  const CivilDate c = civil_date(moved);
  return moved + int64_t(c.month_days - c.day) * 86400;
}

int64_t step_date(int64_t previous, int64_t last, int64_t k) {
  const int64_t months = months_apart(previous, last);
  const CivilDate b = civil_date(last);
  if (months >= 1 && months <= 12) return add_months_like(last, months * k, b.day == b.month_days);
  return last + k * (last - previous);
}

}  // namespace lstm
