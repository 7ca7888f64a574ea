#version 450
// The frame's key count, kept on the GPU for the sort and the ranges (no
// round trip to the host mid-frame): count[0] = keys that fit the buffers,
// count[1] = all of them (the host grows the buffers when they differ).
layout(local_size_x = 1) in;
layout(std430, binding = 0) readonly buffer Order { uint order[]; };
layout(std430, binding = 1) readonly buffer Touched { uint touched[]; };
layout(std430, binding = 2) readonly buffer Offsets { uint offsets[]; };  // scanned
layout(std430, binding = 3) writeonly buffer Count { uint count[2]; };
layout(push_constant) uniform Push { uint n; uint capacity; } pc;

void main() {
  const uint last = pc.n - 1u;
  const uint total = offsets[last] + touched[order[last]];
  count[0] = min(total, pc.capacity);
  count[1] = total;
}
