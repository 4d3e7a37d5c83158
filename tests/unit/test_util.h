// Helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.h"
#include "kernels/lstm_step.h"
#include "lstm/lstm.h"

namespace lstm::test {

inline std::vector<float> random_vector(size_t n, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

inline Tensor random_tensor(std::vector<int64_t> shape, uint64_t seed, float lo = -1.0f,
                            float hi = 1.0f) {
  Tensor t(std::move(shape));
  Rng rng(seed);
  for (int64_t k = 0; k < t.size(); ++k) t[k] = rng.uniform(lo, hi);
  return t;
}

// A fresh folder under the system temp dir, removed when the object goes away.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lstm-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// EXPECT that `statement` throws lstm::Error whose message contains `needle`.
#define EXPECT_ERROR_WITH(statement, needle)                                        \
  do {                                                                              \
    try {                                                                           \
      statement;                                                                    \
      ADD_FAILURE() << "expected lstm::Error containing \"" << (needle) << "\"";    \
    } catch (const lstm::Error& e) {                                                \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what(); \
    }                                                                               \
  } while (0)

// Runs body() once per build of the step kernels the CPU supports (lstm_set_kernel_isa:
// generic, avx2, avx512), then restores the best.
template <class Body>
void for_each_isa(Body body) {
  int ran = 0;
  for (const char* isa : {"generic", "avx2", "avx512"}) {
    if (!lstm_set_kernel_isa(isa)) continue;
    SCOPED_TRACE(isa);
    body();
    ++ran;
  }
  lstm_set_kernel_isa("best");
  EXPECT_GE(ran, 1);
}

}  // namespace lstm::test
