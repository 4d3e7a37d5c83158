// A data-parallel fit for tests/mpi/test_mpi.py: the same program under mpirun -np N or alone.
//   fit_ranks OUT.npy [--epochs E] [--batch B] [--checkpoint F [--resume]] [--die-at K]
//             [--bad-data-on-rank R] [--dropout] [--checkpoint-on-rank-0-only]
//             [--stop-rank R --stop-at K] [--binary] [--x-file X.npy --y-file Y.npy]
//             [--other-model-on-rank R]
// Rank 0 writes the final weights to OUT.npy and prints every log of the last epoch.
// --binary: classify whether the mean is positive (binary cross-entropy, accuracy and AUC)
// instead of regressing it (MSE, MAE and RMSE). --x-file/--y-file: train on those files, mapped
// (lstm::map_npy), and print on stderr how much of X each rank's mapping holds in memory. --die-at
// K ends every rank abruptly after its K-th batch of the run (as a kill would); --bad-data-on-rank
// R gives rank R data of the wrong shape, which it reports and then ends the job with
// distributed::abort (as the CLI does);
// --other-model-on-rank R gives rank R a wider second layer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lstm/lstm.h"

namespace {

// Sets stop_training on one rank only, after its K-th batch (as Ctrl-C may reach one rank first).
struct StopOnOneRank : lstm::Callback {
  int64_t at = 0, seen = 0;
  int rank = -1;
  void on_batch_end(lstm::Trainable& model, int64_t, double) override {
    if (++seen == at && lstm::distributed::rank() == rank) model.stop_training = true;
  }
};

struct DieAt : lstm::Callback {
  int64_t at = 0, seen = 0;
  void on_batch_end(lstm::Trainable&, int64_t, double) override {
    if (++seen == at) std::_Exit(9);  // (at 0: never)
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fit_ranks OUT.npy [--epochs E] [--batch B] [--checkpoint F [--resume]] "
                         "[--die-at K] [--bad-data-on-rank R] [--dropout]\n");
    return 2;
  }
  int epochs = 3, batch = 24, bad_rank = -1;
  int64_t die_at = 0, stop_at = 0;
  int stop_rank = -1, other_model_rank = -1;
  bool resume = false, dropout = false, local_checkpoint = false, binary = false;
  std::string checkpoint, x_file, y_file;
  for (int k = 2; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--epochs") epochs = std::atoi(argv[++k]);
    else if (a == "--batch") batch = std::atoi(argv[++k]);
    else if (a == "--checkpoint") checkpoint = argv[++k];
    else if (a == "--resume") resume = true;
    else if (a == "--die-at") die_at = std::atoll(argv[++k]);
    else if (a == "--bad-data-on-rank") bad_rank = std::atoi(argv[++k]);
    else if (a == "--dropout") dropout = true;
    else if (a == "--checkpoint-on-rank-0-only") local_checkpoint = true;
    else if (a == "--stop-rank") stop_rank = std::atoi(argv[++k]);
    else if (a == "--stop-at") stop_at = std::atoll(argv[++k]);
    else if (a == "--binary") binary = true;
    else if (a == "--other-model-on-rank")
      other_model_rank = std::atoi(argv[++k]);
    else if (a == "--x-file")
      x_file = argv[++k];
    else if (a == "--y-file")
      y_file = argv[++k];
  }
  try {
    lstm::distributed::init();
    const int rank = lstm::distributed::rank();
    // 100 windows of a noisy two-feature series (every rank makes the same), y their mean
    const int64_t N = 100, T = 12, F = rank == bad_rank ? 3 : 2;
    lstm::Tensor X({N, T, F}), y({N, 1});
    for (int64_t i = 0; i < X.size(); ++i) X[i] = float(std::sin(0.37 * double(i)) + 0.1 * std::cos(2.1 * double(i * i % 97)));
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t t = 0; t < T; ++t) s += X.at({n, t, 0});
      y[n] = binary ? float(s > 0) : float(s / double(T));
    }
    if (!x_file.empty()) X = lstm::map_npy(x_file), y = lstm::map_npy(y_file);
    lstm::Sequential model({.seed = 11});
    model.add(lstm::LSTM(16, {.return_sequences = true,
                              .dropout = dropout ? 0.2f : 0.0f,
                              .input_shape = {X.dim(1), x_file.empty() ? 2 : X.dim(2)}}));
    model.add(lstm::LSTM(rank == other_model_rank ? 9 : 8));
    model.add(lstm::Dense(1));
    if (binary)
      model.compile(lstm::Adam({.learning_rate = 0.01f}), lstm::loss::binary_crossentropy_from_logits,
                    {.metrics = {"accuracy", "auc"}});
    else
      model.compile(lstm::Adam({.learning_rate = 0.01f}), lstm::loss::mse, {.metrics = {"mae", "rmse"}});
    lstm::FitOptions fit{.epochs = epochs, .batch_size = batch, .validation_split = 0.2, .verbose = 0};
    fit.checkpoint = checkpoint, fit.resume = resume;
    // as if the checkpoint were on rank 0's own disk: the other ranks look for it elsewhere
    if (local_checkpoint && rank != 0) fit.checkpoint += ".not-here";
    fit.callbacks.push_back(std::make_shared<lstm::EarlyStopping>(lstm::EarlyStoppingOptions{.patience = 50}));
    auto die = std::make_shared<DieAt>();  // always there: a resumed fit needs the same callbacks
    die->at = die_at;
    fit.callbacks.push_back(die);
    auto stop = std::make_shared<StopOnOneRank>();
    stop->at = stop_at, stop->rank = stop_rank;
    fit.callbacks.push_back(stop);
    lstm::History h = model.fit(X, y, fit);
    if (!x_file.empty()) {
      // the resident size of X's mapping in this process: the pages this rank touched
      std::FILE* f = std::fopen("/proc/self/smaps", "r");
      char line[4096];
      bool in_x = false;
      long rss_kb = -1;
      while (f && std::fgets(line, sizeof line, f)) {
        unsigned long from = 0, to = 0;
        if (std::sscanf(line, "%lx-%lx ", &from, &to) == 2)  // a mapping's first line
          in_x = std::strstr(line, x_file.c_str()) != nullptr;
        else if (in_x && std::strncmp(line, "Rss:", 4) == 0)
          rss_kb = std::max(rss_kb, 0L) + std::atol(line + 4);
      }
      if (f) std::fclose(f);
      std::fprintf(stderr, "rank %d holds %ld kB of X\n", rank, rss_kb);
    }
    if (rank == 0) {
      std::vector<float> w = model.get_weights();
      const int64_t P = int64_t(w.size());
      lstm::save_npy(argv[1], lstm::Tensor({P}, std::move(w)));
      if (h.epochs() > 0) {
        std::printf("ranks %d", lstm::distributed::size());
        for (const auto& [key, values] : h.history) std::printf(" %s %.9g", key.c_str(), values.back());
        std::printf("\n");
      }
      std::printf("epochs %d\n", h.epochs());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fit_ranks (rank %d): %s\n", lstm::distributed::rank(), e.what());
    if (lstm::distributed::active()) lstm::distributed::abort(1);
    return 1;
  }
  return 0;
}
