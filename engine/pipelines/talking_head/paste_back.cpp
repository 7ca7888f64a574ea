#include "engine/pipelines/talking_head/paste_back.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine::talking_head {

Tensor paste_mask(int size) {
  if (size < 8) throw Error("talking head: a paste mask of {} pixels", size);
  const int inner = static_cast<int>(size * 0.9);
  const int lo = (size - inner) / 2, hi = lo + inner;
  const double ramp = lo - 1;  // the band's last pixel reaches 1
  std::vector<float> m(static_cast<std::size_t>(size) * static_cast<std::size_t>(size));
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const bool in_x = x >= lo && x < hi, in_y = y >= lo && y < hi;
      double v;
      if (in_x && in_y) {
        v = 1.0;
      } else if (in_x) {
        v = y < lo ? y / ramp : 1.0 - (y - hi) / ramp;
      } else if (in_y) {
        v = x < lo ? x / ramp : 1.0 - (x - hi) / ramp;
      } else {
        const double a = x < lo ? 1.0 - x / ramp : (x - hi) / ramp;
        const double b = y < lo ? 1.0 - y / ramp : (y - hi) / ramp;
        v = 1.0 - std::min(1.0, std::sqrt(a * a + b * b));
      }
      m[static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + static_cast<std::size_t>(x)] =
          static_cast<float>(std::clamp(v, 0.0, 1.0));
    }
  }
  return Tensor::from_vector({1, 1, size, size}, m);
}

Tensor to_frame(const Tensor& crop_image, const Affine& m_c2o, int frame_width, int frame_height) {
  // warp_affine's output pixel p reads the input at inverse(m) p = M_o2c p.
  return warp_affine(crop_image, m_c2o, frame_width, frame_height);
}

Tensor paste_back(const Tensor& frame, const Tensor& render, const Tensor& frame_mask, const Affine& m_c2o) {
  if (frame.rank() != 4 || frame.dim(1) != 3 || frame_mask.rank() != 4 || frame_mask.dim(2) != frame.dim(2) ||
      frame_mask.dim(3) != frame.dim(3)) {
    throw Error("talking head: paste back of {} over {} with the mask {}", render.describe(), frame.describe(),
                frame_mask.describe());
  }
  const Tensor warped = to_frame(render, m_c2o, static_cast<int>(frame.dim(3)), static_cast<int>(frame.dim(2)));
  // m render + (1 - m) frame as Ditto's blend writes it, clamped, truncated
  // (all values >= 0: the floor).
  const Tensor inverse = add_scalar(scale(frame_mask, -1.0f), 1.0f);
  const Tensor blended = add(mul(frame_mask, warped), mul(inverse, frame));
  const Tensor clamped = clamp(blended, 0.0f, 255.0f);
  return to_dtype(to_dtype(clamped, DType::kI32), clamped.dtype());
}

}  // namespace sc::engine::talking_head
