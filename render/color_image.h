#pragma once
// A 2D colour image with its own device memory and a view: what frame
// textures and offscreen targets are made of.
#include <vulkan/vulkan.h>

#include <cstdint>

namespace sc::render {

class VulkanContext;

class ColorImage {
 public:
  // Throws sc::Error naming `what` when Vulkan refuses.
  ColorImage(VulkanContext& ctx, std::uint32_t width, std::uint32_t height, VkFormat format, VkImageUsageFlags usage,
             const char* what);
  ~ColorImage();
  ColorImage(const ColorImage&) = delete;
  ColorImage& operator=(const ColorImage&) = delete;

  VkImage image() const { return image_; }
  VkImageView view() const { return view_; }

 private:
  VulkanContext& ctx_;
  VkImage image_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkImageView view_ = VK_NULL_HANDLE;
};

}  // namespace sc::render
