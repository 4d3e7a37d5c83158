// How many threads the compute uses: set_num_threads(n), else LSTM_NUM_THREADS, else every
// core. Results are identical run to run for a given thread count.
//
// Two numbers: num_threads(), the configured count, which alone decides how work is split (and
// so every result), and the team, the threads that run it now: num_threads(), or fewer while a
// ThreadGovernor holds some back because another process occupies cores. Every split is
// computed alike whichever thread takes it, so the team changes speed only, never a bit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace lstm {

void set_num_threads(int n);  // n <= 0: back to the default
int num_threads();
void init_threads();  // applies LSTM_NUM_THREADS once; called before the first compute

// Threads for a pass over n independent elements (copies, optimizer updates, weight packing,
// rows of a softmax): all of them from 2^15 elements, else 1, where a parallel region would
// cost more than the pass. Each element is computed alike whichever thread takes it.
int threads_for_elements(int64_t n);

// The team (at most num_threads()); set_team(n <= 0) gives back num_threads().
int team_threads();
void set_team(int n);
// For tests and measurements: every ThreadGovernor keeps team n (0: they choose again,
// starting from num_threads()).
void pin_team(int n);

// Chooses, batch by batch, the team a training loop runs on. On a quiet machine every core
// wins; when another process occupies a core, a team that waits at a barrier per time step for
// a descheduled thread can run 2-8x slower than one thread (docs/performance.md). The governor
// times batches per unit of work (rows, or row-steps; summed over the last 16 batches, so that
// occasional stalls count) and now and then tries the neighbouring team on the ladder
// num_threads(), /2, ..., 1 for at least two batches and 20 ms (100 ms towards more threads),
// keeping the faster (by 5%). A try that loses waits before the next one of that direction:
// twice as long, and at least 30 times the time it cost, so tries stay within about 3% of the
// run; two batches in a row 2x slower than the window (load arrived) make both directions due
// at once. A governor starts on the team, and the waits, the previous one settled on (a predict
// after a fit, a validation pass inside one). Off (team = num_threads()) when num_threads() is
// 1 or LSTM_THREAD_GOVERNOR=0; LSTM_THREAD_GOVERNOR=log prints each trial to stderr.
class ThreadGovernor {
 public:
  ThreadGovernor();
  ~ThreadGovernor();  // the team back to num_threads()
  ThreadGovernor(const ThreadGovernor&) = delete;
  ThreadGovernor& operator=(const ThreadGovernor&) = delete;

  void batch_begin();             // sets the team for the coming batch and starts its clock
  void batch_end(double work);    // its work: rows, or row-steps where lengths differ

  // The decisions alone, on given times (seconds from any origin), for tests: the team for a
  // batch starting at `now`, and a batch's measured seconds.
  int choose(double now);
  void measured(double now, double seconds, double work);
  int team() const { return ladder_[size_t(probing_ ? probe_ : level_)]; }  // ladder_ is never empty

 private:
  struct Direction {
    double interval = 0.25, due = 0.0;  // seconds between tries, when the next is due
  };
  struct Batch {
    double seconds = 0.0, work = 0.0;
  };
  std::vector<int> ladder_;     // num_threads(), halving down to 1
  std::vector<Batch> recent_;   // the current team's last batches (or the winning trial's sum)
  int level_ = 0, probe_ = 0;   // the current level; the one under trial
  bool probing_ = false, log_ = false;  // log_: LSTM_THREAD_GOVERNOR=log prints each trial
  Batch trial_;                 // the trial's sums
  int trial_batches_ = 0;
  int batches_ = 0, since_change_ = 0, trials_ = 0, slower_ = 0;  // slower_: batches in a row 2x slow
  Direction down_, up_;         // fewer threads, more threads
  std::chrono::steady_clock::time_point start_, batch_start_;
  double current_rate() const;  // seconds per unit of work over recent_
  void settle();                // where the next governor starts (threads.cpp)
};

// Runs a() and b() at the same time, each on half of the threads (a nested team), or one after
// the other when there is one thread. Neither may throw. For independent halves of one job,
// such as the two directions of a bidirectional layer.
void run_side_by_side(const std::function<void()>& a, const std::function<void()>& b);

}  // namespace lstm
