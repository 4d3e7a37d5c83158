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
//
// A view (Tensor::view) wraps memory the caller owns instead, without copying it: how the
// Python module hands NumPy arrays to the library. The caller keeps that memory alive while the
// view is used - or hands the view an owner (`keep_alive`) that does, as lstm::map_npy does with
// its file mapping; writes through data() reach it; a copy of a view owns a copy of the data.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace lstm {

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape, float fill = 0.0f);
  // Takes ownership of `data`; throws lstm::Error if its size is not the product of `shape`.
  Tensor(std::vector<int64_t> shape, std::vector<float> data);
  // A view of the product(shape) floats at `data`, kept alive by the caller or by `keep_alive`,
  // which the view and its moves and reshapes hold.
  static Tensor view(std::vector<int64_t> shape, float* data, std::shared_ptr<void> keep_alive = nullptr);
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor() = default;

  const std::vector<int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const;  // negative axis counts from the end, like NumPy
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool is_view() const { return ptr_ != nullptr && data_.empty(); }

  float* data() { return ptr_; }
  const float* data() const { return ptr_; }
  float& operator[](int64_t i) { return ptr_[i]; }
  float operator[](int64_t i) const { return ptr_[i]; }
  float& at(std::initializer_list<int64_t> index);
  float at(std::initializer_list<int64_t> index) const;

  // Same data, new shape with the same element count; one axis may be -1 (inferred). A copy,
  // or for a view a view of the same memory.
  Tensor reshaped(std::vector<int64_t> shape) const;
  // "[32, 10, 4]"
  std::string shape_string() const;
  // The owned data; throws lstm::Error for a view, which owns none.
  std::vector<float>& storage();
  const std::vector<float>& storage() const;

 private:
  int64_t offset(std::initializer_list<int64_t> index) const;
  std::vector<int64_t> shape_;
  std::vector<float> data_;  // empty for a view
  float* ptr_ = nullptr;     // data_.data(), or the viewed memory
  int64_t size_ = 0;
  std::shared_ptr<void> keep_;  // what keeps a view's memory, when it is not the caller
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace lstm
