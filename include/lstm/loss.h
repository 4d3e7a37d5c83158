// lstm/loss.h - loss functions, named as in Keras.
//
//   model.compile(lstm::Adam(), lstm::loss::mse);
//   model.compile(lstm::Adam(), lstm::loss::sparse_categorical_crossentropy_from_logits);
//
// Each loss is averaged over every prediction: over samples, and over time steps when the
// model returns sequences. Per prediction (p = model output, y = target, E = output width):
//   mse   mean_k (p_k - y_k)^2
//   mae   mean_k |p_k - y_k|
//   bce   mean_k -(y_k log p_k + (1 - y_k) log(1 - p_k)),   p clipped to [1e-7, 1 - 1e-7]
//         from_logits: p = σ(z), computed stably as max(z, 0) - z y + log(1 + e^-|z|)
//   cce   -Σ_k y_k log p_k with one-hot (or soft) targets y, p clipped to [1e-7, 1]
//         from_logits: p = softmax(z), computed as a log-softmax
//   scce  -log p_y with y the integer class index (targets [N] or [N, 1]; [N, T] per step)
//   quantile  (pinball loss, Koenker & Bassett 1978) Q quantile levels q_j in (0, 1), strictly
//         increasing: the output holds Q values per target value, quantile fastest (width
//         E = W·Q for targets of width W), and the loss is
//         mean_{w,j} ρ_{q_j}(y_w - p_{w·Q+j}),  ρ_q(e) = max(q e, (q - 1) e)
//         (the same as torch.maximum(q*e, (q-1)*e).mean(); at e = 0 the gradient is the mean of
//         the two sides', 0.5 - q, as torch.maximum's)
// label_smoothing ε (cce and scce): the target distribution is (1 - ε)·y + ε/E, so the loss is
//   (1 - ε)·(the loss above) + ε·mean_k(-log p_k)  (Keras's CategoricalCrossentropy(label_smoothing),
//   PyTorch's CrossEntropyLoss(label_smoothing)); with probabilities, every p_k clipped as above.
//   ctc   -log P(target sequence | the output sequence), mean over samples (Keras 3's CTC loss;
//         PyTorch's ctc_loss(log_softmax(z), blank = 0, reduction = 'sum') / N): the output is
//         a sequence of logits [N, T, C] with class 0 the blank, the target [N, L] label ids in
//         1..C-1 right-padded with 0; a sample's frames are its valid steps. Always from logits.
//         Equations, decoding and the frames a target needs: lstm/ctc.h.
// Same numbers as PyTorch's MSELoss, L1Loss, BCELoss / BCEWithLogitsLoss and CrossEntropyLoss
// (logits) with reduction='mean', away from the clipping bounds.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace lstm {

enum class LossKind { mse, mae, bce, cce, scce, ctc, quantile };

inline constexpr int kMaxQuantiles = 19;

struct Loss {
  LossKind kind = LossKind::mse;
  bool from_logits = false;
  float label_smoothing = 0.0f;  // cce and scce only, in [0, 1)
  // quantile only: the levels, strictly increasing in (0, 1)
  int quantile_count = 0;
  std::array<float, kMaxQuantiles> quantiles{};
};

// The pinball loss at these levels (1..kMaxQuantiles of them, strictly increasing in (0, 1);
// throws lstm::Error otherwise).
Loss quantile_loss(const std::vector<float>& levels);

// "mse", "mae", "bce", "cce", "scce", "ctc" (ctc always from logits; long Keras names accepted too, e.g.
// "mean_squared_error"), "quantile_0.1_0.5_0.9" (the levels after "quantile", each after an
// underscore); throws lstm::Error listing the valid names.
Loss loss_from_name(const std::string& name, bool from_logits = false);
std::string loss_name(const Loss& loss);

namespace loss {
inline constexpr Loss mse{LossKind::mse, false};
inline constexpr Loss mean_squared_error = mse;
inline constexpr Loss mae{LossKind::mae, false};
inline constexpr Loss mean_absolute_error = mae;
inline constexpr Loss binary_crossentropy{LossKind::bce, false};
inline constexpr Loss binary_crossentropy_from_logits{LossKind::bce, true};
inline constexpr Loss categorical_crossentropy{LossKind::cce, false};
inline constexpr Loss categorical_crossentropy_from_logits{LossKind::cce, true};
inline constexpr Loss sparse_categorical_crossentropy{LossKind::scce, false};
inline constexpr Loss sparse_categorical_crossentropy_from_logits{LossKind::scce, true};
inline constexpr Loss ctc{LossKind::ctc, true};
}  // namespace loss

}  // namespace lstm
