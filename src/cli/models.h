// What the subcommands share about models: a saved file of either kind (a Sequential chain or
// a graph), arrays named after a graph's inputs and outputs (--x NAME=FILE.npy), and the loss
// and metrics `lstm train` used, kept in the model file for `lstm evaluate`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "lstm/lstm.h"

namespace lstm::cli {

// A model file of either kind: exactly one of sequential / graph is set.
struct AnyModel {
  std::unique_ptr<Sequential> sequential;
  std::unique_ptr<Model> graph;
  Trainable& trainable() { return graph ? static_cast<Trainable&>(*graph) : *sequential; }
  std::map<std::string, std::string>& metadata() { return graph ? graph->metadata() : sequential->metadata(); }
};
AnyModel load_any_model(const std::string& path);

// A .npy file as the commands read it: under mpirun mapped (lstm::map_npy: each rank then reads
// only the rows it trains on and its share of the checks), otherwise read.
Tensor read_npy(const std::string& path, bool allow_integers);

// The arrays of a repeatable option (--x, --y) for the model's tensors `names` (its inputs or
// outputs): one "NAME=FILE.npy" per name, in any order, or one plain FILE when there is one
// name. Throws UsageError naming the missing, unknown or repeated names.
std::vector<Tensor> named_arrays(const Args& a, const char* option, const std::vector<std::string>& names,
                                 bool allow_integers);
// The output paths of --out for `names`: one plain FILE for one output, else NAME=FILE each.
std::vector<std::string> named_outputs(const Args& a, const char* option, const std::vector<std::string>& names);

// The losses of --loss for n outputs: one name for all, or a comma-separated list, one per
// output in the model's order. Throws UsageError.
std::vector<Loss> losses_from_arg(const std::string& text, bool from_logits, size_t n);

// The training flags of a next-token model (lstm text train, lstm music train): --units --layers
// --embedding --lookback --dropout --epochs --batch-size --lr --clipnorm --holdout --validation
// --patience --seed --init, as options for a Command (their defaults shown from `defaults`) and
// read back into LanguageModelOptions (its vocabulary untouched).
std::vector<Option> next_token_flags(const LanguageModelOptions& defaults);
void read_next_token_flags(const Args& a, LanguageModelOptions& o);  // o's values are the defaults
// `a` then `b`: a command's own options around shared ones.
std::vector<Option> options_of(std::vector<Option> a, const std::vector<Option>& b);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_commas(const std::string& text);

// --metrics items: "accuracy" for every output, "NAME=accuracy" for output NAME only.
CompileOptions metric_options(const std::vector<std::string>& items);

// "lstm.compile": {"loss": [names], "from_logits": bool, "metrics": [...], "loss_weights": [...]}
// as lstm train keeps it; evaluate's defaults.
struct CompileRecord {
  std::vector<std::string> losses;
  bool from_logits = false;
  std::vector<std::string> metrics;
  std::vector<double> loss_weights;
};
std::string compile_record_json(const CompileRecord& record);
// The record of a model file, if it has one (else losses is empty); throws lstm::Error when
// it is malformed.
CompileRecord compile_record(const std::map<std::string, std::string>& metadata, const std::string& path);

}  // namespace lstm::cli
