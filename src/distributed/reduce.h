// The collective operations fit() needs (src/distributed/distributed.cpp), on MPI_COMM_WORLD.
// Without MPI, or with one rank, each leaves its buffer as it is.
#pragma once

#include <cstdint>
#include <vector>

namespace lstm::distributed {

void sum_in_place(float* values, int64_t n);   // every rank ends with the sum over ranks
void sum_in_place(double* values, int64_t n);
void broadcast_from_root(double* values, int64_t n);
// Every rank's `mine` one after the other in rank order, on every rank.
std::vector<float> gather_all(const std::vector<float>& mine);

// Rows [begin, end) of a batch of B for this rank: B·r/N to B·(r+1)/N.
struct Shard {
  int64_t begin = 0, end = 0;
};
Shard shard_of(int64_t B);

}  // namespace lstm::distributed
