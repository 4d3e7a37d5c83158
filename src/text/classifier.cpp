// Text classification (include/lstm/text.h): labelled texts from CSV, TSV or JSONL, an
// Embedding(mask_zero) -> LSTM -> Dense classifier, and its report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <numeric>
#include <sstream>

#include "core/json.h"
#include "core/limits.h"
#include "core/rng.h"
#include "io/file.h"
#include "lstm/data.h"
#include "lstm/error.h"
#include "lstm/text.h"

namespace lstm {

namespace {

bool ends_with(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// The index of `name` in header, or an error listing the columns.
size_t column_of(const std::vector<std::string>& header, const std::string& name, const std::string& path) {
  for (size_t k = 0; k < header.size(); ++k)
    if (header[k] == name) return k;
  std::string known;
  for (const std::string& h : header) known += (known.empty() ? "" : ", ") + h;
  throw Error(path + " has no column '" + name + "' (its columns: " + known + ")");
}

}  // namespace

LabeledTexts read_labeled_texts(const std::string& path, const std::string& text_column,
                                const std::string& label_column, std::span<const RowFilter> filters) {
  LabeledTexts out;
  const bool labels = !label_column.empty();
  int64_t rows = 0;  // before the filters
  // whether a row passes every filter; cell(k) is the row's value of filters[k].column
  auto kept = [&](const auto& cell) {
    ++rows;
    for (size_t k = 0; k < filters.size(); ++k)
      if (std::find(filters[k].values.begin(), filters[k].values.end(), cell(k)) == filters[k].values.end()) return false;
    return true;
  };
  if (ends_with(path, ".jsonl")) {
    const std::string bytes = read_file(path, "data file");
    check_utf8(bytes, path);
    std::istringstream lines(bytes);
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = path + " line " + std::to_string(number);
      const nlohmann::json j = parse_json(line, where);
      if (!j.is_object() || !j.contains(text_column) || !j[text_column].is_string())
        throw Error(where + " has no string \"" + text_column + "\"");
      for (const RowFilter& f : filters)
        if (!j.contains(f.column)) throw Error(where + " has no \"" + f.column + "\" (filtered on)");
      if (!kept([&](size_t k) {
            const nlohmann::json& v = j[filters[k].column];
            return v.is_string() ? v.get<std::string>() : v.dump();
          }))
        continue;
      out.texts.push_back(j[text_column].get<std::string>());
      if (!labels) continue;
      if (!j.contains(label_column) || j[label_column].is_null() || j[label_column].is_object() ||
          j[label_column].is_array())
        throw Error(where + " has no label \"" + label_column + "\" (a string or a number)");
      const nlohmann::json& l = j[label_column];
      out.labels.push_back(l.is_string() ? l.get<std::string>() : l.dump());
    }
  } else if (ends_with(path, ".tsv")) {
    const std::string bytes = read_file(path, "data file");
    check_utf8(bytes, path);
    std::istringstream lines(bytes);
    std::string line;
    std::vector<std::string> header;
    std::vector<size_t> filter_at;
    size_t t = 0, l = 0;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::vector<std::string> cells;
      size_t from = 0;
      for (size_t at; (at = line.find('\t', from)) != std::string::npos; from = at + 1) cells.push_back(line.substr(from, at - from));
      cells.push_back(line.substr(from));
      if (number == 1) {
        header = cells;
        t = column_of(header, text_column, path);
        if (labels) l = column_of(header, label_column, path);
        for (const RowFilter& f : filters) filter_at.push_back(column_of(header, f.column, path));
        continue;
      }
      if (line.empty()) continue;
      if (cells.size() != header.size())
        throw Error(path + " line " + std::to_string(number) + " has " + std::to_string(cells.size()) +
                    " cells but the header has " + std::to_string(header.size()));
      if (!kept([&](size_t k) { return cells[filter_at[k]]; })) continue;
      out.texts.push_back(cells[t]);
      if (labels) out.labels.push_back(cells[l]);
    }
    if (header.empty()) throw Error(path + " is empty: it needs a header line naming its columns");
  } else if (ends_with(path, ".csv")) {
    const CsvTable table = read_csv(path);
    const size_t t = column_of(table.header, text_column, path);
    const size_t l = labels ? column_of(table.header, label_column, path) : 0;
    std::vector<size_t> filter_at;
    for (const RowFilter& f : filters) filter_at.push_back(column_of(table.header, f.column, path));
    for (const auto& row : table.rows) {
      if (!kept([&](size_t k) { return row[filter_at[k]]; })) continue;
      out.texts.push_back(row[t]);
      if (labels) out.labels.push_back(row[l]);
    }
    for (const std::string& text : out.texts) check_utf8(text, path);
  } else {
    throw Error(path + ": give a .csv, .tsv or .jsonl file");
  }
  if (rows == 0) throw Error(path + " has no rows");
  if (out.texts.empty()) {
    std::string wanted;
    for (const RowFilter& f : filters) {
      wanted += (wanted.empty() ? "" : " and ") + f.column + " in {";
      for (size_t k = 0; k < f.values.size(); ++k) wanted += (k ? ", " : "") + f.values[k];
      wanted += "}";
    }
    throw Error("none of the " + std::to_string(rows) + " rows of " + path + " has " + wanted +
                ": check the values (they are compared exactly)");
  }
  return out;
}

