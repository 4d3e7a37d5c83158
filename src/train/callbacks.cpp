// EarlyStopping and ModelCheckpoint (include/lstm/model.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/limits.h"
#include "io/file.h"

#include "lstm/error.h"
#include "lstm/model.h"
#include "train/metrics.h"

namespace lstm {

static double monitored(const Logs& logs, const std::string& monitor, const char* who) {
  auto it = logs.find(monitor);
  if (it == logs.end())
    throw Error(std::string(who) + " monitors \"" + monitor +
                "\", which this fit() does not compute: pass validation_split or "
                "validation_x/validation_y, or monitor \"loss\"");
  return it->second;
}

// Whether `mode` ("min", "max", "auto") wants larger values of `monitor`.
static bool maximise(const std::string& mode, const std::string& monitor, const char* who) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  if (mode != "auto")
    throw Error(std::string(who) + ": mode must be \"min\", \"max\" or \"auto\", got \"" + mode + "\"");
  return higher_is_better(monitor);
}

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  if (options_.patience < 0) throw Error("EarlyStopping patience must be >= 0");
  maximise(options_.mode, options_.monitor, "EarlyStopping");
}

void EarlyStopping::on_train_begin(Trainable& model) {
  (void)model;
  best_epoch_ = -1, wait_ = 0, stopped_epoch_ = -1;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Trainable& model, int epoch, const Logs& logs) {
  const bool up = maximise(options_.mode, options_.monitor, "EarlyStopping");
  const double value = monitored(logs, options_.monitor, "EarlyStopping");
  if (best_epoch_ < 0 || (up ? value > best_ + options_.min_delta : value < best_ - options_.min_delta)) {
    best_ = value, best_epoch_ = epoch, wait_ = 0;
    if (options_.restore_best_weights) best_weights_ = model.get_weights();
    return;
  }
  if (++wait_ >= options_.patience) {  // Keras: stop after `patience` epochs without gain
    stopped_epoch_ = epoch;
    model.stop_training = true;
  }
}

void EarlyStopping::on_train_end(Trainable& model) {
  if (options_.restore_best_weights && !best_weights_.empty()) model.set_weights(best_weights_);
}

std::string EarlyStopping::state() const {
  return nlohmann::json{{"best", best_}, {"best_epoch", best_epoch_}, {"wait", wait_},
                        {"stopped_epoch", stopped_epoch_}}.dump();
}

void EarlyStopping::restore(const std::string& state, std::vector<float> weights) {
  const nlohmann::json j = parse_json(state, "EarlyStopping's state");
  best_ = j.at("best").get<double>();
  best_epoch_ = int(json_integer(j.at("best_epoch"), -1, limits::kEpochs, "best_epoch"));
  wait_ = int(json_integer(j.at("wait"), 0, limits::kEpochs, "wait"));
  stopped_epoch_ = int(json_integer(j.at("stopped_epoch"), -1, limits::kEpochs, "stopped_epoch"));
  best_weights_ = std::move(weights);
}

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions options)
    : filepath_(std::move(filepath)), options_(std::move(options)) {
  if (filepath_.empty()) throw Error("ModelCheckpoint needs a file path");
  maximise(options_.mode, options_.monitor, "ModelCheckpoint");
}

void ModelCheckpoint::on_epoch_end(Trainable& model, int epoch, const Logs& logs) {
  if (options_.save_best_only) {
    const bool up = maximise(options_.mode, options_.monitor, "ModelCheckpoint");
    const double value = monitored(logs, options_.monitor, "ModelCheckpoint");
    if (have_best_ && !(up ? value > best_ : value < best_)) return;
    best_ = value, have_best_ = true;
  }
  std::string path = filepath_;
  const std::string key = "{epoch}";
  for (size_t at = path.find(key); at != std::string::npos; at = path.find(key))
    path.replace(at, key.size(), std::to_string(epoch + 1));
  model.save(path);
}

std::string ModelCheckpoint::state() const {
  return nlohmann::json{{"best", best_}, {"have_best", have_best_}}.dump();
}

