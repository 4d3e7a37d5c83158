// lstm predict: run a saved model on X.npy and write Y.npy.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "cli/commands.h"
#include "cli/models.h"
#include "lstm/forecast.h"
#include "lstm/lstm.h"

namespace lstm::cli {

const Command kPredict{"predict",
                       "Run a saved model on X [N, T, F] and write its outputs as .npy "
                       "([N, out], or [N, T, out] when it returns sequences).\nA forecaster "
                       "(lstm train --csv) takes X and returns y in the data's own units.\nA graph "
                       "takes --x NAME=FILE.npy per input and writes --out NAME=FILE.npy per output.",
                       {
                           {"model", "FILE", "the model (.safetensors)"},
                           {"x", "FILE", "inputs, .npy float32/float64 [N, T, F]; a graph: "
                                         "NAME=FILE.npy per input", true},
                           {"out", "FILE", "where to write the predictions (.npy, float32); a graph "
                                           "of several outputs: NAME=FILE.npy per output", true},
                           {"lengths", "FILE",
                            "right-padded sequences: valid steps per sample, .npy integers [N]"},
                           {"initial-state", "PREFIX",
                            "start from these states (Keras's initial_state): PREFIX.h{k}.npy "
                            "[N, units] and, for an LSTM, PREFIX.c{k}.npy, k = each recurrent "
                            "direction in layer order (as --return-state writes them)"},
                           {"return-state", "PREFIX",
                            "also write the state each sequence ended in: PREFIX.h{k}.npy, "
                            "PREFIX.c{k}.npy (LSTM)"},
                           {"batch-size", "N", "samples per forward pass (default 32)"},
                           precision_option(),
        {"threads", "N", "compute threads (default: LSTM_NUM_THREADS, else every core)"},
                       }};

Option precision_option() {
  return {"precision", "P",
          "fp32 (default), bf16 or int8: the LSTM layers' weights as bfloat16 or as int8 with a "
          "scale per row (faster where weights dominate: batch 1, H >= 128; outputs within about "
          "1e-2)"};
}

template <class M>
static void apply_precision_to(const Args& a, M& model) {
  if (!a.has("precision")) return;
  const std::string p = a.str("precision");
  if (p != "fp32" && p != "bf16" && p != "int8")
    throw UsageError("--precision must be fp32, bf16 or int8, got '" + p + "'");
  model.set_precision(precision_from_string(p));
}
void apply_precision(const Args& a, Sequential& model) { apply_precision_to(a, model); }
void apply_precision(const Args& a, Model& model) { apply_precision_to(a, model); }

// A graph: one array per input, one file per output.
static int predict_graph(const Args& a, Model& model, int64_t batch) {
  for (const char* opt : {"initial-state", "return-state"})
    if (a.has(opt))
      throw UsageError("--" + std::string(opt) + " applies to Sequential models; a graph takes states "
                       "as tensors between its layers (initial_state, return_state)");
  const std::vector<int64_t> lengths = a.has("lengths") ? load_lengths(a.str("lengths")) : std::vector<int64_t>{};
  const std::vector<std::string> outs = named_outputs(a, "out", model.output_names());
  for (const std::string& o : outs) check_writable(o);
  const std::vector<Tensor> xs = named_arrays(a, "x", model.input_names(), false);
  const std::vector<Tensor> ys = model.predict(TensorList(xs), lengths, int(batch));
  for (size_t k = 0; k < ys.size(); ++k) {
    save_npy(outs[k], ys[k]);
    std::printf("wrote %s %s (%s)\n", outs[k].c_str(), ys[k].shape_string().c_str(),
                model.output_names()[k].c_str());
  }
  return 0;
}

int run_predict(const Args& a) {
  const std::string model_path = a.required("model");
  for (const char* opt : {"x", "out"})
    if (!a.has(opt)) (void)a.required(opt);  // names what is missing
  const int64_t batch = a.integer("batch-size", 32, 1, 1 << 30);
  check_outputs_distinct(a, {"out"}, {"model", "x", "lengths"});
  AnyModel any = load_any_model(model_path);
  if (any.graph) {
    apply_precision(a, *any.graph);
    return predict_graph(a, *any.graph, batch);
  }
  if (a.count("x") > 1 || a.count("out") > 1)
    throw UsageError("a Sequential model has one input and one output: give one --x and one --out");
  const std::string x_path = a.str("x"), out = a.str("out");
  check_writable(out);
  Sequential& model = *any.sequential;
  apply_precision(a, model);
  // token ids may be stored as integers (numpy's default for them)
  Tensor X = load_npy(x_path, /*allow_integers=*/model.layers()[0].type == LayerType::embedding);
  const bool forecaster = has_forecast_setup(model);
  ForecastSetup setup = forecaster ? forecast_setup(model) : ForecastSetup{};
  // A forecaster reads X in the data's units: each window is encoded as in training (its
  // transform), and the outputs decoded against the same window.
  std::vector<float> windows;  // per window: lookback rows of setup.columns()
  if (forecaster) {
    const ForecastOptions& o = setup.options;
    const int64_t F = int64_t(o.features.size()), C = setup.columns(), L = o.lookback;
    if (!o.series_column.empty())
      throw Error("this forecaster was trained on many series (--series-column " + o.series_column + "), each "
                  "with its own scaling, which bare windows do not name: use lstm evaluate or lstm forecast "
                  "with the CSV");
    if (X.rank() != 3 || X.dim(2) != F || X.dim(1) != o.lookback)
      throw Error("X has shape " + X.shape_string() + " but this forecaster reads windows [N, " +
                  std::to_string(o.lookback) + ", " + std::to_string(F) + "] of " + o.target);
    if (!o.calendar.empty() || !o.future_features.empty())
      throw Error("this forecaster reads calendar or future features of the rows after each window, "
                  "which bare windows do not have: use lstm evaluate or lstm forecast with the CSV");
    if (setup.context_rows() > 0)
      throw Error("this forecaster predicts seasonal differences (--transform seasonal), which "
                  "need the " + std::to_string(setup.context_rows()) + " rows before each window "
                  "too: use lstm evaluate or lstm forecast with the CSV");
    const int64_t N = X.dim(0);
    windows.assign(size_t(N * L * C), std::numeric_limits<float>::quiet_NaN());  // the target, when not a feature, is never read
    for (int64_t r = 0; r < N * L; ++r)
      for (int64_t f = 0; f < F; ++f) windows[size_t(r * C + f)] = X[r * F + f];
    for (int64_t n = 0; n < N; ++n) setup.encode_window(&windows[size_t(n * L * C)], X.data() + n * L * F);
  }
  std::vector<int64_t> lengths;
  if (a.has("lengths")) {
    if (forecaster) throw UsageError("--lengths does not apply to a forecaster: its windows are full");
    lengths = load_lengths(a.str("lengths"));
  }
  const bool states = a.has("initial-state") || a.has("return-state");
  if (states && forecaster)
    throw UsageError("--initial-state and --return-state are for models, not forecasters");
  States initial;
  if (a.has("initial-state")) {
    const std::string prefix = a.str("initial-state");
    const int64_t N = X.rank() >= 1 ? X.dim(0) : 0;
    initial = model.zero_states(N);
    for (size_t k = 0; k < initial.size(); ++k) {
      const std::string h = prefix + ".h" + std::to_string(k) + ".npy", c = prefix + ".c" + std::to_string(k) + ".npy";
      initial[k].h = load_npy(h);
      if (!initial[k].c.empty()) initial[k].c = std::filesystem::exists(c) ? load_npy(c) : Tensor();
    }
  }
  PredictionWithState run;
  if (states) run = model.predict_with_state(X, initial, lengths, int(batch));
  else run.y = model.predict(X, lengths, int(batch));
  Tensor& y = run.y;
  if (forecaster)
    for (int64_t n = 0, L = setup.options.lookback; n < y.dim(0); ++n) {
      std::vector<float> decoded(size_t(y.dim(1)));
      setup.decode_outputs(y.data() + n * y.dim(1), &windows[size_t(n * L * setup.columns())], decoded.data());
      std::copy(decoded.begin(), decoded.end(), y.data() + n * y.dim(1));
    }
  save_npy(out, y);
  std::printf("wrote %s %s\n", out.c_str(), y.shape_string().c_str());
  if (a.has("return-state")) {
    const std::string prefix = a.str("return-state");
    for (size_t k = 0; k < run.states.size(); ++k) {
      save_npy(prefix + ".h" + std::to_string(k) + ".npy", run.states[k].h);
      if (!run.states[k].c.empty()) save_npy(prefix + ".c" + std::to_string(k) + ".npy", run.states[k].c);
    }
    std::printf("wrote %zu states to %s.h*.npy / .c*.npy\n", run.states.size(), prefix.c_str());
  }
  return 0;
}

}  // namespace lstm::cli
