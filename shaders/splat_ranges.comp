#version 450
// Where each tile's run of sorted keys starts and ends.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Keys { uvec2 keys[]; };
layout(std430, binding = 1) buffer Ranges { uvec2 ranges[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.count) return;
  const uint tile = keys[i].y;
  if (i == 0u || keys[i - 1u].y != tile) ranges[tile].x = i;
  if (i == pc.count - 1u || keys[i + 1u].y != tile) ranges[tile].y = i + 1u;
}
