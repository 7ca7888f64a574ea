#pragma once
// Audio features to motion, window by window, as Ditto's online pipeline does
// it (app/modes/talking_head/PIPELINE.md 4.3 and 4.6): 80-frame windows that
// overlap by 70 (10 new frames each), sampled by LMDM with the previous
// motion frame as condition, the 10 overlapping frames blended with weights
// 0, 0.1, ... 0.9, smoothed over the pose dims by a 3-frame mean, and the
// first window only fixing the reference frame for relative motion.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "engine/pipelines/talking_head/audio_features.h"
#include "engine/pipelines/talking_head/lmdm_sampler.h"

namespace sc::engine::talking_head {

inline constexpr int kPoseDims = 202;  // [0, 202): scale, pose logits, t (smoothed, carried over)
inline constexpr int kEmotions = 8;    // Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise, Contempt
inline constexpr int kNeutral = 4;

using MotionFrame = std::array<float, kMotionDim>;

// The condition source (the portrait, or the configuration's reference
// character): its motion as a 265-vector (the seed of the keypoint
// condition), canonical keypoints and eye state.
struct ConditionSource {
  MotionFrame motion{};
  std::array<float, 63> canonical{};
  std::array<float, 2> eye_open{};
  std::array<float, 6> eye_ball{};
};

struct MotionSettings {
  int window = 80;
  int overlap = 70;
  int smoothing = 3;  // frames of the centred mean (1: none)
  // Emotion probabilities per frame, cycled (Ditto's 600-row array), or one
  // row for every frame.
  std::vector<std::array<float, kEmotions>> emotion;
  // Per-dimension bounds every emitted frame is clipped to (the configuration's
  // v_min_max_for_clip); none: unclipped.
  std::optional<std::array<MotionFrame, 2>> clip;
};

// softmax(8 * one-hot) over the given labels: Ditto's emotion row for a
// chosen emotion (or several, sharing the mass).
std::array<float, kEmotions> emotion_row(std::span<const int> labels);

// The LMDM call per window: cond [window x C], cond_frame [265] -> motion
// [window x 265].
using WindowSampler = std::function<std::vector<float>(std::span<const float> cond_frame, std::span<const float> cond)>;

inline constexpr int kConditionDim = kFeatureDim + kEmotions + 2 + 6 + 63;  // 1103

class MotionStream {
 public:
  // prefill: the feature frames already in the buffer before the stream
  // (Ditto: 70 frames of silence); settings.overlap of them.
  MotionStream(WindowSampler sampler, ConditionSource source, MotionSettings settings, const FeatureFrames& prefill);

  // Feature frames in; the motion frames now final out, in stream order
  // (frame i of the audio is the i-th frame emitted).
  std::vector<MotionFrame> push(const FeatureFrames& frames);
  // End of stream: the rest (the last window padded by repeating its last row).
  std::vector<MotionFrame> finish();

  // The first window's frame 0 (clipped): the reference for relative motion;
  // none before the first window ran.
  const std::optional<MotionFrame>& reference() const { return reference_; }
  std::int64_t windows() const { return windows_; }
  // Live controls: take effect from the next window.
  void set_emotion(std::vector<std::array<float, kEmotions>> rows);

 private:
  WindowSampler sampler_;
  ConditionSource source_;
  MotionSettings s_;
  int valid_;  // new frames per window
  int fuse_;
  std::vector<std::vector<float>> features_, pending_;
  std::int64_t local_ = 0, global_ = 0, windows_ = 0;
  std::vector<MotionFrame> res_;
  std::int64_t valid_start_ = -1;
  MotionFrame kp_cond_{};
  std::optional<MotionFrame> reference_;

  std::vector<MotionFrame> run(bool end);
  std::vector<float> condition(std::int64_t rows_available) const;
  void smooth(std::int64_t begin, std::int64_t end);
  MotionFrame clipped(const MotionFrame& f) const;
};

}  // namespace sc::engine::talking_head
