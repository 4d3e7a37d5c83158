// The vocabulary of a text model (include/lstm/text.h): UTF-8 checked, standardised, split,
// counted, and ids assigned most frequent first.
#include <algorithm>
#include <cstring>

#include "core/json.h"
#include "core/limits.h"
#include "lstm/error.h"
#include "lstm/text.h"

namespace lstm {

namespace {

const char* const kUnknownWord = "[UNK]";
const char* const kReplacement = "\xEF\xBF\xBD";  // U+FFFD, [UNK] at the character level

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool is_punct(char c) {  // ASCII punctuation, Python's string.punctuation
  return c != 0 && std::strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) != nullptr;
}

std::string standardized(std::string_view text, Standardize how) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (how != Standardize::none && c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (how == Standardize::lower_and_strip_punctuation && is_punct(c)) continue;
    out.push_back(c);
  }
  return out;
}

const char* level_name(TextLevel l) { return l == TextLevel::word ? "word" : "char"; }
const char* standardize_name(Standardize s) {
  switch (s) {
    case Standardize::none: return "none";
    case Standardize::lower: return "lower";
    default: return "lower_and_strip_punctuation";
  }
}

std::string with_commas(size_t n) {
  std::string s = std::to_string(n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return s;
}

}  // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size();) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(at, eol - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    at = eol + 1;
  }
  return lines;
}

void check_utf8(std::string_view text, const std::string& what) {
  for (size_t at = 0; at < text.size();) {
    const size_t n = utf8_sequence_length(text, at);
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(static_cast<unsigned char>(text[at])));
      throw Error(what + " is not UTF-8: byte " + hex + " at offset " + with_commas(at) +
                  " does not start or continue a well-formed sequence; save it as UTF-8");
    }
    at += n;
  }
}

Vocabulary::Vocabulary(TextLevel level, Standardize standardize, std::vector<std::string> tokens)
    : level_(level), standardize_(standardize) {
  tokens_ = {"", level == TextLevel::word ? kUnknownWord : kReplacement};
  tokens_.insert(tokens_.end(), std::make_move_iterator(tokens.begin()), std::make_move_iterator(tokens.end()));
  for (size_t k = 2; k < tokens_.size(); ++k) ids_.emplace(tokens_[k], int64_t(k));
}

std::vector<std::string> Vocabulary::split(std::string_view text) const {
  const std::string s = standardized(text, standardize_);
  std::vector<std::string> out;
  if (level_ == TextLevel::character) {
    for (size_t at = 0; at < s.size();) {
      const size_t n = std::max<size_t>(1, utf8_sequence_length(s, at));  // checked UTF-8: n >= 1
      out.emplace_back(s.substr(at, n));
      at += n;
    }
    return out;
  }
  for (size_t at = 0; at < s.size();) {
    while (at < s.size() && is_space(s[at])) ++at;
    const size_t from = at;
    while (at < s.size() && !is_space(s[at])) ++at;
    if (at > from) out.emplace_back(s.substr(from, at - from));
  }
  return out;
}

Vocabulary Vocabulary::fit(std::span<const std::string> texts, VocabularyOptions o, const std::string& what) {
  if (o.max_tokens != 0 && (o.max_tokens < 3 || o.max_tokens > limits::kWidth))
    throw Error("max_tokens must be 0 (no cap) or in 3.." + std::to_string(limits::kWidth) +
                " (padding and [UNK] count too), got " + std::to_string(o.max_tokens));
  if (o.min_count < 1) throw Error("min_count must be at least 1, got " + std::to_string(o.min_count));
  const Standardize how = o.standardize.value_or(
      o.level == TextLevel::word ? Standardize::lower_and_strip_punctuation : Standardize::none);
  Vocabulary shape(o.level, how, {});
  // counts, and the order of first appearance for ties
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> seen;  // token -> (count, first)
  for (const std::string& text : texts) {
    check_utf8(text, what);
    for (std::string& t : shape.split(text)) {
      auto [it, fresh] = seen.try_emplace(std::move(t), 0, int64_t(seen.size()));
      ++it->second.first;
    }
  }
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> order(seen.begin(), seen.end());
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first > b.second.first : a.second.second < b.second.second;
  });
  std::vector<std::string> tokens;
  for (auto& [token, count] : order) {
    if (count.first < o.min_count) break;  // sorted by count: the rest are rarer
    if (o.max_tokens && int64_t(tokens.size()) + 2 >= o.max_tokens) break;
    if (int64_t(tokens.size()) + 2 >= limits::kWidth) break;
    tokens.push_back(token);
  }
  return Vocabulary(o.level, how, std::move(tokens));
}

