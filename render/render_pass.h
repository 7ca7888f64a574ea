#pragma once
#include <vulkan/vulkan.h>

namespace sc::render {

// One colour attachment, cleared, stored, ending in final_layout. Swapchains
// and offscreen targets share this shape, so their pipelines are alike.
VkRenderPass create_color_render_pass(VkDevice device, VkFormat format, VkImageLayout final_layout);

// Callbacks a target runs while recording a frame: uploads go before the
// render pass, draws inside it.
struct FrameCallbacks {
  virtual ~FrameCallbacks() = default;
  virtual void before_pass(VkCommandBuffer) {}
  virtual void in_pass(VkCommandBuffer cmd, VkExtent2D extent) = 0;
};

}  // namespace sc::render
