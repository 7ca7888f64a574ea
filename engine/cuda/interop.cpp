// engine/cuda/interop.h: cudaImportExternalMemory / cudaImportExternalSemaphore
// over the fds the Vulkan viewport exports.
#include "engine/cuda/interop.h"

#include <unistd.h>

#include "base/error.h"
#include "engine/cuda/check.h"
#include "engine/cuda/runtime.h"

namespace sc::engine::cuda {

ExternalBuffer::ExternalBuffer(int fd, std::size_t allocation_size, std::size_t size) : size_(size) {
  if (!available()) {
    if (fd >= 0) ::close(fd);
    require_available("importing a Vulkan buffer into CUDA");
  }
  if (fd < 0 || size > allocation_size) {
    if (fd >= 0) ::close(fd);
    throw Error("importing a Vulkan buffer into CUDA: bad fd {} or size {} above the allocation's {} bytes", fd, size,
                allocation_size);
  }
  cudaExternalMemoryHandleDesc desc{};
  desc.type = cudaExternalMemoryHandleTypeOpaqueFd;
  desc.handle.fd = fd;
  desc.size = allocation_size;
  cudaExternalMemory_t mem = nullptr;
  const cudaError_t err = cudaImportExternalMemory(&mem, &desc);
  if (err != cudaSuccess) {
    ::close(fd);  // CUDA took ownership only on success
    cudaGetLastError();
    throw Error("importing a Vulkan buffer ({} bytes) into CUDA failed: {} (is the viewport on the same GPU?)",
                allocation_size, cudaGetErrorString(err));
  }
  memory_ = mem;
  cudaExternalMemoryBufferDesc buf{};
  buf.offset = 0;
  buf.size = size;
  if (cudaExternalMemoryGetMappedBuffer(&data_, mem, &buf) != cudaSuccess) {
    cudaGetLastError();
    cudaDestroyExternalMemory(mem);
    throw Error("mapping an imported Vulkan buffer of {} bytes in CUDA failed", size);
  }
}

ExternalBuffer::~ExternalBuffer() {
  if (data_) {
    cudaStreamSynchronize(engine_stream());
    cudaFree(data_);
  }
  if (memory_) cudaDestroyExternalMemory(static_cast<cudaExternalMemory_t>(memory_));
}

Tensor ExternalBuffer::view(const std::shared_ptr<ExternalBuffer>& buffer, const Shape& shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
  if (bytes > buffer->size()) {
    throw Error("a {} {} view needs {} bytes; the imported buffer has {}", to_string(dtype), shape.to_string(), bytes,
                buffer->size());
  }
  auto storage = std::make_shared<Storage>(buffer->data(), buffer->size(), Device::kCuda, buffer);
  return Tensor::wrap(storage, 0, shape, dtype);
}

ExternalTimeline::ExternalTimeline(int fd) {
  if (!available()) {
    if (fd >= 0) ::close(fd);
    require_available("importing a Vulkan semaphore into CUDA");
  }
  cudaExternalSemaphoreHandleDesc desc{};
  desc.type = cudaExternalSemaphoreHandleTypeTimelineSemaphoreFd;
  desc.handle.fd = fd;
  cudaExternalSemaphore_t sem = nullptr;
  const cudaError_t err = cudaImportExternalSemaphore(&sem, &desc);
  if (err != cudaSuccess) {
    if (fd >= 0) ::close(fd);
    cudaGetLastError();
    throw Error("importing a Vulkan timeline semaphore into CUDA failed: {}", cudaGetErrorString(err));
  }
  semaphore_ = sem;
}

ExternalTimeline::~ExternalTimeline() {
  if (semaphore_) cudaDestroyExternalSemaphore(static_cast<cudaExternalSemaphore_t>(semaphore_));
}

void ExternalTimeline::signal(std::uint64_t value) {
  cudaExternalSemaphoreSignalParams p{};
  p.params.fence.value = value;
  auto sem = static_cast<cudaExternalSemaphore_t>(semaphore_);
  SC_CUDA_CHECK(cudaSignalExternalSemaphoresAsync(&sem, &p, 1, engine_stream()));
}

void ExternalTimeline::wait(std::uint64_t value) {
  cudaExternalSemaphoreWaitParams p{};
  p.params.fence.value = value;
  auto sem = static_cast<cudaExternalSemaphore_t>(semaphore_);
  SC_CUDA_CHECK(cudaWaitExternalSemaphoresAsync(&sem, &p, 1, engine_stream()));
}

}  // namespace sc::engine::cuda
