#pragma once
// 3D Gaussian splatting in Vulkan compute, following gsplat's classic mode:
// preprocess (EWA projection with the 0.3 low-pass, 3.33-sigma extent, SH
// colour) -> prefix sum of tiles touched -> (tile, depth) keys -> GPU radix
// sort -> per-tile ranges -> per-tile front-to-back blending (alpha clamped to
// 0.99, contributions under 1/255 skipped, stop at transmittance 1e-4).
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

struct SplatStats {
  std::uint32_t gaussians = 0;
  std::uint32_t intersections = 0;  // (tile, Gaussian) pairs sorted
  double project_ms = 0;            // preprocess + prefix sum (wall clock, includes the wait)
  double sort_ms = 0;               // keys, radix sort, tile ranges
  double raster_ms = 0;             // blending
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

  // Renders one image and waits. The result stays in output_rgba() (packed
  // RGBA8, one uint per pixel) and output_float() (RGB + alpha as 4 floats).
  SplatStats render(const SplatCamera& camera, const std::array<float, 3>& background = {0, 0, 0});

  Buffer& output_rgba() { return *out_rgba_; }
  std::vector<float> read_float() const;         // width*height*4
  std::vector<std::uint8_t> read_rgba8() const;  // width*height*4
  std::uint32_t width() const { return width_; }
  std::uint32_t height() const { return height_; }

  static constexpr float kAlphaMax = 0.99f;

 private:
  void ensure_outputs(std::uint32_t width, std::uint32_t height);
  void ensure_per_gaussian(std::uint32_t count);
  void ensure_keys(std::uint32_t count);

  VulkanContext& ctx_;
  std::unique_ptr<ComputeKernel> preprocess_, duplicate_, ranges_, rasterize_;
  GpuScan scan_;
  GpuRadixSort sort_;
  SplatScene scene_;
  std::uint32_t per_gaussian_capacity_ = 0, key_capacity_ = 0, pixel_capacity_ = 0, tile_capacity_ = 0;
  std::unique_ptr<Buffer> mean_depth_, conic_opacity_, colors_, rects_, touched_, offsets_, total_;
  std::unique_ptr<Buffer> keys_, values_, ranges_buf_, out_float_, out_rgba_;
  std::unique_ptr<Buffer> staging_;           // set_scene uploads
  mutable std::unique_ptr<Buffer> readback_;  // read_rgba8
  std::uint32_t width_ = 0, height_ = 0;
};

}  // namespace sc::render
