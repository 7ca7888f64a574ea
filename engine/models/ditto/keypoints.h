#pragma once
// LivePortrait's implicit keypoints on the host (21 x 3 floats a frame: no
// device work): head pose from 66 bins of 3 degrees, the rotation matrix, and
// the keypoint transform the warp and stitching networks take
// (src/utils/camera.py and live_portrait_wrapper.py's transform_keypoint).
#include <array>
#include <cstdint>
#include <span>

namespace sc::engine::ditto {

inline constexpr int kKeypoints = 21;
inline constexpr int kPoseBins = 66;

using Mat3 = std::array<std::array<float, 3>, 3>;
using Keypoints = std::array<std::array<float, 3>, kKeypoints>;

// The expected angle, in degrees, of 66 logits over bins 3 degrees apart:
// softmax, then sum(p_i * i) * 3 - 97.5 (so bins cover -97.5 .. 97.5).
float pose_degrees(std::span<const float> logits);

// LivePortrait's get_rotation_matrix: R = (Rz(roll) Ry(yaw) Rx(pitch))^T, the
// transpose because keypoints are row vectors (x' = x R).
Mat3 rotation_matrix(float pitch_degrees, float yaw_degrees, float roll_degrees);

// The motion of one frame in LivePortrait's terms.
struct Motion {
  float pitch = 0, yaw = 0, roll = 0;  // degrees
  std::array<float, 3> t{};            // translation (its z is not used)
  std::array<float, 3 * kKeypoints> exp{};
  float scale = 1;
};

// transform_keypoint: (kp R + exp) * scale, then x, y shifted by t's x, y.
Keypoints transform_keypoints(const Keypoints& canonical, const Motion& m);

}  // namespace sc::engine::ditto
