#pragma once
// Speech features for the talking head as Ditto's online pipeline makes them
// (app/modes/talking_head/PIPELINE.md 3.3, 3.4): 16 kHz mono samples, 1920
// zeros in front of the stream, windows of 6480 samples every 3200 through
// HuBERT ([20, 1024] rows at 50 Hz), rows 6..15 averaged in pairs into 5
// feature frames at 25 fps per window. Raw samples: no normalisation.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace sc::engine::talking_head {

inline constexpr int kFeatureDim = 1024;
inline constexpr int kStreamPrefix = 1920;  // zeros before the first sample
inline constexpr int kChunkSamples = 6480;
inline constexpr int kHopSamples = 3200;  // 5 frames of 640 samples
inline constexpr int kFramesPerChunk = 5;
inline constexpr int kHubertRows = 20;  // per chunk
inline constexpr int kFirstRow = 6;     // rows [-14, -4)

// One HuBERT call on kChunkSamples samples -> kHubertRows x kFeatureDim
// values (row-major), run by the caller (an OnnxNetwork on any device).
using HubertCall = std::function<std::vector<float>(std::span<const float> samples)>;

// Feature frames, kFeatureDim floats each.
using FeatureFrames = std::vector<std::vector<float>>;

class HubertStream {
 public:
  explicit HubertStream(HubertCall hubert);

  // Appends samples; returns the frames of every window now complete (5 each).
  FeatureFrames push(std::span<const float> samples);
  // The end of the stream: the windows that still start inside it, zero-padded.
  FeatureFrames finish();
  // Windows run so far, and real samples taken.
  std::int64_t windows() const { return windows_; }
  std::int64_t samples() const { return taken_; }

  // The 5 frames a window of zeros gives (computed once, cached): what the
  // stream's 70 frames of prefill and any silence are made of.
  const FeatureFrames& silence();

 private:
  HubertCall hubert_;
  std::vector<float> buffer_;  // the padded stream from sample 3200 * windows_ on
  std::int64_t windows_ = 0, taken_ = 0;
  FeatureFrames silence_;
  FeatureFrames run(std::span<const float> chunk);
};

}  // namespace sc::engine::talking_head
