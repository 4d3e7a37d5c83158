// Tensor: a float32 array with a run-time shape (include/lstm/tensor.h).
#include "lstm/tensor.h"

#include <sstream>

#include "lstm/error.h"

namespace lstm {

static int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("tensor shape " + shape_string(shape) + " has a negative dimension");
    n *= d;
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

Tensor::Tensor(std::vector<int64_t> shape, float fill)
    : shape_(std::move(shape)), data_(static_cast<size_t>(element_count(shape_)), fill) {}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<float> data)
    : shape_(std::move(shape)), data_(std::move(data)) {
  if (element_count(shape_) != size())
    throw Error("tensor shape " + lstm::shape_string(shape_) + " needs " +
                std::to_string(element_count(shape_)) + " values but " + std::to_string(size()) +
                " were given");
}

int64_t Tensor::dim(int axis) const {
  int a = axis < 0 ? axis + rank() : axis;
  if (a < 0 || a >= rank())
    throw Error("axis " + std::to_string(axis) + " is out of range for a tensor of shape " +
                shape_string());
  return shape_[static_cast<size_t>(a)];
}

int64_t Tensor::offset(std::initializer_list<int64_t> index) const {
  if (static_cast<int>(index.size()) != rank())
    throw Error("index with " + std::to_string(index.size()) + " coordinates for a tensor of rank " +
                std::to_string(rank()));
  int64_t off = 0;
  size_t axis = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape_[axis])
      throw Error("index " + std::to_string(i) + " is out of range for axis " +
                  std::to_string(axis) + " of a tensor of shape " + shape_string());
    off = off * shape_[axis] + i;
    ++axis;
  }
  return off;
}

float& Tensor::at(std::initializer_list<int64_t> index) { return data_[size_t(offset(index))]; }
float Tensor::at(std::initializer_list<int64_t> index) const { return data_[size_t(offset(index))]; }

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error("reshape to " + lstm::shape_string(shape) + ": only one axis may be -1");
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0 && size() % known == 0) shape[size_t(infer)] = size() / known;
  if (element_count(shape) != size())
    throw Error("cannot reshape a tensor of shape " + shape_string() + " (" +
                std::to_string(size()) + " values) to " + lstm::shape_string(shape));
  return Tensor(std::move(shape), data_);
}

std::string Tensor::shape_string() const { return lstm::shape_string(shape_); }

}  // namespace lstm
