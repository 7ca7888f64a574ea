#pragma once
// Plays a V^3 sequence: decode (CPU, one thread per stream) -> de-quantise
// (GPU) -> splat (GPU), with an orbit, fly or scripted camera. Shared by the
// GUI's volumetric mode and `streamcanvas-cli v3 render`.
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/session/camera_path.h"
#include "app/session/v3_sequence.h"
#include "render/splat/splat_renderer.h"
#include "render/splat/v3_dequant.h"

namespace sc::app {

// Orbit around a target (mouse drag) or fly (WASD); OpenCV camera axes, and
// world "up" is -y as in 3DGS captures.
struct OrbitCamera {
  std::array<float, 3> target{0, 0, 0};
  float distance = 3;
  float yaw_degrees = 0;     // around world up
  float pitch_degrees = 15;  // above the horizon
  float fov_y_degrees = 50;
  std::array<float, 3> up{0, -1, 0};

  std::array<float, 3> eye() const;
  render::SplatCamera camera(std::uint32_t width, std::uint32_t height) const;
  // Frames a bounding sphere.
  static OrbitCamera framing(const std::array<float, 3>& centre, float radius);
};

class V3Player {
 public:
  enum class Dequantize { kAuto, kGpu, kCpu };
  V3Player(render::VulkanContext& ctx, const std::filesystem::path& sequence, Dequantize where = Dequantize::kAuto);
  ~V3Player();

  const V3Sequence& sequence() const { return sequence_; }
  // Decodes frame i and puts it on the GPU (no-op when it is already there).
  void load(int frame);
  int loaded() const { return loaded_; }
  render::SplatRenderer& renderer() { return renderer_; }
  // The scene's bounds from frame 0's min/max (what the default camera frames).
  OrbitCamera default_camera() const;

 private:
  V3Sequence sequence_;
  V3Decoder decoder_;
  render::SplatRenderer renderer_;
  render::V3Dequantizer dequantizer_;
  int loaded_ = -1;
  bool cpu_dequantize_ = false;
  render::GaussianCloud cpu_cloud_;  // reused by the CPU de-quantiser frame to frame
};

}  // namespace sc::app
