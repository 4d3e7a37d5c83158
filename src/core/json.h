// JSON from outside the program, read safely: nesting is limited while parsing (so no later
// recursive walk can overflow the stack), parse errors are one bounded line, and a value is
// quoted in a message only as a bounded prefix, never dumped whole.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lstm {

// Parses `text`; throws lstm::Error "<what> is not valid JSON: ..." or "<what> nests deeper
// than 64 levels ...". The depth limit is limits::kJsonDepth.
nlohmann::json parse_json(const std::string& text, const std::string& what);
// v as an integer in lo..hi; throws lstm::Error "<what> is <v>, not an integer in lo..hi"
// (a float, a string or an out-of-range number never reaches a narrowing cast).
int64_t json_integer(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& what);
// Whether s is well-formed UTF-8 (what JSON strings must be): no stray continuation bytes,
// overlong forms, surrogates or code points past U+10FFFF.
bool is_valid_utf8(const std::string& s);
// The length (1-4) of the well-formed UTF-8 sequence starting at s[at] (at < s.size()), or 0.
size_t utf8_sequence_length(std::string_view s, size_t at);
// A short rendering of v for messages: at most about `budget` characters, "..." when cut.
std::string json_brief(const nlohmann::json& v, size_t budget = 60);

}  // namespace lstm
