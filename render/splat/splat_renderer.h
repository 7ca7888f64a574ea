#pragma once
// 3D Gaussian splatting in Vulkan compute, following gsplat's classic mode:
// preprocess (EWA projection with the 0.3 low-pass, 3.33-sigma extent, SH
// colour) -> Gaussians sorted by depth -> prefix sum of tiles touched -> one
// key per (tile, Gaussian) -> stable GPU radix sort by tile (so each tile's run
// stays front to back) -> per-tile ranges -> per-tile front-to-back blending
// (alpha clamped to 0.99, contributions under 1/255 skipped, stop at
// transmittance 1e-4). A frame is one command buffer and one wait: the key
// count stays on the GPU, and the key buffers keep their size between frames
// (when a frame needs more, they grow and that frame is drawn again).
#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "render/gpu_sort.h"
#include "render/splat/camera.h"
#include "render/splat/gaussians.h"

namespace sc::render {

class VulkanContext;
class Buffer;
class ComputeKernel;

// GPU time of each pass of a frame, from timestamps (all 0 where the queue
// has none). They add up to SplatStats::gpu_ms.
struct SplatPassTimes {
  double preprocess_ms = 0;  // projection, SH colour, depth keys
  double depth_sort_ms = 0;  // Gaussians by depth (4 radix passes)
  double scan_ms = 0;        // tiles touched in depth order, prefix sum, key count
  double keys_ms = 0;        // clear the tile ranges, one key per (tile, Gaussian)
  double tile_sort_ms = 0;   // keys by tile (radix passes over the tile bits)
  double ranges_ms = 0;      // where each tile's keys start and end
  double blend_ms = 0;       // per-tile blending
};

struct SplatStats {
  std::uint32_t gaussians = 0;
  std::uint32_t intersections = 0;  // (tile, Gaussian) pairs sorted
  // GPU times (timestamps; 0 where the queue has none).
  double project_ms = 0;       // preprocess + depth sort + scan
  double sort_ms = 0;          // keys, tile sort, tile ranges
  double raster_ms = 0;        // blending
  double gpu_ms = 0;           // the whole frame, first command to last: the sum of the above
  double frame_ms = 0;         // wall clock of render(): recording, submission, the wait, any redraw
  std::uint32_t attempts = 0;  // submissions: 2 when the key buffers grew and the frame was drawn again
  SplatPassTimes passes;       // of the last attempt
};

// The GPU-side scene: the renderer reads these; the V^3 de-quantiser writes
// them directly (no round trip through the host).
struct SplatScene {
  std::uint32_t count = 0;
  int sh_degree = 0;
  std::unique_ptr<Buffer> positions, scales, rotations, opacities, sh;
};

class SplatRenderer {
 public:
  explicit SplatRenderer(VulkanContext& ctx);
  ~SplatRenderer();
  SplatRenderer(const SplatRenderer&) = delete;
  SplatRenderer& operator=(const SplatRenderer&) = delete;

  // Uploads a cloud (waits for the copy).
  void set_scene(const GaussianCloud& cloud);
  // Makes room for count Gaussians of this degree on the GPU (contents undefined).
  SplatScene& reserve_scene(std::uint32_t count, int sh_degree);
  SplatScene& scene() { return scene_; }

  // Renders one image and waits. The result stays on the GPU in output_rgba()
  // (packed RGBA8, one uint per pixel) and, as RGB + alpha in 4 floats, behind
  // read_float() (which copies it back).
  SplatStats render(const SplatCamera& camera, const std::array<float, 3>& background = {0, 0, 0});

  Buffer& output_rgba() { return *out_rgba_; }
  std::vector<float> read_float() const;         // width*height*4
  std::vector<std::uint8_t> read_rgba8() const;  // width*height*4
  std::uint32_t width() const { return width_; }
  std::uint32_t height() const { return height_; }

  static constexpr float kAlphaMax = 0.99f;

 private:
  struct Frame;  // what one render() records
  void ensure_outputs(std::uint32_t width, std::uint32_t height);
  void ensure_per_gaussian(std::uint32_t count);
  void ensure_keys(std::uint32_t count);
  void record_frame(VkCommandBuffer cmd, const Frame& f);
  void read_timestamps(SplatStats& stats) const;
  const Buffer& read_back(const Buffer& src, VkDeviceSize bytes) const;

  VulkanContext& ctx_;
  std::unique_ptr<ComputeKernel> preprocess_, touched_kernel_, total_kernel_, duplicate_, ranges_, rasterize_;
  GpuScan scan_;
  GpuRadixSort sort_;
  SplatScene scene_;
  std::uint32_t per_gaussian_capacity_ = 0, key_capacity_ = 0, pixel_capacity_ = 0, tile_capacity_ = 0;
  std::unique_ptr<Buffer> mean_depth_, conic_opacity_, colors_, rects_, touched_, offsets_, depth_keys_, order_;
  std::unique_ptr<Buffer> count_;  // the key count, made and read on the GPU
  std::unique_ptr<Buffer> total_;  // the same, copied to the host at the end of a frame
  std::unique_ptr<Buffer> keys_, values_, ranges_buf_, out_float_, out_rgba_;
  std::unique_ptr<Buffer> staging_;           // set_scene uploads
  mutable std::unique_ptr<Buffer> readback_;  // read_float / read_rgba8
  // One command buffer, fence and timestamp pool, reused every frame.
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  VkQueryPool timestamps_ = VK_NULL_HANDLE;  // null when the queue cannot time
  double timestamp_ns_ = 0;                  // per tick
  std::uint64_t timestamp_mask_ = 0;         // the valid bits
  std::uint32_t width_ = 0, height_ = 0;
};

}  // namespace sc::render
