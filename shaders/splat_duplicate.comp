#version 450
#extension GL_GOOGLE_include_directive : require
#include "splat_common.glsl"
// One key (its tile) per tile a Gaussian touches, Gaussians in depth order,
// at the scanned offset: a stable sort by tile then leaves each tile's keys
// front to back. Keys past the buffer's capacity are dropped; the host sees
// the full count, grows the buffers and draws the frame again.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Order { uint order[]; };  // Gaussians, nearest first
layout(std430, binding = 1) readonly buffer Rects { uvec4 rects[]; };
layout(std430, binding = 2) readonly buffer Offsets { uint offsets[]; };  // by depth rank
layout(std430, binding = 3) writeonly buffer Keys { uint keys[]; };       // tile
layout(std430, binding = 4) writeonly buffer Values { uint values[]; };   // Gaussian
layout(push_constant) uniform Push { uint count; uint tiles_x; uint capacity; } pc;

void main() {
  const uint k = gl_GlobalInvocationID.x;
  if (k >= pc.count) return;
  const uint g = order[k];
  const uvec4 r = rects[g];
  uint o = offsets[k];
  for (uint ty = r.y; ty < r.w; ++ty)
    for (uint tx = r.x; tx < r.z; ++tx) {
      if (o < pc.capacity) {
        keys[o] = ty * pc.tiles_x + tx;
        values[o] = g;
      }
      ++o;
    }
}
