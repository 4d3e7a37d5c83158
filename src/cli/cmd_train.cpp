// lstm train: fit a model to X.npy / y.npy, or a forecaster to a CSV column, and save it.
#include <sys/stat.h>

#include <filesystem>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/models.h"
#include "core/limits.h"
#include "graph/graph_model.h"
#include "io/file.h"
#include "lstm/forecast.h"
#include "lstm/lstm.h"
#include "report/report.h"
#include "train/metrics.h"

namespace lstm::cli {

const Command kTrain{
    "train",
    "Train a model and save it, from arrays (--x X.npy [N, T, F], --y y.npy [N, out] or\n"
    "[N, T, out]; a graph: --x NAME=FILE.npy per input, --y NAME=FILE.npy per output) with\n"
    "--config or --init, or as a forecaster from a CSV (--csv, --target):\n"
    "windows of --lookback rows predict the target --horizon steps ahead; the last\n"
    "--test-fraction of the rows is held out and scored against naive baselines.",
    {
        {"config", "FILE", "architecture JSON: a chain {\"input_shape\": [30, 1], \"layers\": [...]} or a "
                           "graph {\"inputs\": [...], \"layers\": [...], \"outputs\": [...]}"},
        {"init", "FILE", "start from this model's architecture and weights (.safetensors)"},
        {"x", "FILE", "inputs, .npy float32/float64 [N, T, F]; a graph: NAME=FILE.npy per input", true},
        {"y", "FILE", "targets, .npy [N, out] or [N, T, out] (scce: integer class indices); a graph "
                      "of several outputs: NAME=FILE.npy per output", true},
        {"lengths", "FILE", "right-padded sequences: valid steps per sample, .npy integers [N] (a "
                            "graph: of its input with \"lengths\": true)"},
        {"out", "FILE", "where to save the trained model (.safetensors)"},
        {"csv", "FILE", "forecasting: a CSV file with a header row"},
        {"target", "COL", "forecasting: the column to predict"},
        {"features", "A,B,...", "forecasting: input columns (default: the target alone)"},
        {"lookback", "L", "forecasting: rows per input window (default 30)"},
        {"horizon", "K", "forecasting: predict the next K values at once (default 1)"},
        {"test-fraction", "X", "forecasting: last fraction of rows held out for testing (default 0.2)"},
        {"date-column", "COL", "forecasting: dates, for forecasts with dates"},
        {"season", "S", "forecasting: season length in rows, for the seasonal-naive baseline"},
        {"scaling", "NAME", "forecasting: standard (default) or minmax, fitted on training rows"},
        {"fill", "HOW", "forecasting: fill missing cells: previous or linear (default: error)"},
        {"transform", "NAME", "forecasting: what the model predicts: auto (default: each candidate "
                              "trained, the best on validation kept), level, relative (changes "
                              "from the last value), seasonal (changes from one season before), "
                              "log or boxcox (positive series)"},
        {"relative", "", "forecasting: the same as --transform relative"},
        {"quantiles", "Q,Q,...", "forecasting: predict these quantiles (e.g. 0.1,0.5,0.9; the median "
                                 "is added if missing) with the pinball loss: intervals and their "
                                 "coverage"},
        {"calendar", "LIST", "forecasting: inputs from the date column, known in advance: hour, dow, dom, "
                             "doy, month (each as a sine and cosine), e.g. --calendar hour,dow"},
        {"future-features", "A,B,...", "forecasting: input columns known in advance (rows after the "
                                       "target's last value, with it empty, give their future)"},
        {"tracking-rate", "X", "forecasting with --quantiles: after calibration, track each interval online "
                               "as actual values arrive, by X times its width per value (default 0.2; 0: "
                               "keep it as calibrated)"},
        {"series-column", "COL", "forecasting: many series in one long-format CSV, this column naming each "
                                 "row's series: one model for all, each series scaled on its own, metrics "
                                 "per series and over all (a series too short is skipped with a warning)"},
        {"series-embedding", "", "forecasting with --series-column: one input per series (one-hot), a "
                                 "learned embedding of each series"},
        {"no-calibration", "", "forecasting with --quantiles: keep the intervals as trained (by default "
                               "they are calibrated to their nominal coverage on the validation windows)"},
        {"units", "N", "forecasting: LSTM units of the default model (default 50)"},
        {"layers", "N", "forecasting: stacked LSTM layers of the default model (default 1)"},
        {"report", "FILE", "forecasting: write an HTML report (loss curves, test forecast, metrics)"},
        {"checkpoint", "FILE", "save the training state after every epoch"},
        {"resume", "", "continue from --checkpoint if it exists"},
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
        {"loss", "NAME", "mse (default), mae, bce, cce or scce; a graph: one for all outputs or "
                         "NAME,NAME,... one per output"},
        {"loss-weights", "W,W,...", "a graph: the weight of each output's loss (default 1 each)"},
        {"from-logits", "", "bce/cce/scce: the model outputs logits, not probabilities"},
        {"metrics", "LIST", "report these next to the loss, comma-separated (a graph: NAME=METRIC for "
                            "output NAME only): accuracy, "
                            "binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, "
                            "mae, mse, rmse, auc"},
        {"no-shuffle", "", "keep the sample order in every epoch"},
        {"seed", "N", "seed for the initial weights and the shuffling (default 42)"},
        {"validation-split", "X", "hold out the last fraction X of the samples (default 0)"},
        {"clip-norm", "X", "clip gradients to global L2 norm X"},
        {"clip-value", "X", "clip each gradient to [-X, X]"},
        {"early-stopping", "N",
         "stop after N epochs without improvement (val_loss, else loss); keep the best weights"},
        {"quiet", "", "print nothing but errors"},
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
    }};

// lstm backtest takes train's forecasting and training options, and its own.
static std::vector<Option> backtest_options() {
  static const char* shared[] = {"csv", "target", "features", "lookback", "horizon", "test-fraction",
                                 "date-column", "season", "scaling", "fill", "transform", "relative",
                                 "quantiles", "no-calibration", "tracking-rate", "calendar", "future-features", "units", "layers", "config", "epochs",
                                 "batch-size", "optimizer", "lr", "beta1", "beta2", "epsilon", "momentum",
                                 "nesterov", "rho", "weight-decay", "loss", "validation-split", "clip-norm",
                                 "clip-value", "early-stopping", "no-shuffle", "seed", "quiet", "threads"};
  std::vector<Option> out = {
      {"folds", "K", "how many origins (default 5)"},
      {"step", "N", "test rows per fold; the origins are N rows apart (default: the last --test-fraction "
                    "of the rows split into K)"},
      {"expanding", "", "train each fold on every row before its origin (default: rolling, every fold "
                        "on as many rows as the first)"},
      {"json", "", "print the per-fold and overall metrics as JSON instead of tables"},
      {"predictions", "FILE", "write one CSV row per test prediction: fold,row,step,actual,predicted"},
  };
  for (const char* name : shared)
    for (const Option& o : kTrain.options)
      if (o.name == name) out.push_back(o);
  return out;
}

const Command kBacktest{
    "backtest",
    "Backtest a forecaster on a CSV: K origins over the last rows (--folds, --step), a model\n"
    "trained before each origin only (rolling, or --expanding) and scored on the rows after it,\n"
    "with the naive, seasonal-naive, drift and mean baselines on the same rows; metrics per fold\n"
    "and over all folds. Takes lstm train's forecasting and training options.",
    backtest_options()};

static const char* kArraysOnly[] = {"lengths"};
static const char* kCsvOnly[] = {"target", "features", "lookback", "horizon", "test-fraction",
                                 "date-column", "season", "scaling", "fill", "relative", "transform", "quantiles", "no-calibration", "tracking-rate", "calendar",
                                 "future-features", "units", "layers", "report", "series-column", "series-embedding"};

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

std::vector<int64_t> load_lengths(const std::string& path) {
  Tensor t = load_npy(path, /*allow_integers=*/true);
  if (t.rank() != 1)
    throw Error("'" + path + "' has shape " + t.shape_string() +
                ": lengths are one integer per sample, shape [N]");
  std::vector<int64_t> out;
  for (int64_t n = 0; n < t.size(); ++n) {
    if (t[n] != std::floor(t[n]) || std::fabs(t[n]) > float(limits::kTimeSteps))
      throw Error("'" + path + "': lengths[" + std::to_string(n) + "] = " + std::to_string(t[n]) +
                  " is not an integer in 1.." + std::to_string(limits::kTimeSteps) +
                  " (a number of time steps)");
    out.push_back(int64_t(t[n]));
  }
  return out;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

void check_writable(const std::string& path) {
  try {
    check_output_path(path, "output");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (checked before any work, so none is lost)");
  }
}

// The identity of a path: device and inode when it exists, else its absolute form.
static std::string file_identity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  std::error_code ec;
  return std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec).string();
}

