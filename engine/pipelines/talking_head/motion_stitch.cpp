#include "engine/pipelines/talking_head/motion_stitch.h"

#include <algorithm>
#include <span>

#include "base/error.h"

namespace sc::engine::talking_head {

namespace {

constexpr int kLip[] = {6, 12, 14, 17, 19, 20};
constexpr int kEye[] = {11, 13, 15, 16, 18};
constexpr int kBlinkSchedule = 3000;

// Offsets of the fields in the 265-vector.
constexpr int kScale = 0, kPitch = 1, kYaw = 67, kRoll = 133, kT = 199, kExp = 202;

float degrees(std::span<const float> logits) { return ditto::pose_degrees(logits); }

}  // namespace

MotionFrame SourceMotion::as_motion() const {
  MotionFrame m{};
  m[kScale] = scale - 1.0f;
  std::copy(pitch.begin(), pitch.end(), m.begin() + kPitch);
  std::copy(yaw.begin(), yaw.end(), m.begin() + kYaw);
  std::copy(roll.begin(), roll.end(), m.begin() + kRoll);
  std::copy(t.begin(), t.end(), m.begin() + kT);
  std::copy(exp.begin(), exp.end(), m.begin() + kExp);
  return m;
}

ditto::Keypoints SourceMotion::keypoints() const {
  ditto::Motion m;
  m.pitch = degrees(pitch);
  m.yaw = degrees(yaw);
  m.roll = degrees(roll);
  m.t = t;
  m.exp = exp;
  m.scale = scale;
  return ditto::transform_keypoints(kp, m);
}

MotionStitcher::MotionStitcher(SourceMotion source, StitchSettings settings, std::uint64_t seed)
    : source_(source), s_(std::move(settings)), x_s_(source_.keypoints()), seed_(seed) {
  set_settings(s_);
  make_blink_schedule(seed);
}

void MotionStitcher::set_settings(const StitchSettings& s) {
  if (s.blink_gap_min < 1 || s.blink_gap_max < s.blink_gap_min) {
    throw Error("talking head: blink gaps of {} to {} frames", s.blink_gap_min, s.blink_gap_max);
  }
  const bool reschedule =
      !blink_schedule_.empty() &&
      (s.blink.size() != s_.blink.size() || s.blink_gap_min != s_.blink_gap_min || s.blink_gap_max != s_.blink_gap_max);
  s_ = s;
  if (reschedule) make_blink_schedule(seed_);
}

// Ditto's _set_eye_blink_idx: blinks of len(blink) frames (rows 0, 1, ...)
// starting 60..100 frames apart, in a cycle of 3000 frames.
void MotionStitcher::make_blink_schedule(std::uint64_t seed) {
  blink_schedule_.assign(kBlinkSchedule, 0);
  const int len = static_cast<int>(s_.blink.size());
  if (len == 0) return;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> gap(s_.blink_gap_min, s_.blink_gap_max);
  const int last = kBlinkSchedule - std::max(gap(rng), len);
  for (int start = gap(rng); start < last; start += len + gap(rng)) {
    for (int i = 0; i < len && start + i < kBlinkSchedule; ++i)
      blink_schedule_[static_cast<std::size_t>(start + i)] = i;
  }
}

int MotionStitcher::blink_index(std::int64_t n) const {
  if (blink_schedule_.empty() || n < 0) return 0;
  return blink_schedule_[static_cast<std::size_t>(n % kBlinkSchedule)];
}

ditto::Keypoints MotionStitcher::driving(const MotionFrame& d, std::int64_t n) const {
  if (!reference_) throw Error("talking head: a motion frame before the reference frame");
  const MotionFrame s = source_.as_motion();
  const MotionFrame& d0 = *reference_;
  // 1. Relative motion, in logit space for the pose; scale and kp stay the source's.
  MotionFrame m = s;
  for (int i = kPitch; i < kExp; ++i) {
    const auto k = static_cast<std::size_t>(i);
    m[k] = s[k] + (d[k] - d0[k]) * s_.head_motion;
  }
  std::array<float, 63> exp{};
  for (int i = 0; i < 63; ++i) {
    const auto k = static_cast<std::size_t>(kExp + i);
    exp[static_cast<std::size_t>(i)] = s[k] + (d[k] - d0[k]) * s_.expression;
  }
  // 2. The model's expression on the lips (and the eyes unless scripted); the source's elsewhere.
  std::array<float, 63> out_exp = source_.exp;
  auto take = [&](std::span<const int> group) {
    for (int kp : group)
      for (int c = 0; c < 3; ++c)
        out_exp[static_cast<std::size_t>(3 * kp + c)] = exp[static_cast<std::size_t>(3 * kp + c)];
  };
  take(kLip);
  if (!s_.blink.empty()) {
    const std::array<float, 63>& row = s_.blink[static_cast<std::size_t>(blink_index(n))];
    for (int kp : kEye)
      for (int c = 0; c < 3; ++c)
        out_exp[static_cast<std::size_t>(3 * kp + c)] += row[static_cast<std::size_t>(3 * kp + c)];
  } else if (s_.drive_eye) {
    take(kEye);
  }
  // 4. The pose controls, in degrees.
  ditto::Motion motion;
  motion.pitch = degrees(std::span<const float>(m.data() + kPitch, ditto::kPoseBins)) + s_.delta_pitch;
  motion.yaw = degrees(std::span<const float>(m.data() + kYaw, ditto::kPoseBins)) + s_.delta_yaw;
  motion.roll = degrees(std::span<const float>(m.data() + kRoll, ditto::kPoseBins)) + s_.delta_roll;
  // 6. The gaze follows the head a little (keypoints 11 and 15, x and y).
  if (s_.drive_eye) {
    const float dx = 0.26f * (motion.yaw - degrees(source_.yaw));
    const float dy = 0.28f * (motion.pitch - degrees(source_.pitch));
    out_exp[33] += dx * (dx > 0 ? 0.0007f : 0.001f);
    out_exp[45] += dx * (dx > 0 ? 0.001f : 0.0007f);
    out_exp[34] -= 0.001f * dy;
    out_exp[46] -= 0.001f * dy;
  }
  // 7. LivePortrait's transform with the source's scale and canonical keypoints.
  std::copy_n(m.begin() + kT, 3, motion.t.begin());
  motion.exp = out_exp;
  motion.scale = source_.scale;
  return ditto::transform_keypoints(source_.kp, motion);
}

}  // namespace sc::engine::talking_head
