#pragma once
// The talking head, headless (`streamcanvas-cli talk`): a portrait image and
// an audio file in, a 25 fps video with the audio muxed beside it out.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/pipelines/talking_head/talking_head.h"
#include "media/frame.h"

namespace sc::app {

struct TalkOptions {
  std::string models;    // the ditto_onnx folder
  std::string portrait;  // any image FFmpeg decodes
  std::string audio;     // any file with an audio track (resampled to 16 kHz mono)
  std::string output;    // .mp4 or .mkv
  std::string device = "auto";
  int emotion = 4;  // 0 Angry .. 7 Contempt; 4 Neutral
  int steps = 10;   // DDIM steps per window
  float head_motion = 1.0f;
  std::uint64_t seed = 0;
  std::string encoder = "auto";
  int crf = 20;
  // The registration cache (avatar_cache.h): empty, the default folder;
  // "none", no cache.
  std::string avatar_cache;
};

struct TalkResult {
  std::int64_t frames = 0;
  double audio_s = 0, elapsed_s = 0;
  int width = 0, height = 0;
  std::string output, device;
  engine::talking_head::TalkingHeadStats stats;
  bool avatar_from_cache = false;
  std::string avatar_cache_file;  // empty: not cached
  std::string avatar_cache_warning;
};

// progress: (seconds of audio done, of all). Throws sc::Error for bad
// options, models, portraits or audio; the video is finished either way.
TalkResult run_talk(const TalkOptions& options, const std::function<void(double, double)>& progress,
                    const std::atomic<bool>* cancel = nullptr);

// The pipeline's options from the CLI's / panel's values (device auto, cpu or
// cuda; emotion 0..7 as one row).
engine::talking_head::TalkingHeadOptions talking_head_options(const std::string& device, int steps, std::uint64_t seed,
                                                              int emotion, float head_motion);

// The first picture of an image file as [1, 3, H, W] RGB 0..255 (errors name it).
engine::Tensor read_portrait(const std::string& path);
// A pipeline frame ([1, 3, H, W] RGB 0..255 on the host) as an RGBA picture.
media::Frame to_frame(const engine::Tensor& t);

// --stats: milliseconds per frame per stage.
std::string format_talk_stats(const TalkResult& r);

}  // namespace sc::app
