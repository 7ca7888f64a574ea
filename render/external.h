#pragma once
// Memory and semaphores shared with another API on the same GPU (CUDA) through
// POSIX file descriptors (VK_KHR_external_memory_fd, _semaphore_fd): the engine
// imports the buffer (cudaImportExternalMemory), writes a frame into it and
// signals the timeline semaphore; the viewport waits on the semaphore and
// copies the buffer into its texture on the GPU (FrameTexture::copy_from). No
// frame crosses the host. render/ only sees fds, never CUDA.
#include <vulkan/vulkan.h>

#include <cstdint>

namespace sc::render {

class VulkanContext;

class ExportableBuffer {
 public:
  // Throws sc::Error when the device cannot export memory.
  ExportableBuffer(VulkanContext& ctx, VkDeviceSize size);
  ~ExportableBuffer();
  ExportableBuffer(const ExportableBuffer&) = delete;
  ExportableBuffer& operator=(const ExportableBuffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  // The size of the underlying allocation (what an importer must be told).
  VkDeviceSize allocation_size() const { return allocation_size_; }
  // A new fd for the memory; the receiver owns it (CUDA closes it on import).
  int export_fd() const;

 private:
  VulkanContext& ctx_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0, allocation_size_ = 0;
};

// A buffer over memory someone else exported (tests import our own fds).
class ImportedBuffer {
 public:
  // Takes ownership of fd.
  ImportedBuffer(VulkanContext& ctx, int fd, VkDeviceSize size, VkDeviceSize allocation_size);
  ~ImportedBuffer();
  ImportedBuffer(const ImportedBuffer&) = delete;
  ImportedBuffer& operator=(const ImportedBuffer&) = delete;
  VkBuffer handle() const { return buffer_; }

 private:
  VulkanContext& ctx_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
};

// A timeline semaphore whose payload can be exported as an fd.
class ExportableSemaphore {
 public:
  explicit ExportableSemaphore(VulkanContext& ctx);
  ~ExportableSemaphore();
  ExportableSemaphore(const ExportableSemaphore&) = delete;
  ExportableSemaphore& operator=(const ExportableSemaphore&) = delete;

  VkSemaphore handle() const { return semaphore_; }
  int export_fd() const;
  std::uint64_t value() const;
  void signal(std::uint64_t value);  // from the host
  bool wait(std::uint64_t value, std::uint64_t timeout_ns) const;

 private:
  VulkanContext& ctx_;
  VkSemaphore semaphore_ = VK_NULL_HANDLE;
};

}  // namespace sc::render
