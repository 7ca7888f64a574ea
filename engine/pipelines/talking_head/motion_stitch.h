#pragma once
// From an emitted motion frame to the driving keypoints of the render
// (app/modes/talking_head/PIPELINE.md 5.4, ditto motion_stitch.py): motion
// relative to the first window's frame 0 added to the portrait's own (pose in
// logit space), the expression taken from the model only on the lips (and
// eyes, unless a scripted blink drives them), the pitch control, the gaze
// fix, then LivePortrait's keypoint transform with the portrait's scale and
// canonical keypoints.
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "engine/models/ditto/keypoints.h"
#include "engine/pipelines/talking_head/motion_stream.h"

namespace sc::engine::talking_head {

// The motion extractor's outputs for the portrait (LivePortrait's x_s_info).
struct SourceMotion {
  std::array<float, ditto::kPoseBins> pitch{}, yaw{}, roll{};  // logits
  std::array<float, 3> t{};
  std::array<float, 63> exp{};
  float scale = 1;
  ditto::Keypoints kp{};  // canonical

  // As LMDM's 265-vector: scale - 1, pitch, yaw, roll, t, exp (4.1).
  MotionFrame as_motion() const;
  ditto::Keypoints keypoints() const;  // x_s: transform_keypoint of itself
};

struct StitchSettings {
  bool drive_eye = true;
  // A scripted blink (Ditto's delta_eye_arr, [15, 63]): the eyes come from it
  // instead of the model. Empty: the model's eyes.
  std::vector<std::array<float, 63>> blink;
  int blink_gap_min = 60, blink_gap_max = 100;  // frames between blinks
  // Degrees added to every frame's pose (the online configuration: pitch + 2).
  float delta_pitch = 2, delta_yaw = 0, delta_roll = 0;
  // Weight of the head's motion (pose and translation) relative to the
  // reference frame: 1 as generated, 0 a still head (Ditto's use_d_keys).
  float head_motion = 1;
  float expression = 1;  // the same for the expression
};

class MotionStitcher {
 public:
  MotionStitcher(SourceMotion source, StitchSettings settings, std::uint64_t seed);

  // The first window's frame 0 (MotionStream::reference()).
  void set_reference(const MotionFrame& d0) { reference_ = d0; }
  bool has_reference() const { return reference_.has_value(); }
  void set_settings(const StitchSettings& s);  // live controls, from the next frame

  // The driving keypoints of output frame n (before the stitching network).
  ditto::Keypoints driving(const MotionFrame& d, std::int64_t n) const;
  const ditto::Keypoints& source_keypoints() const { return x_s_; }
  // The blink row index of frame n (0 between blinks).
  int blink_index(std::int64_t n) const;

 private:
  SourceMotion source_;
  StitchSettings s_;
  std::optional<MotionFrame> reference_;
  ditto::Keypoints x_s_;
  std::vector<int> blink_schedule_;
  std::uint64_t seed_;
  void make_blink_schedule(std::uint64_t seed);
};

}  // namespace sc::engine::talking_head
