#include "app/session/v3_format.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace sc::app {
namespace {

// Value of column c of Gaussian i.
float column_value(const render::GaussianCloud& g, const V3Layout& l, int c, std::size_t i) {
  const int k3 = 3 * l.coefficients();
  if (c < 3) return g.positions[3 * i + c];
  if (c < 6) return 0.0f;  // normals: always zero in 3DGS files
  if (c < 6 + k3) return g.sh[i * std::size_t(k3) + std::size_t(c - 6)];
  if (c == l.opacity_column()) return g.opacities[i];
  if (c < l.rotation_column()) return g.scales[3 * i + std::size_t(c - l.scale_column())];
  return g.rotations[4 * i + std::size_t(c - l.rotation_column())];
}

}  // namespace

int V3Layout::degree_for_info_size(std::size_t values) {
  for (int d = 0; d <= 3; ++d)
    if (values == std::size_t(2 * (14 + 3 * (d + 1) * (d + 1)))) return d;
  return -1;
}

std::uint32_t v3_image_side(std::uint32_t n) {
  std::uint32_t side = std::uint32_t(std::ceil(std::sqrt(double(std::max(n, 1u)))));
  side = (side + 7) / 8 * 8;
  while (std::uint64_t(side) * side < n) side += 8;
  return side;
}

int v3_video_qp(const V3Layout& l, int video, int qp) {
  if (video == 1 || video == 3 || video == 5) return 0;  // high bytes of positions: lossless
  if (video < 6) return qp;
  const int c = video - 3;
  const bool dc = c >= 6 && c < 9;
  const bool scale_or_rot = c >= l.scale_column();
  return (dc || scale_or_rot) ? std::min(qp, 22) : qp;
}

V3Frame v3_quantize(const render::GaussianCloud& g, std::uint32_t side) {
  g.validate("V^3 frame");
  const auto n = static_cast<std::uint32_t>(g.size());
  if (side == 0) side = v3_image_side(n);
  if (std::uint64_t(side) * side < n) throw Error("V^3: {} Gaussians do not fit a {}x{} image", n, side, side);
  V3Layout l{g.sh_degree};
  V3Frame f;
  f.count = n;
  f.side = side;
  f.sh_degree = g.sh_degree;
  const std::size_t plane = std::size_t(side) * side;
  f.planes.assign(plane * std::size_t(l.videos()), 0);
  f.minmax.assign(std::size_t(2 * l.columns()), 0.0f);
  for (int c = 0; c < l.columns(); ++c) {
    float lo = n ? column_value(g, l, c, 0) : 0.0f, hi = lo;
    for (std::size_t i = 1; i < n; ++i) {
      const float v = column_value(g, l, c, i);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    f.minmax[2 * c] = lo;
    f.minmax[2 * c + 1] = hi;
    const float range = hi - lo;
    if (c < 3) {
      std::uint8_t* low = &f.planes[plane * std::size_t(2 * c)];
      std::uint8_t* high = &f.planes[plane * std::size_t(2 * c + 1)];
      for (std::size_t i = 0; i < n; ++i) {
        // A zero range (all equal) quantises to 0 instead of dividing by zero.
        const double t = range > 0 ? double(column_value(g, l, c, i) - lo) / double(range) : 0.0;
        const auto q = static_cast<std::uint32_t>(std::clamp(t * 65535.0, 0.0, 65535.0));
        low[i] = std::uint8_t(q & 0xff);
        high[i] = std::uint8_t(q >> 8);
      }
    } else {
      std::uint8_t* out = &f.planes[plane * std::size_t(c + 3)];
      for (std::size_t i = 0; i < n; ++i) {
        const double t = range > 0 ? double(column_value(g, l, c, i) - lo) / double(range) : 0.0;
        out[i] = static_cast<std::uint8_t>(std::clamp(t * 255.0, 0.0, 255.0));
      }
    }
  }
  return f;
}

render::GaussianCloud v3_dequantize(const V3Frame& f) {
  V3Layout l{f.sh_degree};
  const std::size_t plane = std::size_t(f.side) * f.side;
  if (f.planes.size() != plane * std::size_t(l.videos()) || f.minmax.size() != std::size_t(2 * l.columns()) ||
      f.count > plane)
    throw Error("V^3: frame data does not match its layout ({} Gaussians, side {}, degree {})", f.count, f.side,
                f.sh_degree);
  render::GaussianCloud g;
  g.resize(f.count, f.sh_degree);
  const int k3 = 3 * l.coefficients();
  for (int c = 0; c < l.columns(); ++c) {
    if (c >= 3 && c < 6) continue;  // normals are not used
    const float lo = f.minmax[2 * c], range = f.minmax[2 * c + 1] - lo;
    for (std::size_t i = 0; i < f.count; ++i) {
      float v;
      if (c < 3) {
        const std::uint32_t q =
            f.planes[plane * std::size_t(2 * c) + i] | (f.planes[plane * std::size_t(2 * c + 1) + i] << 8);
        v = float(q) / 65535.0f * range + lo;
        g.positions[3 * i + std::size_t(c)] = v;
        continue;
      }
      v = float(f.planes[plane * std::size_t(c + 3) + i]) / 255.0f * range + lo;
      if (c < 6 + k3)
        g.sh[i * std::size_t(k3) + std::size_t(c - 6)] = v;
      else if (c == l.opacity_column())
        g.opacities[i] = v;
      else if (c < l.rotation_column())
        g.scales[3 * i + std::size_t(c - l.scale_column())] = v;
      else
        g.rotations[4 * i + std::size_t(c - l.rotation_column())] = v;
    }
  }
  for (std::size_t i = 0; i < f.count; ++i) {
    float* q = &g.rotations[4 * i];
    const float len = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    if (len > 0)
      for (int k = 0; k < 4; ++k) q[k] /= len;
    else
      q[0] = 1.0f;
  }
  return g;
}

}  // namespace sc::app
