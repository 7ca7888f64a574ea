#version 450
#extension GL_GOOGLE_include_directive : require
#include "background.glsl"

layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, binding = 0) writeonly buffer Pixels { uint rgba[]; };
layout(push_constant) uniform Push { uvec2 size; } pc;

void main() {
  uvec2 p = gl_GlobalInvocationID.xy;
  if (p.x >= pc.size.x || p.y >= pc.size.y) return;
  rgba[p.y * pc.size.x + p.x] = packUnorm4x8(vec4(sc_background(p, pc.size), 1.0));
}
