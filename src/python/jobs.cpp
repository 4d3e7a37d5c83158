// The use cases as Python calls: lstm.forecast.train(...), lstm.text.train_language_model(...),
// lstm.text.train_text_classifier(...). Each releases the GIL while it trains.
#include "lstm/forecast.h"
#include "python/bind.h"

namespace lstm::python {

static py::dict metrics_dict(const Metrics& m) {
  py::dict d;
  d["rmse"] = m.rmse, d["mae"] = m.mae, d["smape"] = m.smape, d["mase"] = m.mase, d["count"] = m.count;
  return d;
}

// A trained forecaster: the model (its setup attached), the data it was made from, its scores.
struct Forecaster {
  Sequential model;
  ForecastData data;
  ForecastEvaluation evaluation;
  History history;
  std::string selection;  // which transform was kept and why
};

static void bind_forecast(py::module_& m) {
  py::class_<Forecaster>(m, "Forecaster", "A trained forecaster (lstm.forecast.train).")
      .def_property_readonly("model", [](Forecaster& f) -> Sequential& { return f.model; },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("history", [](const Forecaster& f) { return to_dict(f.history); })
      .def_property_readonly("metrics", [](const Forecaster& f) {
        py::dict d;
        const ForecastEvaluation& e = f.evaluation;
        d["model"] = metrics_dict(e.model), d["naive"] = metrics_dict(e.naive);
        if (e.has_seasonal) d["seasonal"] = metrics_dict(e.seasonal);
        d["drift"] = metrics_dict(e.drift), d["mean"] = metrics_dict(e.mean);
        return d;
      }, "Test RMSE, MAE, sMAPE and MASE of the model and of each baseline: naive (the last value), "
         "seasonal (one season back; with a season), drift, mean.")
      .def_readonly("selection", &Forecaster::selection,
                    "Which target transform was kept, by its validation RMSE, against the baselines.")
      .def("table", [](const Forecaster& f) { return metrics_table(f.evaluation); },
           "The metrics as a plain-text table, the model against the baselines.")
      .def_property_readonly("predictions", [](const Forecaster& f) {
        const auto& p = f.evaluation.predictions;
        std::vector<float> actual, predicted;
        std::vector<int64_t> row, step;
        for (const PredictionRow& r : p)
          row.push_back(r.row), step.push_back(r.step), actual.push_back(r.actual), predicted.push_back(r.predicted);
        py::dict d;
        d["row"] = py::array(py::cast(row)), d["step"] = py::array(py::cast(step));
        d["actual"] = py::array(py::cast(actual)), d["predicted"] = py::array(py::cast(predicted));
        return d;
      }, "The test predictions in the data's units: arrays row, step, actual, predicted.")
      .def("forecast", [](Forecaster& f, int steps) {
        std::vector<ForecastPoint> points = forecast_future(f.model, f.data, steps);
        py::list out;
        for (const ForecastPoint& p : points) {
          py::dict d;
          d["step"] = p.step, d["date"] = p.date, d["value"] = p.value;
          out.append(d);
        }
        return out;
      }, py::arg("steps"), "The next `steps` values after the data: [{step, date, value}, ...].")
      .def("save", [](const Forecaster& f, const std::string& path) { f.model.save(path); }, py::arg("filepath"),
           "The model with its setup (scalers, lookback), as `lstm forecast` saves it.");

  m.def("train_forecaster", [](const std::string& csv, const std::string& target, const py::handle& features,
                               int lookback, int horizon, double test_fraction, int season,
                               const py::handle& date_column, const std::string& transform,
                               double validation_split, const py::handle& patience, int units, int layers,
                               int epochs, int batch_size, float learning_rate, uint64_t seed,
                               const py::handle& verbose) {
    ForecastOptions o;
    o.target = target;
    if (!features.is_none()) o.features = features.cast<std::vector<std::string>>();
    o.lookback = lookback, o.horizon = horizon, o.test_fraction = test_fraction, o.season = season;
    if (!date_column.is_none()) o.date_column = date_column.cast<std::string>();
    const bool automatic = transform == "auto";
    if (!automatic) o.transform = transform_from_name(transform);
    const int v = verbose_arg(verbose);
    const int wait = patience.is_none() ? -1 : patience.cast<int>();
    ensure_signal_stack();
    py::gil_scoped_release release;
    const CsvTable table = read_csv(csv);
    const std::vector<Transform> candidates =
        automatic ? forecast_candidates(table, o, validation_split) : std::vector<Transform>{o.transform};
    // what `lstm train --csv` does: per candidate the seed's model, Adam on MSE, validated on
    // the last training windows, with early stopping that keeps the best epoch
    const ForecastTrainFn train = [&](const ForecastSetup& setup, const Tensor& X, const Tensor& y,
                                      const Tensor& Xv, const Tensor& yv, History& history) {
      Sequential model = default_forecast_model(setup, units, layers, seed);
      model.compile(Adam({.learning_rate = learning_rate}), loss::mse);
      FitOptions fit{.epochs = epochs, .batch_size = batch_size, .validation_x = Xv, .validation_y = yv, .verbose = v};
      if (wait >= 0)
        fit.callbacks.push_back(std::make_shared<EarlyStopping>(EarlyStoppingOptions{
            .monitor = Xv.empty() ? "loss" : "val_loss", .patience = wait, .restore_best_weights = true}));
      history = model.fit(X, y, fit);
      return model;
    };
    TrainedForecaster tf = train_forecaster(table, o, candidates, validation_split, train);
    ForecastEvaluation evaluation = evaluate_forecast(tf.model, tf.data);
    return Forecaster{std::move(tf.model), std::move(tf.data), std::move(evaluation), std::move(tf.history),
                      tf.selection.summary()};
  }, py::arg("csv"), py::arg("target"), py::kw_only(), py::arg("features") = py::none(),
     py::arg("lookback") = 30, py::arg("horizon") = 1, py::arg("test_fraction") = 0.2, py::arg("season") = 0,
     py::arg("date_column") = py::none(), py::arg("transform") = "auto", py::arg("validation_split") = 0.2,
     py::arg("patience") = 5, py::arg("units") = 50, py::arg("layers") = 1, py::arg("epochs") = 50,
     py::arg("batch_size") = 32, py::arg("learning_rate") = 0.001f, py::arg("seed") = 42,
     py::arg("verbose") = "auto",
     "The CLI's forecasting job (`lstm train --csv`): windows of `lookback` rows predict the next "
     "`horizon` values of `target`; the last test_fraction of the rows is the test part; per target "
     "transform (\"auto\": every one that fits the data; or \"level\", \"relative\", \"seasonal\", "
     "\"log\", \"boxcox\") the seed's LSTM(units) -> Dense model is trained with Adam on MSE, "
     "validated on the last validation_split of the training windows with early stopping after "
     "`patience` epochs without improvement (None: none), and the best on validation is kept and "
     "scored against the naive, seasonal, drift and mean baselines.");
}

static py::dict score_dict(const TextScore& s) {
  py::dict d;
  d["tokens"] = s.tokens, d["nats_per_token"] = s.nats_per_token, d["bits_per_token"] = s.bits_per_token();
  d["perplexity"] = s.perplexity();
  return d;
}

static void bind_text(py::module_& m) {
  py::class_<LanguageModel>(m, "LanguageModel", "A trained language model (lstm.text.train_language_model).")
      .def_property_readonly("model", [](LanguageModel& l) -> Sequential& { return l.model; },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("history", [](const LanguageModel& l) { return to_dict(l.history); })
      .def_property_readonly("heldout", [](const LanguageModel& l) { return score_dict(l.heldout); },
                             "The held-out part's score: bits_per_token, perplexity, ...")
      .def("score", [](LanguageModel& l, const std::string& text) {
        TextScore s;
        {
          ensure_signal_stack();
          py::gil_scoped_release release;
          s = l.score(text);
        }
        return score_dict(s);
      }, py::arg("text"))
      .def("generate", [](LanguageModel& l, const std::string& prompt, int64_t length, float temperature,
                          int64_t top_k, float top_p, uint64_t seed) {
        ensure_signal_stack();
        py::gil_scoped_release release;
        return l.generate(prompt, length, {.temperature = temperature, .top_k = top_k, .top_p = top_p, .seed = seed});
      }, py::arg("prompt"), py::arg("length") = 200, py::arg("temperature") = 1.0f, py::arg("top_k") = 0,
         py::arg("top_p") = 1.0f, py::arg("seed") = 42, "`length` tokens after the prompt.")
      .def("save", &LanguageModel::save, py::arg("filepath"))
      .def_static("load", &LanguageModel::load, py::arg("filepath"));
  m.def("train_language_model", [](const std::string& text, const std::string& level, int64_t lookback, int units,
                                   int layers, int embedding, float dropout, int epochs, int batch_size,
                                   float learning_rate, double holdout, double validation, uint64_t seed,
                                   const py::handle& verbose) {
    LanguageModelOptions o;
    o.vocabulary.level = level == "word" ? TextLevel::word : TextLevel::character;
    if (level != "word" && level != "character")
      throw lstm::Error("level must be \"character\" or \"word\", not \"" + level + "\"");
    o.lookback = lookback, o.units = units, o.layers = layers, o.embedding = embedding, o.dropout = dropout;
    o.epochs = epochs, o.batch_size = batch_size, o.learning_rate = learning_rate;
    o.holdout = holdout, o.validation = validation, o.seed = seed;
    o.verbose = verbose_arg(verbose);
    ensure_signal_stack();
    py::gil_scoped_release release;
    return train_language_model(text, o);
  }, py::arg("text"), py::kw_only(), py::arg("level") = "character", py::arg("lookback") = 100,
     py::arg("units") = 256, py::arg("layers") = 1, py::arg("embedding") = 64, py::arg("dropout") = 0.0f,
     py::arg("epochs") = 1, py::arg("batch_size") = 32, py::arg("learning_rate") = 2e-3f,
     py::arg("holdout") = 0.1, py::arg("validation") = 0.0, py::arg("seed") = 42, py::arg("verbose") = "auto",
     "Trains Embedding -> LSTM -> Dense(softmax) to predict the next character (or word) of `text`; "
     "the last `holdout` fraction is never trained on and scored at the end.");

  py::class_<TextClassifier>(m, "TextClassifier", "A trained text classifier (lstm.text.train_text_classifier).")
      .def_property_readonly("model", [](TextClassifier& c) -> Sequential& { return c.model; },
                             py::return_value_policy::reference_internal)
      .def_readonly("labels", &TextClassifier::labels)
      .def_property_readonly("history", [](const TextClassifier& c) { return to_dict(c.history); })
      .def_property_readonly("test_accuracy", [](const TextClassifier& c) { return c.test.accuracy; })
      .def("test_report", [](const TextClassifier& c) { return c.test.table(); },
           "Accuracy, per-class precision/recall/F1 and the confusion matrix of the held-out texts.")
      .def("predict", [](TextClassifier& c, const std::vector<std::string>& texts) {
        ensure_signal_stack();
        py::gil_scoped_release release;
        return c.predict(texts);
      }, py::arg("texts"), "The label of each text.")
      .def("probabilities", [](TextClassifier& c, const std::vector<std::string>& texts) {
        Tensor p;
        {
          ensure_signal_stack();
          py::gil_scoped_release release;
          p = c.probabilities(texts);
        }
        return to_array(std::move(p));
      }, py::arg("texts"), "[N, K] class probabilities (K = len(labels)).")
      .def("evaluate", [](TextClassifier& c, const std::vector<std::string>& texts,
                          const std::vector<std::string>& labels) {
        const ClassificationReport r = c.evaluate(texts, labels);
        py::dict d;
        d["accuracy"] = r.accuracy, d["labels"] = r.labels, d["confusion"] = r.confusion;
        d["precision"] = r.precision, d["recall"] = r.recall, d["f1"] = r.f1, d["table"] = r.table();
        return d;
      }, py::arg("texts"), py::arg("labels"))
      .def("save", &TextClassifier::save, py::arg("filepath"))
      .def_static("load", &TextClassifier::load, py::arg("filepath"));
  m.def("train_text_classifier", [](const std::vector<std::string>& texts, const std::vector<std::string>& labels,
                                    int64_t max_tokens, int64_t max_length, int embedding, int units, int epochs,
                                    int batch_size, float learning_rate, double test_fraction, uint64_t seed,
                                    const py::handle& verbose) {
    ClassifierOptions o;
    o.vocabulary.max_tokens = max_tokens;
    o.max_length = max_length, o.embedding = embedding, o.units = units, o.epochs = epochs;
    o.batch_size = batch_size, o.learning_rate = learning_rate, o.test_fraction = test_fraction, o.seed = seed;
    o.verbose = verbose_arg(verbose);
    ensure_signal_stack();
    py::gil_scoped_release release;
    return train_text_classifier(LabeledTexts{texts, labels}, o);
  }, py::arg("texts"), py::arg("labels"), py::kw_only(), py::arg("max_tokens") = 20000, py::arg("max_length") = 100,
     py::arg("embedding") = 32, py::arg("units") = 64, py::arg("epochs") = 10, py::arg("batch_size") = 32,
     py::arg("learning_rate") = 0.005f, py::arg("test_fraction") = 0.2, py::arg("seed") = 42,
     py::arg("verbose") = "auto",
     "Trains Embedding(mask_zero) -> LSTM -> Dense(sigmoid or softmax) on labelled texts; the last "
     "test_fraction (after a seeded shuffle) is held out and reported by test_report().");
  m.def("read_labeled_texts", [](const std::string& path, const std::string& text_column,
                                 const std::string& label_column) {
    LabeledTexts t = read_labeled_texts(path, text_column, label_column);
    return py::make_tuple(t.texts, t.labels);
  }, py::arg("path"), py::arg("text_column"), py::arg("label_column"),
     "(texts, labels) from a .csv, .tsv or .jsonl file.");
}

void bind_jobs(py::module_& m) {
  bind_forecast(m);
  bind_text(m);
}

}  // namespace lstm::python
