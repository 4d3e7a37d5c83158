// Loss functions and their gradients. Definitions: include/lstm/loss.h.
//
// Dimensions: R = predictions (B, or T·B for sequence outputs), E = output width.
// pred (R, E); target (R, E), or (R) class indices for scce.
#pragma once

#include <cstdint>

#include "lstm/loss.h"

namespace lstm {

// Returns the mean loss over the R predictions; when dpred is not null writes
// dpred = ∂(mean loss)/∂pred, shape (R, E).
double loss_forward_backward(const Loss& loss, const float* pred, const float* target, int64_t R,
                             int64_t E, float* dpred);

// compile()'s check of a loss's options: label_smoothing in [0, 1), and only for cce and scce.
// Throws lstm::Error naming the value and the fix.
void loss_check_options(const Loss& loss);

// Target values per prediction for a loss with output width E: E, or 1 for scce.
int64_t loss_target_width(const Loss& loss, int64_t E);

// Boundary check of targets (called once per fit/evaluate, not per batch): scce labels must be
// integers in [0, E). Throws lstm::Error naming the first bad value and its index.
void loss_check_targets(const Loss& loss, const float* target, int64_t count, int64_t E,
                        const char* what);

}  // namespace lstm
