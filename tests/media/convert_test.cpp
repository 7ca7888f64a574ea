#include "media/convert.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace sc::media {
namespace {

TEST(Frame, AllocatesAlignedPlanes) {
  Frame f = Frame::allocate(PixelFormat::kRgbF32Planar, 37, 5);
  EXPECT_EQ(plane_count(f.format), 3);
  for (int p = 0; p < 3; ++p) {
    EXPECT_NE(f.planes[p], nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f.planes[p]) % 64, 0u);
    EXPECT_GE(f.pitch_bytes[p], 37 * 4);
  }
  Frame nv = Frame::allocate(PixelFormat::kNv12, 33, 17);
  EXPECT_EQ(plane_count(nv.format), 2);
  EXPECT_GE(nv.pitch_bytes[1], 34);
  EXPECT_THROW(Frame::allocate(PixelFormat::kRgba8, 0, 10), Error);
}

TEST(Frame, CloneIsDeep) {
  Frame a = Frame::make_rgba(4, 4);
  a.row(1)[5] = 77;
  a.pts_us = 42;
  Frame b = a.clone();
  b.row(1)[5] = 1;
  EXPECT_EQ(a.row(1)[5], 77);
  EXPECT_EQ(b.pts_us, 42);
  Frame shared = a;
  EXPECT_FALSE(a.unique());
}

TEST(Convert, RgbaToPlanarFloatAndBackIsExact) {
  Frame rgba = Frame::make_rgba(19, 7);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 19 * 4; ++x) rgba.row(y)[x] = static_cast<std::uint8_t>((x * 37 + y * 11) & 255);
  rgba.pts_us = 1234;
  Frame f = to_rgb_f32_planar(rgba);
  EXPECT_EQ(f.format, PixelFormat::kRgbF32Planar);
  EXPECT_FLOAT_EQ(f.row_as<float>(3, 1)[5], rgba.row(3)[5 * 4 + 1] / 255.0f);
  EXPECT_EQ(f.pts_us, 1234);
  Frame back = to_rgba8(f);
  for (int y = 0; y < 7; ++y)
    for (int x = 0; x < 19; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_EQ(back.row(y)[4 * x + c], rgba.row(y)[4 * x + c]);
      ASSERT_EQ(back.row(y)[4 * x + 3], 255);
    }
}

TEST(Convert, FloatOutOfRangeIsClamped) {
  Frame f = Frame::allocate(PixelFormat::kRgbF32Planar, 2, 1);
  f.row_as<float>(0, 0)[0] = -3.0f;
  f.row_as<float>(0, 0)[1] = 7.0f;
  Frame out = to_rgba8(f);
  EXPECT_EQ(out.row(0)[0], 0);
  EXPECT_EQ(out.row(0)[4], 255);
}

TEST(Convert, ScalerResizesAndConvertsYuv) {
  Frame yuv = Frame::allocate(PixelFormat::kYuv420p, 64, 32);
  for (int y = 0; y < 32; ++y) std::fill_n(yuv.row(y, 0), 64, 235);  // white
  for (int p = 1; p < 3; ++p)
    for (int y = 0; y < 16; ++y) std::fill_n(yuv.row(y, p), 32, 128);
  Scaler s;
  Frame out;
  s.to_rgba(yuv, 32, 16, out);
  EXPECT_EQ(out.width, 32);
  EXPECT_EQ(out.height, 16);
  EXPECT_NEAR(out.row(8)[16 * 4], 255, 2);
  EXPECT_NEAR(out.row(8)[16 * 4 + 1], 255, 2);
}

}  // namespace
}  // namespace sc::media
