#include "render/splat/v3_dequant.h"

#include <cstring>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"
#include "render/gpu_sort.h"
#include "render/splat/splat_renderer.h"

namespace sc::render {

V3Dequantizer::V3Dequantizer(VulkanContext& ctx)
    : ctx_(ctx), kernel_(std::make_unique<ComputeKernel>(ctx, "v3_dequant.comp", 7, 12)) {}

V3Dequantizer::~V3Dequantizer() { vkDeviceWaitIdle(ctx_.device()); }

void V3Dequantizer::upload_and_run(SplatRenderer& renderer, const std::uint8_t* planes, std::uint32_t videos,
                                   std::uint32_t side, std::uint32_t count, int sh_degree, const float* minmax,
                                   std::uint32_t minmax_count) {
  const std::uint32_t coefs = std::uint32_t((sh_degree + 1) * (sh_degree + 1));
  if (videos != 17 + 3 * coefs || minmax_count != 2 * (14 + 3 * coefs) || std::uint64_t(side) * side < count)
    throw Error("V^3: frame layout does not match (videos {}, side {}, {} Gaussians, degree {})", videos, side, count,
                sh_degree);
  const VkDeviceSize plane_bytes = VkDeviceSize(videos) * side * side;
  const VkDeviceSize padded = (plane_bytes + 3) / 4 * 4;
  if (!planes_ || planes_->size() < padded) {
    vkDeviceWaitIdle(ctx_.device());
    // Host-visible: the decoder's bytes go straight in; the GPU reads them once.
    planes_ = std::make_unique<Buffer>(ctx_, padded, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  }
  if (!minmax_ || minmax_->size() < VkDeviceSize(minmax_count) * 4)
    minmax_ = std::make_unique<Buffer>(ctx_, VkDeviceSize(minmax_count) * 4, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  std::memcpy(planes_->mapped(), planes, plane_bytes);
  std::memcpy(minmax_->mapped(), minmax, std::size_t(minmax_count) * 4);
  SplatScene& scene = renderer.reserve_scene(count, sh_degree);
  if (count == 0) return;
  const std::uint32_t push[3] = {count, side * side, coefs};
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    kernel_->record(cmd,
                    {planes_.get(), minmax_.get(), scene.positions.get(), scene.scales.get(), scene.rotations.get(),
                     scene.opacities.get(), scene.sh.get()},
                    push, (count + 255) / 256, 1);
    compute_barrier(cmd);
  });
}

}  // namespace sc::render
