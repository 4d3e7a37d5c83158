// What tests and tools need of a graph model beyond its public API.
#pragma once

#include <vector>

#include "lstm/functional.h"

namespace lstm {

// The loss of the whole of (x, y) as one batch, without dropout, and (when grads is not null)
// its gradient with respect to every weight, in get_weights() order.
double model_loss_and_gradient(Model& model, const TensorList& x, const TensorList& y,
                               std::vector<float>* grads);

}  // namespace lstm
