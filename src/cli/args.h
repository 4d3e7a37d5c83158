// Command-line options for the subcommands: --name value, --name=value and bare --flag.
// Bad usage throws UsageError (exit code 2); everything else is lstm::Error (exit code 1).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lstm::cli {

struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& m) : std::runtime_error(m) {}
};

struct Option {
  std::string name;   // without the dashes: "epochs"
  std::string value;  // placeholder shown in help ("N"); empty for a flag without a value
  std::string help;
  bool repeat = false;  // may be given more than once (--x a=A.npy --x b=B.npy)
};

struct Command {
  std::string name;      // "train"
  std::string synopsis;  // one line
  std::vector<Option> options;
  // Where bare arguments go: the name of a repeatable option ("file": lstm speech transcribe
  // a.wav b.wav is --file a.wav --file b.wav); empty: bare arguments are an error.
  std::string positional;
  std::string help() const;
};

// `options` with `shared` (a group several commands take, such as decoding's) inserted before
// its last option, which by convention is --threads.
std::vector<Option> with_shared_options(std::vector<Option> options, const std::vector<Option>& shared);

class Args {
 public:
  // Parses argv[first..argc) against command's options; "--help" sets help().
  Args(const Command& command, int argc, char** argv, int first);
  bool help() const { return help_; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const;
  std::string required(const std::string& name) const;
  // Every value of a repeatable option, in the order given (empty when absent).
  std::vector<std::string> all(const std::string& name) const;
  // How many times the option was given.
  size_t count(const std::string& name) const;
  // The option's value as a 64-bit integer in lo..hi (fallback when absent); anything else,
  // out of range included, is a UsageError that states the range.
  int64_t integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const;
  // The option's value as a finite number within float range (fallback when absent).
  double number(const std::string& name, double fallback) const;

 private:
  const Command& command_;
  std::map<std::string, std::vector<std::string>> values_;
  bool help_ = false;
};

}  // namespace lstm::cli
