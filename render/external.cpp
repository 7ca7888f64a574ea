#include "render/external.h"

#include <unistd.h>

#include "base/error.h"
#include "render/context.h"
#include "render/render_pass.h"
#include "render/vk_util.h"

namespace sc::render {
namespace {

constexpr auto kFd = VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT;

VkBuffer create_shareable_buffer(VkDevice dev, VkDeviceSize size) {
  VkExternalMemoryBufferCreateInfo ext{VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO, nullptr, kFd};
  VkBufferCreateInfo bci{
      VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      &ext,
      0,
      size,
      VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_SHARING_MODE_EXCLUSIVE,
      0,
      nullptr};
  VkBuffer b;
  vk_check(vkCreateBuffer(dev, &bci, nullptr, &b), "vkCreateBuffer (shareable)");
  return b;
}

}  // namespace

ExportableBuffer::ExportableBuffer(VulkanContext& ctx, VkDeviceSize size) : ctx_(ctx), size_(size) {
  if (!ctx.external_memory_fd())
    throw Error("Vulkan device '{}' cannot share memory (no VK_KHR_external_memory_fd)", ctx.device_info().name);
  VkDevice dev = ctx.device();
  buffer_ = create_shareable_buffer(dev, size);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev, buffer_, &req);
  allocation_size_ = req.size;
  VkExportMemoryAllocateInfo export_info{VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, nullptr, kFd};
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &export_info, req.size,
                           ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)};
  VkResult r = vkAllocateMemory(dev, &mai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(dev, buffer_, nullptr);
    vk_check(r, "vkAllocateMemory (exportable)");
  }
  vk_check(vkBindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory (exportable)");
}

ExportableBuffer::~ExportableBuffer() {
  vkDestroyBuffer(ctx_.device(), buffer_, nullptr);
  vkFreeMemory(ctx_.device(), memory_, nullptr);
}

int ExportableBuffer::export_fd() const {
  auto get_fd = reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(ctx_.device(), "vkGetMemoryFdKHR"));
  if (!get_fd) throw Error("Vulkan: vkGetMemoryFdKHR is missing");
  VkMemoryGetFdInfoKHR info{VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, nullptr, memory_, kFd};
  int fd = -1;
  vk_check(get_fd(ctx_.device(), &info, &fd), "vkGetMemoryFdKHR");
  return fd;
}

ImportedBuffer::ImportedBuffer(VulkanContext& ctx, int fd, VkDeviceSize size, VkDeviceSize allocation_size)
    : ctx_(ctx) {
  VkDevice dev = ctx.device();
  buffer_ = create_shareable_buffer(dev, size);
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(dev, buffer_, &req);
  VkImportMemoryFdInfoKHR import{VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, nullptr, kFd, fd};
  VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &import, allocation_size,
                           ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)};
  VkResult r = vkAllocateMemory(dev, &mai, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    ::close(fd);  // on failure the fd stays ours
    vkDestroyBuffer(dev, buffer_, nullptr);
    vk_check(r, "vkAllocateMemory (import)");
  }
  vk_check(vkBindBufferMemory(dev, buffer_, memory_, 0), "vkBindBufferMemory (import)");
}

ImportedBuffer::~ImportedBuffer() {
  vkDestroyBuffer(ctx_.device(), buffer_, nullptr);
  vkFreeMemory(ctx_.device(), memory_, nullptr);
}

ExportableSemaphore::ExportableSemaphore(VulkanContext& ctx) : ctx_(ctx) {
  if (!ctx.external_semaphore_fd() || !ctx.timeline_semaphores())
    throw Error("Vulkan device '{}' cannot share timeline semaphores", ctx.device_info().name);
  VkSemaphoreTypeCreateInfo type{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, nullptr, VK_SEMAPHORE_TYPE_TIMELINE, 0};
  VkExportSemaphoreCreateInfo exp{VK_STRUCTURE_TYPE_EXPORT_SEMAPHORE_CREATE_INFO, &type,
                                  VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT};
  VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, &exp, 0};
  vk_check(vkCreateSemaphore(ctx.device(), &sci, nullptr, &semaphore_), "vkCreateSemaphore (exportable timeline)");
}

ExportableSemaphore::~ExportableSemaphore() { vkDestroySemaphore(ctx_.device(), semaphore_, nullptr); }

int ExportableSemaphore::export_fd() const {
  auto get_fd = reinterpret_cast<PFN_vkGetSemaphoreFdKHR>(vkGetDeviceProcAddr(ctx_.device(), "vkGetSemaphoreFdKHR"));
  if (!get_fd) throw Error("Vulkan: vkGetSemaphoreFdKHR is missing");
  VkSemaphoreGetFdInfoKHR info{VK_STRUCTURE_TYPE_SEMAPHORE_GET_FD_INFO_KHR, nullptr, semaphore_,
                               VK_EXTERNAL_SEMAPHORE_HANDLE_TYPE_OPAQUE_FD_BIT};
  int fd = -1;
  vk_check(get_fd(ctx_.device(), &info, &fd), "vkGetSemaphoreFdKHR");
  return fd;
}

std::uint64_t ExportableSemaphore::value() const {
  std::uint64_t v = 0;
  vk_check(vkGetSemaphoreCounterValue(ctx_.device(), semaphore_, &v), "vkGetSemaphoreCounterValue");
  return v;
}

void ExportableSemaphore::signal(std::uint64_t value) {
  VkSemaphoreSignalInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, nullptr, semaphore_, value};
  vk_check(vkSignalSemaphore(ctx_.device(), &info), "vkSignalSemaphore");
}

bool ExportableSemaphore::wait(std::uint64_t value, std::uint64_t timeout_ns) const {
  return wait_timeline(ctx_.device(), semaphore_, value, timeout_ns);
}

}  // namespace sc::render
