#version 450
#extension GL_GOOGLE_include_directive : require
// Radix sort pass, step 1: per-workgroup histogram of one 8-bit digit over
// its rows of keys, stored digit-major (hist[digit * blocks + block]) so one
// exclusive scan gives every workgroup's output offset for every digit.
// Workgroups past the key count write zeros (the dispatch is sized for the
// upper bound when the count comes from the GPU).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer KeysIn { uint keys_in[]; };
layout(std430, binding = 1) writeonly buffer Hist { uint hist[]; };
layout(std430, binding = 2) readonly buffer Count { uint count_in; };
#include "radix_common.glsl"

shared uint counts[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  counts[t] = 0u;
  barrier();
  const uint n = key_count();
  const uint base = gl_WorkGroupID.x * pc.rows * 256u;
  const uint end = min(base + pc.rows * 256u, n);
  for (uint i = base + t; i < end; i += 256u) atomicAdd(counts[digit_of(load_key(i))], 1u);
  barrier();
  hist[t * pc.blocks + gl_WorkGroupID.x] = counts[t];
}
