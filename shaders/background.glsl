// The viewport's empty-state background: a vertical blue-grey gradient with a
// faint 32-pixel grid. Shared by background.frag (on screen) and
// background.comp (offscreen, tests); render/background.h has the same formula
// on the CPU so tests can check the GPU result.
vec3 sc_background(uvec2 pixel, uvec2 size) {
  float t = size.y > 1u ? float(pixel.y) / float(size.y - 1u) : 0.0;
  vec3 top = vec3(40.0, 44.0, 56.0) / 255.0;
  vec3 bottom = vec3(16.0, 18.0, 24.0) / 255.0;
  vec3 c = mix(top, bottom, t);
  if (pixel.x % 32u == 0u || pixel.y % 32u == 0u) c += vec3(8.0 / 255.0);
  return c;
}
