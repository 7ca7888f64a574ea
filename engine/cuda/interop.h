#pragma once
// CUDA's half of the zero-copy path to the viewport. The Vulkan side
// (render/external.h) allocates exportable device memory and a timeline
// semaphore and hands over POSIX fds; here CUDA imports them, so the engine
// writes a frame straight into the viewport's buffer on its stream and signals
// the semaphore, and the viewport waits on it and copies the buffer into its
// texture on the GPU. No frame crosses the host; engine/ never sees Vulkan and
// render/ never sees CUDA: only fds and sizes pass between them (app/ wires
// the two). Both classes throw sc::Error when CUDA is not usable or the import
// fails (e.g. the fds come from another GPU).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/tensor.h"

namespace sc::engine::cuda {

class ExternalBuffer {
 public:
  // Takes ownership of fd (CUDA closes it on a successful import; on failure
  // it is closed here). allocation_size: the exporter's whole allocation;
  // size: the bytes used from offset 0.
  ExternalBuffer(int fd, std::size_t allocation_size, std::size_t size);
  ~ExternalBuffer();
  ExternalBuffer(const ExternalBuffer&) = delete;
  ExternalBuffer& operator=(const ExternalBuffer&) = delete;

  void* data() const { return data_; }
  std::size_t size() const { return size_; }
  // A CUDA tensor over the buffer (no copy); it keeps the import alive.
  static Tensor view(const std::shared_ptr<ExternalBuffer>& buffer, const Shape& shape, DType dtype);

 private:
  void* memory_ = nullptr;  // cudaExternalMemory_t
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// A Vulkan timeline semaphore seen from CUDA. signal / wait are queued on the
// engine's stream: signal(v) happens after every kernel queued before it;
// wait(v) holds back every kernel queued after it until the value is reached.
class ExternalTimeline {
 public:
  explicit ExternalTimeline(int fd);  // takes ownership of fd
  ~ExternalTimeline();
  ExternalTimeline(const ExternalTimeline&) = delete;
  ExternalTimeline& operator=(const ExternalTimeline&) = delete;

  void signal(std::uint64_t value);
  void wait(std::uint64_t value);

 private:
  void* semaphore_ = nullptr;  // cudaExternalSemaphore_t
};

}  // namespace sc::engine::cuda
