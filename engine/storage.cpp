#include "engine/storage.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "base/error.h"
#include "engine/cuda/runtime.h"

namespace sc::engine {

const char* to_string(Device device) { return device == Device::kCuda ? "cuda" : "cpu"; }

namespace {

class CpuAllocator final : public Allocator {
 public:
  Device device() const override { return Device::kCpu; }
  void* allocate(std::size_t bytes) override {
    constexpr std::size_t kAlign = 64;
    // aligned_alloc wants a multiple of the alignment; zero-byte tensors still
    // get a distinct pointer so data() is never null.
    std::size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    if (rounded == 0) rounded = kAlign;
    void* p = std::aligned_alloc(kAlign, rounded);
    if (!p) throw Error("out of host memory: could not allocate {} bytes for a tensor", bytes);
    return p;
  }
  void deallocate(void* ptr, std::size_t) noexcept override { std::free(ptr); }
};

std::array<std::atomic<Allocator*>, 2>& registry() {
  static CpuAllocator cpu;
  static std::array<std::atomic<Allocator*>, 2> table{&cpu, nullptr};
  return table;
}

}  // namespace

Allocator& cpu_allocator() { return *registry()[0].load(); }

Allocator& allocator_for(Device device) {
  Allocator* a = registry()[static_cast<std::size_t>(device)].load();
  // CUDA's caching allocator unless a test registered another; in a build
  // without CUDA asking for it throws a clear error.
  if (!a) return cuda::caching_allocator();
  return *a;
}

void set_allocator(Device device, Allocator* allocator) {
  if (device == Device::kCpu && allocator == nullptr) throw Error("the CPU allocator cannot be removed");
  registry()[static_cast<std::size_t>(device)].store(allocator);
}

Storage::Storage(Allocator& allocator, std::size_t bytes)
    : data_(allocator.allocate(bytes)), bytes_(bytes), device_(allocator.device()), allocator_(&allocator) {}

Storage::Storage(void* data, std::size_t bytes, Device device, std::shared_ptr<const void> owner)
    : data_(data), bytes_(bytes), device_(device), owner_(std::move(owner)) {}

Storage::~Storage() {
  if (allocator_) allocator_->deallocate(data_, bytes_);
}

}  // namespace sc::engine
