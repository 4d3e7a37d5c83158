// What every fuzz target shares: its input as a string, and the rule that a loader may throw
// lstm::Error (a clean rejection) and nothing else. Any other exception, a crash, a sanitizer
// report, a leak or an allocation past the limit is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "lstm/error.h"

#define LSTM_FUZZ_TARGET(body)                                                  \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {     \
    const std::string bytes(reinterpret_cast<const char*>(data), size);         \
    try {                                                                       \
      body                                                                      \
    } catch (const lstm::Error&) {                                              \
    }                                                                           \
    return 0;                                                                   \
  }
