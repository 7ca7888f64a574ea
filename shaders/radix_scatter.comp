#version 450
// Radix sort pass, step 2: stable scatter. A key's place is its block's offset
// for its digit plus the number of same-digit keys before it in the block,
// counted with one 256-bit mask per digit (8 popcounts per key).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer KeysIn { uvec2 keys_in[]; };
layout(std430, binding = 1) readonly buffer ValsIn { uint vals_in[]; };
layout(std430, binding = 2) writeonly buffer KeysOut { uvec2 keys_out[]; };
layout(std430, binding = 3) writeonly buffer ValsOut { uint vals_out[]; };
layout(std430, binding = 4) readonly buffer Offsets { uint offsets[]; };
layout(push_constant) uniform Push { uint n; uint shift; uint blocks; } pc;

shared uint masks[256 * 8];  // [digit][word]: bit t set when thread t has that digit

uint digit_of(uvec2 k) { return pc.shift < 32u ? (k.x >> pc.shift) & 255u : (k.y >> (pc.shift - 32u)) & 255u; }

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint i = gl_GlobalInvocationID.x;
  for (uint w = t; w < 2048u; w += 256u) masks[w] = 0u;
  barrier();
  uvec2 key = uvec2(0u);
  uint d = 0u;
  const bool valid = i < pc.n;
  if (valid) {
    key = keys_in[i];
    d = digit_of(key);
    atomicOr(masks[d * 8u + (t >> 5)], 1u << (t & 31u));
  }
  barrier();
  if (!valid) return;
  uint rank = bitCount(masks[d * 8u + (t >> 5)] & ((1u << (t & 31u)) - 1u));
  for (uint w = 0u; w < (t >> 5); ++w) rank += bitCount(masks[d * 8u + w]);
  const uint dst = offsets[d * pc.blocks + gl_WorkGroupID.x] + rank;
  keys_out[dst] = key;
  vals_out[dst] = vals_in[i];
}
