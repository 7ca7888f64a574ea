#version 450
// Radix sort pass, step 2: stable scatter. A key's place is its block's offset
// for its digit plus the number of same-digit keys before it in the block.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer KeysIn { uvec2 keys_in[]; };
layout(std430, binding = 1) readonly buffer ValsIn { uint vals_in[]; };
layout(std430, binding = 2) writeonly buffer KeysOut { uvec2 keys_out[]; };
layout(std430, binding = 3) writeonly buffer ValsOut { uint vals_out[]; };
layout(std430, binding = 4) readonly buffer Offsets { uint offsets[]; };
layout(push_constant) uniform Push { uint n; uint shift; uint blocks; } pc;

shared uint digits[256];

uint digit_of(uvec2 k) { return pc.shift < 32u ? (k.x >> pc.shift) & 15u : (k.y >> (pc.shift - 32u)) & 15u; }

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint i = gl_GlobalInvocationID.x;
  uvec2 key = uvec2(0u);
  uint d = 16u;  // out of range: matches no real digit
  if (i < pc.n) {
    key = keys_in[i];
    d = digit_of(key);
  }
  digits[t] = d;
  barrier();
  if (i >= pc.n) return;
  uint rank = 0u;
  for (uint j = 0u; j < t; ++j) rank += digits[j] == d ? 1u : 0u;
  const uint dst = offsets[d * pc.blocks + gl_WorkGroupID.x] + rank;
  keys_out[dst] = key;
  vals_out[dst] = vals_in[i];
}
