#include "media/convert.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

extern "C" {
#include <libswscale/swscale.h>
}

namespace sc::media {

Frame to_rgb_f32_planar(const Frame& in) {
  if (in.format != PixelFormat::kRgba8 || in.memory != MemoryKind::kHost)
    throw Error("internal: to_rgb_f32_planar needs a host RGBA8 frame, got {}", to_string(in.format));
  Frame out = Frame::allocate(PixelFormat::kRgbF32Planar, in.width, in.height);
  constexpr float kScale = 1.0f / 255.0f;
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* src = in.row(y);
    float* r = out.row_as<float>(y, 0);
    float* g = out.row_as<float>(y, 1);
    float* b = out.row_as<float>(y, 2);
    for (int x = 0; x < in.width; ++x) {
      r[x] = src[4 * x] * kScale;
      g[x] = src[4 * x + 1] * kScale;
      b[x] = src[4 * x + 2] * kScale;
    }
  }
  out.pts_us = in.pts_us;
  out.capture_time = in.capture_time;
  return out;
}

Frame to_rgba8(const Frame& in) {
  if (in.format != PixelFormat::kRgbF32Planar || in.memory != MemoryKind::kHost)
    throw Error("internal: to_rgba8 needs a host planar float frame, got {}", to_string(in.format));
  Frame out = Frame::allocate(PixelFormat::kRgba8, in.width, in.height);
  auto q = [](float v) { return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 255.0f)); };
  for (int y = 0; y < in.height; ++y) {
    std::uint8_t* dst = out.row(y);
    const float* r = in.row_as<float>(y, 0);
    const float* g = in.row_as<float>(y, 1);
    const float* b = in.row_as<float>(y, 2);
    for (int x = 0; x < in.width; ++x) {
      dst[4 * x] = q(r[x]);
      dst[4 * x + 1] = q(g[x]);
      dst[4 * x + 2] = q(b[x]);
      dst[4 * x + 3] = 255;
    }
  }
  out.pts_us = in.pts_us;
  out.capture_time = in.capture_time;
  return out;
}

struct Scaler::Impl {
  SwsContext* sws = nullptr;
  ~Impl() { sws_freeContext(sws); }
};

Scaler::Scaler() : impl_(std::make_unique<Impl>()) {}
Scaler::~Scaler() = default;

void Scaler::to_rgba(const Frame& in, int width, int height, Frame& out) {
  if (in.memory != MemoryKind::kHost) throw Error("internal: Scaler needs host frames");
  AVPixelFormat src_fmt = AV_PIX_FMT_NONE;
  switch (in.format) {
    case PixelFormat::kRgba8:
      src_fmt = AV_PIX_FMT_RGBA;
      break;
    case PixelFormat::kNv12:
      src_fmt = AV_PIX_FMT_NV12;
      break;
    case PixelFormat::kYuv420p:
      src_fmt = AV_PIX_FMT_YUV420P;
      break;
    case PixelFormat::kGray8:
      src_fmt = AV_PIX_FMT_GRAY8;
      break;
    case PixelFormat::kRgbF32Planar: {
      Frame rgba = to_rgba8(in);
      to_rgba(rgba, width, height, out);
      return;
    }
  }
  if (out.width != width || out.height != height || out.format != PixelFormat::kRgba8 || out.empty() || !out.unique())
    out = Frame::allocate(PixelFormat::kRgba8, width, height);
  impl_->sws = sws_getCachedContext(impl_->sws, in.width, in.height, src_fmt, width, height, AV_PIX_FMT_RGBA,
                                    SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!impl_->sws)
    throw Error("cannot convert {} {}x{} to RGBA {}x{}", to_string(in.format), in.width, in.height, width, height);
  const std::uint8_t* src[4] = {in.planes[0], in.planes[1], in.planes[2], in.planes[3]};
  std::uint8_t* dst[4] = {out.planes[0], nullptr, nullptr, nullptr};
  int dst_pitch[4] = {out.pitch_bytes[0], 0, 0, 0};
  sws_scale(impl_->sws, src, in.pitch_bytes.data(), 0, in.height, dst, dst_pitch);
  out.pts_us = in.pts_us;
  out.capture_time = in.capture_time;
}

}  // namespace sc::media
