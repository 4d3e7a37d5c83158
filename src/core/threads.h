// How many threads the compute uses: set_num_threads(n), else LSTM_NUM_THREADS, else every
// core. Results are identical run to run for a given thread count.
#pragma once

#include <cstdint>
#include <functional>

namespace lstm {

void set_num_threads(int n);  // n <= 0: back to the default
int num_threads();
void init_threads();  // applies LSTM_NUM_THREADS once; called before the first compute

// Threads for a pass over n independent elements (copies, optimizer updates, weight packing,
// rows of a softmax): all of them from 2^15 elements, else 1, where a parallel region would
// cost more than the pass. Each element is computed alike whichever thread takes it.
int threads_for_elements(int64_t n);

// Runs a() and b() at the same time, each on half of the threads (a nested team), or one after
// the other when there is one thread. Neither may throw. For independent halves of one job,
// such as the two directions of a bidirectional layer.
void run_side_by_side(const std::function<void()>& a, const std::function<void()>& b);

}  // namespace lstm
