// How the step kernels' time loop is shared among threads (the LSTM's, lstm_cell.cpp, and the
// GRU's, gru_cell.cpp, SimpleRNN's, rnn_cell.cpp): run_team(B, T, step_macs, blocks, active,
// sweep) calls sweep(share) on each thread of a team, and the sweep runs every step on its share
// (share_steps), the team meeting at a barrier after each when it splits hidden units.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "core/threads.h"

namespace lstm {

// How a sequence's steps are shared among threads. Batch rows are independent sequences, so
// with rows enough for every thread each thread runs its own rows through all T steps with no
// barrier at all; otherwise (few rows, wide H) each thread takes a range of the step kernel's
// blocks and the team meets at a barrier after each step. Either way every output is computed
// by the same arithmetic, so results do not depend on the thread count.
struct Share {
  int64_t row_begin, row_end, block_begin, block_end;
  bool barrier;  // the team must meet after each step
};

// Thresholds chosen on the suite's rows (docs/performance.md; 2^18 per step keeps B = 1,
// H = 50 on one thread, where a team with a barrier per step ran 4.6x slower): a team costs a
// parallel region per call, and splitting blocks a barrier per step on top.
constexpr double kRowTeamMacs = 1 << 18;    // per call, to split rows
constexpr double kBlockTeamMacs = 1 << 18;  // per step, to split blocks
constexpr int64_t kRowsPerThread = 6;       // fewer rows a thread: split the blocks instead
constexpr double kCachedWeights = 1 << 19;  // bytes of packed W_hh that stay in a core's L2

// The first row of thread k's share when n threads split B rows: equal rows, or, when rows
// end early (active: rows with length > t), equal row-steps. Multiples of 3 where they can be.
inline int64_t row_split(int64_t B, int64_t T, const int64_t* active, int64_t k, int64_t n) {
  if (k == 0) return 0;
  if (k == n) return B;
  if (!active) return std::min(B, k * ((B + 3 * n - 1) / (3 * n) * 3));
  int64_t total = 0;
  for (int64_t t = 0; t < T; ++t) total += active[t];
  const double goal = double(total) * double(k) / double(n);
  int64_t done = 0, b = 0;  // row-steps of rows [0, b); row b runs #{t : active[t] > b} steps
  for (; b < B && double(done) < goal; ++b) {
    int64_t len = 0;
    while (len < T && active[len] > b) ++len;
    done += len;
  }
  return std::min(B, (b + 1) / 3 * 3);  // the nearest multiple of 3: whole 3- and 6-row tiles
}

template <class Sweep>
void run_team(int64_t B, int64_t T, double step_macs, int64_t blocks, const int64_t* active,
                     Sweep sweep) {
  init_threads();
  const int64_t threads = omp_get_max_threads();
  // Rows need no barrier, but every thread then reads all of W_hh each step: when it does not
  // fit in L2, halving each thread's share of it (blocks) wins.
  const double weight_bytes = 4.0 * step_macs / double(B);
  const bool rows_fit = B >= kRowsPerThread * threads;
  const bool by_rows = rows_fit && (weight_bytes <= kCachedWeights || blocks < threads ||
                                    step_macs < kBlockTeamMacs);
  const int64_t team = by_rows ? (step_macs * double(T) < kRowTeamMacs ? 1 : threads)
                               : (step_macs < kBlockTeamMacs ? 1 : std::min(threads, blocks));
  if (team <= 1) return sweep(Share{0, B, 0, blocks, false});
#pragma omp parallel num_threads(int(team))
  {
    const int64_t k = omp_get_thread_num(), n = omp_get_num_threads();
    if (by_rows) {  // a row's result does not depend on its tile or its thread
      sweep(Share{row_split(B, T, active, k, n), row_split(B, T, active, k + 1, n), 0, blocks, false});
    } else {
      sweep(Share{0, B, blocks * k / n, blocks * (k + 1) / n, n > 1});
    }
  }
}
inline void step_barrier(const Share& share) {
  if (!share.barrier) return;
#pragma omp barrier
}

// A share's steps, t = 0..T-1 (or T-1..0 when backward): step(t, rows) on the share's rows still
// running at t (rows from row_begin; none: not called), and the team's barrier after each step
// whether or not this thread had rows.
template <class Step>
void share_steps(const Share& sh, int64_t T, int64_t B, const int64_t* active, bool backward, Step&& step) {
  for (int64_t k = 0; k < T; ++k) {
    const int64_t t = backward ? T - 1 - k : k;
    const int64_t rows = std::min(sh.row_end, active ? active[t] : B) - sh.row_begin;
    if (rows > 0) step(t, rows);
    step_barrier(sh);
  }
}

}  // namespace lstm