// ---- the report --------------------------------------------------------------------------------

int64_t ClassificationReport::samples() const {
  int64_t n = 0;
  for (const auto& row : confusion) n += std::accumulate(row.begin(), row.end(), int64_t(0));
  return n;
}

ClassificationReport classification_report(const std::vector<std::string>& labels,
                                           const std::vector<int64_t>& truth,
                                           const std::vector<int64_t>& predicted) {
  const size_t K = labels.size();
  ClassificationReport r;
  r.labels = labels;
  r.confusion.assign(K, std::vector<int64_t>(K, 0));
  int64_t right = 0;
  for (size_t n = 0; n < truth.size(); ++n) {
    ++r.confusion[size_t(truth[n])][size_t(predicted[n])];
    right += truth[n] == predicted[n];
  }
  r.accuracy = truth.empty() ? 0.0 : double(right) / double(truth.size());
  for (size_t k = 0; k < K; ++k) {
    int64_t tp = r.confusion[k][k], col = 0, row = 0;
    for (size_t j = 0; j < K; ++j) col += r.confusion[j][k], row += r.confusion[k][j];
    const double p = col ? double(tp) / double(col) : 0.0, q = row ? double(tp) / double(row) : 0.0;
    r.precision.push_back(p);
    r.recall.push_back(q);
    r.f1.push_back(p + q > 0.0 ? 2.0 * p * q / (p + q) : 0.0);
  }
  return r;
}

ClassificationReport classification_report(const std::vector<std::string>& labels, const Tensor& p,
                                           std::span<const std::string> truth,
                                           const std::string& sample) {
  const int64_t K = int64_t(labels.size());
  if (p.rank() != 2 || p.dim(0) != int64_t(truth.size()) || p.dim(1) != K)
    throw Error("classification_report: probabilities " + p.shape_string() + " for " +
                std::to_string(truth.size()) + " labels of " + std::to_string(K) + " classes");
  std::vector<int64_t> t, q;
  for (size_t n = 0; n < truth.size(); ++n) {
    const auto it = std::lower_bound(labels.begin(), labels.end(), truth[n]);
    if (it == labels.end() || *it != truth[n])
      throw Error("label '" + truth[n] + "' of " + sample + " " + std::to_string(n) +
                  " is not one of the model's classes");
    t.push_back(int64_t(it - labels.begin()));
    int64_t best = 0;
    for (int64_t k = 1; k < K; ++k)
      if (p[int64_t(n) * K + k] > p[int64_t(n) * K + best]) best = k;
    q.push_back(best);
  }
  return classification_report(labels, t, q);
}

