#version 450
#extension GL_GOOGLE_include_directive : require
// Radix sort pass, step 2: stable scatter, one row of 256 keys at a time. A
// key's place is its workgroup's offset for its digit, plus the keys with that
// digit in earlier rows (running[]), plus those before it in its row, counted
// with one 256-bit mask per digit (8 popcounts per key).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer KeysIn { uint keys_in[]; };
layout(std430, binding = 1) readonly buffer ValsIn { uint vals_in[]; };
layout(std430, binding = 2) writeonly buffer KeysOut { uint keys_out[]; };
layout(std430, binding = 3) writeonly buffer ValsOut { uint vals_out[]; };
layout(std430, binding = 4) readonly buffer Offsets { uint offsets[]; };
layout(std430, binding = 5) readonly buffer Count { uint count_in; };
#include "radix_common.glsl"

shared uint masks[256 * 8];  // [digit][word]: bit t set when thread t has that digit
shared uint running[256];    // per digit: where this workgroup's next key with it goes

void main() {
  const uint t = gl_LocalInvocationID.x;
  for (uint w = t; w < 2048u; w += 256u) masks[w] = 0u;
  running[t] = offsets[t * pc.blocks + gl_WorkGroupID.x];
  barrier();
  const uint n = key_count();
  const uint word = t >> 5, bit = 1u << (t & 31u);
  for (uint row = 0u; row < pc.rows; ++row) {
    const uint start = (gl_WorkGroupID.x * pc.rows + row) * 256u;
    if (start >= n) break;  // the same for the whole workgroup, so the barriers stay uniform
    const uint i = start + t;
    const bool valid = i < n;
    uvec2 key = uvec2(0u);
    uint d = 0u;
    if (valid) {
      key = load_key(i);
      d = digit_of(key);
      atomicOr(masks[d * 8u + word], bit);
    }
    barrier();
    if (valid) {
      uint rank = bitCount(masks[d * 8u + word] & (bit - 1u));
      for (uint w = 0u; w < word; ++w) rank += bitCount(masks[d * 8u + w]);
      const uint dst = running[d] + rank;
      if (pc.key_words == 2u) {
        keys_out[2u * dst] = key.x;
        keys_out[2u * dst + 1u] = key.y;
      } else {
        keys_out[dst] = key.x;
      }
      vals_out[dst] = vals_in[i];
    }
    barrier();
    // Thread t owns digit t: step past this row's keys with it, and clear its
    // masks for the next row.
    uint c = 0u;
    for (uint w = 0u; w < 8u; ++w) {
      c += bitCount(masks[t * 8u + w]);
      masks[t * 8u + w] = 0u;
    }
    running[t] += c;
    barrier();
  }
}