void check_outputs_distinct(const Args& a, std::initializer_list<const char*> outputs,
                            std::initializer_list<const char*> inputs) {
  std::vector<std::pair<std::string, std::string>> seen;  // identity, option
  for (const char* in : inputs)
    for (const std::string& value : a.all(in)) {
      seen.push_back({file_identity(value), in});
      if (size_t eq = value.find('='); eq != std::string::npos)  // NAME=FILE
        seen.push_back({file_identity(value.substr(eq + 1)), in});
    }
  for (const char* out : outputs)
    for (std::string path : a.all(out)) {
      if (size_t eq = path.find('='); eq != std::string::npos && !std::filesystem::exists(path))
        path = path.substr(eq + 1);  // NAME=FILE
      const std::string id = file_identity(path);
      for (const auto& [other, name] : seen)
        if (other == id)
          throw UsageError("--" + std::string(out) + " '" + path + "' is the same file as --" +
                           name + ": writing it would destroy " +
                           (std::string(name) == "out" || std::string(name) == "report" ||
                                    std::string(name) == "predictions"
                                ? "the other output"
                                : "an input") +
                           "; give another path");
      seen.push_back({id, out});
    }
}

// The model of a --config file; errors name the file.
static Sequential config_model(const std::string& path, uint64_t seed) {
  const std::string text = read_file(path, "model config");
  if (is_graph_config(text))
    throw Error("'" + path + "' is a graph config (it has \"inputs\" and \"outputs\"), but a "
                "forecaster is a chain: give a config {\"input_shape\": [...], \"layers\": [...]}");
  try {
    return Sequential::from_json(text, {.seed = seed});
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

// The forecasting options of `lstm train --csv`.
static ForecastOptions forecast_options_from_args(const Args& a) {
  ForecastOptions o;
  o.target = a.required("target");
  o.features = split_commas(a.str("features", o.target));
  o.lookback = int(a.integer("lookback", 30, 1, limits::kTimeSteps - 1));
  o.horizon = int(a.integer("horizon", 1, 1, limits::kWidth));
  o.test_fraction = a.number("test-fraction", 0.2);
  o.date_column = a.str("date-column");
  o.season = int(a.integer("season", 0, 0, limits::kTimeSteps - 1));
  for (const std::string& q : split_commas(a.str("quantiles"))) {
    char* end = nullptr;
    const float v = std::strtof(q.c_str(), &end);
    if (q.empty() || *end != '\0')
      throw UsageError("--quantiles expects numbers in (0, 1) separated by commas, e.g. 0.1,0.5,0.9; got '" + q + "'");
    o.quantiles.push_back(v);
  }
  if (a.has("quantiles") && o.quantiles.empty())
    throw UsageError("--quantiles expects numbers in (0, 1) separated by commas, e.g. 0.1,0.5,0.9");
  o.calibrate_intervals = !a.has("no-calibration");
  o.tracking_rate = float(a.number("tracking-rate", 0.2));
  if (!(o.tracking_rate >= 0 && o.tracking_rate <= 1))
    throw UsageError("--tracking-rate must be in [0, 1] (a share of the interval's width per value), got " +
                     a.str("tracking-rate"));
  if (a.has("tracking-rate") && (!a.has("quantiles") || a.has("no-calibration")))
    throw UsageError("--tracking-rate tracks calibrated intervals: it needs --quantiles, without --no-calibration");
  o.calendar = split_commas(a.str("calendar"));
  o.future_features = split_commas(a.str("future-features"));
  o.series_column = a.str("series-column");
  o.series_embedding = a.has("series-embedding");
  if (o.series_embedding && o.series_column.empty())
    throw UsageError("--series-embedding gives each series of --series-column an input: name the series column");
  if (a.has("no-calibration") && !a.has("quantiles")) throw UsageError("--no-calibration applies with --quantiles");
  if (a.has("relative") && a.has("transform"))
    throw UsageError("--relative is --transform relative: give one of them");
  try {
    const std::string t = a.has("relative") ? "relative" : a.str("transform", "auto");
    if (t != "auto") o.transform = transform_from_name(t);
    o.scaling = scaling_from_name(a.str("scaling", "standard"));
    o.fill = a.has("fill") ? fill_from_name(a.str("fill")) : Fill::none;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return o;
}

// The model of `lstm train --csv`: the seed's LSTM(50) -> Dense(K), or --config / --init,
// which must fit the windows.
static Sequential forecast_model(const Args& a, const ForecastSetup& setup, uint64_t seed) {
  const ForecastOptions& o = setup.options;
  const std::vector<int64_t> shape = {o.lookback, setup.input_width()};
  if (!a.has("config") && !a.has("init"))
    return default_forecast_model(setup, int(a.integer("units", 50, 1, limits::kWidth)),
                                  int(a.integer("layers", 1, 1, limits::kLayers - 1)), seed);
  if (a.has("units") || a.has("layers"))
    throw UsageError("--units and --layers shape the default model; with --config or --init the "
                     "architecture comes from there");
  Sequential model = a.has("config") ? config_model(a.str("config"), seed) : Sequential::load(a.str("init"));
  if (!model.built()) model.build(shape);
  if (model.input_shape() != shape)
    throw Error("the model takes inputs of shape " + shape_string(model.input_shape()) +
                " but the windows are " + shape_string(shape) + " (lookback " +
                std::to_string(o.lookback) + ", " + std::to_string(shape[1]) + " inputs)");
  const LayerConfig& last = model.layers().back();
  const int64_t width = o.horizon * setup.outputs_per_step();
  if (last.type != LayerType::dense || last.units != width || last.activation != Activation::linear)
    throw Error("a forecaster's last layer must be a linear Dense with " + std::to_string(width) +
                " units (horizon " + std::to_string(o.horizon) +
                (o.quantiles.empty() ? std::string(")") : " x " + std::to_string(o.quantiles.size()) + " quantiles)"));
  return model;
}

static std::string history_json(const History& h) { return nlohmann::json(h.history).dump(); }

// lstm train --csv: one model per transform candidate (--transform auto) or the one given,
// the best on validation kept, scored on the test part.
// The function train_forecaster calls per candidate transform: the model of the options
// (forecast_model), compiled (the pinball loss for quantiles), fitted with a fresh early stopper.
// `candidates` > 1 numbers the "== transform" lines; 0 leaves the number out.
static ForecastTrainFn forecast_trainer(const Args& a, const Optimizer& optimizer, const Loss& loss,
                                        const std::vector<std::string>& metrics, const FitOptions& base_fit,
                                        int64_t patience, uint64_t seed, size_t candidates, bool quiet) {
  auto tried = std::make_shared<int>(0);
  return [=, &a](const ForecastSetup& setup, const Tensor& X, const Tensor& y, const Tensor& Xv,
                 const Tensor& yv, History& history) {
    Sequential model = forecast_model(a, setup, seed);
    // quantile forecasters: the pinball loss at the setup's levels (the median added)
    const Loss l = setup.options.quantiles.empty() ? loss : quantile_loss(setup.options.quantiles);
    model.compile(optimizer, l, {.metrics = metrics});
    FitOptions fit = base_fit;
    fit.validation_split = 0;
    fit.validation_x = Xv, fit.validation_y = yv;
    std::shared_ptr<EarlyStopping> stopper;
    if (patience >= 0) {
      stopper = std::make_shared<EarlyStopping>(EarlyStoppingOptions{
          .monitor = Xv.empty() ? "loss" : "val_loss", .patience = int(patience), .restore_best_weights = true});
      fit.callbacks.push_back(stopper);
    }
    ++*tried;
    if (!quiet) {
      if (candidates > 1)
        std::printf("== transform %s (%d of %zu)\n", transform_name(setup.options.transform), *tried, candidates);
      else if (candidates == 0)
        std::printf("== transform %s\n", transform_name(setup.options.transform));
      if (fit.verbose)
        std::printf("training on %lld samples of shape %s, %d epochs, batch %d, %s, loss %s\n",
                    (long long)X.dim(0), shape_string({X.shape().begin() + 1, X.shape().end()}).c_str(),
                    fit.epochs, fit.batch_size, optimizer_name(optimizer.kind), loss_name(l).c_str());
    }
    history = model.fit(X, y, fit);
    if (!quiet && stopper && stopper->stopped_epoch() >= 0)
      std::printf("early stopping after epoch %d; restored the weights of epoch %d\n",
                  stopper->stopped_epoch() + 1, stopper->best_epoch() + 1);
    return model;
  };
}

// --transform auto (or absent, without --relative)?
static bool automatic_transform(const Args& a) { return !a.has("relative") && a.str("transform", "auto") == "auto"; }

// auto holds out the last 20% of the training windows to choose, unless told otherwise
static double forecast_validation(const Args& a, const FitOptions& fit) {
  return a.has("validation-split") ? fit.validation_split : automatic_transform(a) ? 0.2 : 0.0;
}

static int train_csv(const Args& a, const Optimizer& optimizer, const Loss& loss,
                     const std::vector<std::string>& metrics, const FitOptions& base_fit,
                     int64_t patience, uint64_t seed) {
  const bool quiet = a.has("quiet");
  const std::string out = a.required("out");
  const ForecastOptions fo = forecast_options_from_args(a);
  const double split = forecast_validation(a, base_fit);
  const CsvTable table = read_csv(a.str("csv"));
  const std::vector<Transform> candidates =
      automatic_transform(a) ? forecast_candidates(table, fo, split) : std::vector<Transform>{fo.transform};
  if (candidates.size() > 1 && !base_fit.checkpoint.empty())
    throw UsageError("--checkpoint saves one training run, but --transform auto trains one per "
                     "transform: give --transform NAME with --checkpoint");
  const ForecastTrainFn train = forecast_trainer(a, optimizer, loss, metrics, base_fit, patience, seed, candidates.size(), quiet);
  TrainedForecaster tf = train_forecaster(table, fo, candidates, split, train);
  Sequential& model = tf.model;
  ForecastData& data = tf.data;
  for (const std::string& w : data.skipped) std::fprintf(stderr, "lstm train: warning: %s\n", w.c_str());
  model.metadata()["lstm.history"] = history_json(tf.history);
  model.metadata()["lstm.forecast_selection"] = tf.selection.to_json();
  model.save(out);
  if (!quiet) {
    const std::string summary = tf.selection.summary();
    if (!summary.empty()) std::printf("\n%s", summary.c_str());
    std::printf("saved %s (%lld parameters)\n", out.c_str(), (long long)model.count_params());
  }
  if (data.many() && !data.X_test.empty()) {
    SeriesEvaluation ev = evaluate_series(model, data);
    if (!quiet) std::printf("\n%s", metrics_table(ev).c_str());
    if (a.has("report")) {
      write_file_atomic(a.str("report"), series_report(ev, tf.history.history, &tf.selection, data,
                                                       {{"data", a.str("csv")}, {"model", out}}), "report");
      if (!quiet) std::printf("wrote %s\n", a.str("report").c_str());
    }
  } else if (!data.test_rows.empty()) {
    ForecastEvaluation ev = evaluate_forecast(model, data);
    if (!quiet) std::printf("\n%s", metrics_table(ev).c_str());
    if (a.has("report")) {
      ReportContent rc{"lstm: " + data.setup.options.target + " from " + a.str("csv"),
                       {{"data", a.str("csv")}, {"model", out}},
                       tf.history.history, &ev, {}, data.series.dates};
      rc.selection = &tf.selection;
      write_file_atomic(a.str("report"), report_html(rc), "report");
      if (!quiet) std::printf("wrote %s\n", a.str("report").c_str());
    }
  }
  return 0;
}

int run_train(const Args& a) {
  const bool csv = a.has("csv");
  if (csv) {
    if (a.has("x") || a.has("y"))
      throw UsageError("--csv builds X and y from the CSV: drop --x and --y");
    for (const char* opt : kArraysOnly)
      if (a.has(opt)) throw UsageError("--" + std::string(opt) + " applies only with --x and --y");
    if (a.has("config") && a.has("init")) throw UsageError("give at most one of --config and --init");
  } else {
    for (const char* opt : kCsvOnly)
      if (a.has(opt)) throw UsageError("--" + std::string(opt) + " applies only with --csv");
    if (a.has("config") == a.has("init"))
      throw UsageError("give exactly one of --config model.json (new model) or --init "
                       "model.safetensors (continue from a saved model), or --csv to forecast");
  }
  const std::string out = a.required("out");
  const int64_t epochs = a.integer("epochs", 10, 0, limits::kEpochs);
  const int64_t batch = a.integer("batch-size", 32, 1, 1 << 30);
  const int64_t seed = a.integer("seed", 42, 0, INT64_MAX);
  if (a.has("resume") && !a.has("checkpoint")) throw UsageError("--resume needs --checkpoint FILE");
  // the first of --loss's list (a graph may give one per output; names checked here)
  const size_t loss_count = split_commas(a.str("loss", "mse")).size();
  const Loss loss = losses_from_arg(a.str("loss", "mse"), a.has("from-logits"), loss_count)[0];
  if (csv && loss.kind != LossKind::mse && loss.kind != LossKind::mae)
    throw UsageError("a forecaster regresses values: use --loss mse or mae");
  if (csv && a.has("quantiles") && a.has("loss"))
    throw UsageError("--quantiles trains with the pinball loss at those levels: drop --loss");
  Optimizer optimizer = optimizer_from_args(a);
  const double split = a.number("validation-split", 0.0);
  const int64_t patience = a.integer("early-stopping", -1, 0, limits::kEpochs);
  const bool quiet = a.has("quiet");
  check_outputs_distinct(a, {"out", "report", "checkpoint"}, {"config", "init", "x", "y", "lengths", "csv"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  if (a.has("checkpoint")) check_writable(a.str("checkpoint"));

  const std::vector<std::string> metrics = split_commas(a.str("metrics"));
  FitOptions fit;
  fit.epochs = int(epochs);
  fit.batch_size = int(batch);
  fit.shuffle = !a.has("no-shuffle");
  fit.validation_split = split;
  fit.verbose = quiet ? 0 : 1;
  fit.checkpoint = a.str("checkpoint");
  fit.resume = a.has("resume");
  std::shared_ptr<EarlyStopping> stopper;
  if (a.has("early-stopping")) {
    stopper = std::make_shared<EarlyStopping>(EarlyStoppingOptions{
        .monitor = split > 0 ? "val_loss" : "loss",
        .patience = int(patience),
        .restore_best_weights = true});
    fit.callbacks.push_back(stopper);
  }
  auto report_stop = [&] {
    if (!quiet && stopper && stopper->stopped_epoch() >= 0)
      std::printf("early stopping after epoch %d; restored the weights of epoch %d\n",
                  stopper->stopped_epoch() + 1, stopper->best_epoch() + 1);
  };
  if (a.has("loss-weights") && csv) throw UsageError("--loss-weights applies to graphs of several outputs");
  if (csv) {
    resolve_metrics(metrics, loss, 0, "--metrics");
    for (const std::string& m : metrics)
      if (m.find('=') != std::string::npos)
        throw UsageError("--metrics " + m + ": NAME=METRIC picks a graph output; a forecaster has one output");
    fit.callbacks.clear();  // train_csv makes an early stopper per model
    return train_csv(a, optimizer, loss, metrics, fit, patience, uint64_t(seed));
  }

  // a graph: from a graph config or a saved graph model
  std::unique_ptr<Model> graph;
  std::unique_ptr<Sequential> chain;
  std::string config_text;
  if (!csv && a.has("config")) {
    config_text = read_file(a.str("config"), "model config");
    if (is_graph_config(config_text)) {
      try {
        graph = std::make_unique<Model>(Model::from_json(config_text, {.seed = uint64_t(seed)}));
      } catch (const Error& e) {
        throw Error("'" + a.str("config") + "': " + e.what());
      }
    }
  } else if (!csv && a.has("init")) {
    AnyModel any = load_any_model(a.str("init"));
    graph = std::move(any.graph), chain = std::move(any.sequential);
    if (graph) graph->set_seed(uint64_t(seed));
  }
  if (graph) {
    Model& model = *graph;
    if (a.has("lengths")) fit.lengths = load_lengths(a.str("lengths"));  // the {lengths: true} input's
    const std::vector<Tensor> xs = named_arrays(a, "x", model.input_names(), false);
    const std::vector<Tensor> ys = named_arrays(a, "y", model.output_names(), true);
    const std::vector<Loss> losses =
        losses_from_arg(a.str("loss", "mse"), a.has("from-logits"), model.output_names().size());
    CompileOptions co = metric_options(metrics);
    for (const std::string& w : split_commas(a.str("loss-weights"))) {
      try {
        size_t used = 0;
        co.loss_weights.push_back(std::stod(w, &used));
        if (used != w.size()) throw std::invalid_argument(w);
      } catch (const std::exception&) {
        throw UsageError("--loss-weights expects numbers separated by commas, got '" + w + "'");
      }
    }
    model.compile(optimizer, losses, co);
    if (!quiet)
      std::printf("training a graph of %zu input%s and %zu output%s on %lld samples, %lld epochs, "
                  "batch %lld, %s\n",
                  xs.size(), xs.size() == 1 ? "" : "s", ys.size(), ys.size() == 1 ? "" : "s",
                  (long long)xs[0].dim(0), (long long)epochs, (long long)batch,
                  optimizer_name(optimizer.kind));
    History h = model.fit(TensorList(xs), TensorList(ys), fit);
    model.metadata()["lstm.history"] = history_json(h);
    CompileRecord record{{}, a.has("from-logits"), metrics, co.loss_weights};
    for (const Loss& l : losses) record.losses.push_back(loss_name(Loss{l.kind, false}));
    model.metadata()["lstm.compile"] = compile_record_json(record);
    model.save(out);
    report_stop();
    if (!quiet) std::printf("saved %s (%lld parameters)\n", out.c_str(), (long long)model.count_params());
    return 0;
  }
  if (a.has("loss-weights")) throw UsageError("--loss-weights weigh the outputs of a graph; this model has one");

  Tensor X, y;
  Sequential model;
  {
    if (a.count("x") > 1 || a.count("y") > 1)
      throw UsageError("a Sequential model has one input and one output: give one --x and one --y");
    X = read_npy(a.required("x"), false);
    y = read_npy(a.required("y"), /*allow_integers=*/true);
    if (chain) {
      model = std::move(*chain);
    } else {
      try {
        model = Sequential::from_json(config_text, {.seed = uint64_t(seed)});
      } catch (const Error& e) {
        throw Error("'" + a.str("config") + "': " + e.what());
      }
    }
  }
  if (a.has("init")) model.set_seed(uint64_t(seed));
  if (loss_count > 1)
    throw UsageError("--loss " + a.str("loss") + " lists several losses, but this model has one output");
  for (const std::string& m : metrics)
    if (m.find('=') != std::string::npos)
      throw UsageError("--metrics " + m + ": NAME=METRIC picks a graph output; this model has one output");
  resolve_metrics(metrics, loss, 0, "--metrics");  // names checked here, widths when training
  model.compile(optimizer, loss, {.metrics = metrics});
  const Tensor& fit_x = X;
  const Tensor& fit_y = y;
  if (a.has("lengths")) fit.lengths = load_lengths(a.str("lengths"));
  if (!quiet)
    std::printf("training on %lld samples of shape %s, %lld epochs, batch %lld, %s, loss %s\n",
                (long long)fit_x.dim(0),
                shape_string({fit_x.shape().begin() + 1, fit_x.shape().end()}).c_str(), (long long)epochs,
                (long long)batch, optimizer_name(optimizer.kind), loss_name(loss).c_str());
  History h = model.fit(fit_x, fit_y, fit);
  model.metadata()["lstm.history"] = history_json(h);
  const CompileRecord record{{loss_name(Loss{loss.kind, false})}, loss.from_logits, metrics, {}};
  model.metadata()["lstm.compile"] = compile_record_json(record);
  model.save(out);
  report_stop();
  if (!quiet) std::printf("saved %s (%lld parameters)\n", out.c_str(), (long long)model.count_params());
  return 0;
}

int run_backtest(const Args& a) {
  if (a.has("predictions")) check_writable(a.str("predictions"));
  check_outputs_distinct(a, {"predictions"}, {"csv", "config"});
  const Loss loss = losses_from_arg(a.str("loss", "mse"), false, 1)[0];
  if (loss.kind != LossKind::mse && loss.kind != LossKind::mae)
    throw UsageError("a forecaster regresses values: use --loss mse or mae");
  if (a.has("quantiles") && a.has("loss"))
    throw UsageError("--quantiles trains with the pinball loss at those levels: drop --loss");
  const Optimizer optimizer = optimizer_from_args(a);
  FitOptions fit;
  fit.epochs = int(a.integer("epochs", 10, 0, limits::kEpochs));
  fit.batch_size = int(a.integer("batch-size", 32, 1, 1 << 30));
  fit.shuffle = !a.has("no-shuffle");
  fit.validation_split = a.number("validation-split", 0.0);
  fit.verbose = 0;  // a line per fold and per transform instead
  const int64_t patience = a.integer("early-stopping", -1, 0, limits::kEpochs);
  const int64_t seed = a.integer("seed", 42, 0, INT64_MAX);
  const ForecastOptions fo = forecast_options_from_args(a);
  const double split = forecast_validation(a, fit);
  BacktestOptions bo;
  bo.folds = int(a.integer("folds", 5, 1, 1000));
  bo.step = a.integer("step", 0, 1, limits::kTimeSteps);
  bo.expanding = a.has("expanding");
  const bool quiet = a.has("quiet") || a.has("json");
  const CsvTable table = read_csv(a.required("csv"));
  const std::vector<Transform> candidates = automatic_transform(a) ? std::vector<Transform>{} : std::vector<Transform>{fo.transform};
  const ForecastTrainFn train = forecast_trainer(a, optimizer, loss, {}, fit, patience, uint64_t(seed), 0, quiet);
  auto progress = [&](int f, int64_t begin, int64_t origin, int64_t end) {
    if (!quiet)
      std::printf("== fold %d of %d: training on rows %lld..%lld, testing rows %lld..%lld\n", f + 1, bo.folds,
                  (long long)begin, (long long)origin - 1, (long long)origin, (long long)end - 1);
    std::fflush(stdout);
  };
  const Backtest bt = backtest_forecaster(table, fo, bo, candidates, split, train, progress);
  if (a.has("json")) {
    std::printf("%s\n", bt.to_json().c_str());
  } else {
    std::printf("\n%s", bt.table().c_str());
  }
  if (a.has("predictions")) {
    std::string csv = predictions_csv_header(true, true, bt.folds.front().evaluation.quantile_levels);
    for (size_t f = 0; f < bt.folds.size(); ++f) append_predictions_csv(csv, bt.folds[f].evaluation.predictions, true, int(f + 1));
    write_file_atomic(a.str("predictions"), csv, "predictions file");
  }
  return 0;
}

}  // namespace lstm::cli
