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

void run_side_by_side(const std::function<void()>& a, const std::function<void()>& b) {
  init_threads();
#if defined(_OPENMP)
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads >= 2) {
    const int levels = omp_get_max_active_levels();
    omp_set_max_active_levels(levels < 2 ? 2 : levels);
#pragma omp parallel num_threads(2)
    {
      const int k = omp_get_thread_num();
      omp_set_num_threads(k == 0 ? (threads + 1) / 2 : threads / 2);  // this half's team
      if (k == 0) a();
      else b();
    }
    omp_set_max_active_levels(levels);
    return;
  }
#endif
  a();
  b();
}

int threads_for_elements(int64_t n) {
  if (n < (int64_t(1) << 15)) return 1;
  init_threads();
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int num_threads() {
  init_threads();
  return g_threads;
}

}  // namespace lstm
