#pragma once
// What the viewport draws inside a render pass: the empty-state background,
// then the frame(s) placed by the display mode. One Canvas per render pass
// (window or offscreen target); it owns the pipelines and the frame textures.
#include <vulkan/vulkan.h>

#include <memory>

#include "render/frame_texture.h"
#include "render/layout.h"

namespace sc::render {

class VulkanContext;

struct CanvasView {
  DisplayMode mode = DisplayMode::kFit;
  bool side_by_side = false;  // input | output
  bool show_input = false;    // single view: the input instead of the output
};

class Canvas {
 public:
  Canvas(VulkanContext& ctx, VkRenderPass render_pass);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  FrameTexture& input() { return *input_; }
  FrameTexture& output() { return *output_; }

  // Records the draws (inside the render pass) for a target of this extent.
  void record(VkCommandBuffer cmd, VkExtent2D extent, const CanvasView& view);

 private:
  void draw_texture(VkCommandBuffer cmd, const FrameTexture& tex, const Rect& panel, DisplayMode mode,
                    VkExtent2D extent);

  VulkanContext& ctx_;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkSampler linear_ = VK_NULL_HANDLE, nearest_ = VK_NULL_HANDLE;
  VkPipelineLayout background_layout_ = VK_NULL_HANDLE, display_layout_ = VK_NULL_HANDLE;
  VkPipeline background_ = VK_NULL_HANDLE, display_ = VK_NULL_HANDLE;
  std::unique_ptr<FrameTexture> input_, output_;
};

// Builds a graphics pipeline for a fullscreen-triangle pass: no vertex input,
// dynamic viewport and scissor, no blending.
VkPipeline create_fullscreen_pipeline(VkDevice device, VkRenderPass render_pass, VkPipelineLayout layout,
                                      const char* vertex_shader, const char* fragment_shader);

}  // namespace sc::render
