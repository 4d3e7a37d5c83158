// NumPy .npy reader and writer (include/lstm/io.h).
//
// Format (numpy.lib.format): 6 bytes magic "\x93NUMPY", 1 byte major, 1 byte minor version,
// header length (u16 LE for 1.0; u32 LE for 2.0 and 3.0), then an ASCII (3.0: UTF-8) Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, T, F), } padded with spaces and
// a newline, then the raw data in C order.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#include "io/file.h"
#include "io/safetensors.h"
#include "lstm/error.h"
#include "lstm/io.h"

namespace lstm {

static_assert(std::endian::native == std::endian::little, "lstm assumes a little-endian host");

namespace {

struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  // parts of the header are quoted: a bounded prefix only
  throw Error("'" + path + "' is not a valid .npy file: " +
              (why.size() > 200 ? why.substr(0, 200) + "..." : why));
}

// The value after 'key': in a dict literal, as raw text up to the next top-level , or }.
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) bad(path, "its header has no '" + key + "' entry");
  size_t colon = h.find(':', k);
  if (colon == std::string::npos) bad(path, "its header is malformed near '" + key + "'");
  size_t start = colon + 1, end = start;
  int depth = 0;
  for (; end < h.size(); ++end) {
    char c = h[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string v = h.substr(start, end - start);
  size_t a = v.find_first_not_of(" "), b = v.find_last_not_of(" ");
  return a == std::string::npos ? "" : v.substr(a, b - a + 1);
}

NpyHeader parse_header(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    bad(path, "it does not start with the .npy magic bytes (save arrays with numpy.save)");
  const unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t len = 0, pre = 0;
  if (major == 1) {
    len = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    pre = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(path, "it is truncated inside its header");
    for (int i = 0; i < 4; ++i) len |= size_t(uint8_t(bytes[size_t(8 + i)])) << (8 * i);
    pre = 12;
  } else {
    bad(path, "format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  }
  if (bytes.size() < pre + len) bad(path, "it is truncated inside its header");
  std::string h = bytes.substr(pre, len);
  NpyHeader out;
  out.data_offset = pre + len;
  std::string descr = dict_value(h, "descr", path);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    bad(path, "its dtype " + descr + " is not a simple type (structured arrays are not supported)");
  out.descr = descr.substr(1, descr.size() - 2);
  std::string fo = dict_value(h, "fortran_order", path);
  if (fo != "False" && fo != "True") bad(path, "fortran_order is '" + fo + "'");
  out.fortran = fo == "True";
  std::string shape = dict_value(h, "shape", path);
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    bad(path, "its shape '" + shape + "' is malformed");
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t p = 0;
  while (p < inner.size()) {
    while (p < inner.size() && (inner[p] == ' ' || inner[p] == ',')) ++p;
    if (p >= inner.size()) break;
    size_t q = p;
    while (q < inner.size() && std::isdigit(static_cast<unsigned char>(inner[q]))) ++q;
    if (q == p) bad(path, "its shape '" + shape + "' is malformed");
    if (q - p > 15) bad(path, "its shape '" + shape.substr(0, 60) + "' has an impossibly large dimension");
    if (out.shape.size() >= 8) bad(path, "its shape has more than 8 dimensions");
    out.shape.push_back(std::stoll(inner.substr(p, q - p)));
    p = q;
  }
  return out;
}

template <typename T>
T load_le(const char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

}  // namespace

Tensor load_npy(const std::string& path, bool allow_integers) {
  return parse_npy(read_file(path, "array file"), path, allow_integers);
}

Tensor parse_npy(const std::string& bytes, const std::string& path, bool allow_integers) {
  const NpyHeader h = parse_header(bytes, path);
  if (h.fortran)
    throw Error("'" + path + "' is stored in Fortran order: save it in C order, e.g. "
                "numpy.save(path, numpy.ascontiguousarray(a))");
  const std::string& d = h.descr;
  const char order = d.empty() ? '?' : d[0];
  const std::string kind = d.size() > 1 ? d.substr(1) : d;
  const bool swap = order == '>';
  const bool is_float = kind == "f4" || kind == "f8";
  const bool is_int = kind == "i1" || kind == "i2" || kind == "i4" || kind == "i8" ||
                      kind == "u1" || kind == "u2" || kind == "u4" || kind == "u8";
  if (!(order == '<' || order == '>' || order == '|' || order == '=') || !(is_float || is_int) ||
      (is_int && !allow_integers)) {
    throw Error("'" + path + "' holds dtype '" + d.substr(0, 20) + "', but lstm reads float32 (or float64) " +
                (allow_integers ? "or integer " : "") +
                "arrays: convert it first, e.g. numpy.save(path, a.astype('float32'))");
  }
  const size_t item = size_t(kind[1] - '0');
  int64_t count = 1;
  for (int64_t s : h.shape) {
    if (s != 0 && count > int64_t(bytes.size()) / s)  // more values than the file has bytes
      throw Error("'" + path + "' is truncated or corrupt: its header says shape " +
                  shape_string(h.shape) + ", far more data than the file's " +
                  std::to_string(bytes.size()) + " bytes");
    count *= s;
  }
  const size_t need = size_t(count) * item;
  if (bytes.size() - h.data_offset < need)
    throw Error("'" + path + "' is truncated: its header says shape " + shape_string(h.shape) +
                " (" + std::to_string(need) + " bytes of data) but only " +
                std::to_string(bytes.size() - h.data_offset) + " bytes follow");
  if (bytes.size() - h.data_offset > need)
    throw Error("'" + path + "' is corrupt: " + std::to_string(bytes.size() - h.data_offset - need) +
                " bytes follow the data of shape " + shape_string(h.shape) +
                " (was it written by numpy.save?)");
  std::vector<float> data(static_cast<size_t>(count));
  const char* p = bytes.data() + h.data_offset;
  for (int64_t k = 0; k < count; ++k, p += item) {
    float v = 0;
    if (kind == "f4") v = load_le<float>(p, swap);
    else if (kind == "f8") v = to_float(load_le<double>(p, swap));
    else if (kind == "i1") v = float(int8_t(*p));
    else if (kind == "u1") v = float(uint8_t(*p));
    else if (kind == "i2") v = float(load_le<int16_t>(p, swap));
    else if (kind == "u2") v = float(load_le<uint16_t>(p, swap));
    else if (kind == "i4") v = float(load_le<int32_t>(p, swap));
    else if (kind == "u4") v = float(load_le<uint32_t>(p, swap));
    else if (kind == "i8") v = float(load_le<int64_t>(p, swap));
    else v = float(load_le<uint64_t>(p, swap));
    data[size_t(k)] = v;
  }
  return Tensor(h.shape, std::move(data));
}

Tensor map_npy(const std::string& path, bool allow_integers) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return load_npy(path, allow_integers);  // its message says why
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 12) {
    ::close(fd);
    return load_npy(path, allow_integers);
  }
  const size_t size = size_t(st.st_size);
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping stays
  if (base == MAP_FAILED) return load_npy(path, allow_integers);
  std::shared_ptr<void> mapping(base, [size](void* p) { munmap(p, size); });
  const char* bytes = static_cast<const char*>(base);
  // the header alone (the data is not touched): its length, then its text
  const unsigned major = uint8_t(bytes[6]);
  size_t header_end = 0;
  if (major == 1)
    header_end = 10 + (uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8);
  else if (major == 2 || major == 3)
    for (int i = 0; i < 4; ++i) header_end += size_t(uint8_t(bytes[8 + i])) << (8 * i);
  if (major == 2 || major == 3) header_end += 12;
  // not a .npy, or a truncated one: load_npy's message says which
  if (std::memcmp(bytes, "\x93NUMPY", 6) != 0 || header_end == 0 || header_end > size)
    return load_npy(path, allow_integers);
  const NpyHeader h = parse_header(std::string(bytes, header_end), path);
  int64_t count = 1;
  for (int64_t d : h.shape) count = d != 0 && count > int64_t(size) / d ? int64_t(size) : count * d;
  const bool float32 = (h.descr == "<f4" || h.descr == "=f4") && !h.fortran;
  // anything but float32 in C order at an aligned offset with exactly its bytes: read as load_npy
  // does (converted, or refused with its message)
  if (!float32 || h.data_offset % alignof(float) != 0 || count == 0 ||
      size - h.data_offset != size_t(count) * sizeof(float))
    return load_npy(path, allow_integers);
  // the pages are read when touched; the mapping is private, so a write would not reach the file
  // The kernel's default read-around is kept: MADV_RANDOM would spare a rank a few neighbouring
  // rows, but made the sequential pass of the data checks 10-20 times slower from a cold cache
  // (200 MB: 2.7-3.3 s against 0.16-0.26 s), and saved nothing measurable in what a rank read.
  madvise(base, size, MADV_NORMAL);
  return Tensor::view(h.shape, reinterpret_cast<float*>(static_cast<char*>(base) + h.data_offset),
                      std::move(mapping));
}

void save_npy(const std::string& path, const Tensor& t) {
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ", ";
  if (t.rank() > 1) shape.resize(shape.size() - 2);
  else if (t.rank() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += char(1);
  bytes += char(0);
  bytes += char(header.size() & 0xff);
  bytes += char((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(t.data()), sizeof(float) * size_t(t.size()));
  write_file_atomic(path, bytes, "array file");
}

}  // namespace lstm
