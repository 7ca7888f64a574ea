#version 450
#extension GL_GOOGLE_include_directive : require
#include "background.glsl"

layout(push_constant) uniform Push { uvec2 size; } pc;
layout(location = 0) out vec4 color;

void main() {
  color = vec4(sc_background(uvec2(gl_FragCoord.xy), pc.size), 1.0);
}
