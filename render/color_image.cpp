#include "render/color_image.h"

#include <string>

#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

ColorImage::ColorImage(VulkanContext& ctx, std::uint32_t width, std::uint32_t height, VkFormat format,
                       VkImageUsageFlags usage, const char* what)
    : ctx_(ctx) {
  VkDevice dev = ctx.device();
  const std::string w(what);
  VkImageCreateInfo ici{};
  ici.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO;
  ici.imageType = VK_IMAGE_TYPE_2D;
  ici.format = format;
  ici.extent = {width, height, 1};
  ici.mipLevels = 1;
  ici.arrayLayers = 1;
  ici.samples = VK_SAMPLE_COUNT_1_BIT;
  ici.tiling = VK_IMAGE_TILING_OPTIMAL;
  ici.usage = usage;
  ici.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  vk_check(vkCreateImage(dev, &ici, nullptr, &image_), ("vkCreateImage (" + w + ")").c_str());
  try {
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(dev, image_, &req);
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, nullptr, req.size,
                             ctx.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)};
    vk_check(vkAllocateMemory(dev, &mai, nullptr, &memory_), ("vkAllocateMemory (" + w + ")").c_str());
    vk_check(vkBindImageMemory(dev, image_, memory_, 0), "vkBindImageMemory");
    VkImageViewCreateInfo vci{};
    vci.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
    vci.image = image_;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format;
    vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vk_check(vkCreateImageView(dev, &vci, nullptr, &view_), ("vkCreateImageView (" + w + ")").c_str());
  } catch (...) {
    if (memory_) vkFreeMemory(dev, memory_, nullptr);
    vkDestroyImage(dev, image_, nullptr);
    throw;
  }
}

ColorImage::~ColorImage() {
  VkDevice dev = ctx_.device();
  vkDestroyImageView(dev, view_, nullptr);
  vkDestroyImage(dev, image_, nullptr);
  vkFreeMemory(dev, memory_, nullptr);
}

}  // namespace sc::render
