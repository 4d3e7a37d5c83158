// Box-Cox pieces of the target transforms (src/forecast/transform.cpp), shared with the window
// builder and the transform choice.
#pragma once

#include <cstdint>
#include <string>
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

// Calendar inputs (ForecastOptions::calendar): throws lstm::Error naming an unknown or repeated
// name; writes the sine and cosine of each one's phase at a date (seconds) into out[2 i], out[2 i + 1].
void check_calendar(const std::vector<std::string>& names);
void calendar_values(const std::vector<std::string>& names, int64_t seconds, float* out);

}  // namespace lstm
