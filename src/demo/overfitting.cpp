// lstm demo overfitting: the seed names overfitting on small data as an LSTM's weakness. A
// sentiment classifier (Embedding -> LSTM -> Dense(sigmoid)) trained on a few hundred short
// reviews memorises them: its training loss falls towards zero while the loss on reviews it
// has not seen turns and climbs. The same model and data with each remedy - dropout on the
// LSTM's inputs, recurrent dropout on its state, decoupled weight decay (AdamW), early
// stopping with the best weights restored, and all of them - show what each buys: the
// learning curves, the gap between training and validation loss, and the accuracy on a test
// part none of them chose anything on.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/rng.h"
#include "demo/demo.h"
#include "lstm/error.h"
#include "lstm/layers.h"
#include "lstm/model.h"
#include "lstm/optim.h"
#include "lstm/text.h"
#include "report/report.h"

namespace lstm::demo {

namespace {

struct Variant {
  std::string name;
  float dropout = 0, recurrent_dropout = 0, weight_decay = 0;
  bool early_stopping = false;
};

struct Split {
  Tensor x, y;
};

Split take(const LabeledTexts& d, const std::vector<size_t>& order, size_t from, size_t count,
           const Vocabulary& v, int64_t length) {
  std::vector<std::string> texts;
  Split s{{}, Tensor({int64_t(count), 1})};
  for (size_t k = 0; k < count; ++k) {
    texts.push_back(d.texts[order[from + k]]);
    s.y[int64_t(k)] = d.labels[order[from + k]] == "positive" ? 1.0f : 0.0f;
  }
  s.x = v.encode_batch(texts, length);
  return s;
}

double accuracy(Sequential& m, const Split& s) {
  const Tensor p = m.predict(s.x, 256);
  int64_t right = 0;
  for (int64_t k = 0; k < p.size(); ++k) right += (p[k] >= 0.5f) == (s.y[k] >= 0.5f);
  return double(right) / double(p.size());
}

}  // namespace

Page overfitting(const Settings& s) {
  const auto start = std::chrono::steady_clock::now();
  const std::string path = s.data_dir + "/text/sentiment.tsv";
  const LabeledTexts data = read_labeled_texts(path, "text", "label");
  const size_t n_train = s.quick ? 200 : 400, n_val = s.quick ? 200 : 600,
               n_test = s.quick ? 200 : 1000;
  if (data.texts.size() < n_train + n_val + n_test)
    throw Error(path + " has " + std::to_string(data.texts.size()) + " reviews; the demo needs " +
                std::to_string(n_train + n_val + n_test));
  std::vector<size_t> order(data.texts.size());
  std::iota(order.begin(), order.end(), size_t(0));
  Rng rng(s.seed);
  for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[rng.below(uint32_t(k))]);
  std::vector<std::string> train_texts;
  for (size_t k = 0; k < n_train; ++k) train_texts.push_back(data.texts[order[k]]);
  const Vocabulary vocab =
      Vocabulary::fit(train_texts, {.max_tokens = 5000}, "the training reviews");
  const int64_t length = 40;
  const Split train = take(data, order, 0, n_train, vocab, length);
  const Split val = take(data, order, n_train, n_val, vocab, length);
  const Split test = take(data, order, n_train + n_val, n_test, vocab, length);
  const int units = s.units ? s.units : 32, epochs = s.quick ? 3 : 40;
  const float learning_rate = 0.005f, weight_decay = 0.5f;

  const std::vector<Variant> variants = {
      {"no remedy"},
      {"dropout 0.5", 0.5f},
      {"recurrent dropout 0.5", 0, 0.5f},
      {"weight decay " + fmt("%g", weight_decay), 0, 0, weight_decay},
      {"early stopping", 0, 0, 0, true},
      {"all four", 0.5f, 0.5f, weight_decay, true},
  };
  ReportContent page;
  page.title = "Overfitting on small data, and its remedies";
  page.facts = {
      {"data", std::to_string(n_train) + " reviews of data/text/sentiment.tsv to train on, " +
                   std::to_string(n_val) + " to validate, " + std::to_string(n_test) +
                   " to test (UCI Sentiment Labelled Sentences, shuffled with seed " +
                   std::to_string(s.seed) + ")"},
      {"model",
       "Embedding(" + std::to_string(vocab.size()) + ", 32, mask_zero) -> LSTM(" +
           std::to_string(units) +
           ") -> Dense(1, sigmoid), binary cross-entropy, Adam (learning rate 0.005), batch 32, " +
           std::to_string(epochs) + " epochs at most; the words of each review, first 40"}};
  page.notes = {
      "With a few hundred samples the network can memorise its training set: the training loss "
      "keeps falling while the validation loss (reviews it never trains on) bottoms out and then "
      "climbs: it is learning the training reviews, not sentiment. Each remedy is the same model "
      "and data with one change. Dropout zeroes a random half of the LSTM's inputs at every "
      "training step (Keras's LSTM(dropout)); recurrent dropout does the same to the state it "
      "feeds back (recurrent_dropout, Gal & Ghahramani 2016); weight decay shrinks every weight a "
      "little at every step (AdamW, Loshchilov & Hutter 2019); early stopping ends training once "
      "the validation loss has not improved for 4 epochs and restores the best epoch's weights.",
      "The gap is the last epoch's validation loss less its training loss: how far the model's "
      "view of its training data is from the truth. The test accuracy is on reviews no choice was "
      "made on. Each row is the mean over " +
          std::to_string(s.quick ? 1 : 5) +
          " seeds of the initial weights, dropout masks and batch order (the data split stays); "
          "the curves are the first seed's."};

