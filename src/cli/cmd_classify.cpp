// lstm classify train | predict: text classifiers from CSV, TSV or JSONL files (lstm/text.h).
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/lstm.h"
#include "report/report.h"

namespace lstm::cli {

const Command kClassifyTrain{
    "classify train",
    "Train a text classifier on a .csv, .tsv or .jsonl file: accuracy, per-class precision, recall "
    "and F1 and a confusion matrix on a held-out part; labels (strings) go in the model file.",
    {{"data", "FILE", "the labelled texts (.csv, .tsv or .jsonl)"},
     {"text-column", "NAME", "the column (or JSON key) of the text (default text)"},
     {"label-column", "NAME", "the column (or JSON key) of the label (default label)"},
     {"where", "COLUMN=V1,V2", "only the rows whose COLUMN is one of the values (repeat: all must hold)", true},
     {"out", "FILE", "the model to write (.safetensors)"},
     {"max-tokens", "N", "vocabulary size at most, padding and [UNK] included (default 20000)"},
     {"max-length", "N", "words read per text; longer texts are cut at the end (default 100)"},
     {"embedding", "N", "word vector width (default 32)"},
     {"units", "N", "LSTM units (default 64)"},
     {"epochs", "N", "passes over the training part (default 10)"},
     {"batch-size", "N", "texts per batch (default 32)"},
     {"lr", "X", "Adam's learning rate (default 0.005)"},
     {"test-fraction", "F", "held out for the test, in (0, 0.5] (default 0.2)"},
     {"seed", "N", "the split, the initial weights and shuffling (default 42)"},
     {"report", "FILE", "write an HTML report: loss curves, the per-class table and the confusion matrix"},
     {"threads", "N", "threads (default: all cores)"},
     {"quiet", "", "print nothing but errors and the test report"}}};

const Command kClassifyPredict{
    "classify predict",
    "Classify texts with a trained classifier: one --text, or every row of --data; prints (or "
    "writes with --out) a CSV of the label and each class's probability.",
    {{"model", "FILE", "the classifier (lstm classify train --out)"},
     {"text", "TEXT", "a text to classify (repeat for several)", true},
     {"data", "FILE", "a .csv, .tsv or .jsonl file of texts"},
     {"text-column", "NAME", "its text column (default text)"},
     {"out", "FILE", "write the CSV here instead of printing it"},
     precision_option(),
     {"threads", "N", "threads (default: all cores)"}}};

int run_classify_train(const Args& a) {
  const std::string data = a.required("data"), out = a.required("out");
  check_outputs_distinct(a, {"out", "report"}, {"data"});
  check_writable(out);
  if (a.has("report")) check_writable(a.str("report"));
  std::vector<RowFilter> where;
  for (const std::string& w : a.all("where")) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == w.size())
      throw UsageError("--where must be COLUMN=VALUE or COLUMN=V1,V2,..., got '" + w + "'");
    RowFilter f{w.substr(0, eq), {}};
    for (size_t from = eq + 1;;) {
      const size_t comma = w.find(',', from);
      f.values.push_back(w.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    where.push_back(std::move(f));
  }
  ClassifierOptions o;
  o.vocabulary = {.level = TextLevel::word, .max_tokens = a.integer("max-tokens", 20000, 3, limits::kWidth)};
  o.max_length = a.integer("max-length", 100, 1, 1 << 20);
  o.embedding = int(a.integer("embedding", 32, 1, 1 << 16));
  o.units = int(a.integer("units", 64, 1, 1 << 16));
  o.epochs = int(a.integer("epochs", 10, 1, limits::kEpochs));
  o.batch_size = int(a.integer("batch-size", 32, 1, 1 << 20));
  o.learning_rate = float(a.number("lr", 0.005));
  o.test_fraction = a.number("test-fraction", 0.2);
  o.seed = uint64_t(a.integer("seed", 42, 0, int64_t(1) << 62));
  o.verbose = a.has("quiet") ? 0 : 1;
  const LabeledTexts texts =
      read_labeled_texts(data, a.str("text-column", "text"), a.str("label-column", "label"), where);
  TextClassifier c = train_text_classifier(texts, o, data);
  c.save(out);
  std::printf("test: %s", c.test.table().c_str());
  if (a.has("report")) {
    ReportContent r;
    r.title = "Text classifier";
    std::string filters;
    for (const std::string& w : a.all("where")) filters += (filters.empty() ? " where " : " and ") + w;
    r.facts = {{"data", data + filters + " (" + std::to_string(texts.texts.size()) + " texts)"},
               {"model", "Embedding(" + std::to_string(c.vocabulary.size()) + ", " + std::to_string(o.embedding) +
                             ", mask_zero) -> LSTM(" + std::to_string(o.units) + ") -> Dense(" +
                             (c.labels.size() == 2 ? std::string("1, sigmoid") : std::to_string(c.labels.size()) + ", softmax") + ")"},
               {"test", "the last " + std::to_string(int(o.test_fraction * 100 + 0.5)) +
                            "% of the shuffled texts (seed " + std::to_string(o.seed) + "), never trained on"}};
    r.history = c.history.history;
    r.classification = &c.test;
    write_file_atomic(a.str("report"), report_html(r), "report");
  }
  return 0;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

int run_classify_predict(const Args& a) {
  TextClassifier c = TextClassifier::load(a.required("model"));
  apply_precision(a, c.model);
  std::vector<std::string> texts = a.all("text");
  if (a.has("data")) {
    const LabeledTexts t = read_labeled_texts(a.str("data"), a.str("text-column", "text"), "");
    texts.insert(texts.end(), t.texts.begin(), t.texts.end());
  }
  if (texts.empty()) throw UsageError("give --text TEXT (repeatable) or --data FILE");
  for (const std::string& t : texts) check_utf8(t, "a text");
  const Tensor p = c.probabilities(texts);
  const std::vector<std::string> labels = c.predict(texts);
  std::ostringstream csv;
  csv << "label";
  for (const std::string& l : c.labels) csv << "," << csv_cell("p_" + l);
  csv << "\n";
  const int64_t K = int64_t(c.labels.size());
  char num[32];
  for (size_t n = 0; n < texts.size(); ++n) {
    csv << csv_cell(labels[n]);
    for (int64_t k = 0; k < K; ++k) {
      std::snprintf(num, sizeof num, "%.6f", double(p[int64_t(n) * K + k]));
      csv << "," << num;
    }
    csv << "\n";
  }
  if (a.has("out")) write_file_atomic(a.str("out"), csv.str(), "predictions");
  else std::fputs(csv.str().c_str(), stdout);
  return 0;
}

}  // namespace lstm::cli
