#version 450
#extension GL_GOOGLE_include_directive : require
#include "splat_common.glsl"
// One workgroup per 16x16 tile: walk the tile's Gaussians front to back in
// batches through shared memory and blend.
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer Ranges { uvec2 ranges[]; };
layout(std430, binding = 1) readonly buffer Values { uint values[]; };
layout(std430, binding = 2) readonly buffer MeanDepth { vec4 mean_depth[]; };
layout(std430, binding = 3) readonly buffer ConicOpacity { vec4 conic_opacity[]; };
layout(std430, binding = 4) readonly buffer Colors { vec4 colors[]; };
layout(std430, binding = 5) writeonly buffer OutFloat { vec4 out_float[]; };  // rgb, alpha = 1 - T
layout(std430, binding = 6) writeonly buffer OutRgba { uint out_rgba[]; };
layout(push_constant) uniform Push {
  vec4 background;  // rgb
  uvec2 size;
  uint tiles_x;
  float alpha_max;  // clamp of a single splat's alpha
} pc;

const uint kBatch = 256u;
shared vec2 s_mean[kBatch];
shared vec4 s_conic_opacity[kBatch];
shared float s_max_sigma[kBatch];  // beyond this sigma, alpha < 1/255: no exp needed
// (Shared-memory batches measured faster than direct uniform loads on lavapipe.)
shared vec3 s_color[kBatch];
shared uint s_done;

void main() {
  const uvec2 tile = gl_WorkGroupID.xy;
  const uvec2 pix = tile * kTileSize + gl_LocalInvocationID.xy;
  const uint t = gl_LocalInvocationIndex;
  const bool inside = pix.x < pc.size.x && pix.y < pc.size.y;
  const vec2 centre = vec2(pix) + 0.5;
  const uvec2 range = ranges[tile.y * pc.tiles_x + tile.x];
  float T = 1.0;
  vec3 C = vec3(0.0);
  bool done = !inside;
  for (uint start = range.x; start < range.y; start += kBatch) {
    if (t == 0u) s_done = 0u;
    barrier();
    if (done) atomicAdd(s_done, 1u);
    const uint idx = start + t;
    if (idx < range.y) {
      const uint g = values[idx];
      s_mean[t] = mean_depth[g].xy;
      s_conic_opacity[t] = conic_opacity[g];
      s_max_sigma[t] = colors[g].w;  // ln(255 opacity), from the preprocess
      s_color[t] = colors[g].rgb;
    }
    barrier();
    if (s_done == kTileSize * kTileSize) break;  // every pixel of the tile is opaque
    const uint n = min(kBatch, range.y - start);
    for (uint j = 0u; j < n && !done; ++j) {
      const vec4 co = s_conic_opacity[j];
      const vec2 d = s_mean[j] - centre;
      const float sigma = 0.5 * (co.x * d.x * d.x + co.z * d.y * d.y) + co.y * d.x * d.y;
      if (sigma < 0.0 || sigma > s_max_sigma[j]) continue;
      const float alpha = min(pc.alpha_max, co.w * exp(-sigma));
      if (alpha < 1.0 / 255.0) continue;
      const float next_T = T * (1.0 - alpha);
      if (next_T <= 1e-4) {
        done = true;
        break;
      }
      C += alpha * T * s_color[j];
      T = next_T;
    }
  }
  if (!inside) return;
  const vec3 rgb = C + T * pc.background.rgb;
  const uint o = pix.y * pc.size.x + pix.x;
  out_float[o] = vec4(rgb, 1.0 - T);
  out_rgba[o] = packUnorm4x8(vec4(clamp(rgb, 0.0, 1.0), 1.0));
}
