// Box-Cox pieces of the target transforms (src/forecast/transform.cpp), shared with the window
// builder and the transform choice.
#pragma once

#include <vector>

#include "lstm/forecast.h"

namespace lstm {

// (y^λ - 1) / λ, log y at λ = 0; y > 0.
double boxcox(double y, double lambda);
// The inverse; where λz + 1 <= 0 (outside the transform's range) it is clamped: 0 for λ > 0,
// the largest float for λ < 0.
double boxcox_inverse(double z, double lambda);
// The λ in [-1, 2] that maximises Box & Cox's profile log-likelihood of the values (all > 0).
double fit_boxcox_lambda(const std::vector<float>& y);

}  // namespace lstm
