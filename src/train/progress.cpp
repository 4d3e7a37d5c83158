// The progress bar of fit() (progress.h).
#include "train/progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "lstm/distributed.h"

namespace lstm {

Progress::Progress(int verbose, int epochs)
    // (under mpirun stdout is a terminal that logs are made of: one line per epoch there)
    : enabled_(verbose > 0),
      live_(verbose == 1 && isatty(STDOUT_FILENO) && !distributed::launched_by_mpirun()),
      epochs_(epochs) {}

void Progress::epoch_begin(int epoch, int64_t batches) {
  epoch_ = epoch, batches_ = batches;
  start_ = last_draw_ = Clock::now();
}

void Progress::batch_end(int64_t batch, double mean_loss) {
  last_batch_ = batch;
  if (!live_) return;
  const auto now = Clock::now();
  if (batch < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const int width = 24, done = int(width * batch / batches_);
  std::string bar(size_t(done), '=');
  if (done < width) bar += '>' + std::string(size_t(width - done - 1), '.');
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = elapsed / double(batch) * double(batches_ - batch);
  std::printf("\rEpoch %d/%d [%s] %lld/%lld - ETA %.1fs - loss: %.6g\x1b[K", epoch_ + 1, epochs_,
              bar.c_str(), (long long)batch, (long long)batches_, eta, mean_loss);
  std::fflush(stdout);
}

void Progress::epoch_end(const Logs& logs) {
  if (!enabled_) return;
  const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  std::printf("%sEpoch %d/%d - %.2fs", live_ ? "\r\x1b[K" : "", epoch_ + 1, epochs_, secs);
  // the loss, then the metrics; then the same on validation data
  for (bool val : {false, true})
    for (bool loss : {true, false})
      for (const auto& [key, value] : logs) {
        const bool is_val = key.rfind("val_", 0) == 0, is_loss = key == (val ? "val_loss" : "loss");
        if (is_val == val && is_loss == loss) std::printf(" - %s: %.6g", key.c_str(), value);
      }
  std::printf("\n");
  std::fflush(stdout);
}

void Progress::stopped() {
  if (!enabled_) return;
  std::printf("%sEpoch %d/%d - stopped after batch %lld of %lld\n", live_ ? "\r\x1b[K" : "",
              epoch_ + 1, epochs_, (long long)last_batch_, (long long)batches_);
  std::fflush(stdout);
}

}  // namespace lstm
