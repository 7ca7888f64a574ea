#pragma once
// Plays a V^3 sequence: decode (CPU, one thread per stream) -> de-quantise
// (GPU) -> splat (GPU), with an orbit, fly or scripted camera. Shared by the
// GUI's volumetric mode and `streamcanvas-cli v3 render`. A single .ply or
// .splat scene plays too, as a one-frame still.
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/modes/volumetric/camera_path.h"
#include "app/modes/volumetric/v3_sequence.h"
#include "render/splat/splat_renderer.h"
#include "render/splat/v3_dequant.h"

namespace sc::app {

// Orbit around a target (mouse drag), look around from the eye (right-drag)
// or fly (arrow keys, Page Up/Down); OpenCV camera axes, and world "up" is -y
// as in 3DGS captures.
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
  // `source`: a V^3 sequence folder, or a .ply / .splat file (a still scene).
  V3Player(render::VulkanContext& ctx, const std::filesystem::path& source, Dequantize where = Dequantize::kAuto);
  ~V3Player();

  bool still() const { return !sequence_; }
  // The sequence's manifests; throws sc::Error for a still scene.
  const V3Sequence& sequence() const;
  int frame_count() const { return sequence_ ? sequence_->frame_count() : 1; }
  double fps() const { return sequence_ ? sequence_->fps() : kStillFps; }
  int sh_degree() const { return sequence_ ? sequence_->sh_degree() : still_sh_degree_; }
  std::uint32_t max_gaussians() const { return sequence_ ? sequence_->max_gaussians() : still_count_; }
  // Decodes frame i and puts it on the GPU (no-op when it is already there;
  // a still scene is on the GPU from the start and is every frame).
  void load(int frame);
  int loaded() const { return loaded_; }
  render::SplatRenderer& renderer() { return renderer_; }
  // The scene's bounds from frame 0's min/max (what the default camera frames).
  OrbitCamera default_camera() const;

  // A still scene's clock: `v3 render` orbits at this rate and writes video at it.
  static constexpr double kStillFps = 25;

 private:
  std::unique_ptr<V3Sequence> sequence_;  // null for a still scene
  std::unique_ptr<V3Decoder> decoder_;    // reads *sequence_, so both live on the heap
  render::SplatRenderer renderer_;
  render::V3Dequantizer dequantizer_;
  int loaded_ = -1;
  bool cpu_dequantize_ = false;
  render::GaussianCloud cpu_cloud_;      // reused by the CPU de-quantiser frame to frame
  std::array<float, 6> still_bounds_{};  // min x, max x, min y, ... of a still scene
  std::uint32_t still_count_ = 0;
  int still_sh_degree_ = 0;
};

}  // namespace sc::app
