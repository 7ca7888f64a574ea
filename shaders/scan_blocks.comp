#version 450
// Exclusive prefix sum, first level: each workgroup scans 512 values in place
// and writes its total to block_sums (scanned again by the next level).
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Data { uint data[]; };
layout(std430, binding = 1) writeonly buffer Sums { uint block_sums[]; };
layout(push_constant) uniform Push { uint n; } pc;

shared uint temp[512];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint base = gl_WorkGroupID.x * 512u;
  const uint a = base + 2u * t, b = a + 1u;
  temp[2u * t] = a < pc.n ? data[a] : 0u;
  temp[2u * t + 1u] = b < pc.n ? data[b] : 0u;
  // Blelloch up-sweep.
  uint offset = 1u;
  for (uint d = 256u; d > 0u; d >>= 1) {
    barrier();
    if (t < d) {
      uint ai = offset * (2u * t + 1u) - 1u, bi = offset * (2u * t + 2u) - 1u;
      temp[bi] += temp[ai];
    }
    offset <<= 1;
  }
  if (t == 0u) {
    block_sums[gl_WorkGroupID.x] = temp[511];
    temp[511] = 0u;
  }
  // Down-sweep.
  for (uint d = 1u; d < 512u; d <<= 1) {
    offset >>= 1;
    barrier();
    if (t < d) {
      uint ai = offset * (2u * t + 1u) - 1u, bi = offset * (2u * t + 2u) - 1u;
      uint v = temp[ai];
      temp[ai] = temp[bi];
      temp[bi] += v;
    }
  }
  barrier();
  if (a < pc.n) data[a] = temp[2u * t];
  if (b < pc.n) data[b] = temp[2u * t + 1u];
}
