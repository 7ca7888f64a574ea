#version 450
#extension GL_GOOGLE_include_directive : require
#include "splat_common.glsl"
// Per Gaussian: camera transform, EWA projection of the 3D covariance to 2D
// (with the 0.3 low-pass), conic, 3.33-sigma extent, tile rectangle, SH colour.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Positions { float positions[]; };
layout(std430, binding = 1) readonly buffer Scales { float scales[]; };
layout(std430, binding = 2) readonly buffer Rotations { vec4 rotations[]; };  // w x y z
layout(std430, binding = 3) readonly buffer Opacities { float opacities[]; };
layout(std430, binding = 4) readonly buffer Sh { float sh[]; };
layout(std430, binding = 5) writeonly buffer MeanDepth { vec4 mean_depth[]; };      // x y depth radius
layout(std430, binding = 6) writeonly buffer ConicOpacity { vec4 conic_opacity[]; };
layout(std430, binding = 7) writeonly buffer Colors { vec4 colors[]; };
layout(std430, binding = 8) writeonly buffer Rects { uvec4 rects[]; };              // tile x0 y0 x1 y1 (end exclusive)
layout(std430, binding = 9) writeonly buffer Touched { uint touched[]; };
// The depth sort's input: depth bits (positive floats order like their bits;
// culled Gaussians last) and the Gaussian's index.
layout(std430, binding = 10) writeonly buffer DepthKeys { uint depth_keys[]; };
layout(std430, binding = 11) writeonly buffer Order { uint order[]; };

layout(push_constant) uniform Push {
  mat4 viewmat;     // world -> camera (OpenCV: x right, y down, z forward)
  vec4 intrinsics;  // fx fy cx cy
  uvec4 dims;       // width height count sh_degree
  uvec2 tiles;      // tiles in x and y
  vec2 near_far;
} pc;

const float kC0 = 0.28209479177387814;
const float kC1 = 0.4886025119029199;
const float kC2[5] = float[](1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792,
                             0.5462742152960396);
const float kC3[7] = float[](-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
                             -0.4570457994644658, 1.445305721320277, -0.5900435899266435);

vec3 coef(uint base, uint k) { return vec3(sh[base + 3u * k], sh[base + 3u * k + 1u], sh[base + 3u * k + 2u]); }

vec3 sh_color(uint i, vec3 dir) {
  const uint degree = pc.dims.w;
  const uint ncoef = (degree + 1u) * (degree + 1u);
  const uint base = i * ncoef * 3u;
  vec3 c = kC0 * coef(base, 0u);
  if (degree >= 1u) {
    float x = dir.x, y = dir.y, z = dir.z;
    c += -kC1 * y * coef(base, 1u) + kC1 * z * coef(base, 2u) - kC1 * x * coef(base, 3u);
    if (degree >= 2u) {
      float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
      c += kC2[0] * xy * coef(base, 4u) + kC2[1] * yz * coef(base, 5u) +
           kC2[2] * (2.0 * zz - xx - yy) * coef(base, 6u) + kC2[3] * xz * coef(base, 7u) +
           kC2[4] * (xx - yy) * coef(base, 8u);
      if (degree >= 3u) {
        c += kC3[0] * y * (3.0 * xx - yy) * coef(base, 9u) + kC3[1] * xy * z * coef(base, 10u) +
             kC3[2] * y * (4.0 * zz - xx - yy) * coef(base, 11u) +
             kC3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * coef(base, 12u) +
             kC3[4] * x * (4.0 * zz - xx - yy) * coef(base, 13u) + kC3[5] * z * (xx - yy) * coef(base, 14u) +
             kC3[6] * x * (xx - 3.0 * yy) * coef(base, 15u);
      }
    }
  }
  return max(c + 0.5, vec3(0.0));
}

