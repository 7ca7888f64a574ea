#pragma once
// Pixel conversions between the studio's frame formats (host memory).
#include <memory>

#include "media/frame.h"

namespace sc::media {

// RGBA8 -> three float planes in [0, 1] (what the engine consumes).
Frame to_rgb_f32_planar(const Frame& rgba);
// Float planes -> RGBA8 (clamped, rounded; alpha 255).
Frame to_rgba8(const Frame& rgb_f32);

// Converts and scales any host frame to RGBA8 at width x height (swscale,
// bilinear). Keeps a cached context, so reuse one per stream.
class Scaler {
 public:
  Scaler();
  ~Scaler();
  Scaler(const Scaler&) = delete;
  Scaler& operator=(const Scaler&) = delete;

  // out is reused when it has the right size and is not shared.
  void to_rgba(const Frame& in, int width, int height, Frame& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
