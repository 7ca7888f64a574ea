#pragma once
// The talking head as a session Mode: the session's audio (48 kHz mono from a
// microphone or a paced file) in, the portrait speaking it out at 25 fps,
// and the audio handed on in step with the pictures, so a recording keeps
// them in sync (each picture k carries the 40 ms of sound it was made from,
// both stamped at the stream time of that sound). The pictures come as the
// pipeline finalises them: some windows after the speech.
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "app/session/mode.h"
#include "engine/pipelines/talking_head/talking_head.h"
#include "media/audio_resampler.h"

namespace sc::app {

struct TalkingHeadModeOptions {
  std::string models;    // ditto_onnx folder
  std::string portrait;  // image file
  std::string device = "auto";
  int steps = 10;
  int emotion = 4;
  float head_motion = 1.0f;
  std::uint64_t seed = 0;
  std::string avatar_cache;  // as TalkOptions::avatar_cache: "" default folder, "none"
};

class TalkingHeadMode final : public Mode {
 public:
  // Loads the networks and registers the portrait (through the
  // registration cache): seconds on a CPU, so not on a UI thread. Throws
  // sc::Error naming the folder, the file or the portrait.
  static std::shared_ptr<TalkingHeadMode> load(const TalkingHeadModeOptions& options);

  std::string name() const override { return "talking head"; }
  Streams consumes() const override { return {.video = false, .audio = true, .text = false}; }
  double output_fps() const override { return 25; }
  void on_audio(const media::AudioChunk& chunk, ModeOutput& out) override;

  // Live, from the next motion window (emotion) or frame (head motion).
  void set_emotion(int emotion);
  void set_head_motion(float weight);

  int width() const { return width_; }
  int height() const { return height_; }
  bool portrait_from_cache() const { return from_cache_; }
  std::int64_t frames() const { return frames_; }
  engine::talking_head::TalkingHeadStats stats() const;

 private:
  TalkingHeadMode() = default;
  void emit_picture(const engine::Tensor& picture, ModeOutput& out);

  std::unique_ptr<engine::talking_head::TalkingHead> head_;
  std::unique_ptr<media::AudioResampler> to_16k_;
  engine::talking_head::StitchSettings stitch_;
  std::deque<float> pending_;  // session-rate samples not yet handed on with a picture
  std::int64_t start_pts_us_ = -1;
  std::chrono::steady_clock::time_point heard_start_{};
  std::int64_t frames_ = 0;
  int width_ = 0, height_ = 0;
  bool from_cache_ = false;
  std::atomic<int> emotion_{4}, applied_emotion_{4};
  std::atomic<float> head_motion_{1.0f}, applied_head_motion_{1.0f};
  mutable std::mutex stats_mutex_;
  engine::talking_head::TalkingHeadStats stats_;
};

}  // namespace sc::app
