// engine/cuda/runtime.h in a build without nvcc: nothing is available and
// everything that would need a GPU says so.
#if defined(__clang__)
// The classes' handles (events, imports) are never set in this build.
#pragma clang diagnostic ignored "-Wunused-private-field"
#endif
#include "base/error.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/interop.h"
#include "engine/cuda/runtime.h"

#include <unistd.h>

namespace sc::engine::cuda {

namespace {
constexpr const char* kReason = "this build of StreamCanvas has no CUDA backend (built without nvcc)";

class NoCudaAllocator final : public Allocator {
 public:
  Device device() const override { return Device::kCuda; }
  void* allocate(std::size_t) override { throw Error("CUDA allocation: {}", kReason); }
  void deallocate(void*, std::size_t) noexcept override {}
};
}  // namespace

bool compiled() { return false; }
void force_conv_impl(ConvImpl) {}
void set_cudnn_enabled(bool) {}
bool cudnn_enabled() { return false; }
bool available() { return false; }
std::string unavailable_reason() { return kReason; }
void require_available(const char* what) { throw Error("{}: {}", what, kReason); }
void* stream() { throw Error("CUDA stream: {}", kReason); }
void synchronize() {}
void copy_host_to_device(void*, const void*, std::size_t) { require_available("copy to the GPU"); }
void copy_device_to_host(void*, const void*, std::size_t) { require_available("copy from the GPU"); }
void copy_device_to_device(void*, const void*, std::size_t) { require_available("copy on the GPU"); }
void fill_zero(void*, std::size_t) { require_available("fill on the GPU"); }
MemoryStats memory_stats() { return {}; }
void release_cached_memory() {}
Allocator& caching_allocator() {
  static NoCudaAllocator a;
  return a;
}
bool capturing() { return false; }

void set_op_profiling(bool) {}
bool op_profiling() { return false; }
std::vector<OpTime> op_profile() { return {}; }
void reset_op_profile() {}
OpTimer::OpTimer(const char* op) : op_(op) {}
OpTimer::~OpTimer() = default;

struct Graph::Impl {};
Graph::Graph() = default;
Graph::~Graph() = default;
void Graph::capture(const std::function<void()>&) { require_available("CUDA graph capture"); }
void Graph::replay() { require_available("CUDA graph replay"); }
bool Graph::captured() const { return false; }
std::size_t Graph::nodes() const { return 0; }

Timer::Timer() { require_available("CUDA timer"); }
Timer::~Timer() = default;
void Timer::start() {}
void Timer::stop() {}
float Timer::milliseconds() { return 0.0f; }

ExternalBuffer::ExternalBuffer(int fd, std::size_t, std::size_t) {
  if (fd >= 0) ::close(fd);
  require_available("importing a Vulkan buffer into CUDA");
}
ExternalBuffer::~ExternalBuffer() = default;
Tensor ExternalBuffer::view(const std::shared_ptr<ExternalBuffer>&, const Shape&, DType) {
  require_available("a view of an imported buffer");
  return Tensor();
}
ExternalTimeline::ExternalTimeline(int fd) {
  if (fd >= 0) ::close(fd);
  require_available("importing a Vulkan semaphore into CUDA");
}
ExternalTimeline::~ExternalTimeline() = default;
void ExternalTimeline::signal(std::uint64_t) {}
void ExternalTimeline::wait(std::uint64_t) {}

}  // namespace sc::engine::cuda
