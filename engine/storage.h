#pragma once
// Device memory behind tensors. An Allocator per device hands out raw bytes;
// Storage owns one allocation (or borrows foreign memory such as a file
// mapping, kept alive by an owner handle). The CUDA backend plugs its caching
// allocator in with set_allocator(Device::kCuda, ...); nothing above this
// layer names a device's memory API.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sc::engine {

enum class Device : std::uint8_t { kCpu, kCuda };
const char* to_string(Device device);

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual Device device() const = 0;
  // Never returns null: throws sc::Error when the memory is not there.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr, std::size_t bytes) noexcept = 0;
};

// 64-byte aligned host memory (a cache line, and enough for any SIMD width).
Allocator& cpu_allocator();

// The allocator used for new tensors on a device. Throws sc::Error for a device
// whose backend is not registered (CUDA until its backend lands).
Allocator& allocator_for(Device device);
// Registers (or with nullptr removes) the allocator of a device. The allocator
// must outlive every tensor it allocated.
void set_allocator(Device device, Allocator* allocator);

class Storage {
 public:
  Storage(Allocator& allocator, std::size_t bytes);
  // Borrowed memory: owner keeps it valid (e.g. a shared file mapping).
  Storage(void* data, std::size_t bytes, Device device, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_ = Device::kCpu;
  Allocator* allocator_ = nullptr;  // null when borrowed
  std::shared_ptr<const void> owner_;
};

}  // namespace sc::engine
