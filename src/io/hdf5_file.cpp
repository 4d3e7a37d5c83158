// HDF5 through libhdf5's C API, read-only (see hdf5_file.h).
#include "io/hdf5_file.h"

#include <hdf5.h>

#include <utility>

#include "core/limits.h"
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

bool refuse_variable_strings = false;

// The strings of an attribute (1 for a scalar), fixed or variable length.
std::vector<std::string> read_strings(hid_t attr, const std::string& where) {
  Handle type(H5Aget_type(attr), H5Tclose);
  Handle space(H5Aget_space(attr), H5Sclose);
  if (!type.ok() || !space.ok()) throw Error(where + ": unreadable");
  if (H5Tget_class(type.id) != H5T_STRING) throw Error(where + ": not a string");
  const int rank = H5Sget_simple_extent_ndims(space.id);
  if (rank < 0 || rank > 1) throw Error(where + ": not a string or a 1-D list of strings");
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n < 0 || n > kAttributeStrings) throw Error(where + ": more than 65,536 strings, or an unreadable count");
  std::vector<std::string> out;
  const htri_t variable = H5Tis_variable_str(type.id);
  if (variable < 0) throw Error(where + ": unreadable string type");
  // Variable-length strings (h5py 3 writes every str and bytes attribute so: Keras 2's
  // model_config) live in the file's global heap, and libhdf5 1.10.8 can spin without end on a
  // corrupt heap (found by fuzz_keras: over 10 minutes on one 19 KB file). A known gap
  // (docs/robustness.md); the fuzz target refuses them so that it explores the rest.
  if (variable > 0 && refuse_variable_strings)
    throw Error(where + ": a variable-length string, refused (hdf5_refuse_variable_strings)");
  if (variable > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.id, H5T_VARIABLE);
    H5Tset_cset(mem.id, H5Tget_cset(type.id));
    std::vector<char*> ptrs(size_t(n), nullptr);
    if (H5Aread(attr, mem.id, ptrs.data()) < 0) throw Error(where + ": cannot read it");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
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
    std::string s = buffer.substr(size_t(k) * size, size);
    s.resize(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));  // NUL-padded
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

void hdf5_refuse_variable_strings(bool refuse) { refuse_variable_strings = refuse; }

Hdf5File::Hdf5File(int64_t id, std::string name) : id_(id), name_(std::move(name)) {}
Hdf5File::Hdf5File(Hdf5File&& o) noexcept : id_(std::exchange(o.id_, -1)), name_(std::move(o.name_)) {}
Hdf5File& Hdf5File::operator=(Hdf5File&& o) noexcept {
  std::swap(id_, o.id_);
  std::swap(name_, o.name_);
  return *this;
}
Hdf5File::~Hdf5File() {
  if (id_ >= 0) H5Fclose(id_);
}

Hdf5File Hdf5File::open(const std::string& path) {
  quiet();
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) throw Error(path + ": cannot open it as an HDF5 file (missing, unreadable, truncated or not HDF5)");
  return Hdf5File(f, path);
}

Hdf5File Hdf5File::from_bytes(const std::string& bytes, const std::string& name) {
  quiet();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.ok() || H5Pset_fapl_core(fapl.id, 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl.id, const_cast<char*>(bytes.data()), bytes.size()) < 0)
    throw Error(name + ": cannot hand its bytes to HDF5");
  // the core driver reads the image, not a file of this name (one that exists would be opened)
  const std::string image = "lstm-memory-image:" + name;
  const hid_t f = H5Fopen(image.c_str(), H5F_ACC_RDONLY, fapl.id);
  if (f < 0) throw Error(name + ": not a readable HDF5 file (truncated or corrupt?)");
  return Hdf5File(f, name);
}

bool Hdf5File::exists(const std::string& path) const {
  for (const std::string& sofar : prefixes(path)) {
    if (H5Lexists(id_, sofar.c_str(), H5P_DEFAULT) <= 0) return false;
    // soft and external links (which open other files) are not followed
    H5L_info_t info;
    if (H5Lget_info(id_, sofar.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD)
      throw Error(name_ + ": " + sofar + " is a soft or external link, which Keras does not write; refused");
  }
  return true;
}

bool Hdf5File::has_attribute(const std::string& path, const std::string& attribute) const {
  if (!exists(path)) return false;
  return H5Aexists_by_name(id_, path.c_str(), attribute.c_str(), H5P_DEFAULT) > 0;
}

std::string Hdf5File::string_attribute(const std::string& path, const std::string& attribute) const {
  const std::string where = name_ + ": attribute '" + attribute + "' of " + path;
  if (!has_attribute(path, attribute)) return "";
  Handle attr(H5Aopen_by_name(id_, path.c_str(), attribute.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok()) throw Error(where + ": cannot open it");
  const std::vector<std::string> s = read_strings(attr.id, where);
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
    Handle attr(H5Aopen_by_name(id_, path.c_str(), a.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) throw Error(where + ": cannot open it");
    for (std::string& s : read_strings(attr.id, where)) out.push_back(std::move(s));
  }
  return out;
}

NamedTensor Hdf5File::dataset(const std::string& path) const {
  const std::string where = name_ + ": " + path;
  if (!exists(path)) throw Error(where + ": no such dataset");
  Handle d(H5Dopen2(id_, path.c_str(), H5P_DEFAULT), H5Dclose);
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
  NamedTensor t{path, {}, {}};
  uint64_t count = 1;
  for (int k = 0; k < rank; ++k) {
    if (dims[k] > uint64_t(limits::kParams)) throw Error(where + ": a dimension of " + std::to_string(dims[k]));
    count *= dims[k];
    if (count > uint64_t(limits::kParams)) throw Error(where + ": more than 2^31 values");
    t.shape.push_back(int64_t(dims[k]));
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
  t.data.resize(size_t(count));
  if (count > 0 && H5Dread(d.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0)
    throw Error(where + ": cannot read its values (corrupt?)");
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
