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

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    unsigned cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
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
