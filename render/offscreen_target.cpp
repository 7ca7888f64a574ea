#include "render/offscreen_target.h"

#include <cstring>

#include "base/error.h"
#include "render/buffer.h"
#include "render/color_image.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

OffscreenTarget::OffscreenTarget(VulkanContext& ctx, std::uint32_t width, std::uint32_t height)
    : ctx_(ctx), width_(width), height_(height) {
  if (width == 0 || height == 0 || width > 16384 || height > 16384)
    throw Error("offscreen target: size {}x{} is out of range (1..16384)", width, height);
  VkDevice dev = ctx.device();
  render_pass_ = create_color_render_pass(dev, VK_FORMAT_R8G8B8A8_UNORM, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
  image_ = std::make_unique<ColorImage>(ctx, width, height, VK_FORMAT_R8G8B8A8_UNORM,
                                        VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                                        "offscreen target");
  VkImageView view = image_->view();
  VkFramebufferCreateInfo fci{
      VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO, nullptr, 0, render_pass_, 1, &view, width, height, 1};
  vk_check(vkCreateFramebuffer(dev, &fci, nullptr, &framebuffer_), "vkCreateFramebuffer (offscreen)");
  readback_ = std::make_unique<Buffer>(ctx, VkDeviceSize(width) * height * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
}

OffscreenTarget::~OffscreenTarget() {
  VkDevice dev = ctx_.device();
  vkDeviceWaitIdle(dev);
  readback_.reset();
  vkDestroyFramebuffer(dev, framebuffer_, nullptr);
  image_.reset();
  vkDestroyRenderPass(dev, render_pass_, nullptr);
}

std::vector<std::uint8_t> OffscreenTarget::render(FrameCallbacks& callbacks) {
  TimelineSync sync;  // filled after recording, read at the submission
  ctx_.submit_and_wait(
      [&](VkCommandBuffer cmd) {
        callbacks.before_pass(cmd);
        VkClearValue clear{};
        VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                                  nullptr,
                                  render_pass_,
                                  framebuffer_,
                                  {{0, 0}, {width_, height_}},
                                  1,
                                  &clear};
        vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
        callbacks.in_pass(cmd, {width_, height_});
        vkCmdEndRenderPass(cmd);
        VkBufferImageCopy region{};
        region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
        region.imageExtent = {width_, height_, 1};
        vkCmdCopyImageToBuffer(cmd, image_->image(), VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback_->handle(), 1,
                               &region);
        VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                                VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0,
                             nullptr, 0, nullptr);
        sync = callbacks.timeline_sync();
      },
      sync);
  std::vector<std::uint8_t> out(std::size_t(width_) * height_ * 4);
  std::memcpy(out.data(), readback_->mapped(), out.size());
  return out;
}

}  // namespace sc::render
