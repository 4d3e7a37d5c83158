// Sequential::fit: its data checks and validation split; the chain's one training loop
// (graph/model.cpp, train/fit_loop.h) does the rest, for the Sequential model (what callbacks
// see and checkpoints hold).
#include <cmath>

#include "distributed/data_parallel.h"
#include "graph/graph_model.h"
#include "io/model_file.h"
#include "lstm/error.h"
#include "model/model_impl.h"
#include "train/fit_loop.h"

namespace lstm {

History Sequential::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  Impl& m = *impl_;
  if (!m.compiled) throw Error("fit() needs an optimizer and a loss: call compile() first");
  check_fit_options(options);
  build_from(*this, x);
  const int64_t N = x.dim(0);
  std::vector<int64_t> lengths;
  distributed::check_shared([&] {  // in an MPI job each rank checks its share of the rows
    m.check_x(x, "X");
    m.check_y(x, y, "X", "y");
    lengths = m.resolve_lengths(x, options.lengths, "X");
    if (!options.validation_x.empty()) {
      m.check_x(options.validation_x, "validation_x");
      m.check_y(options.validation_x, options.validation_y, "validation_x", "validation_y");
    }
  });

  // Keras: validation_split takes the last samples, before any shuffling.
  int64_t n_train = N;
  bool val_lengths = false;
  if (options.validation_split > 0.0) {
    n_train = int64_t(std::floor(double(N) * (1.0 - options.validation_split)));
    if (n_train <= 0 || n_train >= N)
      throw Error("validation_split " + std::to_string(options.validation_split) + " of " +
                  std::to_string(N) + " samples leaves " + std::to_string(n_train) +
                  " for training and " + std::to_string(N - n_train) +
                  " for validation: both need at least one");
    val_lengths = !lengths.empty();
  } else if (!options.validation_x.empty()) {
    val_lengths = !m.resolve_lengths(options.validation_x, options.validation_lengths, "validation_x").empty();
  }
  m.check_stateful(n_train, options.batch_size, !lengths.empty(), "the training data");
  if (options.validation_split > 0.0 || !options.validation_x.empty())
    m.check_stateful(options.validation_split > 0.0 ? N - n_train : options.validation_x.dim(0),
                     options.batch_size, val_lengths, "the validation data");

  FitOwner owner;
  owner.model = this;
  owner.file = [this] { return model_to_safetensors(*this); };
  owner.weights_from_file = [this](const SafetensorsFile& file, const std::string& path) {
    Sequential saved = model_from_safetensors(file, path);
    if (saved.to_json() != to_json())
      throw Error("the checkpoint '" + path + "' is of a different model (" + saved.to_json() +
                  ") than this run's (" + to_json() + "): delete it or point --checkpoint "
                  "elsewhere");
    return saved.get_weights();
  };
  if (m.outputs() == 1) return fit_graph(*m.chain, x, y, options, &owner);
  // merge_mode none: the targets of both outputs side by side, as the chain's output lies
  Tensor pairs, val_pairs;
  FitOptions o = options;
  if (!o.validation_x.empty()) o.validation_y = m.chain_targets(options.validation_y, val_pairs);
  return fit_graph(*m.chain, x, m.chain_targets(y, pairs), o, &owner);
}

}  // namespace lstm
