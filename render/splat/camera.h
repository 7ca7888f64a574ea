#pragma once
// Cameras for the splat renderer (plain math, no Vulkan).
#include <array>
#include <cstdint>

namespace sc::render {

// A pinhole camera in OpenCV convention (x right, y down, z forward).
struct SplatCamera {
  std::array<float, 16> view{};  // world -> camera, row-major 4x4
  float fx = 0, fy = 0, cx = 0, cy = 0;
  std::uint32_t width = 0, height = 0;
  float near_plane = 0.01f, far_plane = 1e10f;
};

// Look-at camera helpers (OpenCV convention), for orbits and tests.
SplatCamera look_at_camera(const std::array<float, 3>& eye, const std::array<float, 3>& target,
                           const std::array<float, 3>& up, float fov_y_degrees, std::uint32_t width,
                           std::uint32_t height);

}  // namespace sc::render