std::string ClassificationReport::table() const {
  std::ostringstream s;
  char line[256];
  std::snprintf(line, sizeof line, "accuracy %.4f on %lld samples\n", accuracy, static_cast<long long>(samples()));
  s << line;
  size_t w = 8;
  for (const std::string& l : labels) w = std::max(w, l.size() + 2);
  std::snprintf(line, sizeof line, "%-*s %10s %10s %10s %8s\n", int(w), "class", "precision", "recall", "f1", "support");
  s << line;
  for (size_t k = 0; k < labels.size(); ++k) {
    const int64_t support = std::accumulate(confusion[k].begin(), confusion[k].end(), int64_t(0));
    std::snprintf(line, sizeof line, "%-*s %10.4f %10.4f %10.4f %8lld\n", int(w), labels[k].c_str(), precision[k],
                  recall[k], f1[k], static_cast<long long>(support));
    s << line;
  }
  s << "confusion (rows: true, columns: predicted)\n" << std::string(w, ' ');
  for (const std::string& l : labels) {
    std::snprintf(line, sizeof line, " %*s", int(w), l.c_str());
    s << line;
  }
  s << "\n";
  for (size_t k = 0; k < labels.size(); ++k) {
    std::snprintf(line, sizeof line, "%-*s", int(w), labels[k].c_str());
    s << line;
    for (int64_t c : confusion[k]) {
      std::snprintf(line, sizeof line, " %*lld", int(w), static_cast<long long>(c));
      s << line;
    }
    s << "\n";
  }
  return s.str();
}

// ---- the classifier ------------------------------------------------------------------------------

static const char* const kClassifierKey = "lstm.classifier";

TextClassifier train_text_classifier(const LabeledTexts& data, const ClassifierOptions& o, const std::string& what) {
  const int64_t N = int64_t(data.texts.size());
  if (data.labels.size() != data.texts.size())
    throw Error(what + " has " + std::to_string(data.texts.size()) + " texts but " +
                std::to_string(data.labels.size()) + " labels: give one label per text");
  if (N > (int64_t(1) << 31)) throw Error(what + " has more than 2^31 rows");
  if (!(o.test_fraction > 0.0 && o.test_fraction <= 0.5))
    throw Error("test_fraction must be in (0, 0.5], got " + std::to_string(o.test_fraction));
  if (o.max_length < 1 || o.max_length > limits::kTimeSteps)
    throw Error("max_length must be at least 1, got " + std::to_string(o.max_length));
  std::vector<std::string> labels = data.labels;
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() < 2)
    throw Error(what + ": the label column has one class only (" + (labels.empty() ? "" : labels[0]) +
                "): a classifier needs at least two");
  if (int64_t(labels.size()) > limits::kWidth) throw Error(what + " has more classes than the limit");
  std::map<std::string, int64_t> class_of;
  for (size_t k = 0; k < labels.size(); ++k) class_of[labels[k]] = int64_t(k);
  // shuffled with the seed; the last test_fraction is the test part
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(o.seed);
  for (int64_t k = N - 1; k > 0; --k) std::swap(order[size_t(k)], order[rng.below(uint32_t(k + 1))]);
  const int64_t n_test = int64_t(std::ceil(double(N) * o.test_fraction)), n_train = N - n_test;
  if (n_train < 1 || n_test < 1)
    throw Error(what + " has " + std::to_string(N) + " rows: too few to hold out a test part");
  std::vector<std::string> train_texts, test_texts;
  std::vector<int64_t> train_y, test_y;
  for (int64_t k = 0; k < N; ++k) {
    const int64_t r = order[size_t(k)];
    (k < n_train ? train_texts : test_texts).push_back(data.texts[size_t(r)]);
    (k < n_train ? train_y : test_y).push_back(class_of[data.labels[size_t(r)]]);
  }
  TextClassifier c{Sequential({.seed = o.seed, .name = "text_classifier"}),
                   Vocabulary::fit(train_texts, o.vocabulary, what), labels, o.max_length, {}, {}};
  const int K = int(labels.size());
  c.model.add(Embedding(c.vocabulary.size(), o.embedding, {.mask_zero = true, .input_shape = {o.max_length}}));
  c.model.add(LSTM(o.units));
  if (K == 2) c.model.add(Dense(1, {.activation = Activation::sigmoid}));
  else c.model.add(Dense(K, {.activation = Activation::softmax}));
  c.model.compile(Adam({.learning_rate = o.learning_rate}),
                  K == 2 ? loss::binary_crossentropy : loss::sparse_categorical_crossentropy,
                  {.metrics = {"accuracy"}});
  auto targets = [](const std::vector<int64_t>& y) {
    Tensor t({int64_t(y.size()), 1});
    for (size_t k = 0; k < y.size(); ++k) t[int64_t(k)] = float(y[k]);
    return t;
  };
  const Tensor X = c.vocabulary.encode_batch(train_texts, o.max_length), Xt = c.vocabulary.encode_batch(test_texts, o.max_length);
  c.history = c.model.fit(X, targets(train_y), {.epochs = o.epochs, .batch_size = o.batch_size, .validation_x = Xt,
                                                .validation_y = targets(test_y), .verbose = o.verbose});
  std::vector<std::string> test_labels;
  for (int64_t y : test_y) test_labels.push_back(labels[size_t(y)]);
  c.test = c.evaluate(test_texts, test_labels);
  return c;
}

