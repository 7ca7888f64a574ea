#version 450
// Where each tile's run of sorted keys starts and ends. The key count is made
// on the GPU, so the dispatch is a fixed grid striding over it.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Keys { uint keys[]; };  // tiles, sorted
layout(std430, binding = 1) buffer Ranges { uvec2 ranges[]; };
layout(std430, binding = 2) readonly buffer Count { uint count; };  // keys sorted this frame

void main() {
  const uint m = count;
  for (uint i = gl_GlobalInvocationID.x; i < m; i += gl_NumWorkGroups.x * 256u) {
    const uint tile = keys[i];
    if (i == 0u || keys[i - 1u] != tile) ranges[tile].x = i;
    if (i == m - 1u || keys[i + 1u] != tile) ranges[tile].y = i + 1u;
  }
}
