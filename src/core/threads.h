// How many threads the compute uses: set_num_threads(n), else LSTM_NUM_THREADS, else every
// core. Results are identical run to run for a given thread count.
#pragma once

namespace lstm {

void set_num_threads(int n);  // n <= 0: back to the default
int num_threads();
void init_threads();  // applies LSTM_NUM_THREADS once; called before the first compute

}  // namespace lstm
