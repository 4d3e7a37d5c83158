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
    : shape_(std::move(shape)), data_(static_cast<size_t>(element_count(shape_)), fill),
      ptr_(data_.data()), size_(int64_t(data_.size())) {}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<float> data)
    : shape_(std::move(shape)), data_(std::move(data)), ptr_(data_.data()),
      size_(int64_t(data_.size())) {
  if (element_count(shape_) != size())
    throw Error("tensor shape " + lstm::shape_string(shape_) + " needs " +
                std::to_string(element_count(shape_)) + " values but " + std::to_string(size()) +
                " were given");
}

Tensor Tensor::view(std::vector<int64_t> shape, float* data, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.keep_ = std::move(keep_alive);
  t.size_ = element_count(shape);
  if (data == nullptr && t.size_ > 0)
    throw Error("Tensor::view of shape " + lstm::shape_string(shape) + " got no data");
  t.shape_ = std::move(shape);
  t.ptr_ = t.size_ > 0 ? data : nullptr;
  return t;
}

Tensor::Tensor(const Tensor& other)
    : shape_(other.shape_), data_(other.ptr_, other.ptr_ + other.size_), ptr_(data_.data()),
      size_(other.size_) {}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) *this = Tensor(other);
  return *this;
}

// A moved vector keeps its buffer, so ptr_ stays valid for owned data as for views.
Tensor::Tensor(Tensor&& other) noexcept
    : shape_(std::move(other.shape_)),
      data_(std::move(other.data_)),
      ptr_(other.ptr_),
      size_(other.size_),
      keep_(std::move(other.keep_)) {
  other.shape_.clear(), other.data_.clear();
  other.ptr_ = nullptr, other.size_ = 0;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    shape_ = std::move(other.shape_), data_ = std::move(other.data_);
    ptr_ = other.ptr_, size_ = other.size_;
    keep_ = std::move(other.keep_);
    other.shape_.clear(), other.data_.clear();
    other.ptr_ = nullptr, other.size_ = 0;
  }
  return *this;
}

std::vector<float>& Tensor::storage() {
  if (is_view())
    throw Error("Tensor::storage: this tensor is a view of memory it does not own; copy it "
                "(Tensor copy = view;) to get storage");
  return data_;
}
const std::vector<float>& Tensor::storage() const { return const_cast<Tensor&>(*this).storage(); }

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

float& Tensor::at(std::initializer_list<int64_t> index) { return ptr_[offset(index)]; }
float Tensor::at(std::initializer_list<int64_t> index) const { return ptr_[offset(index)]; }

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
  if (is_view()) return view(std::move(shape), ptr_, keep_);
  return Tensor(std::move(shape), data_);
}

std::string Tensor::shape_string() const { return lstm::shape_string(shape_); }

}  // namespace lstm
