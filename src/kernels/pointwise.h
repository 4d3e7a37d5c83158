// The pointwise parts of the recurrent cells that have no fused step kernel of their own (the
// general LSTM, the GRU with reset_after = false), on 16-lane vectors (kernels/vmath.h: vexp, vsigmoid, vtanh).
// Each is compiled for AVX-512, AVX2 and the baseline; the build lstm_kernel_isa() names runs
// (kernels/lstm_step.h), so tests that pick an instruction set cover these too.
//
// R = rows (sequences), H = units; row-major, rows of 4H (LSTM gates i, f, g, o), 3H or H.
#pragma once

#include <cstdint>

#include "lstm/layers.h"

namespace lstm {

// The general LSTM's step (equations: layers/lstm_general.h). Forward: pre-activations gates
// (R, 4H) -> activations in place, c (R, H) = f c_prev + i g, u (R, H) = o act(c); peep (3, H)
// or null.
void lstm_pointwise_forward(float* gates, const float* c_prev, float* c, float* u, const float* peep,
                            int64_t R, int64_t H, Activation act, Activation ract);
// Its derivative: du = ∂L/∂u (R, H); dc (R, H) holds ∂L/∂c_t on entry, ∂L/∂c_{t-1} on return;
// writes da (R, 4H) and adds the peepholes' gradients into dpeep (3, H) (unless peep is null).
void lstm_pointwise_backward(const float* gates, const float* c_prev, const float* c,
                             const float* du, const float* peep, float* da, float* dc,
                             float* dpeep, int64_t R, int64_t H, Activation act, Activation ract);

// y[k] = act(y[k]) for n values (an elementwise activation: not softmax).
void activation_pointwise(float* y, int64_t n, Activation act);

}  // namespace lstm
