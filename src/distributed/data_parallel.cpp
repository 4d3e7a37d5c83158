// Data parallelism for run_fit (train/fit_loop.cpp): shards, weighted gradients, one all-reduce.
#include "distributed/data_parallel.h"

#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "distributed/reduce.h"
#include "lstm/distributed.h"
#include "lstm/error.h"
#include "model/data_checks.h"

namespace lstm::distributed {

static uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double train_batch(FitEngine& e, const int64_t* idx, int64_t B, uint64_t step) {
  const Shard s = shard_of(B);
  const int64_t mine = s.end - s.begin;
  std::vector<float>& g = e.grads();
  Rng& rng = e.rng();
  const uint64_t common = rng.state();
  double loss = 0.0;
  std::exception_ptr failure;
  try {
    if (mine > 0) {
      rng.set_state(mix(common ^ mix(step + 1) ^ mix(uint64_t(rank()) + 0x100)));
      loss = e.train_batch(idx + s.begin, mine);
      const float share = float(double(mine) / double(B));
      for (float& v : g) v *= share;
    } else {
      std::fill(g.begin(), g.end(), 0.0f);
    }
  } catch (...) {
    failure = std::current_exception();
    std::fill(g.begin(), g.end(), 0.0f);
  }
  rng.set_state(common);
  // the loss, and who failed, travel with one small reduction; then the gradient
  double status[3] = {loss * double(mine), failure ? 1.0 : 0.0, failure ? double(rank()) : 0.0};
  sum_in_place(status, 3);
  if (status[1] > 0.0) {
    if (failure) std::rethrow_exception(failure);
    throw Error(status[1] == 1.0
                    ? "rank " + std::to_string(int(status[2])) + " failed in a training batch (its own error says why); every rank stops"
                    : std::to_string(int(status[1])) + " ranks failed in a training batch (their errors say why); every rank stops");
  }
  sum_in_place(g.data(), int64_t(g.size()));
  return status[0] / double(B);
}

bool any(bool yes) {
  double v = yes ? 1.0 : 0.0;
  sum_in_place(&v, 1);
  return v > 0.0;
}

void check_shared(const std::function<void()>& checks) {
  if (launched_by_mpirun()) init();  // (fit() joins the job at the latest here)
  if (!active()) return checks();
  const CheckShare saved = check_share;
  check_share = {rank(), size()};
  std::exception_ptr failure;
  try {
    checks();
  } catch (...) {
    failure = std::current_exception();
  }
  check_share = saved;
  double status[2] = {failure ? 1.0 : 0.0, failure ? double(rank()) : 0.0};
  sum_in_place(status, 2);
  if (status[0] == 0.0) return;
  if (failure) std::rethrow_exception(failure);
  throw Error(status[0] == 1.0 ? "rank " + std::to_string(int(status[1])) +
                                     " found a problem in its share of the data (its own error "
                                     "says what); every rank stops"
                               : std::to_string(int(status[0])) +
                                     " ranks found problems in their shares of the data (their "
                                     "errors say what); every rank stops");
}

void check_all_agree(bool yes, const std::string& what) {
  double count[2] = {yes ? 1.0 : 0.0, 1.0};
  sum_in_place(count, 2);
  if (count[0] != 0.0 && count[0] != count[1])
    throw Error(std::to_string(int(count[0])) + " of " + std::to_string(int(count[1])) + " ranks can " + what +
                "; every rank must");
}

void add_over_ranks(std::vector<double>& sums, const std::vector<MetricState*>& metrics) {
  std::vector<double> all = sums;
  for (MetricState* m : metrics) {
    all.push_back(m->running_sum());
    all.push_back(double(m->running_count()));  // exact below 2^53
  }
  sum_in_place(all.data(), int64_t(all.size()));
  std::copy(all.begin(), all.begin() + int64_t(sums.size()), sums.begin());
  size_t k = sums.size();
  for (MetricState* m : metrics) {
    m->running_sum() = all[k++];
    m->running_count() = int64_t(all[k++]);
    if (m->spec().kind != MetricKind::auc) continue;
    std::vector<float> mine;
    for (const auto& [score, positive] : m->scored()) mine.insert(mine.end(), {score, positive ? 1.0f : 0.0f});
    const std::vector<float> every = gather_all(mine);
    m->scored().clear();
    for (size_t i = 0; i + 1 < every.size(); i += 2) m->scored().push_back({every[i], every[i + 1] > 0.5f});
  }
}

}  // namespace lstm::distributed