void ModelCheckpoint::restore(const std::string& state, std::vector<float> weights) {
  (void)weights;
  const nlohmann::json j = parse_json(state, "ModelCheckpoint's state");
  best_ = j.at("best").get<double>();
  have_best_ = j.at("have_best").get<bool>();
}

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options) : options_(std::move(options)) {
  if (!(options_.factor > 0.0f && options_.factor < 1.0f))
    throw Error("ReduceLROnPlateau: factor must be in (0, 1), got " + std::to_string(options_.factor));
  if (options_.patience < 0 || options_.cooldown < 0)
    throw Error("ReduceLROnPlateau: patience and cooldown must be >= 0");
  if (!(options_.min_lr >= 0.0f)) throw Error("ReduceLROnPlateau: min_lr must be >= 0");
  maximise(options_.mode, options_.monitor, "ReduceLROnPlateau");
}

void ReduceLROnPlateau::on_train_begin(Trainable& model) {
  (void)model;
  have_best_ = false, wait_ = 0, cooldown_left_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(Trainable& model, int epoch, const Logs& logs) {
  (void)epoch;
  const bool up = maximise(options_.mode, options_.monitor, "ReduceLROnPlateau");
  const double value = monitored(logs, options_.monitor, "ReduceLROnPlateau");
  if (cooldown_left_ > 0) --cooldown_left_, wait_ = 0;  // Keras: the last cooldown epoch counts
  if (!have_best_ || (up ? value > best_ + options_.min_delta : value < best_ - options_.min_delta)) {
    best_ = value, have_best_ = true, wait_ = 0;
    return;
  }
  if (cooldown_left_ > 0 || ++wait_ < options_.patience) return;
  const float lr = model.optimizer().learning_rate;
  if (lr > options_.min_lr) model.set_learning_rate(std::max(lr * options_.factor, options_.min_lr));
  cooldown_left_ = options_.cooldown, wait_ = 0;
}

std::string ReduceLROnPlateau::state() const {
  return nlohmann::json{{"best", best_}, {"have_best", have_best_}, {"wait", wait_},
                        {"cooldown_left", cooldown_left_}}.dump();
}

void ReduceLROnPlateau::restore(const std::string& state, std::vector<float> weights) {
  (void)weights;
  const nlohmann::json j = parse_json(state, "ReduceLROnPlateau's state");
  best_ = j.at("best").get<double>();
  have_best_ = j.at("have_best").get<bool>();
  wait_ = int(json_integer(j.at("wait"), 0, limits::kEpochs, "wait"));
  cooldown_left_ = int(json_integer(j.at("cooldown_left"), 0, limits::kEpochs, "cooldown_left"));
}

CSVLogger::CSVLogger(std::string filename, CSVLoggerOptions options)
    : filename_(std::move(filename)), options_(options) {
  if (filename_.empty()) throw Error("CSVLogger needs a file path");
  check_output_path(filename_, "CSVLogger's file");
}

void CSVLogger::on_train_begin(Trainable& model) {
  (void)model;
  text_.clear(), keys_.clear();
  if (!options_.append || !std::filesystem::exists(filename_)) return;
  text_ = read_file(filename_, "CSVLogger's file");
  const size_t end = text_.find('\n');  // the header names the columns to keep writing
  std::string header = text_.substr(0, end), key;
  std::stringstream in(header);
  for (bool first = true; std::getline(in, key, options_.separator); first = false)
    if (!first) keys_.push_back(key);
  if (!text_.empty() && text_.back() != '\n') text_ += '\n';
}

void CSVLogger::on_epoch_end(Trainable& model, int epoch, const Logs& logs) {
  (void)model;
  if (keys_.empty()) {
    for (const auto& [key, value] : logs) keys_.push_back(key);
    text_ += "epoch";
    for (const std::string& k : keys_) text_ += options_.separator + k;
    text_ += '\n';
  }
  text_ += std::to_string(epoch);
  char buf[32];
  for (const std::string& k : keys_) {
    auto it = logs.find(k);
    std::snprintf(buf, sizeof buf, "%.9g", it == logs.end() ? std::nan("") : it->second);
    text_ += options_.separator + std::string(buf);
  }
  text_ += '\n';
  write_file_atomic(filename_, text_, "CSVLogger's file");
}

}  // namespace lstm
