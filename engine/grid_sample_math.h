#pragma once
// The coordinate arithmetic of grid_sample (engine/ops.h), written once for
// the CPU backend and the CUDA kernels so both read the same taps with the
// same weights. It follows PyTorch's grid_sampler (unnormalise, reflect,
// clip) term for term in f32, which onnxruntime's GridSample matches.
#include <cmath>
#include <cstdint>

#include "engine/host_device.h"
#include "engine/ops.h"

namespace sc::engine::grid_sample_math {

// Mirrors `in` into [twice_low / 2, twice_high / 2] (PyTorch's
// reflect_coordinates; the bounds come doubled so they stay integers).
SC_HOST_DEVICE inline float reflect(float in, std::int64_t twice_low, std::int64_t twice_high) {
  if (twice_low == twice_high) return 0.0f;
  const float lo = static_cast<float>(twice_low) / 2.0f;
  const float span = static_cast<float>(twice_high - twice_low) / 2.0f;
  in = fabsf(in - lo);
  const float extra = fmodf(in, span);
  const int flips = static_cast<int>(floorf(in / span));
  return flips % 2 == 0 ? extra + lo : span - extra + lo;
}

// a * b rounded on its own: nvcc would otherwise fuse it with the next add
// into an FMA, and a nearest tap would differ from the CPU's at a near-tie.
SC_HOST_DEVICE inline float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

SC_HOST_DEVICE inline float clip(float x, std::int64_t size) {
  const float hi = static_cast<float>(size - 1);
  return x < 0.0f ? 0.0f : (x > hi ? hi : x);
}

// The input coordinate (in pixels, along an axis of `size`) that the grid
// value g in [-1, 1] reads, after the padding mode's reflect or clip. A NaN
// grid value stays NaN: the taps then fall outside and read zeros.
SC_HOST_DEVICE inline float source(float g, std::int64_t size, const GridSampleParams& p) {
  float x = p.align_corners ? mul_rn((g + 1.0f) / 2.0f, static_cast<float>(size - 1))
                            : (mul_rn(g + 1.0f, static_cast<float>(size)) - 1.0f) / 2.0f;
  if (p.padding == GridSamplePadding::kBorder) {
    x = clip(x, size);
  } else if (p.padding == GridSamplePadding::kReflection) {
    x = p.align_corners ? reflect(x, 0, 2 * (size - 1)) : reflect(x, -1, 2 * size - 1);
    x = clip(x, size);
  }
  return x;
}

// Linear taps along one axis: index lo (lo + 1 is the other) and the weight
// of lo + 1. Either may lie outside [0, size): the caller reads it as zero.
struct Taps {
  std::int64_t lo;
  float w;
};

SC_HOST_DEVICE inline Taps linear(float x) {
  const float f = floorf(x);
  // Far outside (or NaN): a tap that is out of range on both sides.
  if (!(f > -1e9f && f < 1e9f)) return {-2, 0.0f};
  return {static_cast<std::int64_t>(f), x - f};
}

// Nearest: round half to even, as PyTorch's nearbyint.
SC_HOST_DEVICE inline std::int64_t nearest(float x) {
  const float r = rintf(x);
  if (!(r > -1e9f && r < 1e9f)) return -1;
  return static_cast<std::int64_t>(r);
}

SC_HOST_DEVICE inline bool inside(std::int64_t i, std::int64_t size) { return i >= 0 && i < size; }

}  // namespace sc::engine::grid_sample_math
