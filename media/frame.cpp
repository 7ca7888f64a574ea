#include "media/frame.h"

#include <cstdlib>
#include <cstring>

#include "base/error.h"

namespace sc::media {
namespace {

constexpr int kRowAlign = 64;

int align_up(int v, int a) { return (v + a - 1) / a * a; }

struct PlaneLayout {
  int count = 0;
  std::array<int, 4> row_bytes{};
  std::array<int, 4> rows{};
};

PlaneLayout layout(PixelFormat f, int w, int h) {
  PlaneLayout l;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (f) {
    case PixelFormat::kRgba8:
      l = {1, {w * 4}, {h}};
      break;
    case PixelFormat::kRgbF32Planar:
      l = {3, {w * 4, w * 4, w * 4}, {h, h, h}};
      break;
    case PixelFormat::kNv12:
      l = {2, {w, cw * 2}, {h, ch}};
      break;
    case PixelFormat::kYuv420p:
      l = {3, {w, cw, cw}, {h, ch, ch}};
      break;
    case PixelFormat::kGray8:
      l = {1, {w}, {h}};
      break;
  }
  return l;
}

}  // namespace

const char* to_string(PixelFormat format) {
  switch (format) {
    case PixelFormat::kRgba8:
      return "rgba8";
    case PixelFormat::kRgbF32Planar:
      return "rgb-f32-planar";
    case PixelFormat::kNv12:
      return "nv12";
    case PixelFormat::kYuv420p:
      return "yuv420p";
    case PixelFormat::kGray8:
      return "gray8";
  }
  return "?";
}

int plane_count(PixelFormat format) { return layout(format, 2, 2).count; }

Frame Frame::allocate(PixelFormat format, int width, int height) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    throw Error("frame size {}x{} is out of range (1..16384 per side)", width, height);
  PlaneLayout l = layout(format, width, height);
  Frame f;
  f.width = width;
  f.height = height;
  f.format = format;
  std::size_t total = 0;
  std::array<std::size_t, 4> offsets{};
  for (int p = 0; p < l.count; ++p) {
    f.pitch_bytes[p] = align_up(l.row_bytes[p], kRowAlign);
    offsets[p] = total;
    total += static_cast<std::size_t>(f.pitch_bytes[p]) * l.rows[p];
  }
  void* mem = std::aligned_alloc(kRowAlign, align_up(static_cast<int>(total), kRowAlign));
  if (!mem) throw Error("out of memory allocating a {}x{} {} frame", width, height, to_string(format));
  std::memset(mem, 0, total);
  f.storage = std::shared_ptr<void>(mem, [](void* p) { std::free(p); });
  for (int p = 0; p < l.count; ++p) f.planes[p] = static_cast<std::uint8_t*>(mem) + offsets[p];
  return f;
}

Frame Frame::clone() const {
  if (memory != MemoryKind::kHost) throw Error("internal: clone() of a CUDA frame needs the engine");
  Frame c = allocate(format, width, height);
  PlaneLayout l = layout(format, width, height);
  for (int p = 0; p < l.count; ++p)
    for (int y = 0; y < l.rows[p]; ++y) std::memcpy(c.row(y, p), row(y, p), l.row_bytes[p]);
  c.pts_us = pts_us;
  c.capture_time = capture_time;
  return c;
}

}  // namespace sc::media