std::vector<int64_t> Vocabulary::encode(std::string_view text) const {
  check_utf8(text, "the text");
  std::vector<int64_t> out;
  for (const std::string& t : split(text)) out.push_back(id(t));
  return out;
}

Tensor Vocabulary::encode_batch(std::span<const std::string> texts, int64_t length) const {
  if (length < 1 || length > limits::kTimeSteps)
    throw Error("the sequence length must be in 1.." + std::to_string(limits::kTimeSteps) + ", got " +
                std::to_string(length));
  Tensor out({int64_t(texts.size()), length});  // zeros: padding
  for (size_t n = 0; n < texts.size(); ++n) {
    const std::vector<int64_t> ids = encode(texts[n]);
    const int64_t keep = std::min<int64_t>(length, int64_t(ids.size()));
    for (int64_t t = 0; t < keep; ++t) out[int64_t(n) * length + t] = float(ids[size_t(t)]);
  }
  return out;
}

std::string Vocabulary::decode(std::span<const int64_t> ids) const {
  std::string out;
  for (int64_t id : ids) {
    const std::string& t = token(id);
    if (id == kPad) continue;
    if (level_ == TextLevel::word && !out.empty()) out.push_back(' ');
    out += t;
  }
  return out;
}

const std::string& Vocabulary::token(int64_t id) const {
  if (id < 0 || id >= size())
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary's 0.." + std::to_string(size() - 1));
  return tokens_[size_t(id)];
}

int64_t Vocabulary::id(std::string_view token) const {
  const auto it = ids_.find(std::string(token));
  return it == ids_.end() ? kUnknown : it->second;
}

std::string Vocabulary::to_json() const {
  nlohmann::json j;
  j["level"] = level_name(level_);
  j["standardize"] = standardize_name(standardize_);
  j["tokens"] = std::vector<std::string>(tokens_.begin() + 2, tokens_.end());
  return j.dump();
}

Vocabulary Vocabulary::from_json(const std::string& text, const std::string& what) {
  const nlohmann::json j = parse_json(text, what);
  if (!j.is_object() || !j.contains("level") || !j.contains("standardize") || !j.contains("tokens") ||
      !j["tokens"].is_array())
    throw Error(what + " must be an object with \"level\", \"standardize\" and a \"tokens\" array");
  TextLevel level;
  if (j["level"] == "word") level = TextLevel::word;
  else if (j["level"] == "char") level = TextLevel::character;
  else throw Error(what + ": \"level\" must be \"word\" or \"char\", got " + json_brief(j["level"]));
  Standardize how = Standardize::none;
  bool known = false;
  for (Standardize s : {Standardize::none, Standardize::lower, Standardize::lower_and_strip_punctuation})
    if (j["standardize"] == standardize_name(s)) how = s, known = true;
  if (!known)
    throw Error(what + ": \"standardize\" must be none, lower or lower_and_strip_punctuation, got " +
                json_brief(j["standardize"]));
  const nlohmann::json& list = j["tokens"];
  if (int64_t(list.size()) + 2 > limits::kWidth)
    throw Error(what + " has " + with_commas(list.size()) + " tokens, more than the limit of " +
                with_commas(size_t(limits::kWidth) - 2));
  std::vector<std::string> tokens;
  std::unordered_map<std::string, size_t> at;
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string where = what + ": token " + std::to_string(k + 2);
    if (!list[k].is_string()) throw Error(where + " is " + json_brief(list[k]) + ", not a string");
    const std::string& t = list[k].get_ref<const std::string&>();
    if (t.empty()) throw Error(where + " is empty (id 0, the padding, is the only empty token)");
    check_utf8(t, where);
    if (level == TextLevel::character && utf8_sequence_length(t, 0) != t.size())
      throw Error(where + " is " + json_brief(list[k]) + ", not one character (a char-level vocabulary)");
    if (level == TextLevel::word)
      for (char c : t)
        if (is_space(c)) throw Error(where + " holds whitespace, which splits words");
    if (!at.emplace(t, k + 2).second)
      throw Error(where + " repeats token " + std::to_string(at[t]) + " (" + json_brief(list[k]) + ")");
    tokens.push_back(t);
  }
  return Vocabulary(level, how, std::move(tokens));
}

}  // namespace lstm
