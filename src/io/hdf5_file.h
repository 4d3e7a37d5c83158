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

class Sandbox;

// How long libhdf5 may take to answer one query (default 30 s, plus a second per 10 MB a dataset
// holds) before its child process is killed and the file called unreadable; the fuzz target
// sets a shorter one.
void hdf5_set_deadline(double seconds);

// Reading is done by libhdf5 in a child process (io/sandbox.h) that this object queries: Debian
// 12's libhdf5 1.10.8 can read past its own buffers, and loop without end, on a corrupt file
// (docs/robustness.md), and a crash or a loop there becomes an lstm::Error here ("libhdf5 crashed
// (signal 11, ...) reading it") with this process untouched. Every size the child reports is
// checked again here before anything is allocated.
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
  Hdf5File(std::unique_ptr<Sandbox> child, std::string name);
  // The child's answer to query `op` about `path` (and `attribute`), at most `max_bytes`.
  std::string ask(char op, const std::string& path, const std::string& attribute, uint64_t max_bytes) const;
  std::unique_ptr<Sandbox> child_;
  std::string name_;
};

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
