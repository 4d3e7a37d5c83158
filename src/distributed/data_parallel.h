// One training batch across the ranks of an MPI job, and the epoch's logs reduced
// (lstm/distributed.h says what is shared and what each rank does).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lstm/model.h"
#include "train/fit_loop.h"

namespace lstm::distributed {

// This rank's rows of the global batch idx[0..B), forward and backward; the gradient weighted
// by the rank's share and summed over ranks into e.grads(). Returns the batch's mean loss over
// all B rows (the same on every rank). `step` (the batch's number in the run) and the rank seed
// the rank's generator for the batch (dropout); the model's generator is left as it was. A rank
// whose batch throws makes every rank throw.
double train_batch(FitEngine& e, const int64_t* idx, int64_t B, uint64_t step);

// Whether `yes` holds on any rank (the same answer on every rank).
bool any(bool yes);

// Runs fit()'s checks of its data with each rank checking its share of the rows
// (model/data_checks.h's CheckShare), then agrees: a rank whose checks threw rethrows its error,
// every other rank throws one naming that rank. One rank, or no job: runs them as they are.
// `checks` must not itself call a collective operation.
void check_shared(const std::function<void()>& checks);

// Throws lstm::Error on every rank unless `yes` is the same on all: "N of M ranks can <what>".
void check_all_agree(bool yes, const std::string& what);

// Adds `sums` and the metrics' running sums over the ranks (AUC's scored predictions gathered
// in rank order; its result does not depend on the order): afterwards every rank holds the
// job's totals, and a metric's result() is the one a single process would compute on all the
// rows (up to the order of the additions: mean, RMSE and accuracy of masked sequences included).
void add_over_ranks(std::vector<double>& sums, const std::vector<MetricState*>& metrics);

}  // namespace lstm::distributed
