#pragma once
// The frame type that crosses module boundaries: plain data, no FFmpeg types.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace sc::media {

enum class PixelFormat { kRgba8 };

struct Frame {
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::kRgba8;
  int pitch_bytes = 0;                              // bytes per row of data
  std::shared_ptr<std::vector<std::uint8_t>> data;  // host memory, pitch_bytes * height
  std::int64_t pts_us = 0;                          // presentation time in the source's clock
  std::chrono::steady_clock::time_point capture_time{};

  std::uint8_t* row(int y) { return data->data() + static_cast<std::size_t>(y) * pitch_bytes; }
  const std::uint8_t* row(int y) const { return data->data() + static_cast<std::size_t>(y) * pitch_bytes; }

  static Frame make_rgba(int width, int height) {
    Frame f;
    f.width = width;
    f.height = height;
    f.pitch_bytes = width * 4;
    f.data = std::make_shared<std::vector<std::uint8_t>>(static_cast<std::size_t>(f.pitch_bytes) * height);
    return f;
  }
};

}  // namespace sc::media
