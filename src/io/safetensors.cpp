// safetensors reader and writer (safetensors.h).
#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/limits.h"
#include "io/file.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path, "model file"), path);
}

SafetensorsFile parse_safetensors(const std::string& bytes, const std::string& path) {
  auto bad = [&](const std::string& why) -> Error {
    return Error("'" + path + "' is not a valid model file: " + why +
                 " (is it a .safetensors file written completely?)");
  };
  if (bytes.size() < 8) throw bad("it is only " + std::to_string(bytes.size()) + " bytes long");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  if (n > bytes.size() - 8)
    throw bad("its header length (" + std::to_string(n) + " bytes) runs past the end of the file");
  if (n > limits::kSafetensorsHeader)
    throw bad("its header length (" + std::to_string(n) + " bytes) is over the format's limit of " +
              std::to_string(limits::kSafetensorsHeader));
  json header;
  try {
    header = parse_json(bytes.substr(8, size_t(n)), "its header");
  } catch (const Error& e) {
    throw bad(e.what());
  }
  if (!header.is_object()) throw bad("its header is not a JSON object");
  const uint64_t data_start = 8 + n, data_size = bytes.size() - data_start;
  SafetensorsFile out;
  struct Span { uint64_t begin, end; size_t index; };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw bad("metadata value '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (name.size() > 256) throw bad("a tensor name is over 256 bytes long");
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets") || !v["dtype"].is_string() || !v["shape"].is_array() ||
        !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw bad("tensor '" + name + "' lacks dtype, shape or data_offsets");
    const std::string dtype = v["dtype"].get<std::string>();
    size_t item = dtype == "F32" ? 4 : dtype == "F64" ? 8 : 0;
    if (!item)
      throw Error("'" + path + "': tensor '" + name + "' has dtype " + dtype +
                  ", but lstm model files hold F32 tensors: convert the weights to float32 "
                  "before saving");
    NamedTensor t;
    t.name = name;
    // Every dimension and the element count are bounded by the file's own length (checked
    // against the offsets below), so no product can overflow.
    uint64_t count = 1;
    if (v["shape"].size() > 8) throw bad("tensor '" + name + "' has more than 8 dimensions");
    for (const json& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("tensor '" + name + "' has a bad shape");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > data_size || (dim != 0 && count > data_size / dim))
        throw bad("tensor '" + name + "' has shape " + json_brief(v["shape"]) +
                  ", more values than the file's " + std::to_string(data_size) + " bytes of data hold");
      t.shape.push_back(int64_t(dim));
      count *= dim;
    }
    const json& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("tensor '" + name + "' has bad data_offsets");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size)
      throw bad("tensor '" + name + "' lies outside the file's data (offsets " +
                std::to_string(begin) + ".." + std::to_string(end) + ", data is " +
                std::to_string(data_size) + " bytes): the file is truncated or corrupt");
    if (end - begin != count * item)
      throw bad("tensor '" + name + "' has shape " + json_brief(v["shape"]) + " (" +
                std::to_string(count * item) + " bytes) but its offsets span " +
                std::to_string(end - begin) + " bytes");
    t.data.resize(size_t(count));
    const char* p = bytes.data() + data_start + begin;
    for (uint64_t k = 0; k < count; ++k) {
      if (item == 4) {
        std::memcpy(&t.data[size_t(k)], p + 4 * k, 4);
      } else {
        double d;
        std::memcpy(&d, p + 8 * k, 8);
        t.data[size_t(k)] = to_float(d);
      }
    }
    spans.push_back({begin, end, out.tensors.size()});
    out.tensors.push_back(std::move(t));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  uint64_t at = 0;
  for (const Span& s : spans) {
    if (s.begin != at)
      throw bad("tensor '" + out.tensors[s.index].name + "' " +
                (s.begin < at ? "overlaps the tensor before it" : "leaves a gap before it"));
    at = s.end;
  }
  if (at != data_size)
    throw bad(std::to_string(data_size - at) + " bytes follow the last tensor's data, which "
              "belong to no tensor");
  std::vector<NamedTensor> ordered;
  for (const Span& s : spans) ordered.push_back(std::move(out.tensors[s.index]));
  out.tensors = std::move(ordered);
  return out;
}

std::string encode_safetensors(const SafetensorsFile& file) {
  json header = json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const NamedTensor& t : file.tensors) {
    uint64_t bytes = 4 * uint64_t(t.data.size());
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char((uint64_t(text.size()) >> (8 * i)) & 0xff);
  out += text;
  for (const NamedTensor& t : file.tensors)
    out.append(reinterpret_cast<const char*>(t.data.data()), 4 * t.data.size());
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  write_file_atomic(path, encode_safetensors(file), "model file");
}

}  // namespace lstm
