// Registration's crops (engine/pipelines/talking_head/crop.h): the 106-point
// net's box transform, the rotated crop's invariance to how the face is
// turned in the photo, and the affine warp against exact pixel shifts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "base/error.h"
#include "engine/pipelines/talking_head/crop.h"

namespace sc::engine::talking_head {
namespace {

TEST(TalkingHeadCrop, TheLandmarkBoxIsCentredAndScaled) {
  const Affine m = landmark106_transform({100, 50, 300, 250});
  const auto c = apply(m, 200, 150);
  EXPECT_NEAR(c[0], 96.0, 1e-9);
  EXPECT_NEAR(c[1], 96.0, 1e-9);
  EXPECT_NEAR(m[0][0], 192.0 / 300.0, 1e-12);
  const Affine back = invert(m);
  const auto p = apply(back, c[0], c[1]);
  EXPECT_NEAR(p[0], 200.0, 1e-9);
  EXPECT_THROW(landmark106_transform({5, 5, 5, 5}), Error);
}

// 203 landmarks of an upright face: eyes at (+-20, 0), the mouth at (0, 40),
// the rest on a ring around the face.
std::vector<Point> upright_face() {
  std::vector<Point> p(203);
  for (int i = 0; i < 203; ++i) {
    const double a = 2.0 * M_PI * i / 203.0;
    p[static_cast<std::size_t>(i)] = {70.0 * std::cos(a), 20.0 + 90.0 * std::sin(a)};
  }
  for (int i : {0, 6, 12, 18}) p[static_cast<std::size_t>(i)] = {-20, 0};
  for (int i : {24, 30, 36, 42}) p[static_cast<std::size_t>(i)] = {20, 0};
  for (int i : {48, 66}) p[static_cast<std::size_t>(i)] = {0, 40};
  return p;
}

TEST(TalkingHeadCrop, TheCropUndoesTheFacesRotation) {
  const std::vector<Point> up = upright_face();
  const CropOptions o;  // 512, scale 2.3, vy -0.125
  const Affine m_up = crop_transform(up, LandmarkSet::k203, o);
  // Upright: no rotation in the transform; the crop is the landmarks' bounding box,
  // squared, times 2.3, its centre moved up by 0.125 of that.
  EXPECT_NEAR(m_up[0][1], 0.0, 1e-12);
  EXPECT_NEAR(m_up[1][0], 0.0, 1e-12);
  double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
  for (const Point& q : up) {
    x0 = std::min(x0, q.x);
    x1 = std::max(x1, q.x);
    y0 = std::min(y0, q.y);
    y1 = std::max(y1, q.y);
  }
  const double size = std::max(x1 - x0, y1 - y0) * 2.3;
  EXPECT_NEAR(m_up[0][0], 512.0 / size, 1e-9);
  const auto centre = apply(m_up, (x0 + x1) / 2, (y0 + y1) / 2 - 0.125 * size);
  EXPECT_NEAR(centre[0], 256.0, 1e-9);
  EXPECT_NEAR(centre[1], 256.0, 1e-9);
  // The same face turned by 30 degrees and moved: every landmark lands where it did.
  const double th = 30.0 * M_PI / 180.0;
  std::vector<Point> turned;
  for (const Point& q : up)
    turned.push_back({500 + q.x * std::cos(th) - q.y * std::sin(th), 400 + q.x * std::sin(th) + q.y * std::cos(th)});
  const Affine m_turned = crop_transform(turned, LandmarkSet::k203, o);
  for (std::size_t i = 0; i < up.size(); ++i) {
    const auto a = apply(m_up, up[i].x, up[i].y);
    const auto b = apply(m_turned, turned[i].x, turned[i].y);
    EXPECT_NEAR(a[0], b[0], 1e-6) << i;
    EXPECT_NEAR(a[1], b[1], 1e-6) << i;
  }
  CropOptions no_rot = o;
  no_rot.rotate = false;
  const Affine m_flat = crop_transform(turned, LandmarkSet::k203, no_rot);
  EXPECT_NEAR(m_flat[0][1], 0.0, 1e-12);
  EXPECT_THROW(crop_transform(std::span(up).first(106), LandmarkSet::k203, o), Error);
}

TEST(TalkingHeadCrop, WarpingIsExactOnPixelShiftsAndZeroOutside) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(0.0f, 255.0f);
  std::vector<float> v(3 * 20 * 30);
  for (float& x : v) x = d(rng);
  const Tensor image = Tensor::from_vector({1, 3, 20, 30}, v);
  const Affine identity{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  const Tensor same = warp_affine(image, identity, 30, 20);
  ASSERT_EQ(same.shape(), image.shape());
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(same.data<float>()[i], v[i], 1e-3f);
  // crop(u, v) = image(u + 3, v + 2): crop = image - (3, 2).
  const Affine shift{{{1, 0, -3}, {0, 1, -2}, {0, 0, 1}}};
  const Tensor moved = warp_affine(image, shift, 10, 8);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 10; ++x)
        EXPECT_NEAR(moved.data<float>()[(c * 8 + y) * 10 + x],
                    v[static_cast<std::size_t>((c * 20 + y + 2) * 30 + x + 3)], 1e-3f);
  // A crop reaching past the image reads zeros there.
  const Affine far{{{1, 0, 25}, {0, 1, 0}, {0, 0, 1}}};
  const Tensor outside = warp_affine(image, far, 10, 4);
  EXPECT_FLOAT_EQ(outside.data<float>()[0], 0.0f);     // x = -25
  EXPECT_NEAR(outside.data<float>()[9], 0.0f, 1e-6f);  // x = -16
}

}  // namespace
}  // namespace sc::engine::talking_head
