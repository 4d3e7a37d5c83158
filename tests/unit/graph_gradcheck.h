// Central differences of a graph model's loss against its analytic gradient, for every weight
// (the gradient checks of tests/unit/test_graph.cpp and test_video_layers.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "graph/graph_model.h"
#include "lstm/functional.h"

namespace lstm {
namespace test {

// Central differences of the model's loss against its analytic gradient, for every weight.
inline void expect_gradients(Model& model, const TensorList& x, const TensorList& y,
                             double eps = 1e-2) {
  std::vector<float> grads;
  model_loss_and_gradient(model, x, y, &grads);
  std::vector<float> w = model.get_weights();
  ASSERT_EQ(grads.size(), w.size());
  const std::vector<NamedWeight> names = model.weights();
  int bad = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    const float keep = w[k];
    w[k] = keep + float(eps);
    model.set_weights(w);
    const double up = model_loss_and_gradient(model, x, y, nullptr);
    w[k] = keep - float(eps);
    model.set_weights(w);
    const double down = model_loss_and_gradient(model, x, y, nullptr);
    w[k] = keep;
    const double numeric = (up - down) / (2 * eps), analytic = grads[k];
    if (std::abs(numeric - analytic) > 2e-3 + 3e-2 * std::abs(numeric) && bad++ < 10) {
      std::string name;
      for (const NamedWeight& n : names)
        if (int64_t(k) >= n.offset)
          name = n.name + "[" + std::to_string(int64_t(k) - n.offset) + "]";
      ADD_FAILURE() << name << ": analytic " << analytic << " numeric " << numeric;
    }
  }
  model.set_weights(w);
  EXPECT_EQ(bad, 0);
}

}  // namespace test
}  // namespace lstm
