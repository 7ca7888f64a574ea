#pragma once
// The coordinate arithmetic of resize2d (engine/ops.h), written once for the
// CPU backend and the CUDA kernels so both pick the same taps. It follows
// onnxruntime's Resize term for term, in f32, because the golden tests
// compare against it and a half-pixel tie rounds differently otherwise.
#include <cmath>
#include <cstdint>

#include "engine/host_device.h"
#include "engine/ops.h"

namespace sc::engine::resize_math {

// The input coordinate output coordinate o reads (before clamping).
SC_HOST_DEVICE inline float source(ResizeCoords coords, std::int64_t o, std::int64_t out_len, std::int64_t in_len,
                                   float scale) {
  const float of = static_cast<float>(o);
  switch (coords) {
    case ResizeCoords::kHalfPixel:
      return (of + 0.5f) / scale - 0.5f;
    case ResizeCoords::kPytorchHalfPixel:
      return out_len > 1 ? (of + 0.5f) / scale - 0.5f : 0.0f;
    case ResizeCoords::kAlignCorners:
      return out_len == 1 ? 0.0f : of * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1);
    case ResizeCoords::kAsymmetric:
      return of / scale;
  }
  return 0.0f;
}

SC_HOST_DEVICE inline float effective_scale(float given, std::int64_t out_len, std::int64_t in_len) {
  return given > 0.0f ? given : static_cast<float>(out_len) / static_cast<float>(in_len);
}

SC_HOST_DEVICE inline std::int64_t nearest(const Resize2dParams& p, std::int64_t o, std::int64_t out_len,
                                           std::int64_t in_len, float scale) {
  const float x = source(p.coords, o, out_len, in_len, scale);
  std::int64_t i = 0;
  switch (p.rounding) {
    case ResizeRounding::kRoundPreferFloor:
      i = x == static_cast<float>(static_cast<std::int64_t>(x)) + 0.5f ? static_cast<std::int64_t>(floorf(x))
                                                                       : static_cast<std::int64_t>(roundf(x));
      break;
    case ResizeRounding::kRoundPreferCeil:
      i = static_cast<std::int64_t>(roundf(x));
      break;
    case ResizeRounding::kFloor:
      i = static_cast<std::int64_t>(floorf(x));
      break;
    case ResizeRounding::kCeil:
      i = static_cast<std::int64_t>(ceilf(x));
      break;
  }
  return i < 0 ? 0 : (i >= in_len ? in_len - 1 : i);
}

// Linear: the two taps and the weight of the second; the source coordinate
// is clamped to the input first, so edges repeat.
struct Tap {
  std::int64_t lo, hi;
  float w;
};

SC_HOST_DEVICE inline Tap linear(const Resize2dParams& p, std::int64_t o, std::int64_t out_len, std::int64_t in_len,
                                 float scale) {
  float x = source(p.coords, o, out_len, in_len, scale);
  const float last = static_cast<float>(in_len - 1);
  x = x < 0.0f ? 0.0f : (x > last ? last : x);
  Tap t;
  t.lo = static_cast<std::int64_t>(x);
  t.hi = t.lo + 1 < in_len ? t.lo + 1 : in_len - 1;
  t.w = x - static_cast<float>(t.lo);
  return t;
}

}  // namespace sc::engine::resize_math
