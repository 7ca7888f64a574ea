#pragma once
// De-quantises a V^3 frame on the GPU straight into a SplatRenderer's scene
// (format: app/modes/volumetric/v3_format.h). render/ knows nothing of files: it gets
// the attribute planes and min/max as plain arrays.
#include <cstdint>
#include <memory>

namespace sc::render {

class VulkanContext;
class Buffer;
class ComputeKernel;
class SplatRenderer;

class V3Dequantizer {
 public:
  explicit V3Dequantizer(VulkanContext& ctx);
  ~V3Dequantizer();

  // planes: videos * side * side bytes (video-major); minmax: 2 per column.
  void upload_and_run(SplatRenderer& renderer, const std::uint8_t* planes, std::uint32_t videos, std::uint32_t side,
                      std::uint32_t count, int sh_degree, const float* minmax, std::uint32_t minmax_count);

 private:
  VulkanContext& ctx_;
  std::unique_ptr<ComputeKernel> kernel_;
  std::unique_ptr<Buffer> planes_, minmax_;
};

}  // namespace sc::render
