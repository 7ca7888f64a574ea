#version 450
#extension GL_GOOGLE_include_directive : require
#include "splat_common.glsl"
// One (tile, depth) key per tile a Gaussian touches, at its scanned offset.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer MeanDepth { vec4 mean_depth[]; };
layout(std430, binding = 1) readonly buffer Rects { uvec4 rects[]; };
layout(std430, binding = 2) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 3) writeonly buffer Keys { uvec2 keys[]; };  // x: depth bits, y: tile
layout(std430, binding = 4) writeonly buffer Values { uint values[]; };
layout(push_constant) uniform Push { uint count; uint tiles_x; } pc;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.count) return;
  const uvec4 r = rects[i];
  // Positive floats order like their bit patterns.
  const uint depth_bits = floatBitsToUint(mean_depth[i].z);
  uint o = offsets[i];
  for (uint ty = r.y; ty < r.w; ++ty)
    for (uint tx = r.x; tx < r.z; ++tx) {
      keys[o] = uvec2(depth_bits, ty * pc.tiles_x + tx);
      values[o] = i;
      ++o;
    }
}
