#pragma once
// The talking head end to end (app/modes/talking_head/PIPELINE.md): a
// registered portrait and 16 kHz speech in, 25 fps frames out. HuBERT
// windows -> LMDM windows (overlap 70) -> driving keypoints -> stitching,
// warp, decoder -> paste back into the portrait. Every network runs through
// engine/models/ditto on the device the options name; the host parts are
// the schedule, the window loop and the keypoints. Not thread-safe: the
// mode calls it from one worker.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "engine/pipelines/talking_head/motion_stitch.h"
#include "engine/pipelines/talking_head/motion_stream.h"
#include "engine/pipelines/talking_head/registration.h"
#include "engine/tensor.h"

namespace sc::engine::talking_head {

struct TalkingHeadOptions {
  Device device = Device::kCpu;
  int sampling_steps = 10;
  std::uint64_t seed = 0;
  MotionSettings motion;  // emotion rows, clip bounds
  StitchSettings stitch;  // blink, pitch control, head-motion weight
  RegistrationOptions registration;
};

// Seconds per stage, summed over the stream.
struct TalkingHeadStats {
  double registration_s = 0, hubert_s = 0, lmdm_s = 0, stitch_s = 0, warp_s = 0, decode_s = 0, paste_s = 0;
  std::int64_t hubert_windows = 0, lmdm_windows = 0, frames = 0, faces_found = 0;
};

class TalkingHead {
 public:
  // Loads every network of a ditto_onnx folder (errors name the file).
  static std::unique_ptr<TalkingHead> load(const std::filesystem::path& folder, const TalkingHeadOptions& options);
  ~TalkingHead();

  // Registers the portrait ([1, 3, H, W] RGB 0..255) and starts a new stream.
  void set_portrait(const Tensor& rgb);
  // Starts a new stream with an avatar registered before (avatar_io.h: the
  // registration cache); its tensors move to the pipeline's device.
  void set_avatar(Avatar avatar);
  const Avatar& avatar() const;

  // 16 kHz mono samples in; the frames now final out (each [1, 3, H, W]
  // RGB 0..255 on the host, whole values), 25 per second of audio, in order.
  std::vector<Tensor> push_audio(std::span<const float> samples);
  // The end of the stream: the rest of the frames.
  std::vector<Tensor> finish();

  // Live controls: from the next window (emotion) or frame (stitch).
  void set_emotion(std::vector<std::array<float, kEmotions>> rows);
  void set_stitch(const StitchSettings& s);

  const TalkingHeadStats& stats() const;

 private:
  struct Impl;
  explicit TalkingHead(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::engine::talking_head
