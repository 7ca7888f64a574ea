#include "render/offscreen.h"

#include <cstring>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"

namespace sc::render {

std::vector<std::uint8_t> render_background(VulkanContext& ctx, std::uint32_t width, std::uint32_t height) {
  if (width == 0 || height == 0 || width > 16384 || height > 16384)
    throw Error("offscreen render: size {}x{} is out of range (1..16384)", width, height);
  const VkDeviceSize bytes = VkDeviceSize(width) * height * 4;
  Buffer pixels(ctx, bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  ComputeKernel kernel(ctx, "background.comp", 1, 2 * sizeof(std::uint32_t));
  const std::uint32_t push[2] = {width, height};
  ctx.submit_and_wait([&](VkCommandBuffer cmd) {
    kernel.record(cmd, {&pixels}, push, (width + 7) / 8, (height + 7) / 8);
    VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                            VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0,
                         nullptr, 0, nullptr);
  });
  std::vector<std::uint8_t> out(bytes);
  std::memcpy(out.data(), pixels.mapped(), bytes);
  return out;
}

}  // namespace sc::render
