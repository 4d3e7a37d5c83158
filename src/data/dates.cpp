// Dates as seconds since 1970-01-01 (UTC), for forecasts that continue a dated series.
// Civil-calendar conversions after Howard Hinnant's days_from_civil / civil_from_days.
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

int64_t parse_date(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  char sep1 = 0, sep2 = 0, tsep = 0;
  bool ok;
  if (compact(text)) {
    y = std::stoi(text.substr(0, 4)), mo = std::stoi(text.substr(4, 2)), d = std::stoi(text.substr(6, 2));
    used = 8;
    ok = true;
  } else {
    int n = std::sscanf(text.c_str(), "%4d%c%2d%c%2d%n", &y, &sep1, &mo, &sep2, &d, &used);
    ok = n >= 5 && (sep1 == '-' || sep1 == '/') && sep2 == sep1;
  }
  // The day must exist in its month (2020-02-31 does not); years 1..9999.
  static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  ok = ok && y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
       d <= days_in[mo >= 1 && mo <= 12 ? mo - 1 : 0] + (mo == 2 && leap);
  if (ok && size_t(used) < text.size()) {
    int more = 0;
    const char* rest = text.c_str() + used;
    int k = std::sscanf(rest, "%c%2d:%2d%n:%2d%n", &tsep, &h, &mi, &more, &s, &more);
    ok = k >= 3 && (tsep == ' ' || tsep == 'T') && rest[more] == '\0' && h >= 0 && h < 24 &&
         mi >= 0 && mi < 60 && s >= 0 && s < 61;
  }
  if (!ok)
    throw Error("'" + (text.size() > 40 ? text.substr(0, 40) + "..." : text) + "' is not a date: use YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, optionally "
                "with HH:MM[:SS]");
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

}  // namespace lstm
