// What the image layers (include/lstm/layers/conv.h) share: reading their one image input from
// a call, the output spec of a per-frame map, and the [a, b] pairs of their configs.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "kernels/conv2d.h"
#include "lstm/layers/conv.h"

namespace lstm {

// The {H, W, C} of the call's one input; throws lstm::Error naming the layer for more inputs,
// initial states or an input that is not images.
std::array<int64_t, 3> image_input(const Call& call);

// The spec of a layer that maps each image (each frame of a clip) to an image {H, W, C}: the
// input's time and mask, the new image.
ValueSpec image_output(const ValueSpec& x, std::array<int64_t, 3> image);

// A window over images (a kernel or a pool): its shape for conv2d.h, checked, with the call's
// name in the message.
Conv2dShape image_window(const Call& call, std::array<int64_t, 3> image,
                         std::array<int64_t, 2> size, std::array<int64_t, 2> strides,
                         ConvPadding padding, int64_t filters);

// The rooms of the per-frame layers (Conv2D, MaxPooling2D, GlobalAveragePooling2D, Flatten):
// what TimeDistributed changes is the same for each - the Keras class the layer is written as,
// the check that the call reads a sequence, and the config wrapped in
// {"type": "time_distributed", "layer": ...} (dense.cpp reads that back).
class PerFrameRoom : public Room {
 public:
  std::string keras_class(const LayerConfig& c) const final {
    return c.time_distributed ? "TimeDistributed" : layer_class();
  }
  bool reads_images() const override { return true; }
  bool per_frame() const final { return true; }
  nlohmann::json to_json(const LayerConfig& l) const final;

 protected:
  virtual std::string layer_class() const = 0;                     // "Conv2D"
  virtual nlohmann::json config_json(const LayerConfig& l) const;  // without the wrapper
  // Throws lstm::Error naming the call when it is TimeDistributed and does not read a sequence.
  static void check_time_distributed(const Call& call);
};

// Config pieces: [a, b] pairs of positive sizes, and "valid" / "same".
nlohmann::json json_pair(std::array<int64_t, 2> v);
std::array<int64_t, 2> json_pair(const nlohmann::json& obj, const char* key,
                                 std::array<int64_t, 2> fallback, const std::string& where);
ConvPadding json_padding(const nlohmann::json& obj, const std::string& where);

}  // namespace lstm
