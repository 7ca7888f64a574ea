#version 450
// A full-viewport triangle carrying texture coordinates for a source rectangle:
// the viewport is set to the destination rectangle, uv maps onto the source.
layout(push_constant) uniform Push {
  vec2 uv_offset;
  vec2 uv_scale;
} pc;
layout(location = 0) out vec2 uv;

void main() {
  vec2 t = vec2((gl_VertexIndex << 1) & 2, gl_VertexIndex & 2);
  uv = pc.uv_offset + t * pc.uv_scale;
  gl_Position = vec4(t * 2.0 - 1.0, 0.0, 1.0);
}