Tensor TextClassifier::probabilities(std::span<const std::string> texts) {
  const int64_t K = int64_t(labels.size()), N = int64_t(texts.size());
  if (N == 0) return Tensor({0, K});
  const Tensor out = model.predict(vocabulary.encode_batch(texts, max_length), 32);
  if (K > 2) return out;
  Tensor p({N, 2});
  for (int64_t n = 0; n < N; ++n) p[n * 2] = 1.0f - out[n], p[n * 2 + 1] = out[n];
  return p;
}

static int64_t argmax_row(const Tensor& p, int64_t n, int64_t K) {
  int64_t best = 0;
  for (int64_t k = 1; k < K; ++k)
    if (p[n * K + k] > p[n * K + best]) best = k;
  return best;
}

std::vector<std::string> TextClassifier::predict(std::span<const std::string> texts) {
  const int64_t K = int64_t(labels.size());
  const Tensor p = probabilities(texts);
  std::vector<std::string> out;
  for (int64_t n = 0; n < int64_t(texts.size()); ++n) out.push_back(labels[size_t(argmax_row(p, n, K))]);
  return out;
}

ClassificationReport TextClassifier::evaluate(std::span<const std::string> texts, std::span<const std::string> truth) {
  if (texts.size() != truth.size())
    throw Error("evaluate: " + std::to_string(texts.size()) + " texts but " + std::to_string(truth.size()) + " labels");
  return classification_report(labels, probabilities(texts), truth, "sample");
}

void TextClassifier::save(const std::string& path) {
  model.metadata()[kVocabularyKey] = vocabulary.to_json();
  model.metadata()[kClassifierKey] = nlohmann::json{{"labels", labels}, {"max_length", max_length}}.dump();
  model.save(path);
}

TextClassifier TextClassifier::load(const std::string& path) {
  Sequential m = Sequential::load(path);
  const auto v = m.metadata().find(kVocabularyKey), c = m.metadata().find(kClassifierKey);
  if (v == m.metadata().end() || c == m.metadata().end())
    throw Error(path + " is not a text classifier (no vocabulary or labels): train one with lstm classify train");
  Vocabulary vocabulary = Vocabulary::from_json(v->second, path + ": its vocabulary");
  const nlohmann::json meta = parse_json(c->second, path + ": its \"lstm.classifier\" metadata");
  if (!meta.is_object() || !meta.contains("labels") || !meta["labels"].is_array() || !meta.contains("max_length"))
    throw Error(path + ": its \"lstm.classifier\" metadata needs \"labels\" and \"max_length\"");
  std::vector<std::string> labels;
  for (const nlohmann::json& l : meta["labels"]) {
    if (!l.is_string()) throw Error(path + ": a label is " + json_brief(l) + ", not a string");
    labels.push_back(l.get<std::string>());
  }
  if (labels.size() < 2 || !std::is_sorted(labels.begin(), labels.end()) ||
      std::adjacent_find(labels.begin(), labels.end()) != labels.end())
    throw Error(path + ": its labels must be at least two, sorted and distinct");
  const int64_t max_length = json_integer(meta["max_length"], 1, limits::kTimeSteps, path + ": its max_length");
  const int64_t width = labels.size() == 2 ? 1 : int64_t(labels.size());
  if (m.layers().empty() || m.layers().back().units != width)
    throw Error(path + ": its last layer does not give one output per class (" + std::to_string(labels.size()) +
                " labels)");
  m.compile(Adam(), labels.size() == 2 ? loss::binary_crossentropy : loss::sparse_categorical_crossentropy);
  return TextClassifier{std::move(m), std::move(vocabulary), std::move(labels), max_length, {}, {}};
}

}  // namespace lstm