  LineChart val_chart{"Validation loss per epoch (lower is better)", "epoch", {}, false, false};
  LineChart train_chart{"Training loss per epoch", "epoch", {}, false, true};
  ReportTable table{
      "Each remedy where its training ends: means over the seeds (± their standard deviation)",
      {"training", "epochs run", "training loss", "validation loss", "gap", "best validation loss",
       "test accuracy"},
      {}};
  nlohmann::json figures = {
      {"train", n_train}, {"validation", n_val}, {"test", n_test}, {"epochs", epochs}};
  const int repeats = s.quick ? 1 : 5;  // seeds of the weights and batches; the data stays
  auto mean_sd = [](const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x / double(v.size());
    for (double x : v) q += (x - m) * (x - m);
    return std::pair{m, v.size() > 1 ? std::sqrt(q / double(v.size() - 1)) : 0.0};
  };
  for (const Variant& v : variants) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<double> end_train, end_val, gap, best_val, acc, epochs_run;
    nlohmann::json runs;
    for (int r = 0; r < repeats; ++r) {
      Sequential m({.seed = s.seed + uint64_t(r)});
      m.add(Embedding(vocab.size(), 32, {.mask_zero = true, .input_shape = {length}}));
      m.add(LSTM(units, {.dropout = v.dropout, .recurrent_dropout = v.recurrent_dropout}));
      m.add(Dense(1, {.activation = Activation::sigmoid}));
      const Optimizer opt =
          v.weight_decay > 0
              ? AdamW({.learning_rate = learning_rate, .weight_decay = v.weight_decay})
              : Adam({.learning_rate = learning_rate});
      m.compile(opt, loss::binary_crossentropy, {.metrics = {"accuracy"}});
      FitOptions fo{.epochs = epochs, .batch_size = 32, .verbose = 0};
      fo.validation_x = val.x, fo.validation_y = val.y;
      if (v.early_stopping)
        fo.callbacks.push_back(std::make_shared<EarlyStopping>(EarlyStoppingOptions{
            .monitor = "val_loss", .patience = 4, .restore_best_weights = true}));
      const History h = m.fit(train.x, train.y, fo);
      const std::vector<double>& loss = h.history.at("loss");
      const std::vector<double>& val_loss = h.history.at("val_loss");
      const size_t best =
          size_t(std::min_element(val_loss.begin(), val_loss.end()) - val_loss.begin());
      // the weights the run ends with: early stopping's are the best epoch's
      end_train.push_back(v.early_stopping ? m.evaluate(train.x, train.y, 256) : loss.back());
      end_val.push_back(v.early_stopping ? m.evaluate(val.x, val.y, 256) : val_loss.back());
      gap.push_back(end_val.back() - end_train.back());
      best_val.push_back(val_loss[best]);
      acc.push_back(accuracy(m, test));
      epochs_run.push_back(double(loss.size()));
      runs.push_back({{"seed", s.seed + uint64_t(r)},
                      {"epochs", loss.size()},
                      {"train_loss", end_train.back()},
                      {"val_loss", end_val.back()},
                      {"gap", gap.back()},
                      {"best_val_loss", val_loss[best]},
                      {"best_epoch", best + 1},
                      {"test_accuracy", acc.back()},
                      {"history", h.history}});
      if (r == 0) {  // the curves of the first seed
        LineChart::Series vs{v.name, {}, val_loss}, ts{v.name, {}, loss};
        for (size_t e = 0; e < val_loss.size(); ++e)
          vs.x.push_back(double(e + 1)), ts.x.push_back(double(e + 1));
        val_chart.series.push_back(vs);
        train_chart.series.push_back(ts);
      }
    }
    const auto [tr, tr_sd] = mean_sd(end_train);
    const auto [va, va_sd] = mean_sd(end_val);
    const auto [gp, gp_sd] = mean_sd(gap);
    const auto [bv, bv_sd] = mean_sd(best_val);
    const auto [ac, ac_sd] = mean_sd(acc);
    const auto [ep, ep_sd] = mean_sd(epochs_run);
    const std::string pm = repeats > 1 ? " ± " : "";
    auto with_sd = [&](const char* f, double m, double sd) {
      return fmt(f, m) + (repeats > 1 ? pm + fmt(f, sd) : "");
    };
    table.rows.push_back(
        {v.name, fmt("%.1f", ep), fmt("%.3f", tr), fmt("%.3f", va), with_sd("%.3f", gp, gp_sd),
         fmt("%.3f", bv),
         fmt("%.1f%%", 100 * ac) + (repeats > 1 ? pm + fmt("%.1f", 100 * ac_sd) : "")});
    figures["runs"].push_back({{"name", v.name},
                               {"train_loss", tr},
                               {"val_loss", va},
                               {"gap", gp},
                               {"gap_sd", gp_sd},
                               {"best_val_loss", bv},
                               {"test_accuracy", ac},
                               {"test_accuracy_sd", ac_sd},
                               {"epochs", ep},
                               {"seeds", runs},
                               {"seconds", seconds_since(t0)}});
    std::printf(
        "%-22s epochs %4.1f  train loss %.3f  val loss %.3f  gap %+.3f ± %.3f  best val %.3f  "
        "test accuracy %.1f%% ± %.1f  (%.1f s)\n",
        v.name.c_str(), ep, tr, va, gp, gp_sd, bv, 100 * ac, 100 * ac_sd, seconds_since(t0));
    std::fflush(stdout);
  }
  page.line_charts = {val_chart, train_chart};
  page.tables.push_back(table);
  const double total = seconds_since(start);
  page.facts.push_back({"wall time", fmt("%.0f s", total)});
  figures["seconds"] = total;
  return {report_html(page), figures.dump()};
}

}  // namespace lstm::demo
