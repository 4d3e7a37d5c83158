// Loss functions and their gradients. Definitions: include/lstm/loss.h.
//
// Dimensions: R = predictions (B, or T·B for sequence outputs), E = output width.
// pred (R, E); target (R, E), or (R) class indices for scce.
#pragma once

#include <cstdint>
#include <functional>

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

// The CTC loss of a batch (lstm/ctc.h): logits time-major (T, B, C), sample b's frames its
// first lengths[b] steps (all T when lengths is null), its labels row b of targets (B, L),
// right-padded with 0. Returns the mean over the B samples of -log P; when dlogits is not null
// writes ∂(mean)/∂logits, (T, B, C), zero at padded steps.
double ctc_batch_loss(const float* logits, int64_t T, int64_t B, int64_t C, const int64_t* lengths,
                      const float* targets, int64_t L, float* dlogits);

// Checks CTC targets (N, L) against an output of C classes: integer labels 1..C-1, then only
// 0 (padding), and each row's labels no more than frames(n) can carry (ctc_min_frames). Throws
// lstm::Error naming the sample, the value and the fix.
void ctc_check_targets(const float* targets, int64_t N, int64_t L, int64_t C,
                       const std::function<int64_t(int64_t)>& frames, const char* what);

}  // namespace lstm
