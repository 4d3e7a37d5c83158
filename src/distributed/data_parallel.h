// One training batch across the ranks of an MPI job, and the epoch's logs reduced
// (lstm/distributed.h says what is shared and what each rank does).
#pragma once

#include <cstdint>
#include <string>

#include "lstm/model.h"
#include "train/fit_loop.h"

namespace lstm::distributed {

// This rank's rows of the global batch idx[0..B), forward and backward; the gradient weighted
// by the rank's share and summed over ranks into e.grads(). Returns the batch's mean loss over
// all B rows (the same on every rank). `step` (the batch's number in the run) and the rank seed
// the rank's generator for the batch (dropout); the model's generator is left as it was. A rank
// whose batch throws makes every rank throw. `rows` adds this rank's rows.
double train_batch(FitEngine& e, const int64_t* idx, int64_t B, uint64_t step, int64_t& rows);

// Whether `yes` holds on any rank (the same answer on every rank).
bool any(bool yes);

// Throws lstm::Error on every rank unless `yes` is the same on all: "N of M ranks can <what>".
void check_all_agree(bool yes, const std::string& what);

// The epoch's training logs beyond "loss" (per-output losses summed, metrics weighted by each
// rank's rows of the epoch, `rows` of n_train): the same values on every rank.
void reduce_logs(Logs& logs, int64_t rows, int64_t n_train);

}  // namespace lstm::distributed
