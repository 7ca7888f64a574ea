#include "render/canvas.h"

#include <algorithm>

#include "render/compute_kernel.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

VkPipeline create_fullscreen_pipeline(VkDevice dev, VkRenderPass render_pass, VkPipelineLayout layout,
                                      const char* vertex_shader, const char* fragment_shader) {
  VkShaderModule vert = create_shader_module(dev, vertex_shader);
  VkShaderModule frag = VK_NULL_HANDLE;
  try {
    frag = create_shader_module(dev, fragment_shader);
  } catch (...) {
    vkDestroyShaderModule(dev, vert, nullptr);
    throw;
  }
  VkPipelineShaderStageCreateInfo stages[2] = {{VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0,
                                                VK_SHADER_STAGE_VERTEX_BIT, vert, "main", nullptr},
                                               {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0,
                                                VK_SHADER_STAGE_FRAGMENT_BIT, frag, "main", nullptr}};
  VkPipelineVertexInputStateCreateInfo vi{};
  vi.sType = VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO;
  VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO, nullptr, 0,
                                            VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST, VK_FALSE};
  VkPipelineViewportStateCreateInfo vp{
      VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO, nullptr, 0, 1, nullptr, 1, nullptr};
  VkPipelineRasterizationStateCreateInfo rs{};
  rs.sType = VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO;
  rs.polygonMode = VK_POLYGON_MODE_FILL;
  rs.cullMode = VK_CULL_MODE_NONE;
  rs.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
  rs.lineWidth = 1.0f;
  VkPipelineMultisampleStateCreateInfo ms{};
  ms.sType = VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO;
  ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
  VkPipelineColorBlendAttachmentState blend{};
  blend.colorWriteMask =
      VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT | VK_COLOR_COMPONENT_A_BIT;
  VkPipelineColorBlendStateCreateInfo cb{};
  cb.sType = VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO;
  cb.attachmentCount = 1;
  cb.pAttachments = &blend;
  VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
  VkPipelineDynamicStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO, nullptr, 0, 2, dyn};
  VkGraphicsPipelineCreateInfo gpci{};
  gpci.sType = VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO;
  gpci.stageCount = 2;
  gpci.pStages = stages;
  gpci.pVertexInputState = &vi;
  gpci.pInputAssemblyState = &ia;
  gpci.pViewportState = &vp;
  gpci.pRasterizationState = &rs;
  gpci.pMultisampleState = &ms;
  gpci.pColorBlendState = &cb;
  gpci.pDynamicState = &ds;
  gpci.layout = layout;
  gpci.renderPass = render_pass;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkResult r = vkCreateGraphicsPipelines(dev, VK_NULL_HANDLE, 1, &gpci, nullptr, &pipeline);
  vkDestroyShaderModule(dev, vert, nullptr);
  vkDestroyShaderModule(dev, frag, nullptr);
  vk_check(r, "vkCreateGraphicsPipelines");
  return pipeline;
}

Canvas::Canvas(VulkanContext& ctx, VkRenderPass render_pass) : ctx_(ctx) {
  VkDevice dev = ctx.device();
  VkDescriptorSetLayoutBinding binding{0, VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 1, VK_SHADER_STAGE_FRAGMENT_BIT,
                                       nullptr};
  VkDescriptorSetLayoutCreateInfo slci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, nullptr, 0, 1, &binding};
  vk_check(vkCreateDescriptorSetLayout(dev, &slci, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 8};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                  nullptr,
                                  VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT,
                                  8,
                                  1,
                                  &size};
  vk_check(vkCreateDescriptorPool(dev, &dpci, nullptr, &pool_), "vkCreateDescriptorPool");
  for (bool nearest : {false, true}) {
    VkSamplerCreateInfo sci{};
    sci.sType = VK_STRUCTURE_TYPE_SAMPLER_CREATE_INFO;
    sci.magFilter = sci.minFilter = nearest ? VK_FILTER_NEAREST : VK_FILTER_LINEAR;
    sci.mipmapMode = VK_SAMPLER_MIPMAP_MODE_NEAREST;
    sci.addressModeU = sci.addressModeV = sci.addressModeW = VK_SAMPLER_ADDRESS_MODE_CLAMP_TO_EDGE;
    sci.maxLod = 0;
    vk_check(vkCreateSampler(dev, &sci, nullptr, nearest ? &nearest_ : &linear_), "vkCreateSampler");
  }
  VkPushConstantRange bg_range{VK_SHADER_STAGE_FRAGMENT_BIT, 0, 2 * sizeof(std::uint32_t)};
  VkPipelineLayoutCreateInfo bg{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, nullptr, 0, 0, nullptr, 1, &bg_range};
  vk_check(vkCreatePipelineLayout(dev, &bg, nullptr, &background_layout_), "vkCreatePipelineLayout");
  VkPushConstantRange disp_range{VK_SHADER_STAGE_VERTEX_BIT, 0, 4 * sizeof(float)};
  VkPipelineLayoutCreateInfo disp{
      VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, nullptr, 0, 1, &set_layout_, 1, &disp_range};
  vk_check(vkCreatePipelineLayout(dev, &disp, nullptr, &display_layout_), "vkCreatePipelineLayout");
  background_ = create_fullscreen_pipeline(dev, render_pass, background_layout_, "fullscreen.vert", "background.frag");
  display_ = create_fullscreen_pipeline(dev, render_pass, display_layout_, "quad.vert", "display.frag");
  input_ = std::make_unique<FrameTexture>(ctx, pool_, set_layout_, linear_, nearest_);
  output_ = std::make_unique<FrameTexture>(ctx, pool_, set_layout_, linear_, nearest_);
}

