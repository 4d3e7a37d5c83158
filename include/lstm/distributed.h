// lstm/distributed.h - data-parallel training across processes and machines, on MPI.
//
//   mpirun -np 4 ./train          # the same program on every rank, each given the same data
//   lstm::Sequential model = ...; model.compile(...);
//   model.fit(X, y, {.epochs = 20, .batch_size = 256});   // rank r computes its quarter of each batch
//   if (lstm::distributed::rank() == 0) model.save("model.safetensors");
//
// A program started by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE, or PMI_SIZE, in its
// environment) joins the job at its first fit(); init() joins earlier. With more than one rank,
// fit() trains data-parallel:
//   - every rank shuffles the samples with the model's seed, so all ranks see the same global
//     batches (batch_size is the global batch, as in the single-process run); rank r of N
//     computes rows [B·r/N, B·(r+1)/N) of each batch of B;
//   - the ranks' gradients, each weighted by its share of the batch, are summed with
//     MPI_Allreduce on the one flat gradient buffer, so every rank applies the same update and
//     holds the same weights;
//   - the loss and the divergence checks are reduced, and the metrics' running sums (not their
//     results) are added over the ranks, so every log - RMSE and AUC included - is the one a
//     single process computes on all the rows, and EarlyStopping, ReduceLROnPlateau and the
//     divergence guard decide alike on every rank;
//   - validation is shared: rank r runs the validation batches k with k % N == r (the single
//     process's batches), and the sums are added the same way;
//   - a callback that sets stop_training on any rank (Ctrl-C may reach the ranks at different
//     batches) stops every rank after the same batch or epoch;
//   - fit()'s checks of the data (NaN, Inf) are shared: rank r checks rows [N·r/R, N·(r+1)/R),
//     and a rank that finds a problem ends every rank (its own error says where); with the data
//     mapped (lstm::map_npy, which `lstm train --x` uses under mpirun) a rank then reads only
//     its rows of the file: its shares of the batches and checks, and its validation batches;
//   - every rank must build the same model and train on the same data with the same options
//     (checked at the start: a mismatch is an lstm::Error on every rank, not a hang);
//   - progress lines, checkpoints (FitOptions::checkpoint: written by rank 0 only, resumed by any
//     number of ranks, provided every rank can read the file: refused on all ranks otherwise),
//     ModelCheckpoint and CSVLogger are rank 0's.
// The compute threads of each rank default to the machine's cores divided by the job's ranks on
// it (OMPI_COMM_WORLD_LOCAL_SIZE); LSTM_NUM_THREADS or set_num_threads() say otherwise.
// The result is the single-process run's up to rounding (a batch's gradient is summed in a
// different order): one rank gives the same bits as no MPI; 2 and 3 ranks end 12 Adam steps
// within 4e-7 of one process's weights (tested: within 1e-5), with the same bits from run to run
// for the same number of ranks and threads. Not equal, but close, where a loss is a mean over
// the valid steps of sequences of different lengths (each rank's mean is weighted by its rows).
// Dropout draws its masks from a generator per rank, so with dropout the runs differ from one
// process's as two seeds do. Stateful layers (fixed batch rows) do not run data-parallel yet.
// A rank whose batch fails (an exception in its forward or backward) makes every rank stop
// with lstm::Error naming the failed rank; a rank that dies makes mpirun end the job.
// Built without MPI (no libopenmpi-dev), everything here reports one rank and fit() runs alone.
#pragma once

namespace lstm::distributed {

bool available();  // built with MPI
// Joins the MPI job (MPI_Init_thread) if not yet; a no-op without MPI. fit() calls it under mpirun.
void init();
bool launched_by_mpirun();  // the environment of an MPI launcher is there
int rank();                 // 0 when not in a job
int size();                 // 1 when not in a job
bool active();              // in a job of more than one rank
// Ends every rank of the job with `code` (MPI_Abort): for a program that caught an error on
// one rank, so that the others do not wait for it forever.
[[noreturn]] void abort(int code);

}  // namespace lstm::distributed
