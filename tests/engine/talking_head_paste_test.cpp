// The paste back (engine/pipelines/talking_head/paste_back.h): Ditto's crop
// mask by its formula, and a render blended into a frame where the mask says.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "engine/pipelines/talking_head/paste_back.h"

namespace sc::engine::talking_head {
namespace {

TEST(TalkingHeadPaste, TheMaskIsARampWithRoundCorners) {
  const Tensor m = paste_mask(512);
  ASSERT_EQ(m.shape(), Shape({1, 1, 512, 512}));
  auto at = [&](int x, int y) { return m.data<float>()[y * 512 + x]; };
  EXPECT_FLOAT_EQ(at(256, 256), 1.0f);
  EXPECT_FLOAT_EQ(at(26, 26), 1.0f);  // the inner square starts at 26
  EXPECT_FLOAT_EQ(at(256, 0), 0.0f);  // top band: y / 25
  EXPECT_FLOAT_EQ(at(256, 10), 0.4f);
  EXPECT_FLOAT_EQ(at(256, 25), 1.0f);
  EXPECT_FLOAT_EQ(at(256, 486), 1.0f);  // bottom band: 1 - (y - 486) / 25
  EXPECT_FLOAT_EQ(at(256, 511), 0.0f);
  EXPECT_FLOAT_EQ(at(5, 300), 0.2f);  // left band
  EXPECT_FLOAT_EQ(at(0, 0), 0.0f);    // corners: 1 - min(1, |(a, b)|)
  EXPECT_NEAR(at(20, 20), 1.0f - std::sqrt(2.0f) * (5.0f / 25.0f), 1e-6f);
  EXPECT_NEAR(at(491, 20), 1.0f - std::hypot(5.0f / 25.0f, 5.0f / 25.0f), 1e-6f);
}

TEST(TalkingHeadPaste, TheRenderGoesWhereTheMaskIsAndTheFrameStaysElsewhere) {
  const int w = 96, h = 80, s = 64;  // the mask's ramp: 2 pixels at this size
  const Tensor frame = Tensor::full({1, 3, h, w}, 10.0f);
  const Tensor render = Tensor::full({1, 3, s, s}, 200.0f);
  // The crop is the frame's square [16, 80) x [8, 72) at scale 1: crop = frame - (16, 8).
  const Affine m_c2o{{{1, 0, 16}, {0, 1, 8}, {0, 0, 1}}};
  const Tensor mask = to_frame(paste_mask(s), m_c2o, w, h);
  const Tensor out = paste_back(frame, render, mask, m_c2o);
  ASSERT_EQ(out.shape(), frame.shape());
  auto px = [&](int c, int x, int y) { return out.data<float>()[(c * h + y) * w + x]; };
  EXPECT_FLOAT_EQ(px(0, 48, 40), 200.0f);  // the crop's centre
  EXPECT_FLOAT_EQ(px(2, 2, 2), 10.0f);     // outside the crop
  EXPECT_FLOAT_EQ(px(1, 95, 79), 10.0f);
  // On the ramp (crop x 1: mask 1 / 2): the blend 0.5 * 200 + 0.5 * 10, truncated to a
  // whole value (the warp's f32 coordinates put the mask within 1e-6 of 1 / 2, and the
  // truncation then lands on 104 or 105; bit parity with OpenCV's 1/32-pixel fixed-point
  // warp is not a goal, PIPELINE.md 6.4).
  const float ramp = px(0, 16 + 1, 40);
  EXPECT_NEAR(ramp, 105.0f, 1.0f);
  EXPECT_EQ(ramp, std::floor(ramp));
}

}  // namespace
}  // namespace sc::engine::talking_head
