// Thread count (threads.h). The compute's threads are OpenMP's (oneDNN's sgemm runs on them).
#include "core/threads.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
  // the ranks of an MPI job on this machine share its cores (lstm/distributed.h)
  int local_ranks = 1;
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"})
    if (const char* env = std::getenv(var)) local_ranks = std::max(local_ranks, std::atoi(env));
  return hw ? std::max(1, int(hw) / local_ranks) : 1;
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

int threads_for_elements(int64_t n) { return n < (int64_t(1) << 15) ? 1 : team_threads(); }

int num_threads() {
  init_threads();
  return g_threads;
}

int team_threads() {
  init_threads();
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_team(int n) {
  init_threads();
#if defined(_OPENMP)
  omp_set_num_threads(n <= 0 || n > g_threads ? g_threads : n);
#else
  (void)n;
#endif
}

// ThreadGovernor (threads.h). Rates are seconds per unit of work over several batches, sums not
// medians: under load a team often runs most batches at full speed and stalls on one in five
// (a descheduled thread at a barrier), and the stalls are the cost.

constexpr int kWindow = 16;              // batches in the current team's rate
constexpr double kMargin = 0.95;         // a trial must be this much faster to win
// A trial runs at least 2 batches and this long: longer towards more threads, whose stalls
// under bursty load (short processes starting) come every few batches.
constexpr double kTrialSecondsDown = 0.02, kTrialSecondsUp = 0.1;
constexpr double kFirstTry = 0.05;       // seconds into the run before the first trial
constexpr double kInterval = 0.25;       // seconds between trials after a change
constexpr double kLongestDoubling = 30;  // seconds: losing trials stop doubling the wait here
constexpr double kCostFactor = 30;       // wait at least this times a lost trial's extra seconds

// What the last governor settled on, for how many configured threads: the team and when each
// direction may be tried next. The next governor starts there (a predict after a fit, each
// validation pass inside one), since load outlives a call and a lost trial's wait should too.
struct Settled {
  int of = 0, team = 0;
  std::chrono::steady_clock::time_point down_due, up_due;
  double down_interval = 0.0, up_interval = 0.0;
};
static std::mutex g_settled_mutex;
static Settled g_settled;
static std::atomic<int> g_pinned{0};

void pin_team(int n) {
  g_pinned = n;
  std::lock_guard<std::mutex> lock(g_settled_mutex);
  g_settled = Settled{};
}

static std::chrono::steady_clock::time_point after(std::chrono::steady_clock::time_point t0, double seconds) {
  return t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

static double seconds_between(std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1) {
  return std::chrono::duration<double>(t1 - t0).count();
}

ThreadGovernor::ThreadGovernor() : start_(std::chrono::steady_clock::now()) {
  const int P = num_threads();
  const char* env = std::getenv("LSTM_THREAD_GOVERNOR");
  const bool off = env && std::strcmp(env, "0") == 0;
  log_ = env && std::strcmp(env, "log") == 0;
  const int pinned = std::min(g_pinned.load(), P);
  ladder_.push_back(pinned > 0 ? pinned : P);
  for (int n = P; n > 1 && !off && pinned <= 0;) ladder_.push_back(n = (n + 1) / 2);
  down_.due = up_.due = kFirstTry;
  std::lock_guard<std::mutex> lock(g_settled_mutex);
  if (g_settled.of == P && ladder_.size() > 1) {
    while (size_t(level_ + 1) < ladder_.size() && ladder_[size_t(level_)] > g_settled.team) ++level_;
    down_ = {g_settled.down_interval, std::max(kFirstTry, seconds_between(start_, g_settled.down_due))};
    up_ = {g_settled.up_interval, std::max(kFirstTry, seconds_between(start_, g_settled.up_due))};
  }
  set_team(team());
}

void ThreadGovernor::settle() {
  std::lock_guard<std::mutex> lock(g_settled_mutex);
  g_settled = {ladder_[0], team(), after(start_, down_.due), after(start_, up_.due), down_.interval, up_.interval};
}

ThreadGovernor::~ThreadGovernor() { set_team(0); }

static double seconds_since(std::chrono::steady_clock::time_point t0) {
  return seconds_between(t0, std::chrono::steady_clock::now());
}

void ThreadGovernor::batch_begin() {
  set_team(choose(seconds_since(start_)));
  batch_start_ = std::chrono::steady_clock::now();
}

void ThreadGovernor::batch_end(double work) {
  const double seconds = seconds_since(batch_start_);
  measured(seconds_since(start_), seconds, work);
}

double ThreadGovernor::current_rate() const {
  double seconds = 0.0, work = 0.0;
  for (const Batch& b : recent_) seconds += b.seconds, work += b.work;
  return seconds / std::max(work, 1e-12);
}

int ThreadGovernor::choose(double now) {
  // a first trial after one measured batch (a 2-8x loss shows at once), later ones after three
  const int settled = trials_ == 0 ? 1 : 3;
  if (ladder_.size() < 2 || probing_ || int(recent_.size()) < settled || since_change_ < settled)
    return team();
  const bool can_down = size_t(level_ + 1) < ladder_.size() && now >= down_.due;
  const bool can_up = level_ > 0 && now >= up_.due;
  if (!can_down && !can_up) return team();
  const bool down = can_down && (!can_up || down_.due <= up_.due);
  probing_ = true;
  probe_ = level_ + (down ? 1 : -1);
  trial_ = {};
  trial_batches_ = 0;
  return team();
}

void ThreadGovernor::measured(double now, double seconds, double work) {
  if (ladder_.size() < 2 || ++batches_ == 1) return;  // the first batch also allocates
  work = std::max(work, 1e-9);
  if (!probing_) {
    // Two batches in a row 2x slower than the window: the load changed, so try both ways now.
    slower_ = recent_.size() >= 3 && seconds / work > 2.0 * current_rate() ? slower_ + 1 : 0;
    if (slower_ >= 2) {
      down_ = up_ = Direction{kInterval, now};
      slower_ = 0;
    }
    recent_.push_back({seconds, work});
    if (int(recent_.size()) > kWindow) recent_.erase(recent_.begin());
    ++since_change_;
    return;
  }
  trial_.seconds += seconds, trial_.work += work;
  ++trial_batches_;
  const double current = current_rate(), rate = trial_.seconds / trial_.work;
  const bool hopeless = rate > 2.0 * current;  // no need to see more
  const double least = probe_ < level_ ? kTrialSecondsUp : kTrialSecondsDown;
  if (!hopeless && (trial_batches_ < 2 || trial_.seconds < least)) return;
  Direction& d = probe_ > level_ ? down_ : up_;
  probing_ = false;
  ++trials_;
  const bool wins = !hopeless && rate < kMargin * current;
  if (log_)
    std::fprintf(stderr, "threads: at %.3f s, %d threads ran %.3g s/unit over %d batches, %d threads %.3g: %s\n",
                 now, ladder_[size_t(probe_)], rate, trial_batches_, ladder_[size_t(level_)], current,
                 wins ? "switching" : "staying");
  if (wins) {  // the trial's team becomes the level
    // Going back would cost about a batch at the old rate (two when it is under 2x slower): the
    // wait before trying it follows the cost rule at once, the way onward the short one.
    const double per_batch = trial_.work / double(trial_batches_);
    const double back = (current - rate) * per_batch * (current > 2.0 * rate ? 1.0 : 2.0);
    Direction& way_back = probe_ > level_ ? up_ : down_;
    Direction& onward = probe_ > level_ ? down_ : up_;
    level_ = probe_;
    recent_.assign(1, trial_);
    since_change_ = 0;
    way_back.interval = std::max(kInterval, kCostFactor * back);
    way_back.due = now + way_back.interval;
    onward = Direction{kInterval, now + kInterval};
  } else {
    const double extra = std::max(0.0, trial_.seconds - current * trial_.work);
    d.interval = std::max(std::min(2 * d.interval, kLongestDoubling), kCostFactor * extra);
    d.due = now + d.interval;
  }
  settle();
}

}  // namespace lstm
