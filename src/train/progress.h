// What fit() shows while it works: on a terminal, a live bar per epoch (batches, ETA, loss);
// otherwise one plain line per epoch, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>

#include "lstm/model.h"

namespace lstm {

class Progress {
 public:
  Progress(int verbose, int epochs);
  void epoch_begin(int epoch, int64_t batches);
  void batch_end(int64_t batch, double mean_loss);  // batch counts from 1
  void epoch_end(const Logs& logs);
  void stopped();  // a callback ended fit() mid-epoch

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_, live_;
  int epochs_, epoch_ = 0;
  int64_t batches_ = 0, last_batch_ = 0;
  Clock::time_point start_, last_draw_;
};

}  // namespace lstm
