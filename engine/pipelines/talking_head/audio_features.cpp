#include "engine/pipelines/talking_head/audio_features.h"

#include "base/error.h"

namespace sc::engine::talking_head {

HubertStream::HubertStream(HubertCall hubert) : hubert_(std::move(hubert)), buffer_(kStreamPrefix, 0.0f) {}

FeatureFrames HubertStream::run(std::span<const float> chunk) {
  const std::vector<float> rows = hubert_(chunk);
  if (rows.size() != static_cast<std::size_t>(kHubertRows) * kFeatureDim) {
    throw Error("talking head: HuBERT gave {} values for a {}-sample window; {} rows of {} expected", rows.size(),
                chunk.size(), kHubertRows, kFeatureDim);
  }
  FeatureFrames frames(kFramesPerChunk, std::vector<float>(kFeatureDim));
  for (int k = 0; k < kFramesPerChunk; ++k) {
    const float* a = rows.data() + static_cast<std::size_t>(kFirstRow + 2 * k) * kFeatureDim;
    const float* b = a + kFeatureDim;
    for (int d = 0; d < kFeatureDim; ++d)
      frames[static_cast<std::size_t>(k)][static_cast<std::size_t>(d)] = (a[d] + b[d]) * 0.5f;
  }
  ++windows_;
  return frames;
}

FeatureFrames HubertStream::push(std::span<const float> samples) {
  buffer_.insert(buffer_.end(), samples.begin(), samples.end());
  taken_ += static_cast<std::int64_t>(samples.size());
  FeatureFrames out;
  while (buffer_.size() >= static_cast<std::size_t>(kChunkSamples)) {
    FeatureFrames f = run(std::span<const float>(buffer_.data(), kChunkSamples));
    out.insert(out.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
    buffer_.erase(buffer_.begin(), buffer_.begin() + kHopSamples);
  }
  return out;
}

FeatureFrames HubertStream::finish() {
  FeatureFrames out;
  // Windows start every 3200 samples while the start lies inside the padded
  // stream (the buffer holds it from the next window's start on).
  while (!buffer_.empty()) {
    std::vector<float> chunk(buffer_);
    chunk.resize(kChunkSamples, 0.0f);
    FeatureFrames f = run(chunk);
    out.insert(out.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
    if (buffer_.size() <= static_cast<std::size_t>(kHopSamples)) {
      buffer_.clear();
    } else {
      buffer_.erase(buffer_.begin(), buffer_.begin() + kHopSamples);
    }
  }
  return out;
}

const FeatureFrames& HubertStream::silence() {
  if (silence_.empty()) {
    const std::vector<float> zeros(kChunkSamples, 0.0f);
    const std::int64_t w = windows_;
    silence_ = run(zeros);
    windows_ = w;  // not a window of the stream
  }
  return silence_;
}

}  // namespace sc::engine::talking_head
