#pragma once
// Tensor: dtype + shape (up to 6 dims) + device, over shared storage with a
// byte offset. Tensors are always contiguous (row-major); reshape and
// leading-dimension slices are views that share storage, anything that would
// need strides (permute, inner slices) is an op in engine/ops.h that copies.
// Keeping one layout means every backend kernel can assume it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/storage.h"

namespace sc::engine {

enum class DType : std::uint8_t { kF32, kF16, kBF16, kI32, kI64, kU8 };

std::size_t dtype_size(DType dtype);
const char* to_string(DType dtype);  // "f32", "f16", ...
bool is_floating(DType dtype);

// The C++ type a dtype is read as. f16 and bf16 are raw 16-bit patterns.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<std::uint8_t>() {
  return DType::kU8;
}

inline constexpr int kMaxDims = 8;  // LivePortrait's warp network makes rank-7 tensors

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::span<const std::int64_t> dims);

  int rank() const { return rank_; }
  std::int64_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
  std::int64_t& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
  // Negative indices count from the back, like Python. Throws on out of range.
  std::int64_t dim(int i) const;
  int normalize_axis(int axis) const;
  std::int64_t numel() const;
  std::vector<std::int64_t> to_vector() const;
  std::string to_string() const;  // "[2, 3, 4]"
  void push_back(std::int64_t d);

  bool operator==(const Shape& other) const;

 private:
  std::array<std::int64_t, kMaxDims> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: used for optional arguments (e.g. no bias)

  static Tensor empty(const Shape& shape, DType dtype = DType::kF32, Device device = Device::kCpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::kF32, Device device = Device::kCpu);
  static Tensor full(const Shape& shape, float value);
  // Copies host values into a new CPU tensor; values.size() must equal numel.
  static Tensor from_vector(const Shape& shape, std::span<const float> values);
  static Tensor from_vector_i64(const Shape& shape, std::span<const std::int64_t> values);
  static Tensor from_vector_i32(const Shape& shape, std::span<const std::int32_t> values);
  // A tensor over existing storage (e.g. a memory-mapped file); the storage
  // must hold offset + numel * dtype_size bytes.
  static Tensor wrap(std::shared_ptr<Storage> storage, std::size_t offset_bytes, const Shape& shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::kCpu; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  std::int64_t dim(int i) const { return shape_.dim(i); }
  std::int64_t numel() const { return shape_.numel(); }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  std::string describe() const;  // "f32[2, 3] on cpu"

  // Typed host access; throws when T does not match the dtype or the tensor is
  // not on the CPU.
  template <typename T>
  T* data() {
    check_access(dtype_of<T>());
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    check_access(dtype_of<T>());
    return static_cast<const T*>(raw_data());
  }
  void* raw_data();
  const void* raw_data() const;

  template <typename T>
  std::vector<T> to_vector() const {
    const T* p = data<T>();
    return std::vector<T>(p, p + numel());
  }
  float item() const;  // the value of a one-element f32 tensor

  // Views (share storage). The dims forms accept one -1 (inferred).
  Tensor reshape(const Shape& shape) const;
  Tensor reshape(std::initializer_list<std::int64_t> dims) const;
  Tensor reshape(std::span<const std::int64_t> dims) const;
  // [start, end) along dim; a view, so only where the result is contiguous
  // (every dimension before dim has extent 1). ops::slice copies in general.
  Tensor slice(int dim, std::int64_t start, std::int64_t end) const;
  // Element i of the leading dimension, with that dimension removed.
  Tensor select(std::int64_t index) const;

  Tensor clone() const;
  // A copy on another device (this tensor itself when already there). To the
  // host waits for the GPU; without a usable GPU, asking for CUDA throws a
  // clear error.
  Tensor to(Device device) const;
  bool shares_storage_with(const Tensor& other) const { return storage_ && storage_ == other.storage_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  std::size_t offset_bytes() const { return offset_bytes_; }

 private:
  void check_access(DType want) const;

  std::shared_ptr<Storage> storage_;
  std::size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::kF32;
};

}  // namespace sc::engine
