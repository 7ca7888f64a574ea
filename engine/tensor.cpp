#include "engine/tensor.h"

#include <cstring>

#include <fmt/format.h>

#include "base/error.h"
#include "engine/cuda/runtime.h"

namespace sc::engine {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
  }
  return 0;
}

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
    case DType::kU8:
      return "u8";
  }
  return "?";
}

bool is_floating(DType dtype) { return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16; }

Shape::Shape(std::initializer_list<std::int64_t> dims)
    : Shape(std::span<const std::int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const std::int64_t> dims) {
  if (dims.size() > static_cast<std::size_t>(kMaxDims)) {
    throw Error("a tensor has at most {} dimensions; got {}", kMaxDims, dims.size());
  }
  for (std::int64_t d : dims) {
    if (d < 0) throw Error("tensor dimensions must be >= 0; got {}", fmt::join(dims, ", "));
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
}

std::int64_t Shape::dim(int i) const { return dims_[static_cast<std::size_t>(normalize_axis(i))]; }

int Shape::normalize_axis(int axis) const {
  const int a = axis < 0 ? axis + rank_ : axis;
  if (a < 0 || a >= rank_) throw Error("axis {} is out of range for a tensor of shape {}", axis, to_string());
  return a;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<std::size_t>(i)] == 0) return 0;
  // Shapes come from files too: a product past int64 is an error, not a wrap.
  for (int i = 0; i < rank_; ++i) {
    if (__builtin_mul_overflow(n, dims_[static_cast<std::size_t>(i)], &n)) {
      throw Error("a tensor of shape {} has more elements than 64 bits count", to_string());
    }
  }
  return n;
}

std::vector<std::int64_t> Shape::to_vector() const {
  return std::vector<std::int64_t>(dims_.begin(), dims_.begin() + rank_);
}

std::string Shape::to_string() const { return fmt::format("[{}]", fmt::join(to_vector(), ", ")); }

void Shape::push_back(std::int64_t d) {
  if (rank_ == kMaxDims) throw Error("a tensor has at most {} dimensions", kMaxDims);
  if (d < 0) throw Error("tensor dimensions must be >= 0; got {}", d);
  dims_[static_cast<std::size_t>(rank_++)] = d;
}

bool Shape::operator==(const Shape& other) const {
  if (rank_ != other.rank_) return false;
  for (int i = 0; i < rank_; ++i) {
    if (dims_[static_cast<std::size_t>(i)] != other.dims_[static_cast<std::size_t>(i)]) return false;
  }
  return true;
}

namespace {

// Shapes come from files too, so the byte count must not silently wrap.
std::size_t checked_bytes(const Shape& shape, DType dtype) {
  std::size_t n = dtype_size(dtype);
  for (int i = 0; i < shape.rank(); ++i) {
    if (__builtin_mul_overflow(n, static_cast<std::size_t>(shape[i]), &n)) {
      throw Error("tensor of shape {} ({}) is too large to address", shape.to_string(), to_string(dtype));
    }
  }
  return n;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.storage_ = std::make_shared<Storage>(allocator_for(device), checked_bytes(shape, dtype));
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device == Device::kCuda) {
    cuda::fill_zero(t.raw_data(), t.nbytes());
  } else {
    std::memset(t.raw_data(), 0, t.nbytes());
  }
  return t;
}

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return t;
}

namespace {

template <typename T>
Tensor from_values(const Shape& shape, std::span<const T> values) {
  if (static_cast<std::int64_t>(values.size()) != shape.numel()) {
    throw Error("{} values do not fill a tensor of shape {} ({} elements)", values.size(), shape.to_string(),
                shape.numel());
  }
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size_bytes());
  return t;
}

}  // namespace

Tensor Tensor::from_vector(const Shape& shape, std::span<const float> values) { return from_values(shape, values); }
Tensor Tensor::from_vector_i64(const Shape& shape, std::span<const std::int64_t> values) {
  return from_values(shape, values);
}
Tensor Tensor::from_vector_i32(const Shape& shape, std::span<const std::int32_t> values) {
  return from_values(shape, values);
}

