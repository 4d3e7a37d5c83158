// HDF5 files, read-only, through Debian's libhdf5: what Keras's weight files need (groups,
// string attributes, float datasets), every size checked against the file before it is read.
//
//   Hdf5File f = Hdf5File::open("model.h5");
//   std::string config = f.string_attribute("/", "model_config");
//   std::vector<std::string> names = f.string_list_attribute("/model_weights", "layer_names");
//   NamedTensor kernel = f.dataset("/model_weights/lstm/lstm/lstm_cell/kernel:0");
//
// Datasets are read as float32 (HDF5 converts float64 and float16); a dataset with filters
// (compression), or whose storage in the file is smaller than its extent needs, is refused,
// so a small file cannot ask for a large allocation; so are soft and external links, external
// and virtual datasets (which would read other files). Errors are lstm::Error naming the file and
// the path inside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace lstm {

// For the fuzz target only: refuse variable-length string attributes, which libhdf5 1.10.8 can
// read without end from a corrupt file (a known gap, docs/robustness.md). Off by default: h5py 3
// writes Keras 2's attributes so.
void hdf5_refuse_variable_strings(bool refuse);

class Hdf5File {
 public:
  static Hdf5File open(const std::string& path);
  // A file held in memory (an entry of a zip); `name` names it in messages.
  static Hdf5File from_bytes(const std::string& bytes, const std::string& name);
  Hdf5File(Hdf5File&&) noexcept;
  Hdf5File& operator=(Hdf5File&&) noexcept;
  ~Hdf5File();

  const std::string& name() const { return name_; }
  // Whether every component of `path` ("/a/b/c") exists.
  bool exists(const std::string& path) const;
  // The attribute of the object at `path`, a string (fixed or variable length; "" and false
  // when absent).
  bool has_attribute(const std::string& path, const std::string& attribute) const;
  std::string string_attribute(const std::string& path, const std::string& attribute) const;
  // A 1-D array of strings (Keras's layer_names, weight_names); Keras splits long ones into
  // <attribute>0, <attribute>1, ..., which are joined.
  std::vector<std::string> string_list_attribute(const std::string& path, const std::string& attribute) const;
  // The float dataset at `path`: its shape and values as float32, named `path`.
  NamedTensor dataset(const std::string& path) const;

 private:
  Hdf5File(int64_t id, std::string name);
  int64_t id_ = -1;
  std::string name_;
};

// An HDF5 file built in memory (for the .keras writer): groups, float32 datasets, then its bytes.
class Hdf5Writer {
 public:
  Hdf5Writer();
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;
  void group(const std::string& path);  // with every group above it
  void dataset(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& data);
  std::string bytes();  // the file as it stands

 private:
  int64_t id_ = -1;
};

}  // namespace lstm
