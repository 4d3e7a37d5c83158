// lstm::distributed (include/lstm/distributed.h) on MPI_COMM_WORLD, or one rank without MPI.
#include <cstdlib>
#include <string>
#include <vector>

#include "distributed/reduce.h"
#include "lstm/distributed.h"
#include "lstm/error.h"

#if LSTM_HAVE_MPI
#include <mpi.h>
#endif

namespace lstm::distributed {

bool launched_by_mpirun() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

#if LSTM_HAVE_MPI

bool available() { return true; }

static bool joined() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

static void finalize_at_exit() {
  if (joined()) MPI_Finalize();
}

void init() {
  if (joined()) return;
  int provided = 0;
  // fit() calls MPI from the thread that called it only (the compute threads never do)
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw Error("MPI_Init_thread failed: is this program started by mpirun?");
  std::atexit(finalize_at_exit);
}

int rank() {
  if (!joined()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  if (!joined()) return 1;
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

void abort(int code) {
  if (joined()) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

// MPI counts are ints: large buffers go in pieces of at most 2^30 values.
template <typename T>
static void allreduce(T* values, int64_t n, MPI_Datatype type) {
  if (size() <= 1) return;
  constexpr int64_t kPiece = int64_t(1) << 30;
  for (int64_t at = 0; at < n; at += kPiece) {
    const int count = int(n - at < kPiece ? n - at : kPiece);
    if (MPI_Allreduce(MPI_IN_PLACE, values + at, count, type, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
      throw Error("MPI_Allreduce failed");
  }
}

void sum_in_place(float* values, int64_t n) { allreduce(values, n, MPI_FLOAT); }
void sum_in_place(double* values, int64_t n) { allreduce(values, n, MPI_DOUBLE); }

void broadcast_from_root(double* values, int64_t n) {
  if (size() <= 1) return;
  if (MPI_Bcast(values, int(n), MPI_DOUBLE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) throw Error("MPI_Bcast failed");
}

std::vector<float> gather_all(const std::vector<float>& mine) {
  if (size() <= 1) return mine;
  if (mine.size() > size_t(1) << 30) throw Error("MPI gather: more than 2^30 values on one rank");
  const size_t ranks = size_t(size());
  std::vector<int> counts(ranks), offsets(ranks);
  const int count = int(mine.size());
  if (MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS)
    throw Error("MPI_Allgather failed");
  int64_t total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = int(total);
    total += counts[r];
    if (total > int64_t(1) << 30) throw Error("MPI gather: more than 2^30 values over the job");
  }
  std::vector<float> all(static_cast<size_t>(total));
  if (MPI_Allgatherv(mine.data(), count, MPI_FLOAT, all.data(), counts.data(), offsets.data(), MPI_FLOAT,
                     MPI_COMM_WORLD) != MPI_SUCCESS)
    throw Error("MPI_Allgatherv failed");
  return all;
}

#else  // one rank

bool available() { return false; }
void init() {}
int rank() { return 0; }
int size() { return 1; }
void abort(int code) { std::exit(code); }
void sum_in_place(float*, int64_t) {}
void sum_in_place(double*, int64_t) {}
void broadcast_from_root(double*, int64_t) {}
std::vector<float> gather_all(const std::vector<float>& mine) { return mine; }

#endif

bool active() { return size() > 1; }

Shard shard_of(int64_t B) {
  const int64_t r = rank(), n = size();
  return {B * r / n, B * (r + 1) / n};
}

}  // namespace lstm::distributed
