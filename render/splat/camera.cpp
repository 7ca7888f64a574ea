#include "render/splat/camera.h"

#include <cmath>

namespace sc::render {

SplatCamera look_at_camera(const std::array<float, 3>& eye, const std::array<float, 3>& target,
                           const std::array<float, 3>& up, float fov_y_degrees, std::uint32_t width,
                           std::uint32_t height) {
  auto sub = [](auto a, auto b) { return std::array<float, 3>{a[0] - b[0], a[1] - b[1], a[2] - b[2]}; };
  auto cross = [](auto a, auto b) {
    return std::array<float, 3>{a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
  };
  auto normalize = [](std::array<float, 3> v) {
    float l = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (l > 0) v = {v[0] / l, v[1] / l, v[2] / l};
    return v;
  };
  auto dot = [](auto a, auto b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; };
  // OpenCV camera axes in world space: z forward, x right, y down.
  const auto z = normalize(sub(target, eye));
  const auto x = normalize(cross(z, up));
  const auto y = cross(z, x);
  SplatCamera c;
  c.view = {x[0], x[1], x[2], -dot(x, eye), y[0], y[1], y[2], -dot(y, eye), z[0], z[1], z[2], -dot(z, eye), 0, 0, 0, 1};
  c.width = width;
  c.height = height;
  c.fy = 0.5f * float(height) / std::tan(0.5f * fov_y_degrees * 3.14159265358979f / 180.0f);
  c.fx = c.fy;
  c.cx = 0.5f * float(width);
  c.cy = 0.5f * float(height);
  return c;
}

}  // namespace sc::render
