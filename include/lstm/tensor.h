// lstm/tensor.h - the one array type of the public API.
//
// A Tensor is a dense float32 array in C (row-major) order with a run-time shape. It owns its
// data (a std::vector), copies copy the data, moves are cheap. Data given to a model uses the
// Keras layout, batch first:
//
//   X  [N, T, F]   N sequences, T time steps, F features per step
//   y  [N, out]    one target per sequence   (last layer returns a vector)
//   y  [N, T, out] one target per time step  (last layer returns sequences)
//
//   lstm::Tensor X({100, 30, 1});            // zeros
//   X.at({5, 29, 0}) = 1.5f;                 // element access, bounds-checked
//   float* p = X.data();                     // raw C-order data, X.size() floats
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace lstm {

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape, float fill = 0.0f);
  // Takes ownership of `data`; throws lstm::Error if its size is not the product of `shape`.
  Tensor(std::vector<int64_t> shape, std::vector<float> data);

  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axis counts from the end, like NumPy
  int64_t size() const { return static_cast<int64_t>(data_.size()); }
  bool empty() const { return data_.empty(); }

  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  float operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }
  float& at(std::initializer_list<int64_t> index);
  float at(std::initializer_list<int64_t> index) const;

  // Same data, new shape with the same element count; one axis may be -1 (inferred).
  Tensor reshaped(std::vector<int64_t> shape) const;
  // "[32, 10, 4]"
  std::string shape_string() const;
  std::vector<float>& storage() { return data_; }
  const std::vector<float>& storage() const { return data_; }

 private:
  int64_t offset(std::initializer_list<int64_t> index) const;
  std::vector<int64_t> shape_;
  std::vector<float> data_;
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace lstm
