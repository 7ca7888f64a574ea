#version 450
// V^3 de-quantisation on the GPU: the attribute images (bytes, one plane per
// stream) and the frame's min/max become the renderer's Gaussian buffers.
// Layout and formulas: app/modes/volumetric/v3_format.h.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Planes { uint plane_words[]; };  // bytes, 4 per word
layout(std430, binding = 1) readonly buffer MinMax { float minmax[]; };
layout(std430, binding = 2) writeonly buffer Positions { float positions[]; };
layout(std430, binding = 3) writeonly buffer Scales { float scales[]; };
layout(std430, binding = 4) writeonly buffer Rotations { vec4 rotations[]; };
layout(std430, binding = 5) writeonly buffer Opacities { float opacities[]; };
layout(std430, binding = 6) writeonly buffer Sh { float sh[]; };
layout(push_constant) uniform Push {
  uint count;
  uint plane_size;  // side * side
  uint coefficients;  // (degree + 1)^2
} pc;

uint byte_at(uint video, uint i) {
  const uint b = video * pc.plane_size + i;
  return (plane_words[b >> 2] >> ((b & 3u) * 8u)) & 255u;
}

float dequant8(uint column, uint i) {
  const float lo = minmax[2u * column], hi = minmax[2u * column + 1u];
  return float(byte_at(column + 3u, i)) / 255.0 * (hi - lo) + lo;
}

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.count) return;
  for (uint a = 0u; a < 3u; ++a) {
    const uint q = byte_at(2u * a, i) | (byte_at(2u * a + 1u, i) << 8);
    const float lo = minmax[2u * a], hi = minmax[2u * a + 1u];
    positions[3u * i + a] = float(q) / 65535.0 * (hi - lo) + lo;
  }
  const uint k3 = 3u * pc.coefficients;
  for (uint c = 0u; c < k3; ++c) sh[i * k3 + c] = dequant8(6u + c, i);
  const uint opacity_col = 6u + k3;
  opacities[i] = dequant8(opacity_col, i);
  for (uint a = 0u; a < 3u; ++a) scales[3u * i + a] = dequant8(opacity_col + 1u + a, i);
  vec4 q = vec4(dequant8(opacity_col + 4u, i), dequant8(opacity_col + 5u, i), dequant8(opacity_col + 6u, i),
                dequant8(opacity_col + 7u, i));
  // 8-bit rotations are not unit length any more; the projection assumes they are.
  const float len = length(q);
  rotations[i] = len > 0.0 ? q / len : vec4(1.0, 0.0, 0.0, 0.0);
}
