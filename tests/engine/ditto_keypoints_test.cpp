// LivePortrait's keypoint arithmetic (engine/models/ditto/keypoints.h) by
// hand-derived values and by the identities it must keep.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "base/error.h"
#include "engine/models/ditto/keypoints.h"

namespace sc::engine::ditto {
namespace {

Mat3 mul(const Mat3& a, const Mat3& b) {
  Mat3 c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
  return c;
}

void expect_near(const Mat3& a, const Mat3& b, float tol = 1e-6f) {
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(a[i][j], b[i][j], tol) << i << "," << j;
}

TEST(DittoKeypoints, PoseIsTheExpectedBinAngle) {
  std::vector<float> logits(kPoseBins, 0.0f);
  EXPECT_NEAR(pose_degrees(logits), 0.0f, 1e-4f);  // uniform: bin 32.5 -> 0 degrees
  for (int k : {0, 10, 40, 65}) {
    std::vector<float> one(kPoseBins, 0.0f);
    one[static_cast<std::size_t>(k)] = 60.0f;  // softmax all but one-hot
    EXPECT_NEAR(pose_degrees(one), 3.0f * static_cast<float>(k) - 97.5f, 1e-3f) << k;
  }
  // Two equal bins: their midpoint.
  std::vector<float> two(kPoseBins, -1e4f);
  two[20] = two[22] = 5.0f;
  EXPECT_NEAR(pose_degrees(two), 3.0f * 21.0f - 97.5f, 1e-3f);
  EXPECT_THROW(pose_degrees(std::vector<float>(3, 0.0f)), Error);
}

TEST(DittoKeypoints, RotationIsTheTransposeOfRollYawPitch) {
  const Mat3 identity{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};
  expect_near(rotation_matrix(0, 0, 0), identity);
  // Yaw 90: Ry = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], transposed.
  expect_near(rotation_matrix(0, 90, 0), Mat3{{{0, 0, -1}, {0, 1, 0}, {1, 0, 0}}});
  // Pitch 90: Rx = [[1, 0, 0], [0, 0, -1], [0, 1, 0]], transposed.
  expect_near(rotation_matrix(90, 0, 0), Mat3{{{1, 0, 0}, {0, 0, 1}, {0, -1, 0}}});
  // (Rz Ry Rx)^T = Rx^T Ry^T Rz^T, and the result is a rotation.
  const float p = 17.0f, y = -33.0f, r = 8.5f;
  const Mat3 full = rotation_matrix(p, y, r);
  expect_near(full, mul(mul(rotation_matrix(p, 0, 0), rotation_matrix(0, y, 0)), rotation_matrix(0, 0, r)));
  Mat3 t{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) t[i][j] = full[j][i];
  expect_near(mul(full, t), identity);
  const float det = full[0][0] * (full[1][1] * full[2][2] - full[1][2] * full[2][1]) -
                    full[0][1] * (full[1][0] * full[2][2] - full[1][2] * full[2][0]) +
                    full[0][2] * (full[1][0] * full[2][1] - full[1][1] * full[2][0]);
  EXPECT_NEAR(det, 1.0f, 1e-6f);
}

TEST(DittoKeypoints, TransformIsRotateAddExpressionScaleShift) {
  Keypoints kp{};
  for (int i = 0; i < kKeypoints; ++i) kp[i] = {0.1f * i, -0.05f * i, 0.02f * i};
  Motion m;
  m.scale = 2.0f;
  m.t = {0.5f, -0.25f, 9.0f};  // z is not used
  for (int i = 0; i < 3 * kKeypoints; ++i) m.exp[i] = 0.001f * i;
  const Keypoints out = transform_keypoints(kp, m);
  for (int i = 0; i < kKeypoints; ++i) {
    for (int j = 0; j < 3; ++j) {
      const float want = (kp[i][j] + m.exp[i * 3 + j]) * 2.0f + (j == 0 ? 0.5f : j == 1 ? -0.25f : 0.0f);
      EXPECT_NEAR(out[i][j], want, 1e-6f) << i << "," << j;
    }
  }
  // Yaw 90 turns x into -z: a point on the x axis moves to z = -1 (row vector times R).
  Keypoints unit{};
  unit[0] = {1.0f, 0.0f, 0.0f};
  Motion yaw;
  yaw.yaw = 90.0f;
  const Keypoints turned = transform_keypoints(unit, yaw);
  EXPECT_NEAR(turned[0][0], 0.0f, 1e-6f);
  EXPECT_NEAR(turned[0][2], -1.0f, 1e-6f);
}

}  // namespace
}  // namespace sc::engine::ditto
