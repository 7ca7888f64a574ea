#include "render/frame_texture.h"

#include <cstring>

#include "base/error.h"
#include "render/buffer.h"
#include "render/color_image.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

FrameTexture::FrameTexture(VulkanContext& ctx, VkDescriptorPool pool, VkDescriptorSetLayout layout, VkSampler linear,
                           VkSampler nearest)
    : ctx_(ctx), pool_(pool), linear_(linear), nearest_(nearest) {
  VkDescriptorSetLayout layouts[2] = {layout, layout};
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, nullptr, pool, 2, layouts};
  VkDescriptorSet sets[2];
  vk_check(vkAllocateDescriptorSets(ctx.device(), &ai, sets), "vkAllocateDescriptorSets (frame texture)");
  set_linear_ = sets[0];
  set_nearest_ = sets[1];
}

FrameTexture::~FrameTexture() {
  destroy_image();
  VkDescriptorSet sets[2] = {set_linear_, set_nearest_};
  vkFreeDescriptorSets(ctx_.device(), pool_, 2, sets);
}

void FrameTexture::destroy_image() { image_.reset(); }

void FrameTexture::recreate(int width, int height) {
  VkDevice dev = ctx_.device();
  vkDeviceWaitIdle(dev);  // size changes are rare; the old image may still be in use
  destroy_image();
  uploaded_ = false;
  image_ = std::make_unique<ColorImage>(ctx_, std::uint32_t(width), std::uint32_t(height), VK_FORMAT_R8G8B8A8_UNORM,
                                        VK_IMAGE_USAGE_TRANSFER_DST_BIT | VK_IMAGE_USAGE_SAMPLED_BIT, "frame texture");
  VkImageView view = image_->view();
  VkDescriptorImageInfo infos[2] = {{linear_, view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL},
                                    {nearest_, view, VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL}};
  VkWriteDescriptorSet writes[2]{};
  for (int i = 0; i < 2; ++i) {
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = i == 0 ? set_linear_ : set_nearest_;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    writes[i].pImageInfo = &infos[i];
  }
  vkUpdateDescriptorSets(dev, 2, writes, 0, nullptr);
  const VkDeviceSize bytes = VkDeviceSize(width) * height * 4;
  for (auto& s : staging_)
    s = std::make_unique<Buffer>(ctx_, bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                 VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  width_ = width;
  height_ = height;
}

void FrameTexture::barrier_to_transfer(VkCommandBuffer cmd) {
  VkImageMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
  b.srcAccessMask = uploaded_ ? VK_ACCESS_SHADER_READ_BIT : 0;
  b.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  b.oldLayout = VK_IMAGE_LAYOUT_UNDEFINED;  // the whole image is overwritten
  b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image_->image();
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0, nullptr, 0, nullptr, 1, &b);
}

void FrameTexture::barrier_to_shader(VkCommandBuffer cmd) {
  VkImageMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER;
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
  b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL;
  b.newLayout = VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL;
  b.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
  b.image = image_->image();
  b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_FRAGMENT_SHADER_BIT, 0, 0, nullptr, 0,
                       nullptr, 1, &b);
  uploaded_ = true;
}

void FrameTexture::copy_from(VkCommandBuffer cmd, VkBuffer pixels, int width, int height) {
  if (width <= 0 || height <= 0) throw Error("internal: bad copy size {}x{}", width, height);
  if (width != width_ || height != height_) recreate(width, height);
  // The buffer was written by a compute shader in an earlier submission.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr,
                       0, nullptr);
  barrier_to_transfer(cmd);
  VkBufferImageCopy region{};
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {std::uint32_t(width), std::uint32_t(height), 1};
  vkCmdCopyBufferToImage(cmd, pixels, image_->image(), VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  barrier_to_shader(cmd);
}

void FrameTexture::upload(VkCommandBuffer cmd, const HostImage& img) {
  if (img.width <= 0 || img.height <= 0 || !img.rgba || img.pitch_bytes < img.width * 4)
    throw Error("internal: bad frame for upload ({}x{}, pitch {})", img.width, img.height, img.pitch_bytes);
  if (img.width != width_ || img.height != height_) recreate(img.width, img.height);
  Buffer& staging = *staging_[ring_];
  ring_ = (ring_ + 1) % kRingSize;
  auto* dst = static_cast<std::uint8_t*>(staging.mapped());
  const std::size_t row = std::size_t(img.width) * 4;
  for (int y = 0; y < img.height; ++y) std::memcpy(dst + y * row, img.rgba + std::size_t(y) * img.pitch_bytes, row);

  barrier_to_transfer(cmd);
  VkBufferImageCopy region{};
  region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
  region.imageExtent = {std::uint32_t(img.width), std::uint32_t(img.height), 1};
  vkCmdCopyBufferToImage(cmd, staging.handle(), image_->image(), VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
  barrier_to_shader(cmd);
}

}  // namespace sc::render
