// How many threads the compute uses: set_num_threads(n), else LSTM_NUM_THREADS, else every
// core. Results are identical run to run for a given thread count.
#pragma once

#include <functional>

namespace lstm {

void set_num_threads(int n);  // n <= 0: back to the default
int num_threads();
void init_threads();  // applies LSTM_NUM_THREADS once; called before the first compute

// Runs a() and b() at the same time, each on half of the threads (a nested team), or one after
// the other when there is one thread. Neither may throw. For independent halves of one job,
// such as the two directions of a bidirectional layer.
void run_side_by_side(const std::function<void()>& a, const std::function<void()>& b);

}  // namespace lstm