Tensor Tensor::wrap(std::shared_ptr<Storage> storage, std::size_t offset_bytes, const Shape& shape, DType dtype) {
  if (!storage) throw Error("Tensor::wrap needs storage");
  const std::size_t bytes = checked_bytes(shape, dtype);
  if (offset_bytes > storage->bytes() || bytes > storage->bytes() - offset_bytes) {
    throw Error("a tensor of shape {} ({}) at byte {} does not fit in storage of {} bytes", shape.to_string(),
                to_string(dtype), offset_bytes, storage->bytes());
  }
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_bytes_ = offset_bytes;
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return fmt::format("{}{} on {}", to_string(dtype_), shape_.to_string(), to_string(device()));
}

void* Tensor::raw_data() {
  if (!storage_) throw Error("access to an undefined tensor");
  return static_cast<std::byte*>(storage_->data()) + offset_bytes_;
}

const void* Tensor::raw_data() const {
  if (!storage_) throw Error("access to an undefined tensor");
  return static_cast<const std::byte*>(storage_->data()) + offset_bytes_;
}

void Tensor::check_access(DType want) const {
  if (!storage_) throw Error("access to an undefined tensor");
  if (dtype_ != want) throw Error("tensor {} read as {}", describe(), to_string(want));
  if (device() != Device::kCpu)
    throw Error("tensor {} is not in host memory; copy it with to(Device::kCpu)", describe());
}

float Tensor::item() const {
  if (numel() != 1) throw Error("item() needs a one-element tensor; got {}", describe());
  if (device() != Device::kCpu) return to(Device::kCpu).item();
  return data<float>()[0];
}

Tensor Tensor::reshape(const Shape& shape) const {
  if (!defined()) throw Error("reshape of an undefined tensor");
  if (shape.numel() != numel()) {
    throw Error("cannot reshape {} to {}: {} elements vs {}", describe(), shape.to_string(), numel(), shape.numel());
  }
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::reshape(std::initializer_list<std::int64_t> dims) const {
  return reshape(std::span<const std::int64_t>(dims.begin(), dims.size()));
}

Tensor Tensor::reshape(std::span<const std::int64_t> dims) const {
  std::vector<std::int64_t> out(dims.begin(), dims.end());
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else if (out[i] < 0) {
      throw Error("reshape of {} to [{}]: only one -1 and no other negative size", describe(), fmt::join(dims, ", "));
    } else {
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) {
      throw Error("cannot reshape {} to [{}]: the -1 cannot be inferred", describe(), fmt::join(dims, ", "));
    }
    out[static_cast<std::size_t>(infer)] = numel() / known;
  }
  return reshape(Shape(out));
}

Tensor Tensor::slice(int dim, std::int64_t start, std::int64_t end) const {
  const int d = shape_.normalize_axis(dim);
  for (int i = 0; i < d; ++i) {
    if (shape_[i] != 1) {
      throw Error("Tensor::slice along dim {} of {} would not be contiguous; use ops slice() to copy", dim, describe());
    }
  }
  if (start < 0 || end < start || end > shape_[d]) {
    throw Error("slice [{}, {}) is out of range for dim {} of {}", start, end, dim, describe());
  }
  std::int64_t inner = 1;
  for (int i = d + 1; i < rank(); ++i) inner *= shape_[i];
  Tensor t = *this;
  t.offset_bytes_ += static_cast<std::size_t>(start * inner) * dtype_size(dtype_);
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::select(std::int64_t index) const {
  if (rank() == 0) throw Error("select on a scalar tensor");
  if (index < 0 || index >= shape_[0]) throw Error("index {} is out of range for {}", index, describe());
  Tensor t = *this;
  std::int64_t inner = numel() / (shape_[0] == 0 ? 1 : shape_[0]);
  t.offset_bytes_ += static_cast<std::size_t>(index * inner) * dtype_size(dtype_);
  std::vector<std::int64_t> dims = shape_.to_vector();
  dims.erase(dims.begin());
  t.shape_ = Shape(dims);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  if (!nbytes()) return t;
  if (device() == Device::kCuda) {
    cuda::copy_device_to_device(t.raw_data(), raw_data(), nbytes());
  } else {
    std::memcpy(t.raw_data(), raw_data(), nbytes());
  }
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  if (!defined()) throw Error("cannot move an undefined tensor to {}", to_string(device));
  Tensor t = empty(shape_, dtype_, device);
  if (!nbytes()) return t;
  if (device == Device::kCuda) {
    cuda::copy_host_to_device(t.raw_data(), raw_data(), nbytes());
  } else {
    cuda::copy_device_to_host(t.raw_data(), raw_data(), nbytes());
  }
  return t;
}

}  // namespace sc::engine
