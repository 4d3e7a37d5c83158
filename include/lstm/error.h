// lstm/error.h - how the library reports bad input.
//
// Every public entry point checks its arguments and throws lstm::Error with what was wrong,
// where, what was expected, what it got and, where one exists, a hint for the fix:
//
//   X has shape [32, 10] but the model expects [N, 30, 4]: did you forget the time axis?
//
// Nothing in the library calls exit() or abort(); kernels only assert in debug builds.
#pragma once

#include <stdexcept>
#include <string>

namespace lstm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// fit() found the loss, a gradient or a weight NaN or Inf, or the loss exploding (see
// Sequential::fit): training stopped at that batch, and the model holds the weights it had at
// the start of that epoch.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

}  // namespace lstm
