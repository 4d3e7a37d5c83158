// HDF5 through libhdf5's C API, read-only, in a child process (see hdf5_file.h); the writer in this one.
#include "io/hdf5_file.h"

#include <hdf5.h>

#include <cstring>
#include <utility>

#include "core/limits.h"
#include "io/sandbox.h"
#include "lstm/error.h"

namespace lstm {

namespace {

static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is 64-bit since HDF5 1.10");

// An HDF5 handle closed by its own close function.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id >= 0) close(id);
  }
  bool ok() const { return id >= 0; }
};

// "/a/b/c" -> "/a", "/a/b", "/a/b/c": each link on the way, for checking or creating in turn.
std::vector<std::string> prefixes(const std::string& path) {
  std::vector<std::string> out;
  std::string sofar;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(sofar += "/" + path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// HDF5 prints its error stack to stderr by default; lstm reports errors itself.
void quiet() {
  static const bool once = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)once;
}

constexpr uint64_t kAttributeBytes = uint64_t(64) << 20;  // HDF5 keeps attributes small (64 KiB each)
// Strings in one attribute: Keras's longest lists (weight_names of a big model) hold thousands.
constexpr hssize_t kAttributeStrings = 1 << 16;
constexpr int kRank = 8;

double deadline_seconds = 30.0;

// ---- In the child process: libhdf5 ------------------------------------------------------------

void put_u32(std::string& out, uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(char((v >> (8 * k)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back(char((v >> (8 * k)) & 0xff));
}

// The strings of an attribute (1 for a scalar), fixed or variable length, as a list: u32 count,
// then u32 length + bytes for each.
std::string read_strings(hid_t attr, const std::string& where) {
  Handle type(H5Aget_type(attr), H5Tclose);
  Handle space(H5Aget_space(attr), H5Sclose);
  if (!type.ok() || !space.ok()) throw Error(where + ": unreadable");
  if (H5Tget_class(type.id) != H5T_STRING) throw Error(where + ": not a string");
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > 1) throw Error(where + ": not a string or a 1-D list of strings");
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n < 0 || n > kAttributeStrings) throw Error(where + ": more than 65,536 strings, or an unreadable count");
  std::string out;
  put_u32(out, uint32_t(n));
  auto add = [&](const char* p, size_t len) {
    if (out.size() + len > kAttributeBytes) throw Error(where + ": larger than 64 MiB");
    put_u32(out, uint32_t(len));
    out.append(p, len);
  };
  const htri_t variable = H5Tis_variable_str(type.id);
  if (variable < 0) throw Error(where + ": unreadable string type");
  // Variable-length strings (h5py 3 writes every str and bytes attribute so: Keras 2's
  // model_config) live in the file's global heap; libhdf5 1.10.8 can loop without end on a
  // corrupt one, which the deadline on the child ends.
  if (variable > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.id, H5T_VARIABLE);
    H5Tset_cset(mem.id, H5Tget_cset(type.id));
    std::vector<char*> ptrs(size_t(n), nullptr);
    if (H5Aread(attr, mem.id, ptrs.data()) < 0) throw Error(where + ": cannot read it");
    for (char* p : ptrs) add(p ? p : "", p ? std::strlen(p) : 0);
    H5Dvlen_reclaim(mem.id, space.id, H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t size = H5Tget_size(type.id);
  if (size == 0 || uint64_t(size) * uint64_t(n) > kAttributeBytes) throw Error(where + ": larger than 64 MiB");
  if (H5Aget_storage_size(attr) < hsize_t(size) * hsize_t(n))
    throw Error(where + ": the file holds less data for it than its size needs (truncated?)");
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.id, size);
  H5Tset_strpad(mem.id, H5T_STR_NULLPAD);  // every byte kept (NULLTERM would give the last to a NUL)
  std::string buffer(size * size_t(n), '\0');
  if (H5Aread(attr, mem.id, buffer.data()) < 0) throw Error(where + ": cannot read it");
  for (hssize_t k = 0; k < n; ++k) {
    const char* p = buffer.data() + size_t(k) * size;
    add(p, strnlen(p, size));  // NUL-padded
  }
  return out;
}

// The open file in the child and the queries it answers. A request is one letter, the path, and
// for attributes a NUL and the attribute's name (neither can hold a NUL in HDF5).
struct Reader {
  const std::string& name;
  const std::string* bytes;  // the image to open, or nullptr for the file `name`
  hid_t f = -1;

  void open() {
    quiet();
    if (!bytes) {
      f = H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
      if (f < 0) throw Error(name + ": cannot open it as an HDF5 file (missing, unreadable, truncated or not HDF5)");
      return;
    }
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!fapl.ok() || H5Pset_fapl_core(fapl.id, 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl.id, const_cast<char*>(bytes->data()), bytes->size()) < 0)
      throw Error(name + ": cannot hand its bytes to HDF5");
    // the core driver reads the image, not a file of this name (one that exists would be opened)
    const std::string image = "lstm-memory-image:" + name;
    f = H5Fopen(image.c_str(), H5F_ACC_RDONLY, fapl.id);
    if (f < 0) throw Error(name + ": not a readable HDF5 file (truncated or corrupt?)");
  }

  bool exists(const std::string& path) const {
    for (const std::string& sofar : prefixes(path)) {
      if (H5Lexists(f, sofar.c_str(), H5P_DEFAULT) <= 0) return false;
      // soft and external links (which open other files) are not followed
      H5L_info_t info;
      if (H5Lget_info(f, sofar.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD)
        throw Error(name + ": " + sofar + " is a soft or external link, which Keras does not write; refused");
    }
    return true;
  }

  bool has_attribute(const std::string& path, const std::string& attribute) const {
    return exists(path) && H5Aexists_by_name(f, path.c_str(), attribute.c_str(), H5P_DEFAULT) > 0;
  }

  std::string strings(const std::string& path, const std::string& attribute) const {
    const std::string where = name + ": attribute '" + attribute + "' of " + path;
    if (!has_attribute(path, attribute)) throw Error(where + ": no such attribute");
    Handle attr(H5Aopen_by_name(f, path.c_str(), attribute.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) throw Error(where + ": cannot open it");
    return read_strings(attr.id, where);
  }

  // The dataset's shape (u32 rank, u64 dims), checked: float or integer, at most 8 dimensions
  // and 2^31 values, unfiltered, held in the file itself; with `values`, then its values.
  std::string dataset(const std::string& path, bool values) const {
    const std::string where = name + ": " + path;
    if (!exists(path)) throw Error(where + ": no such dataset");
    Handle d(H5Dopen2(f, path.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.ok()) throw Error(where + ": not a dataset");
    Handle type(H5Dget_type(d.id), H5Tclose);
    Handle space(H5Dget_space(d.id), H5Sclose);
    Handle dcpl(H5Dget_create_plist(d.id), H5Pclose);
    if (!type.ok() || !space.ok() || !dcpl.ok()) throw Error(where + ": unreadable");
    const H5T_class_t cls = H5Tget_class(type.id);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw Error(where + ": not numbers");
    const int rank = H5Sget_simple_extent_ndims(space.id);
    if (rank < 0 || rank > kRank) throw Error(where + ": rank " + std::to_string(rank) + " (at most 8 read)");
    hsize_t dims[kRank] = {};
    H5Sget_simple_extent_dims(space.id, dims, nullptr);
    std::string out;
    put_u32(out, uint32_t(rank));
    uint64_t count = 1;
    for (int k = 0; k < rank; ++k) {
      if (dims[k] > uint64_t(limits::kParams)) throw Error(where + ": a dimension of " + std::to_string(dims[k]));
      count *= dims[k];
      if (count > uint64_t(limits::kParams)) throw Error(where + ": more than 2^31 values");
      put_u64(out, dims[k]);
    }
    const H5D_layout_t layout = H5Pget_layout(dcpl.id);
    if ((layout != H5D_COMPACT && layout != H5D_CONTIGUOUS && layout != H5D_CHUNKED) || H5Pget_external_count(dcpl.id) != 0)
      throw Error(where + ": a virtual dataset or one stored in external files, which Keras does not write; refused");
    if (H5Pget_nfilters(dcpl.id) != 0)
      throw Error(where + ": a filtered (compressed) dataset; Keras writes its weights unfiltered, and the size of a "
                          "compressed one is not bounded by the file, so it is refused");
    const size_t element = H5Tget_size(type.id);
    if (element == 0 || element > 16) throw Error(where + ": an element size of " + std::to_string(element) + " bytes");
    if (count > 0 && H5Dget_storage_size(d.id) < count * element)
      throw Error(where + ": the file holds less data for it than its shape needs (truncated?)");
    if (!values) return out;
    std::string data(size_t(count) * sizeof(float), '\0');
    if (count > 0 && H5Dread(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
      throw Error(where + ": cannot read its values (corrupt?)");
    return data;
  }

  std::string answer(std::string_view request) {
    if (request.empty()) throw Error(name + ": an empty query");
    const char op = request[0];
    const std::string_view rest = request.substr(1);
    const size_t nul = rest.find('\0');
    const std::string path(rest.substr(0, nul));
    const std::string attribute(nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1));
    if (op == 'o') {
      open();
      return "";
    }
    if (f < 0) throw Error(name + ": not open");
    switch (op) {
      case 'e': return exists(path) ? "1" : "0";
      case 'a': return has_attribute(path, attribute) ? "1" : "0";
      case 's': return strings(path, attribute);
      case 'h': return dataset(path, false);
      case 'd': return dataset(path, true);
    }
    throw Error(name + ": an unknown query");
  }
};

// ---- In this process: the answers, checked again ----------------------------------------------

// Reads the little-endian integers and strings of an answer, never past its end.
struct AnswerReader {
  const std::string& s;
  const std::string& where;
  size_t at = 0;
  uint64_t u(int bytes) {
    if (s.size() - at < size_t(bytes)) throw Error(where + ": a malformed answer from the reader");
    uint64_t v = 0;
    for (int k = 0; k < bytes; ++k) v |= uint64_t(uint8_t(s[at + k])) << (8 * k);
    at += size_t(bytes);
    return v;
  }
  std::string str(uint64_t n) {
    if (s.size() - at < n) throw Error(where + ": a malformed answer from the reader");
    at += n;
    return s.substr(at - n, n);
  }
};

std::vector<std::string> decode_strings(const std::string& answer, const std::string& where) {
  AnswerReader r{answer, where};
  const uint64_t n = r.u(4);
  if (n > uint64_t(kAttributeStrings)) throw Error(where + ": more than 65,536 strings");
  std::vector<std::string> out;
  for (uint64_t k = 0; k < n; ++k) out.push_back(r.str(r.u(4)));
  return out;
}

}  // namespace

void hdf5_set_deadline(double seconds) { deadline_seconds = seconds; }

Hdf5File::Hdf5File(std::unique_ptr<Sandbox> child, std::string name) : child_(std::move(child)), name_(std::move(name)) {}
Hdf5File::Hdf5File(Hdf5File&&) noexcept = default;
Hdf5File& Hdf5File::operator=(Hdf5File&&) noexcept = default;
Hdf5File::~Hdf5File() = default;

Hdf5File Hdf5File::open(const std::string& path) {
  // the child starts as a copy of this process: `path`, which the reader refers to, is there as here
  auto child = std::make_unique<Sandbox>(path + ": libhdf5", [reader = Reader{path, nullptr}](
                                                                  std::string_view request) mutable {
    return reader.answer(request);
  });
  Hdf5File file(std::move(child), path);
  file.ask('o', "", "", 0);
  return file;
}

Hdf5File Hdf5File::from_bytes(const std::string& bytes, const std::string& name) {
  auto child = std::make_unique<Sandbox>(name + ": libhdf5", [reader = Reader{name, &bytes}](
                                                                  std::string_view request) mutable {
    return reader.answer(request);
  });
  Hdf5File file(std::move(child), name);
  file.ask('o', "", "", 0);
  return file;
}

std::string Hdf5File::ask(char op, const std::string& path, const std::string& attribute, uint64_t max_bytes) const {
  std::string request(1, op);
  request += path;
  if (!attribute.empty()) request += '\0' + attribute;
  return child_->call(request, deadline_seconds, max_bytes);
}

bool Hdf5File::exists(const std::string& path) const { return ask('e', path, "", 1) == "1"; }

bool Hdf5File::has_attribute(const std::string& path, const std::string& attribute) const {
  return ask('a', path, attribute, 1) == "1";
}

std::string Hdf5File::string_attribute(const std::string& path, const std::string& attribute) const {
  const std::string where = name_ + ": attribute '" + attribute + "' of " + path;
  if (!has_attribute(path, attribute)) return "";
  const std::vector<std::string> s = decode_strings(ask('s', path, attribute, kAttributeBytes + 4), where);
  if (s.size() != 1) throw Error(where + ": " + std::to_string(s.size()) + " strings where one was expected");
  return s[0];
}

std::vector<std::string> Hdf5File::string_list_attribute(const std::string& path, const std::string& attribute) const {
  std::vector<std::string> names = {attribute};
  if (!has_attribute(path, attribute)) {  // split into attribute0, attribute1, ...
    names.clear();
    for (int k = 0; has_attribute(path, attribute + std::to_string(k)); ++k) names.push_back(attribute + std::to_string(k));
    if (names.empty())
      throw Error(name_ + ": " + path + " has no attribute '" + attribute + "' (not a Keras weights group?)");
  }
  std::vector<std::string> out;
  for (const std::string& a : names) {
    const std::string where = name_ + ": attribute '" + a + "' of " + path;
    for (std::string& s : decode_strings(ask('s', path, a, kAttributeBytes + 4), where)) {
      out.push_back(std::move(s));
      if (out.size() > size_t(kAttributeStrings) * 16) throw Error(where + ": too many strings");
    }
  }
  return out;
}

NamedTensor Hdf5File::dataset(const std::string& path) const {
  const std::string where = name_ + ": " + path;
  const std::string header = ask('h', path, "", 4 + 8 * kRank);
  AnswerReader r{header, where};
  const uint64_t rank = r.u(4);
  if (rank > uint64_t(kRank)) throw Error(where + ": rank " + std::to_string(rank) + " (at most 8 read)");
  NamedTensor t{path, {}, {}};
  uint64_t count = 1;
  for (uint64_t k = 0; k < rank; ++k) {
    const uint64_t d = r.u(8);
    if (d > uint64_t(limits::kParams)) throw Error(where + ": a dimension of " + std::to_string(d));
    count *= d;
    if (count > uint64_t(limits::kParams)) throw Error(where + ": more than 2^31 values");
    t.shape.push_back(int64_t(d));
  }
  t.data.resize(size_t(count));
  // a second per 10 MB on top of the deadline, for big weights on a slow disk
  const double seconds = deadline_seconds + double(count) * sizeof(float) / 1e7;
  std::string request = "d" + path;
  child_->call(request, seconds, [&](uint64_t bytes) {
    if (bytes != count * sizeof(float))
      throw Error(where + ": the reader sent " + std::to_string(bytes) + " bytes for " + std::to_string(count) + " values");
    return reinterpret_cast<char*>(t.data.data());
  });
  return t;
}

Hdf5Writer::Hdf5Writer() {
  quiet();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fapl_core(fapl.id, 1 << 16, 0) < 0) throw Error("cannot set up an HDF5 file in memory");
  id_ = H5Fcreate("lstm-memory-file.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id);
  if (id_ < 0) throw Error("cannot create an HDF5 file in memory");
}

Hdf5Writer::~Hdf5Writer() {
  if (id_ >= 0) H5Fclose(id_);
}

void Hdf5Writer::group(const std::string& path) {
  for (const std::string& sofar : prefixes(path)) {
    if (H5Lexists(id_, sofar.c_str(), H5P_DEFAULT) > 0) continue;
    Handle g(H5Gcreate2(id_, sofar.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!g.ok()) throw Error("cannot create the HDF5 group " + sofar);
  }
}

void Hdf5Writer::dataset(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& data) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) group(path.substr(0, slash));
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle d(H5Dcreate2(id_, path.c_str(), H5T_IEEE_F32LE, space.id, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!space.ok() || !d.ok() || (!data.empty() && H5Dwrite(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0))
    throw Error("cannot write the HDF5 dataset " + path);
}

std::string Hdf5Writer::bytes() {
  if (H5Fflush(id_, H5F_SCOPE_GLOBAL) < 0) throw Error("cannot flush the HDF5 file in memory");
  const ssize_t n = H5Fget_file_image(id_, nullptr, 0);
  if (n < 0) throw Error("cannot read the HDF5 file back from memory");
  std::string out(size_t(n), '\0');
  if (H5Fget_file_image(id_, out.data(), out.size()) != n) throw Error("cannot read the HDF5 file back from memory");
  return out;
}

}  // namespace lstm
