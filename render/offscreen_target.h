#pragma once
// Renders without a window into an RGBA8 image and reads it back: the
// viewport's pipelines, used by tests and headless rendering.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "render/render_pass.h"

namespace sc::render {

class VulkanContext;
class Buffer;
class ColorImage;

class OffscreenTarget {
 public:
  OffscreenTarget(VulkanContext& ctx, std::uint32_t width, std::uint32_t height);
  ~OffscreenTarget();
  OffscreenTarget(const OffscreenTarget&) = delete;
  OffscreenTarget& operator=(const OffscreenTarget&) = delete;

  VkRenderPass render_pass() const { return render_pass_; }
  VkExtent2D extent() const { return {width_, height_}; }

  // Records and submits one frame, waits, and returns tightly packed RGBA8 rows.
  std::vector<std::uint8_t> render(FrameCallbacks& callbacks);

 private:
  VulkanContext& ctx_;
  std::uint32_t width_, height_;
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  std::unique_ptr<ColorImage> image_;
  VkFramebuffer framebuffer_ = VK_NULL_HANDLE;
  std::unique_ptr<Buffer> readback_;
};

}  // namespace sc::render
