// Motion frames to driving keypoints (engine/pipelines/talking_head/motion_stitch.h):
// no motion is the portrait itself, which keypoints the expression moves,
// the pitch control, the head-motion weight, and the blink schedule.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "engine/pipelines/talking_head/motion_stitch.h"

namespace sc::engine::talking_head {
namespace {

SourceMotion portrait() {
  SourceMotion s;
  for (int i = 0; i < ditto::kPoseBins; ++i) {
    s.pitch[static_cast<std::size_t>(i)] = -0.01f * static_cast<float>((i - 30) * (i - 30));
    s.yaw[static_cast<std::size_t>(i)] = -0.01f * static_cast<float>((i - 35) * (i - 35));
    s.roll[static_cast<std::size_t>(i)] = -0.02f * static_cast<float>((i - 33) * (i - 33));
  }
  s.t = {0.01f, -0.02f, 0.5f};
  for (int i = 0; i < 63; ++i) s.exp[static_cast<std::size_t>(i)] = 0.001f * static_cast<float>(i % 7);
  s.scale = 1.3f;
  for (int k = 0; k < ditto::kKeypoints; ++k) s.kp[static_cast<std::size_t>(k)] = {0.05f * k, -0.03f * k, 0.01f * k};
  return s;
}

float distance(const ditto::Keypoints& a, const ditto::Keypoints& b) {
  float m = 0;
  for (int k = 0; k < ditto::kKeypoints; ++k)
    for (int c = 0; c < 3; ++c) m = std::max(m, std::fabs(a[k][c] - b[k][c]));
  return m;
}

StitchSettings plain() {
  StitchSettings s;
  s.delta_pitch = 0;
  return s;
}

TEST(TalkingHeadStitch, NoMotionIsThePortraitItself) {
  MotionStitcher m(portrait(), plain(), 1);
  MotionFrame d0{};
  for (int i = 0; i < kMotionDim; ++i) d0[static_cast<std::size_t>(i)] = 0.1f * std::sin(static_cast<float>(i));
  EXPECT_THROW(m.driving(d0, 0), Error);  // before the reference frame
  m.set_reference(d0);
  EXPECT_LT(distance(m.driving(d0, 0), m.source_keypoints()), 1e-6f);
}

TEST(TalkingHeadStitch, TheModelMovesTheLipsAndEyesOnly) {
  const SourceMotion src = portrait();
  MotionStitcher m(src, plain(), 1);
  const MotionFrame d0{};
  m.set_reference(d0);
  MotionFrame d = d0;
  d[202 + 3 * 0 + 1] += 0.5f;   // keypoint 0: neither lips nor eyes
  d[202 + 3 * 6 + 0] += 0.25f;  // keypoint 6: a lip
  d[202 + 3 * 13 + 2] += 0.1f;  // keypoint 13: an eye (driven by the model without a blink array)
  const ditto::Keypoints x = m.driving(d, 0);
  const ditto::Keypoints& s = m.source_keypoints();
  EXPECT_NEAR(x[0][1], s[0][1], 1e-6f);
  EXPECT_NEAR(x[6][0] - s[6][0], 0.25f * src.scale, 1e-5f);  // x = scale (R c + e) + t
  EXPECT_NEAR(x[13][2] - s[13][2], 0.1f * src.scale, 1e-5f);
  // Without eye driving, the eye stays.
  StitchSettings no_eyes = plain();
  no_eyes.drive_eye = false;
  MotionStitcher still(src, no_eyes, 1);
  still.set_reference(d0);
  EXPECT_NEAR(still.driving(d, 0)[13][2], s[13][2], 1e-6f);
}

TEST(TalkingHeadStitch, PitchControlAndHeadMotionWeight) {
  const SourceMotion src = portrait();
  const MotionFrame d0{};
  StitchSettings up = plain();
  up.delta_pitch = 2.0f;
  MotionStitcher m(src, up, 1);
  m.set_reference(d0);
  // The source pitched up by 2 degrees, with the gaze fix of dy = 0.28 * 2.
  ditto::Motion want;
  want.pitch = ditto::pose_degrees(src.pitch) + 2.0f;
  want.yaw = ditto::pose_degrees(src.yaw);
  want.roll = ditto::pose_degrees(src.roll);
  want.t = src.t;
  want.exp = src.exp;
  want.exp[34] -= 0.001f * 0.56f;
  want.exp[46] -= 0.001f * 0.56f;
  want.scale = src.scale;
  EXPECT_LT(distance(m.driving(d0, 0), ditto::transform_keypoints(src.kp, want)), 1e-5f);
  // A generated head turn (yaw logits shifted) moves the head; weight 0 keeps it still.
  MotionFrame turn = d0;
  for (int i = 0; i < ditto::kPoseBins; ++i) turn[static_cast<std::size_t>(67 + i)] = 0.05f * static_cast<float>(i);
  MotionStitcher moving(src, plain(), 1);
  moving.set_reference(d0);
  EXPECT_GT(distance(moving.driving(turn, 0), moving.source_keypoints()), 1e-3f);
  StitchSettings still = plain();
  still.head_motion = 0.0f;
  MotionStitcher fixed(src, still, 1);
  fixed.set_reference(d0);
  EXPECT_LT(distance(fixed.driving(turn, 0), fixed.source_keypoints()), 1e-6f);
}

TEST(TalkingHeadStitch, BlinksAreScriptedFifteenFramesEverySixtyToAHundred) {
  StitchSettings s = plain();
  for (int r = 0; r < 15; ++r) {
    std::array<float, 63> row{};
    for (int kp : {11, 13, 15, 16, 18}) row[static_cast<std::size_t>(3 * kp + 1)] = 0.01f * static_cast<float>(r);
    s.blink.push_back(row);
  }
  const SourceMotion src = portrait();
  MotionStitcher m(src, s, 42);
  int first = -1, blinks = 0;
  for (int n = 0; n < 3000; ++n) {
    const int i = m.blink_index(n);
    if (i == 1) {
      ++blinks;
      if (first < 0) first = n - 1;
      // A blink runs through its rows in order.
      for (int k = 0; k < 15 && n - 1 + k < 3000; ++k) EXPECT_EQ(m.blink_index(n - 1 + k), k);
    }
  }
  EXPECT_GE(first, 60);
  EXPECT_LE(first, 100);
  EXPECT_GE(blinks, 3000 / (100 + 15) - 1);
  EXPECT_LE(blinks, 3000 / (60 + 15) + 1);
  EXPECT_EQ(m.blink_index(first + 5 + 3000), 5);  // the schedule cycles
  // At a blink frame the eye keypoints move by the row; the lips do not.
  const MotionFrame d0{};
  m.set_reference(d0);
  const ditto::Keypoints x = m.driving(d0, first + 7);
  EXPECT_NEAR(x[13][1] - m.source_keypoints()[13][1], 0.07f * src.scale, 1e-5f);
  EXPECT_NEAR(x[6][1], m.source_keypoints()[6][1], 1e-6f);
}

}  // namespace
}  // namespace sc::engine::talking_head
