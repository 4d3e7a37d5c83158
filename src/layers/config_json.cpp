// The config readers of config_json.h.
#include "layers/config_json.h"

#include <cstdio>
#include <cstdlib>

#include "core/json.h"
#include "core/limits.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!allowed.count(it.key())) {
      std::string list;
      for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
      throw Error(where + ": unknown key \"" + it.key() + "\" (allowed keys: " + list + ")");
    }
  }
}

int64_t json_int(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key)) throw Error(where + ": missing key \"" + key + "\"");
  const json& v = obj[key];
  if (!v.is_number_integer())
    throw Error(where + ": \"" + key + "\" must be an integer, got " + json_brief(v));
  return v.get<int64_t>();
}

int json_units(const json& obj, const char* key, const std::string& where) {
  const int64_t units = json_int(obj, key, where);
  if (units <= 0 || units > limits::kWidth)
    throw Error(where + ": \"" + key + "\" must be an integer in 1.." +
                std::to_string(limits::kWidth) + ", got " + std::to_string(units));
  return int(units);
}

bool json_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_boolean()) throw Error(where + ": \"" + key + "\" must be true or false");
  return obj[key].get<bool>();
}

double json_number(const json& obj, const char* key, double fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number()) throw Error(where + ": \"" + key + "\" must be a number");
  return obj[key].get<double>();
}

Activation json_activation(const json& obj, const char* key, Activation fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_string()) throw Error(where + ": \"" + key + "\" must be a string");
  try {
    return activation_from_name(obj[key].get<std::string>());
  } catch (const Error& e) {
    throw Error(where + ": \"" + key + "\": " + e.what());
  }
}

double json_float(float v) {
  char buf[32] = "0";
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

}  // namespace lstm
