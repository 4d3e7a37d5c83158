// Thread count (threads.h). The compute's threads are OpenMP's (oneDNN's sgemm runs on them).
#include "core/threads.h"

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "lstm/error.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace lstm {

static int default_threads() {
  if (const char* env = std::getenv("LSTM_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || n < 1 || n > 4096)
      throw Error(std::string("LSTM_NUM_THREADS='") + env + "' is not a positive integer");
    return int(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? int(hw) : 1;
}

static int g_threads = 0;
static std::once_flag g_once;

void init_threads() {
  std::call_once(g_once, [] {
    if (g_threads == 0) set_num_threads(0);
  });
}

void set_num_threads(int n) {
  g_threads = n > 0 ? n : default_threads();
#if defined(_OPENMP)
  omp_set_num_threads(g_threads);
#endif
}

int num_threads() {
  init_threads();
  return g_threads;
}

}  // namespace lstm
