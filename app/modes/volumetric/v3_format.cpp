#include "app/modes/volumetric/v3_format.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/thread_pool.h"

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
  render::GaussianCloud g;
  v3_dequantize(f, g);
  return g;
}

void v3_dequantize(const V3Frame& f, render::GaussianCloud& g) {
  V3Layout l{f.sh_degree};
  const std::size_t plane = std::size_t(f.side) * f.side;
  if (f.planes.size() != plane * std::size_t(l.videos()) || f.minmax.size() != std::size_t(2 * l.columns()) ||
      f.count > plane)
    throw Error("V^3: frame data does not match its layout ({} Gaussians, side {}, degree {})", f.count, f.side,
                f.sh_degree);
  // Every element is written below: sizes only, no zero fill.
  g.sh_degree = f.sh_degree;
  const std::size_t n = f.count;
  g.positions.resize(3 * n);
  g.scales.resize(3 * n);
  g.rotations.resize(4 * n);
  g.opacities.resize(n);
  g.sh.resize(n * std::size_t(l.coefficients()) * 3);
  const int k3 = 3 * l.coefficients();
  // This runs for every frame of playback on machines without a GPU. The
  // Gaussians go in blocks whose outputs (up to 48 SH floats each) stay in
  // cache while every column writes its strided share, on every core; column
  // by column over the whole frame would stream the SH array through memory
  // once per coefficient.
  constexpr std::int64_t kBlock = 1024;
  const auto blocks = static_cast<std::int64_t>((f.count + kBlock - 1) / kBlock);
  parallel_for(blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const std::size_t begin = std::size_t(b * kBlock);
      const std::size_t end = std::min<std::size_t>(f.count, begin + kBlock);
      for (int c = 0; c < 3; ++c) {
        const float lo = f.minmax[2 * c], scale = (f.minmax[2 * c + 1] - lo) / 65535.0f;
        const std::uint8_t* low = &f.planes[plane * std::size_t(2 * c)];
        const std::uint8_t* high = &f.planes[plane * std::size_t(2 * c + 1)];
        float* out = g.positions.data() + c;
        for (std::size_t i = begin; i < end; ++i)
          out[3 * i] = float(low[i] | (std::uint32_t(high[i]) << 8)) * scale + lo;
      }
      auto column = [&](int c, float* out, std::size_t stride) {
        const float lo = f.minmax[2 * c], scale = (f.minmax[2 * c + 1] - lo) / 255.0f;
        const std::uint8_t* in = &f.planes[plane * std::size_t(c + 3)];
        for (std::size_t i = begin; i < end; ++i) out[stride * i] = float(in[i]) * scale + lo;
      };
      for (int k = 0; k < k3; ++k) column(6 + k, g.sh.data() + k, std::size_t(k3));
      column(l.opacity_column(), g.opacities.data(), 1);
      for (int a = 0; a < 3; ++a) column(l.scale_column() + a, g.scales.data() + a, 3);
      for (int a = 0; a < 4; ++a) column(l.rotation_column() + a, g.rotations.data() + a, 4);
      for (std::size_t i = begin; i < end; ++i) {
        float* q = &g.rotations[4 * i];
        const float len = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
        if (len > 0)
          for (int k = 0; k < 4; ++k) q[k] /= len;
        else
          q[0] = 1.0f;
      }
    }
  });
}

}  // namespace sc::app
