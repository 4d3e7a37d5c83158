// safetensors reader and writer (safetensors.h).
#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/file.h"
#include "lstm/error.h"

namespace lstm {

using json = nlohmann::json;

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string bytes = read_file(path, "model file");
  auto bad = [&](const std::string& why) -> Error {
    return Error("'" + path + "' is not a valid model file: " + why +
                 " (is it a .safetensors file written completely?)");
  };
  if (bytes.size() < 8) throw bad("it is only " + std::to_string(bytes.size()) + " bytes long");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(bytes[size_t(i)])) << (8 * i);
  if (n > bytes.size() - 8 || n > (100u << 20))
    throw bad("its header length (" + std::to_string(n) + " bytes) runs past the end of the file");
  json header;
  try {
    header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + int64_t(n));
  } catch (const json::exception& e) {
    throw bad(std::string("its header is not valid JSON (") + e.what() + ")");
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
    uint64_t count = 1;
    for (const json& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("tensor '" + name + "' has a bad shape");
      t.shape.push_back(d.get<int64_t>());
      count *= d.get<uint64_t>();
      if (count > (uint64_t(1) << 40)) throw bad("tensor '" + name + "' is impossibly large");
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
      throw bad("tensor '" + name + "' has shape " + v["shape"].dump() + " (" +
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
        t.data[size_t(k)] = float(d);
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
  std::vector<NamedTensor> ordered;
  for (const Span& s : spans) ordered.push_back(std::move(out.tensors[s.index]));
  out.tensors = std::move(ordered);
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
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
  write_file_atomic(path, out, "model file");
}

}  // namespace lstm
