#include "engine/pipelines/talking_head/crop.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine::talking_head {

Affine invert(const Affine& m) {
  const double a = m[0][0], b = m[0][1], c = m[0][2], d = m[1][0], e = m[1][1], f = m[1][2];
  const double det = a * e - b * d;
  if (std::fabs(det) < 1e-12) throw Error("talking head: a crop transform that cannot be inverted");
  Affine r{};
  r[0] = {e / det, -b / det, (b * f - c * e) / det};
  r[1] = {-d / det, a / det, (c * d - a * f) / det};
  r[2] = {0, 0, 1};
  return r;
}

std::array<double, 2> apply(const Affine& m, double x, double y) {
  return {m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]};
}

Affine landmark106_transform(const std::array<float, 4>& box) {
  const double w = box[2] - box[0], h = box[3] - box[1];
  const double cx = (box[0] + box[2]) / 2.0, cy = (box[1] + box[3]) / 2.0;
  const double longer = std::max(w, h);
  if (!(longer > 0)) throw Error("talking head: an empty face box");
  const double s = 192.0 / (1.5 * longer);
  return {{{s, 0, 96.0 - s * cx}, {0, s, 96.0 - s * cy}, {0, 0, 1}}};
}

namespace {

Point mean_of(std::span<const Point> p, std::initializer_list<int> idx) {
  Point m;
  for (int i : idx) {
    m.x += p[static_cast<std::size_t>(i)].x;
    m.y += p[static_cast<std::size_t>(i)].y;
  }
  m.x /= static_cast<double>(idx.size());
  m.y /= static_cast<double>(idx.size());
  return m;
}

}  // namespace

Affine crop_transform(std::span<const Point> p, LandmarkSet set, const CropOptions& o) {
  const std::size_t want = set == LandmarkSet::k106 ? 106 : 203;
  if (p.size() != want) throw Error("talking head: {} landmarks; the crop takes {}", p.size(), want);
  if (o.size < 1 || !(o.scale > 0)) throw Error("talking head: a crop of {} pixels at scale {}", o.size, o.scale);
  // 1. Two reference points: between the eyes, and the mouth.
  Point eye_l, eye_r, lip;
  if (set == LandmarkSet::k106) {
    eye_l = mean_of(p, {33, 35, 40, 39});
    eye_r = mean_of(p, {87, 89, 94, 93});
    lip = mean_of(p, {52, 61});
  } else {
    eye_l = mean_of(p, {0, 6, 12, 18});
    eye_r = mean_of(p, {24, 30, 36, 42});
    lip = mean_of(p, {48, 66});
  }
  const Point q0{(eye_l.x + eye_r.x) / 2, (eye_l.y + eye_r.y) / 2};
  // 2. The face's axes: uy from the eyes to the mouth, ux across.
  double uy_x = lip.x - q0.x, uy_y = lip.y - q0.y;
  const double len = std::hypot(uy_x, uy_y);
  if (len <= 1e-3 || !o.rotate) {
    uy_x = 0;
    uy_y = 1;
  } else {
    uy_x /= len;
    uy_y /= len;
  }
  const double ux_x = uy_y, ux_y = -uy_x;
  // 3. The landmarks' extent in that frame, squared and scaled.
  Point c0;
  for (const Point& q : p) {
    c0.x += q.x;
    c0.y += q.y;
  }
  c0.x /= static_cast<double>(p.size());
  c0.y /= static_cast<double>(p.size());
  double lx = 1e300, ly = 1e300, rx = -1e300, ry = -1e300;
  for (const Point& q : p) {
    const double dx = q.x - c0.x, dy = q.y - c0.y;
    const double a = dx * ux_x + dy * ux_y, b = dx * uy_x + dy * uy_y;
    lx = std::min(lx, a);
    ly = std::min(ly, b);
    rx = std::max(rx, a);
    ry = std::max(ry, b);
  }
  const double c1x = (lx + rx) / 2, c1y = (ly + ry) / 2;
  const double size = std::max(rx - lx, ry - ly) * o.scale;
  if (!(size > 0)) throw Error("talking head: the landmarks have no extent");
  // 4. The centre, moved along the vertical axis.
  double cx = c0.x + ux_x * c1x + uy_x * c1y, cy = c0.y + ux_y * c1x + uy_y * c1y;
  cx += uy_x * (o.vy_ratio * size);
  cy += uy_y * (o.vy_ratio * size);
  // 5. crop = s * ((p - c) . ux, (p - c) . uy) + (t, t).
  const double s = o.size / size, t = o.size / 2.0;
  return {{{s * ux_x, s * ux_y, t - s * (ux_x * cx + ux_y * cy)},
           {s * uy_x, s * uy_y, t - s * (uy_x * cx + uy_y * cy)},
           {0, 0, 1}}};
}

Tensor warp_affine(const Tensor& image, const Affine& m, int width, int height) {
  if (image.rank() != 4) throw Error("talking head: warp_affine takes [1, C, H, W]; got {}", image.describe());
  if (width < 1 || height < 1) throw Error("talking head: a crop of {}x{}", width, height);
  const Affine back = invert(m);
  const double iw = static_cast<double>(image.dim(3)), ih = static_cast<double>(image.dim(2));
  // grid_sample with align_corners: -1 and 1 are the centres of the first and last pixels.
  std::vector<float> grid(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 2);
  for (int v = 0; v < height; ++v) {
    for (int u = 0; u < width; ++u) {
      const auto [x, y] = apply(back, u, v);
      const std::size_t k =
          (static_cast<std::size_t>(v) * static_cast<std::size_t>(width) + static_cast<std::size_t>(u)) * 2;
      grid[k] = static_cast<float>(iw > 1 ? 2.0 * x / (iw - 1.0) - 1.0 : 0.0);
      grid[k + 1] = static_cast<float>(ih > 1 ? 2.0 * y / (ih - 1.0) - 1.0 : 0.0);
    }
  }
  Tensor g = Tensor::from_vector({1, height, width, 2}, grid);
  if (image.device() != Device::kCpu || image.dtype() != DType::kF32) g = to_dtype(g.to(image.device()), image.dtype());
  GridSampleParams p;
  p.mode = GridSampleMode::kLinear;
  p.padding = GridSamplePadding::kZeros;
  p.align_corners = true;
  return grid_sample(image, g, p);
}

}  // namespace sc::engine::talking_head
