#pragma once
// The frame type that crosses module boundaries: plain data, no FFmpeg types.
// A frame is width x height pixels in one of a few formats, stored in up to 4
// planes with their own pitches, in host or CUDA memory. `storage` keeps the
// planes alive; copying a Frame shares the pixels (use clone() for a copy).
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace sc::media {

enum class PixelFormat {
  kRgba8,         // one plane, 4 bytes per pixel, R G B A
  kRgbF32Planar,  // three planes of float, R G B, values in [0, 1]
  kNv12,          // Y plane + interleaved UV plane at half resolution (NVDEC output)
  kYuv420p,       // Y, U, V planes, chroma at half resolution
  kGray8,         // one plane of 8-bit values (data carried in video, e.g. V^3 attributes)
};

enum class MemoryKind { kHost, kCuda };

const char* to_string(PixelFormat format);
int plane_count(PixelFormat format);

struct Frame {
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::kRgba8;
  MemoryKind memory = MemoryKind::kHost;
  std::array<std::uint8_t*, 4> planes{};
  std::array<int, 4> pitch_bytes{};
  std::shared_ptr<void> storage;
  std::int64_t pts_us = 0;  // presentation time in the source's clock
  std::chrono::steady_clock::time_point capture_time{};

  bool empty() const { return planes[0] == nullptr; }
  std::uint8_t* row(int y, int plane = 0) {
    return planes[plane] + static_cast<std::ptrdiff_t>(y) * pitch_bytes[plane];
  }
  const std::uint8_t* row(int y, int plane = 0) const {
    return planes[plane] + static_cast<std::ptrdiff_t>(y) * pitch_bytes[plane];
  }
  template <typename T>
  T* row_as(int y, int plane = 0) {
    return reinterpret_cast<T*>(row(y, plane));
  }
  template <typename T>
  const T* row_as(int y, int plane = 0) const {
    return reinterpret_cast<const T*>(row(y, plane));
  }

  // A host frame with tightly packed planes (rows aligned to 64 bytes for
  // formats whose rows allow it). Throws sc::Error for sizes out of range.
  static Frame allocate(PixelFormat format, int width, int height);
  static Frame make_rgba(int width, int height) { return allocate(PixelFormat::kRgba8, width, height); }

  // A deep copy with its own storage; timestamps are kept.
  Frame clone() const;
  // True when no other Frame shares this one's pixels.
  bool unique() const { return storage.use_count() == 1; }
};

}  // namespace sc::media
