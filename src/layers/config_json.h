// The pieces a layer's room reads and writes its config with (the "layers" entries of a model
// file and of `lstm train --config`, docs/file-format.md). Every reader throws lstm::Error
// starting with `where`, naming the key and what it must be; unknown keys are errors, so a
// typo never falls back to a default silently.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "lstm/layers.h"

namespace lstm {

// Throws for a key of `obj` that is not in `allowed`, listing the allowed ones.
void check_keys(const nlohmann::json& obj, const std::set<std::string>& allowed, const std::string& where);
// A required integer.
int64_t json_int(const nlohmann::json& obj, const char* key, const std::string& where);
// A required integer in 1..limits::kWidth (units, output_dim).
int json_units(const nlohmann::json& obj, const char* key, const std::string& where);
// Optional values: `fallback` when the key is absent.
bool json_bool(const nlohmann::json& obj, const char* key, bool fallback, const std::string& where);
double json_number(const nlohmann::json& obj, const char* key, double fallback, const std::string& where);
Activation json_activation(const nlohmann::json& obj, const char* key, Activation fallback,
                           const std::string& where);
// A float as the shortest decimal that reads back as the same float: 0.1, not 0.100000001.
double json_float(float v);

}  // namespace lstm
