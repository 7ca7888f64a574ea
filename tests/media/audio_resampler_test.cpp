// The streaming resampler (media/audio_resampler.h): 48 kHz to 16 kHz keeps
// a tone's pitch and level, keeps the clock, and gives the same samples
// however the input is cut.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "base/error.h"
#include "media/audio_resampler.h"

namespace sc::media {
namespace {

std::vector<float> tone(int rate, double hz, int frames, float amplitude) {
  std::vector<float> v(static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; ++i)
    v[static_cast<std::size_t>(i)] =
        amplitude * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * i / static_cast<double>(rate)));
  return v;
}

// Runs `samples` through a fresh 48k -> 16k resampler in chunks of `chunk` frames.
std::vector<float> resample(const std::vector<float>& samples, std::size_t chunk, std::vector<std::int64_t>* pts) {
  AudioResampler r({48000, 1}, {16000, 1});
  std::vector<float> out;
  for (std::size_t i = 0; i < samples.size(); i += chunk) {
    AudioChunk c;
    c.sample_rate = 48000;
    c.channels = 1;
    c.pts_us = 2'000'000 + static_cast<std::int64_t>(i) * 1'000'000 / 48000;
    c.samples.assign(samples.begin() + static_cast<std::ptrdiff_t>(i),
                     samples.begin() + static_cast<std::ptrdiff_t>(std::min(samples.size(), i + chunk)));
    const AudioChunk o = r.convert(c);
    if (pts && !o.samples.empty()) {
      // The output clock continues from the first chunk: its pts is the time of its first sample.
      EXPECT_EQ(o.pts_us, 2'000'000 + static_cast<std::int64_t>(out.size()) * 1'000'000 / 16000);
      pts->push_back(o.pts_us);
    }
    out.insert(out.end(), o.samples.begin(), o.samples.end());
  }
  const AudioChunk tail = r.flush();
  out.insert(out.end(), tail.samples.begin(), tail.samples.end());
  return out;
}

TEST(AudioResampler, ToneKeepsItsPitchLevelAndLength) {
  const std::vector<float> in = tone(48000, 440.0, 48000, 0.5f);  // one second
  std::vector<std::int64_t> pts;
  const std::vector<float> out = resample(in, 480, &pts);
  EXPECT_FALSE(pts.empty());
  EXPECT_NEAR(static_cast<double>(out.size()), 16000.0, 2.0);
  // Pitch: zero crossings over the middle of the clip (the filter's edges left out).
  int crossings = 0;
  double power = 0.0;
  for (std::size_t i = 1000; i < 15000; ++i) {
    crossings += (out[i - 1] < 0.0f) != (out[i] < 0.0f);
    power += static_cast<double>(out[i]) * out[i];
  }
  const double seconds = 14000.0 / 16000.0;
  EXPECT_NEAR(crossings / 2.0 / seconds, 440.0, 2.0);
  EXPECT_NEAR(std::sqrt(power / 14000.0), 0.5 / std::sqrt(2.0), 0.01);
}

TEST(AudioResampler, TheCutOfTheInputDoesNotChangeTheOutput) {
  const std::vector<float> in = tone(48000, 1234.5, 24000, 0.8f);
  const std::vector<float> a = resample(in, 480, nullptr);
  const std::vector<float> b = resample(in, 1031, nullptr);
  const std::vector<float> c = resample(in, in.size(), nullptr);
  ASSERT_EQ(a.size(), c.size());
  ASSERT_EQ(b.size(), c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    EXPECT_NEAR(a[i], c[i], 1e-6f) << i;
    EXPECT_NEAR(b[i], c[i], 1e-6f) << i;
  }
}

TEST(AudioResampler, AChunkInAnotherFormatIsRefused) {
  AudioResampler r({48000, 1}, {16000, 1});
  AudioChunk c;
  c.sample_rate = 44100;
  c.channels = 1;
  c.samples.assign(100, 0.0f);
  EXPECT_THROW(r.convert(c), Error);
  EXPECT_THROW(AudioResampler({48000, 0}, {16000, 1}), Error);
}

}  // namespace
}  // namespace sc::media
