// Option parsing for the CLI (args.h).
#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace lstm::cli {

std::string Command::help() const {
  std::ostringstream s;
  s << "usage: lstm " << name << " [options]" << (positional.empty() ? "" : " [" + positional + "...]") << "\n\n"
    << synopsis << "\n\noptions:\n";
  for (const Option& o : options) {
    std::string left = "  --" + o.name + (o.value.empty() ? "" : " " + o.value);
    s << left << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << o.help << "\n";
  }
  s << "  --help" << std::string(24, ' ') << "show this help\n";
  return s.str();
}

// Edit distance, for "did you mean".
static size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

Args::Args(const Command& command, int argc, char** argv, int first) : command_(command) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 && !command.positional.empty()) {
      values_[command.positional].push_back(arg);
      continue;
    }
    if (arg.rfind("--", 0) != 0)
      throw UsageError("unexpected argument '" + arg + "' for 'lstm " + command.name +
                       "': options start with -- (see lstm " + command.name + " --help)");
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1), name = name.substr(0, eq), inline_value = true;
    }
    const Option* opt = nullptr;
    for (const Option& o : command.options)
      if (o.name == name) opt = &o;
    if (!opt) {
      std::string best;
      size_t best_d = 3;
      for (const Option& o : command.options)
        if (size_t d = distance(name, o.name); d < best_d) best = o.name, best_d = d;
      throw UsageError("unknown option --" + name + " for 'lstm " + command.name + "'" +
                       (best.empty() ? "" : " (did you mean --" + best + "?)") + "; see lstm " +
                       command.name + " --help");
    }
    if (opt->value.empty()) {
      if (inline_value) throw UsageError("option --" + name + " takes no value");
      value = "1";
    } else if (!inline_value) {
      // "--out --quiet" is a forgotten value, not a file named --quiet (--out=--quiet says so)
      if (i + 1 >= argc || std::string(argv[i + 1]).rfind("--", 0) == 0)
        throw UsageError("option --" + name + " needs a value (" + opt->value + ")" +
                         (i + 1 < argc ? ", but the next argument is the option " +
                                             std::string(argv[i + 1]) + " (a value that starts "
                                             "with -- is given as --" + name + "=VALUE)"
                                       : std::string()));
      value = argv[++i];
    }
    if (values_.count(name) && !opt->repeat) throw UsageError("option --" + name + " is given twice");
    values_[name].push_back(value);
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (it->second.size() > 1)
    throw UsageError("option --" + name + " is given " + std::to_string(it->second.size()) +
                     " times; here it takes one value");
  return it->second[0];
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

size_t Args::count(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? 0 : it->second.size();
}

std::string Args::required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    throw UsageError("'lstm " + command_.name + "' needs --" + name + " (see lstm " +
                     command_.name + " --help)");
  return str(name);
}

// Parses the whole value with `parse` (std::stol / std::stod), or throws a UsageError.
template <typename T, typename Parse>
static T parse_value(const std::string& name, const std::string& text, const char* kind, Parse parse) {
  size_t used = 0;
  T v{};
  try {
    v = parse(text, &used);
  } catch (...) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw UsageError("--" + name + " expects " + kind + ", got '" + text + "'");
  return v;
}

int64_t Args::integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string range = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  const std::string text = str(name);
  const long long v = parse_value<long long>(name, text, range.c_str(),
                                             [](const std::string& s, size_t* used) { return std::stoll(s, used); });
  if (v < lo || v > hi)
    throw UsageError("--" + name + " expects " + range + ", got " + text);
  return v;
}

double Args::number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string text = str(name);
  double v = parse_value<double>(name, text, "a number",
                                 [](const std::string& s, size_t* used) { return std::stod(s, used); });
  if (!std::isfinite(v) || std::fabs(v) > 3.0e38)  // beyond float range: it becomes a float
    throw UsageError("--" + name + " expects a finite number of magnitude at most 3e38, got '" +
                     text + "'");
  return v;
}

std::vector<Option> with_shared_options(std::vector<Option> options, const std::vector<Option>& shared) {
  options.insert(options.empty() ? options.end() : options.end() - 1, shared.begin(), shared.end());
  return options;
}

}  // namespace lstm::cli
