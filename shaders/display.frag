#version 450
// Shows a frame texture (RGBA8, already in display colour space).
layout(set = 0, binding = 0) uniform sampler2D frame_tex;
layout(location = 0) in vec2 uv;
layout(location = 0) out vec4 color;

void main() { color = vec4(texture(frame_tex, uv).rgb, 1.0); }
