#include "render/buffer.h"

#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

Buffer::Buffer(VulkanContext& ctx, VkDeviceSize size, VkBufferUsageFlags usage, VkMemoryPropertyFlags memory)
    : ctx_(ctx), size_(size) {
  VkBufferCreateInfo bci{
      VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, size, usage, VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
  vk_check(vkCreateBuffer(ctx.device(), &bci, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ctx.device(), buffer_, &req);
  try {
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, nullptr, req.size,
                            ctx.memory_type(req.memoryTypeBits, memory)};
    vk_check(vkAllocateMemory(ctx.device(), &ai, nullptr, &memory_), "vkAllocateMemory");
    vk_check(vkBindBufferMemory(ctx.device(), buffer_, memory_, 0), "vkBindBufferMemory");
    if (memory & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
      vk_check(vkMapMemory(ctx.device(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory");
  } catch (...) {
    if (memory_) vkFreeMemory(ctx.device(), memory_, nullptr);
    vkDestroyBuffer(ctx.device(), buffer_, nullptr);
    throw;
  }
}

Buffer::~Buffer() {
  if (mapped_) vkUnmapMemory(ctx_.device(), memory_);
  vkDestroyBuffer(ctx_.device(), buffer_, nullptr);
  vkFreeMemory(ctx_.device(), memory_, nullptr);
}

}  // namespace sc::render
