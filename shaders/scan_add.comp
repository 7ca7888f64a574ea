#version 450
// Exclusive prefix sum, second half: adds each block's scanned offset.
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Data { uint data[]; };
layout(std430, binding = 1) readonly buffer Sums { uint block_offsets[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i < pc.n) data[i] += block_offsets[i / 512u];
}
