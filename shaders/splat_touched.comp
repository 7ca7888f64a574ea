#version 450
// Tiles touched per Gaussian, in depth order: the exclusive prefix sum of
// these is where each Gaussian's keys start.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Order { uint order[]; };
layout(std430, binding = 1) readonly buffer Touched { uint touched[]; };
layout(std430, binding = 2) writeonly buffer Offsets { uint offsets[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  const uint k = gl_GlobalInvocationID.x;
  if (k < pc.count) offsets[k] = touched[order[k]];
}
