// lstm train: fit a model to X.npy / y.npy and save it.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "io/file.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kTrain{
    "train",
    "Train a model on arrays X [N, T, F] and y [N, out] (or [N, T, out]) and save it.\n"
    "The architecture comes from --config (JSON) or from an existing model (--init).",
    {
        {"config", "FILE", "architecture JSON, e.g. {\"input_shape\": [30, 1], \"layers\": [...]}"},
        {"init", "FILE", "start from this model's architecture and weights (.safetensors)"},
        {"x", "FILE", "inputs, .npy float32/float64 [N, T, F]"},
        {"y", "FILE", "targets, .npy [N, out] or [N, T, out] (scce: integer class indices)"},
        {"out", "FILE", "where to save the trained model (.safetensors)"},
        {"epochs", "N", "passes over the training data (default 10)"},
        {"batch-size", "N", "samples per update (default 32)"},
        {"optimizer", "NAME", "adam (default), adamw, sgd or rmsprop"},
        {"lr", "X", "learning rate (default 0.001; sgd 0.01)"},
        {"beta1", "X", "adam/adamw: first-moment decay (default 0.9)"},
        {"beta2", "X", "adam/adamw: second-moment decay (default 0.999)"},
        {"epsilon", "X", "adam/adamw/rmsprop: denominator epsilon (default 1e-7)"},
        {"momentum", "X", "sgd/rmsprop: momentum (default 0)"},
        {"nesterov", "", "sgd: use Nesterov momentum"},
        {"rho", "X", "rmsprop: mean-square decay (default 0.9)"},
        {"weight-decay", "X", "adamw: decoupled weight decay (default 0.004)"},
        {"loss", "NAME", "mse (default), mae, bce, cce or scce"},
        {"from-logits", "", "bce/cce/scce: the model outputs logits, not probabilities"},
        {"no-shuffle", "", "keep the sample order in every epoch"},
        {"seed", "N", "seed for the initial weights and the shuffling (default 42)"},
        {"validation-split", "X", "hold out the last fraction X of the samples (default 0)"},
        {"clip-norm", "X", "clip gradients to global L2 norm X"},
        {"clip-value", "X", "clip each gradient to [-X, X]"},
        {"early-stopping", "N",
         "stop after N epochs without improvement (val_loss, else loss); keep the best weights"},
        {"quiet", "", "print nothing but errors"},
    }};

static Optimizer optimizer_from_args(const Args& a) {
  const std::string name = a.str("optimizer", "adam");
  Optimizer o;
  try {
    o = optimizer_from_name(name);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  auto only_for = [&](const char* opt, std::initializer_list<OptimizerKind> kinds) {
    if (!a.has(opt)) return false;
    for (OptimizerKind k : kinds)
      if (k == o.kind) return true;
    throw UsageError("--" + std::string(opt) + " does not apply to optimizer " + name);
  };
  using K = OptimizerKind;
  o.learning_rate = float(a.number("lr", o.learning_rate));
  if (only_for("beta1", {K::adam, K::adamw})) o.beta_1 = float(a.number("beta1", 0));
  if (only_for("beta2", {K::adam, K::adamw})) o.beta_2 = float(a.number("beta2", 0));
  if (only_for("epsilon", {K::adam, K::adamw, K::rmsprop})) o.epsilon = float(a.number("epsilon", 0));
  if (only_for("momentum", {K::sgd, K::rmsprop})) o.momentum = float(a.number("momentum", 0));
  if (only_for("nesterov", {K::sgd})) o.nesterov = true;
  if (only_for("rho", {K::rmsprop})) o.rho = float(a.number("rho", 0));
  if (only_for("weight-decay", {K::adamw})) o.weight_decay = float(a.number("weight-decay", 0));
  o.global_clipnorm = float(a.number("clip-norm", 0));
  o.clipvalue = float(a.number("clip-value", 0));
  return o;
}

static void check_writable(const std::string& path) {
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("cannot write '" + path + "': the folder '" + dir +
                "' does not exist or is not writable (checked before training, so no work is lost)");
}

int run_train(const Args& a) {
  if (a.has("config") == a.has("init"))
    throw UsageError("give exactly one of --config model.json (new model) or --init "
                     "model.safetensors (continue from a saved model)");
  const std::string out = a.required("out");
  const std::string x_path = a.required("x"), y_path = a.required("y");
  const long epochs = a.integer("epochs", 10), batch = a.integer("batch-size", 32);
  const long seed = a.integer("seed", 42);
  if (epochs < 0) throw UsageError("--epochs must be >= 0");
  if (batch <= 0) throw UsageError("--batch-size must be a positive integer");
  if (seed < 0) throw UsageError("--seed must be >= 0");
  Loss loss;
  try {
    loss = loss_from_name(a.str("loss", "mse"), a.has("from-logits"));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  Optimizer optimizer = optimizer_from_args(a);
  const double split = a.number("validation-split", 0.0);
  const long patience = a.integer("early-stopping", -1);
  if (a.has("early-stopping") && patience < 0) throw UsageError("--early-stopping must be >= 0");
  const bool quiet = a.has("quiet");
  check_writable(out);

  Tensor X = load_npy(x_path);
  Tensor y = load_npy(y_path, /*allow_integers=*/true);
  Sequential model = a.has("config")
                         ? Sequential::from_json(read_file(a.str("config"), "model config"),
                                                 {.seed = uint64_t(seed)})
                         : Sequential::load(a.str("init"));
  if (a.has("init")) model.set_seed(uint64_t(seed));
  model.compile(optimizer, loss);

  FitOptions fit;
  fit.epochs = int(epochs);
  fit.batch_size = int(batch);
  fit.shuffle = !a.has("no-shuffle");
  fit.validation_split = split;
  fit.verbose = quiet ? 0 : 1;
  std::shared_ptr<EarlyStopping> stopper;
  if (a.has("early-stopping")) {
    stopper = std::make_shared<EarlyStopping>(EarlyStoppingOptions{
        .monitor = split > 0 ? "val_loss" : "loss",
        .patience = int(patience),
        .restore_best_weights = true});
    fit.callbacks.push_back(stopper);
  }
  if (!quiet)
    std::printf("training on %lld samples of shape %s, %ld epochs, batch %ld, %s, loss %s\n",
                (long long)X.dim(0), shape_string({X.shape().begin() + 1, X.shape().end()}).c_str(),
                epochs, batch, optimizer_name(optimizer.kind), loss_name(loss).c_str());
  History h = model.fit(X, y, fit);
  model.save(out);
  if (!quiet) {
    if (stopper && stopper->stopped_epoch() >= 0)
      std::printf("early stopping after epoch %d; restored the weights of epoch %d\n",
                  stopper->stopped_epoch() + 1, stopper->best_epoch() + 1);
    std::printf("saved %s (%lld parameters)\n", out.c_str(), (long long)model.count_params());
  }
  (void)h;
  return 0;
}

}  // namespace lstm::cli
