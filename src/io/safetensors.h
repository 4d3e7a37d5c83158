// safetensors files: the model format (docs/file-format.md).
//
// Layout: 8 bytes u64 little-endian N = header length; N bytes of UTF-8 JSON
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8; then the data buffer, offsets relative to its start,
// each tensor little-endian in C order, the tensors tiling the buffer without gaps or overlaps.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lstm {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<NamedTensor> tensors;  // written in this order; read back in offset order
};

// Reads F32 (and F64, converted) tensors; anything malformed is an lstm::Error naming it.
SafetensorsFile read_safetensors(const std::string& path);
// The same from the file's bytes; `path` names it in messages.
SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path);
// A double as float: beyond float range it is ±Inf (the plain cast is undefined there), NaN stays.
inline float to_float(double d) {
  if (d > 3.4028234663852886e38) return __builtin_inff();
  if (d < -3.4028234663852886e38) return -__builtin_inff();
  return float(d);
}
void write_safetensors(const std::string& path, const SafetensorsFile& file);  // atomic
std::string encode_safetensors(const SafetensorsFile& file);                   // the file's bytes

}  // namespace lstm
