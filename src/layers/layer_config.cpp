// Layer descriptions and the names used in configs and on the command line.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lstm/error.h"
#include "lstm/layers.h"
#include "lstm/loss.h"

namespace lstm {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
    case Activation::softmax: return "softmax";
    case Activation::hard_sigmoid: return "hard_sigmoid";
  }
  return "?";
}

Activation activation_from_name(const std::string& name) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::sigmoid, Activation::tanh,
                       Activation::softmax, Activation::hard_sigmoid})
    if (name == activation_name(a)) return a;
  throw Error("unknown activation '" + name +
              "': use one of linear, relu, sigmoid, tanh, softmax, hard_sigmoid");
}

const char* layer_type_name(LayerType t) {
  switch (t) {
    case LayerType::lstm: return "lstm";
    case LayerType::gru: return "gru";
    case LayerType::simple_rnn: return "simple_rnn";
    case LayerType::dense: return "dense";
    case LayerType::bidirectional: return "bidirectional";
    case LayerType::embedding: return "embedding";
    case LayerType::dropout: return "dropout";
    case LayerType::masking: return "masking";
  }
  return "?";
}

bool is_recurrent(LayerType t) {
  return t == LayerType::lstm || t == LayerType::gru || t == LayerType::simple_rnn;
}

const char* merge_mode_name(MergeMode m) {
  switch (m) {
    case MergeMode::concat: return "concat";
    case MergeMode::sum: return "sum";
    case MergeMode::mul: return "mul";
    case MergeMode::ave: return "ave";
    case MergeMode::none: return "none";
  }
  return "?";
}

MergeMode merge_mode_from_name(const std::string& name) {
  for (MergeMode m : {MergeMode::concat, MergeMode::sum, MergeMode::mul, MergeMode::ave, MergeMode::none})
    if (name == merge_mode_name(m)) return m;
  throw Error("unknown merge_mode '" + name + "': use one of concat, sum, mul, ave, none");
}

Loss loss_from_name(const std::string& name, bool from_logits) {
  struct Named { const char* short_name; const char* long_name; LossKind kind; };
  static const Named names[] = {
      {"mse", "mean_squared_error", LossKind::mse},
      {"mae", "mean_absolute_error", LossKind::mae},
      {"bce", "binary_crossentropy", LossKind::bce},
      {"cce", "categorical_crossentropy", LossKind::cce},
      {"scce", "sparse_categorical_crossentropy", LossKind::scce},
      {"ctc", "connectionist_temporal_classification", LossKind::ctc},
  };
  for (const Named& n : names)
    if (name == n.short_name || name == n.long_name)
      return Loss{n.kind, from_logits || n.kind == LossKind::ctc};
  if (name.rfind("quantile_", 0) == 0) {
    std::vector<float> levels;
    for (size_t at = 9; at <= name.size();) {
      const size_t end = std::min(name.find('_', at), name.size());
      const std::string part = name.substr(at, end - at);
      char* stop = nullptr;
      const float q = std::strtof(part.c_str(), &stop);
      if (part.empty() || *stop != '\0')
        throw Error("loss '" + name + "': '" + part + "' is not a quantile level; write the levels "
                    "after 'quantile', each after an underscore, e.g. quantile_0.1_0.5_0.9");
      levels.push_back(q);
      at = end + 1;
    }
    return quantile_loss(levels);
  }
  throw Error("unknown loss '" + name + "': use one of mse, mae, bce, cce, scce, ctc, quantile_Q1_Q2_...");
}

Loss quantile_loss(const std::vector<float>& levels) {
  if (levels.empty() || levels.size() > size_t(kMaxQuantiles))
    throw Error("the quantile loss takes 1 to " + std::to_string(kMaxQuantiles) + " levels, got " +
                std::to_string(levels.size()));
  Loss loss{LossKind::quantile};
  for (size_t j = 0; j < levels.size(); ++j) {
    if (!(levels[j] > 0.0f && levels[j] < 1.0f))
      throw Error("quantile level " + std::to_string(levels[j]) + " is outside (0, 1): a level q "
                  "is the probability of a value falling below the prediction");
    if (j > 0 && !(levels[j] > levels[j - 1]))
      throw Error("quantile levels must be strictly increasing, but " + std::to_string(levels[j]) +
                  " follows " + std::to_string(levels[j - 1]) + ": sort them and drop repeats");
    loss.quantiles[j] = levels[j];
  }
  loss.quantile_count = int(levels.size());
  return loss;
}

std::string loss_name(const Loss& loss) {
  static const char* names[] = {"mse", "mae", "bce", "cce", "scce", "ctc", "quantile"};
  std::string n = names[int(loss.kind)];
  if (loss.kind == LossKind::quantile)
    for (int j = 0; j < loss.quantile_count; ++j) {
      char b[32];
      std::snprintf(b, sizeof b, "_%g", double(loss.quantiles[size_t(j)]));
      n += b;
    }
  if (loss.from_logits && loss.kind != LossKind::mse && loss.kind != LossKind::mae && loss.kind != LossKind::ctc)
    n += " (from logits)";
  return n;
}

}  // namespace lstm
