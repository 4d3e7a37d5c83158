// parse_json / json_brief (json.h).
#include "core/json.h"

#include <algorithm>

#include "core/limits.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;

namespace {

struct TooDeep {};

// Appends v to out until out reaches `budget` characters; depth is bounded by the parser.
void brief(const json& v, std::string& out, size_t budget) {
  if (out.size() >= budget) return;
  if (v.is_array() || v.is_object()) {
    out += v.is_array() ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() >= budget) return;
      if (!first) out += ", ";
      first = false;
      if (v.is_object()) out += json(it.key()).dump(-1, ' ', false, json::error_handler_t::replace) + ": ";
      brief(it.value(), out, budget);
    }
    if (out.size() < budget) out += v.is_array() ? ']' : '}';
    return;
  }
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  out += s.substr(0, budget - out.size() + 1);
}

}  // namespace

json parse_json(const std::string& text, const std::string& what) {
  auto depth_check = [](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= limits::kJsonDepth)
      throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text, depth_check);
  } catch (const TooDeep&) {
    throw Error(what + " nests deeper than " + std::to_string(limits::kJsonDepth) +
                " levels of arrays and objects: no valid file does (is it corrupt or hostile?)");
  } catch (const json::exception& e) {
    std::string why = e.what();
    if (why.size() > 160) why = why.substr(0, 160) + "...";
    throw Error(what + " is not valid JSON: " + why);
  }
}

int64_t json_integer(const json& v, int64_t lo, int64_t hi, const std::string& what) {
  const bool ok = v.is_number_integer() &&
                  (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(std::max<int64_t>(hi, 0)) &&
                                                int64_t(v.get<uint64_t>()) >= lo
                                          : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi);
  if (!ok)
    throw Error(what + " is " + json_brief(v) + ", not an integer in " + std::to_string(lo) +
                ".." + std::to_string(hi));
  return v.get<int64_t>();
}

size_t utf8_sequence_length(std::string_view s, size_t at) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(at);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range (RFC 3629, table 3-7)
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;                                   // no overlong forms
  else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) n = 3;
  else if (b0 == 0xED) n = 3, hi = 0x9F;                                   // no surrogates
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;                                   // up to U+10FFFF
  else return 0;
  if (at + n > s.size() || byte(at + 1) < lo || byte(at + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(at + k) < 0x80 || byte(at + k) > 0xBF) return 0;
  return n;
}

bool is_valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string json_brief(const json& v, size_t budget) {
  std::string out;
  brief(v, out, budget + 1);  // past budget: it was cut
  if (out.size() > budget) out = out.substr(0, budget) + "...";
  return out;
}

}  // namespace lstm
