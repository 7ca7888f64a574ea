#pragma once
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "render/splat/camera.h"

namespace sc::app {

// A scripted camera: {"fov_y_degrees": 50, "up": [0,-1,0], "keys": [{"frame": 0,
// "eye": [x,y,z], "target": [x,y,z]}, ...]}, linearly interpolated between keys.
struct CameraPath {
  float fov_y_degrees = 50;
  std::array<float, 3> up{0, -1, 0};
  struct Key {
    double frame = 0;
    std::array<float, 3> eye{}, target{};
  };
  std::vector<Key> keys;

  static CameraPath parse(std::string_view json, const std::string& source);
  static CameraPath load(const std::filesystem::path& path);
  render::SplatCamera camera(double frame, std::uint32_t width, std::uint32_t height) const;
};

}  // namespace sc::app
