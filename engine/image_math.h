#pragma once
// The per-pixel arithmetic of the image ops (engine/ops.h "images"), written
// once for the CPU backend and the CUDA kernels so both give the same bytes.
#include <cmath>
#include <cstdint>

#include "engine/host_device.h"

namespace sc::engine::image_math {

// One output coordinate's two source taps and the weight of the second:
// pixel centres map to pixel centres (half-pixel offsets), edges clamp. An
// output the size of its source reads exactly one tap with weight 0.
struct Taps {
  int lo, hi;
  float w;
};

SC_HOST_DEVICE inline Taps taps(int out, int out_size, int in_size) {
  const float s = static_cast<float>(in_size) / static_cast<float>(out_size);
  float f = (static_cast<float>(out) + 0.5f) * s - 0.5f;
  const float last = static_cast<float>(in_size - 1);
  f = f < 0.0f ? 0.0f : (f > last ? last : f);
  Taps t;
  t.lo = static_cast<int>(f);
  t.hi = t.lo + 1 < in_size ? t.lo + 1 : in_size - 1;
  t.w = f - static_cast<float>(t.lo);
  return t;
}

// Bilinear sample of channel c of packed RGBA8 rows r0 (top) and r1 (bottom),
// mapped from [0, 255] to [-1, 1].
SC_HOST_DEVICE inline float sample_rgba8(const std::uint8_t* r0, const std::uint8_t* r1, Taps x, float wy, int c) {
  const float a = r0[x.lo * 4 + c], b = r0[x.hi * 4 + c];
  const float d = r1[x.lo * 4 + c], e = r1[x.hi * 4 + c];
  const float top = a + (b - a) * x.w;
  const float bottom = d + (e - d) * x.w;
  return (top + (bottom - top) * wy) / 127.5f - 1.0f;
}

// [-1, 1] -> [0, 255]: x / 2 + 1/2 clamped to [0, 1], then rounded to
// nearest with halves away from zero (lround); NaN gives 0.
SC_HOST_DEVICE inline std::uint8_t to_u8(float x) {
  float v = x * 0.5f + 0.5f;
  if (!(v >= 0.0f)) v = 0.0f;  // below 0, or NaN
  if (v > 1.0f) v = 1.0f;
  return static_cast<std::uint8_t>(::lroundf(v * 255.0f));
}

}  // namespace sc::engine::image_math
