#pragma once
// CPU twin of shaders/background.glsl, for tests and for the first frame.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace sc::render {

inline std::array<std::uint8_t, 4> background_pixel(std::uint32_t x, std::uint32_t y, std::uint32_t width,
                                                    std::uint32_t height) {
  (void)width;
  const float t = height > 1 ? float(y) / float(height - 1) : 0.0f;
  const float top[3] = {40, 44, 56}, bottom[3] = {16, 18, 24};
  std::array<std::uint8_t, 4> out{0, 0, 0, 255};
  for (int c = 0; c < 3; ++c) {
    float v = (top[c] + (bottom[c] - top[c]) * t) / 255.0f;
    if (x % 32 == 0 || y % 32 == 0) v += 8.0f / 255.0f;
    out[c] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f));
  }
  return out;
}

}  // namespace sc::render
