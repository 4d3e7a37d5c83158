// The image layers' shared pieces (layers/image_layer.h).
#include "layers/image_layer.h"

#include "core/json.h"
#include "core/limits.h"
#include "lstm/error.h"

namespace lstm {

const char* conv_padding_name(ConvPadding p) {
  return p == ConvPadding::same ? "same" : "valid";
}

ConvPadding conv_padding_from_name(const std::string& name) {
  if (name == "valid") return ConvPadding::valid;
  if (name == "same") return ConvPadding::same;
  throw Error("unknown padding \"" + name + "\" (use \"valid\" or \"same\")");
}

std::array<int64_t, 3> image_input(const Call& call) {
  if (call.inputs.size() != 1 || !call.states.empty())
    throw Error(call.where + " takes one input tensor (and no initial_state), got " +
                std::to_string(call.inputs.size()) +
                (call.states.empty() ? "" : " and initial states"));
  const ValueSpec& x = call.inputs[0];
  if (x.image.size() != 3)
    throw Error(call.where + " takes images [N, H, W, C] or clips [N, T, H, W, C], but got " +
                spec_string(x) +
                ": make the input with lstm::Input({H, W, C}) or lstm::Input({T, H, W, C})");
  return {x.image[0], x.image[1], x.image[2]};
}

ValueSpec image_output(const ValueSpec& x, std::array<int64_t, 3> image) {
  ValueSpec y = x;
  y.ids = false;
  y.image.assign(image.begin(), image.end());
  y.F = image[0] * image[1] * image[2];
  return y;
}

Conv2dShape image_window(const Call& call, std::array<int64_t, 3> image,
                         std::array<int64_t, 2> size, std::array<int64_t, 2> strides,
                         ConvPadding padding, int64_t filters) {
  Conv2dShape s;
  s.H = image[0], s.W = image[1], s.C = image[2];
  s.KH = size[0], s.KW = size[1], s.F = filters;
  s.stride_h = strides[0], s.stride_w = strides[1];
  s.same = padding == ConvPadding::same;
  for (int64_t v : {s.KH, s.KW, s.stride_h, s.stride_w})
    if (v < 1 || v > limits::kWidth)
      throw Error(call.where + ": window sizes and strides must be in 1.." +
                  std::to_string(limits::kWidth) + ", got " + std::to_string(v));
  if (filters < 1 || filters > limits::kWidth)
    throw Error(call.where + ": filters must be in 1.." + std::to_string(limits::kWidth) +
                ", got " + std::to_string(filters));
  try {
    s.check();
  } catch (const Error& e) {
    throw Error(call.where + " on images " + spec_string(call.inputs[0]) + ": " + e.what());
  }
  if (s.patch() > limits::kWidth)
    throw Error(call.where + ": a " + std::to_string(s.KH) + " x " + std::to_string(s.KW) +
                " window over " + std::to_string(s.C) + " channels holds more than " +
                std::to_string(limits::kWidth) + " values: use a smaller window");
  if (s.out_h() * s.out_w() * filters > limits::kWidth)
    throw Error(call.where + ": its output images of " + std::to_string(s.out_h()) + " x " +
                std::to_string(s.out_w()) + " x " + std::to_string(filters) +
                " are more than the " + std::to_string(limits::kWidth) + " values a step may hold");
  return s;
}

nlohmann::json PerFrameRoom::to_json(const LayerConfig& l) const {
  nlohmann::json j = config_json(l);
  if (l.time_distributed) return {{"type", "time_distributed"}, {"layer", j}};
  return j;
}

nlohmann::json PerFrameRoom::config_json(const LayerConfig&) const {
  return {{"type", type()}};
}

void PerFrameRoom::check_time_distributed(const Call& call) {
  if (call.layer.time_distributed && (call.inputs.empty() || !call.inputs[0].seq))
    throw Error(call.where + ": TimeDistributed needs a sequence or clip [N, T, ...], got " +
                (call.inputs.empty() ? std::string("no input") : spec_string(call.inputs[0])));
}

nlohmann::json json_pair(std::array<int64_t, 2> v) {
  return nlohmann::json::array({v[0], v[1]});
}

std::array<int64_t, 2> json_pair(const nlohmann::json& obj, const char* key,
                                 std::array<int64_t, 2> fallback, const std::string& where) {
  if (!obj.contains(key)) return fallback;
  const nlohmann::json& v = obj[key];
  const std::string what = where + ": \"" + key + "\"";
  if (v.is_number()) {  // Keras writes one number for a square window too
    const int64_t n = json_integer(v, 1, limits::kWidth, what);
    return {n, n};
  }
  if (!v.is_array() || v.size() != 2) throw Error(what + " must be [height, width]");
  return {json_integer(v[0], 1, limits::kWidth, what), json_integer(v[1], 1, limits::kWidth, what)};
}

ConvPadding json_padding(const nlohmann::json& obj, const std::string& where) {
  if (!obj.contains("padding")) return ConvPadding::valid;
  if (!obj["padding"].is_string())
    throw Error(where + ": \"padding\" must be \"valid\" or \"same\"");
  try {
    return conv_padding_from_name(obj["padding"].get<std::string>());
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace lstm
