#version 450
// Radix sort pass, step 1: per-block histogram of one 8-bit digit, stored
// digit-major (hist[digit * blocks + block]) so one exclusive scan gives every
// block's output offset for every digit.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Keys { uvec2 keys[]; };
layout(std430, binding = 1) writeonly buffer Hist { uint hist[]; };
layout(push_constant) uniform Push { uint n; uint shift; uint blocks; } pc;

shared uint counts[256];

uint digit_of(uvec2 k) { return pc.shift < 32u ? (k.x >> pc.shift) & 255u : (k.y >> (pc.shift - 32u)) & 255u; }

void main() {
  const uint t = gl_LocalInvocationID.x;
  counts[t] = 0u;
  barrier();
  const uint i = gl_GlobalInvocationID.x;
  if (i < pc.n) atomicAdd(counts[digit_of(keys[i])], 1u);
  barrier();
  hist[t * pc.blocks + gl_WorkGroupID.x] = counts[t];
}