Canvas::~Canvas() {
  VkDevice dev = ctx_.device();
  vkDeviceWaitIdle(dev);
  input_.reset();
  output_.reset();
  vkDestroyPipeline(dev, background_, nullptr);
  vkDestroyPipeline(dev, display_, nullptr);
  vkDestroyPipelineLayout(dev, background_layout_, nullptr);
  vkDestroyPipelineLayout(dev, display_layout_, nullptr);
  vkDestroySampler(dev, linear_, nullptr);
  vkDestroySampler(dev, nearest_, nullptr);
  vkDestroyDescriptorPool(dev, pool_, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
}

void Canvas::draw_texture(VkCommandBuffer cmd, const FrameTexture& tex, const Rect& panel, DisplayMode mode,
                          VkExtent2D extent) {
  if (!tex.ready()) return;
  Placement p = place(mode, tex.width(), tex.height(), panel);
  if (p.dst.w < 1 || p.dst.h < 1) return;
  VkViewport viewport{p.dst.x, p.dst.y, p.dst.w, p.dst.h, 0, 1};
  const float x0 = std::max(0.0f, p.dst.x), y0 = std::max(0.0f, p.dst.y);
  VkRect2D scissor{{std::int32_t(x0), std::int32_t(y0)},
                   {std::uint32_t(std::min(p.dst.w, float(extent.width) - x0)),
                    std::uint32_t(std::min(p.dst.h, float(extent.height) - y0))}};
  vkCmdSetViewport(cmd, 0, 1, &viewport);
  vkCmdSetScissor(cmd, 0, 1, &scissor);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, display_);
  VkDescriptorSet set = tex.descriptor(mode == DisplayMode::kOneToOne);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, display_layout_, 0, 1, &set, 0, nullptr);
  const float push[4] = {p.src_uv.x, p.src_uv.y, p.src_uv.w, p.src_uv.h};
  vkCmdPushConstants(cmd, display_layout_, VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof push, push);
  vkCmdDraw(cmd, 3, 1, 0, 0);
}

void Canvas::record(VkCommandBuffer cmd, VkExtent2D extent, const CanvasView& view) {
  VkViewport full{0, 0, float(extent.width), float(extent.height), 0, 1};
  VkRect2D scissor{{0, 0}, extent};
  vkCmdSetViewport(cmd, 0, 1, &full);
  vkCmdSetScissor(cmd, 0, 1, &scissor);
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, background_);
  const std::uint32_t size[2] = {extent.width, extent.height};
  vkCmdPushConstants(cmd, background_layout_, VK_SHADER_STAGE_FRAGMENT_BIT, 0, sizeof size, size);
  vkCmdDraw(cmd, 3, 1, 0, 0);

  const Rect target{0, 0, float(extent.width), float(extent.height)};
  if (view.side_by_side) {
    Rect left, right;
    split_side_by_side(target, 8, &left, &right);
    draw_texture(cmd, *input_, left, view.mode, extent);
    draw_texture(cmd, *output_, right, view.mode, extent);
  } else {
    draw_texture(cmd, view.show_input ? *input_ : *output_, target, view.mode, extent);
  }
}

}  // namespace sc::render
