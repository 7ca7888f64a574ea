#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "media/audio.h"

namespace sc::media {
namespace {

TEST(AudioSpec, Parses) {
  EXPECT_EQ(parse_audio_spec("tone:1000").url, "sine=frequency=1000:sample_rate=48000");
  EXPECT_EQ(parse_audio_spec("alsa:hw:1").input_format, "alsa");
  EXPECT_EQ(parse_audio_spec("alsa:hw:1").url, "hw:1");
  EXPECT_EQ(parse_audio_spec("pulse").url, "default");
  EXPECT_TRUE(parse_audio_spec("mic").live);
  EXPECT_FALSE(parse_audio_spec("tone").live);
  EXPECT_EQ(parse_audio_spec("file:a.wav").url, "a.wav");
  EXPECT_FALSE(parse_audio_spec("a.wav").live);
  EXPECT_THROW(parse_audio_spec("tone:0"), Error);
  EXPECT_THROW(parse_audio_spec(""), Error);
}

TEST(AudioReader, ToneComesOutAt16kMonoWithContinuousTimestamps) {
  AudioReader r(parse_audio_spec("tone:440"));
  EXPECT_EQ(r.info().input_sample_rate, 48000);
  AudioChunk c;
  std::size_t samples = 0;
  int crossings = 0;
  float prev = 0, peak = 0;
  std::int64_t expected_pts = -1;
  while (samples < 16000 * 2) {
    ASSERT_TRUE(r.read(c));
    EXPECT_EQ(c.sample_rate, 16000);
    EXPECT_EQ(c.channels, 1);
    if (expected_pts >= 0) {
      EXPECT_NEAR(c.pts_us, expected_pts, 200) << "chunks must abut";
    }
    expected_pts = c.pts_us + std::int64_t(c.frames()) * 1000000 / 16000;
    for (float v : c.samples) {
      if (samples > 0 && (prev < 0) != (v < 0)) ++crossings;
      prev = v;
      peak = std::max(peak, std::fabs(v));
    }
    samples += c.frames();
  }
  double seconds = samples / 16000.0;
  EXPECT_NEAR(crossings / 2.0 / seconds, 440.0, 5.0);
  EXPECT_GT(peak, 0.05f);
}

TEST(AudioReader, FileWithoutAudioSaysSo) {
  try {
    AudioReader r(parse_audio_spec("/nonexistent/speech.wav"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/speech.wav"), std::string::npos) << e.what();
  }
}

TEST(AudioReader, MissingAlsaDeviceIsAClearError) {
  try {
    AudioReader r(parse_audio_spec("alsa:hw:97"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alsa:hw:97"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sc::media