void cull(uint i) {
  mean_depth[i] = vec4(0.0);
  rects[i] = uvec4(0u);
  touched[i] = 0u;
  depth_keys[i] = 0xffffffffu;
}

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= pc.dims.z) return;
  order[i] = i;
  const vec3 p_world = vec3(positions[3u * i], positions[3u * i + 1u], positions[3u * i + 2u]);
  const vec3 p = (pc.viewmat * vec4(p_world, 1.0)).xyz;
  if (p.z < pc.near_far.x || p.z > pc.near_far.y) {
    cull(i);
    return;
  }
  // 3D covariance R S S^T R^T, then into camera space.
  const vec4 q = rotations[i];
  const float w = q.x, x = q.y, y = q.z, z = q.w;
  const mat3 R = mat3(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y),
                      2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x),
                      2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y));
  const vec3 s = vec3(scales[3u * i], scales[3u * i + 1u], scales[3u * i + 2u]);
  const mat3 M = R * mat3(s.x, 0, 0, 0, s.y, 0, 0, 0, s.z);
  const mat3 W = mat3(pc.viewmat);
  const mat3 cov_c = W * (M * transpose(M)) * transpose(W);

  // EWA: the Jacobian of the perspective projection at the (clamped) mean.
  const float fx = pc.intrinsics.x, fy = pc.intrinsics.y, cx = pc.intrinsics.z, cy = pc.intrinsics.w;
  const float width = float(pc.dims.x), height = float(pc.dims.y);
  const float tan_x = 0.5 * width / fx, tan_y = 0.5 * height / fy;
  const float lim_x_pos = (width - cx) / fx + 0.3 * tan_x, lim_x_neg = cx / fx + 0.3 * tan_x;
  const float lim_y_pos = (height - cy) / fy + 0.3 * tan_y, lim_y_neg = cy / fy + 0.3 * tan_y;
  const float rz = 1.0 / p.z, rz2 = rz * rz;
  const float tx = p.z * min(lim_x_pos, max(-lim_x_neg, p.x * rz));
  const float ty = p.z * min(lim_y_pos, max(-lim_y_neg, p.y * rz));
  // mat3x2 in GLSL is 3 columns of vec2: J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]].
  const mat3x2 J = mat3x2(fx * rz, 0.0, 0.0, fy * rz, -fx * tx * rz2, -fy * ty * rz2);
  mat2 cov2d = J * cov_c * transpose(J);
  cov2d[0][0] += 0.3;  // low-pass: every splat covers at least about a pixel
  cov2d[1][1] += 0.3;
  const float det = cov2d[0][0] * cov2d[1][1] - cov2d[0][1] * cov2d[1][0];
  if (!(det > 0.0)) {
    cull(i);
    return;
  }
  const vec3 conic = vec3(cov2d[1][1], -cov2d[0][1], cov2d[0][0]) / det;
  // Extent per axis, 3.33 sigma (as gsplat): beyond it exp(-sigma) < 1/255, so
  // no pixel outside can receive a contribution.
  const vec2 radius = ceil(3.33 * sqrt(vec2(cov2d[0][0], cov2d[1][1])));
  const vec2 mean2d = vec2(fx * p.x * rz + cx, fy * p.y * rz + cy);
  if (radius.x <= 0.0 || radius.y <= 0.0 || mean2d.x + radius.x <= 0.0 || mean2d.x - radius.x >= width ||
      mean2d.y + radius.y <= 0.0 || mean2d.y - radius.y >= height) {
    cull(i);
    return;
  }
  const vec2 tmin = clamp(floor((mean2d - radius) / float(kTileSize)), vec2(0.0), vec2(pc.tiles));
  const vec2 tmax = clamp(ceil((mean2d + radius) / float(kTileSize)), vec2(0.0), vec2(pc.tiles));
  const uvec4 rect = uvec4(tmin, tmax);
  const uint n = (rect.z - rect.x) * (rect.w - rect.y);
  if (n == 0u) {
    cull(i);
    return;
  }
  // View direction for the SH colour: from the camera centre to the mean.
  const mat3 Rt = transpose(W);
  const vec3 campos = -(Rt * pc.viewmat[3].xyz);
  const vec3 dir = normalize(p_world - campos);
  mean_depth[i] = vec4(mean2d, p.z, max(radius.x, radius.y));
  conic_opacity[i] = vec4(conic, opacities[i]);
  // w: the sigma beyond which this splat's alpha is under 1/255 (rasterizer shortcut).
  colors[i] = vec4(sh_color(i, dir), log(255.0 * opacities[i]) + 1e-3);
  rects[i] = rect;
  touched[i] = n;
  depth_keys[i] = floatBitsToUint(p.z);
}
