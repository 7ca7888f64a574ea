#include "media/recorder.h"

#include <gtest/gtest.h>

#include "base/error.h"
#include "tests/media/media_test_util.h"

namespace sc::media {
namespace {

using test::count_frames;
using test::make_index_frame;
using test::tmp_path;

TEST(Recorder, OfflineKeepsEveryFrame) {
  const std::string path = tmp_path("offline.mp4");
  WriterOptions w;
  w.width = 320;
  w.height = 240;
  w.fps = 30;
  RecorderOptions r;
  r.live = false;
  r.queue_frames = 2;
  {
    Recorder rec(path, w, r);
    for (int i = 0; i < 60; ++i) ASSERT_TRUE(rec.push(make_index_frame(320, 240, i)));
    rec.stop();
    EXPECT_EQ(rec.stats().dropped, 0u);
    EXPECT_EQ(rec.stats().written.frames, 60);
    EXPECT_FALSE(rec.push(make_index_frame(320, 240, 0))) << "no frames after stop";
  }
  EXPECT_EQ(count_frames(path), 60);
}

TEST(Recorder, LiveDropsAndCountsWhenTheEncoderFallsBehind) {
  // 1080p frames pushed as fast as memory allows outrun libx264 on any CPU:
  // push() must not block, and every frame is either written or counted.
  const std::string path = tmp_path("live.mp4");
  WriterOptions w;
  w.width = 1920;
  w.height = 1080;
  w.fps = 30;
  w.preset = "medium";
  w.timing = FrameTiming::kFramePts;
  RecorderOptions r;
  r.live = true;
  r.queue_frames = 2;
  Frame frame = make_index_frame(1920, 1080, 3);
  constexpr int kPushed = 60;
  Recorder rec(path, w, r);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPushed; ++i) {
    Frame f = frame;  // shares pixels: the recorder only reads them
    f.pts_us = i * 33333;
    ASSERT_TRUE(rec.push(std::move(f)));
  }
  double push_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rec.stop();
  auto st = rec.stats();
  EXPECT_LT(push_s, 0.5) << "pushing must not wait for the encoder";
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.written.frames + static_cast<std::int64_t>(st.dropped), kPushed);
  EXPECT_EQ(count_frames(path), st.written.frames);
}

TEST(Recorder, FramePtsTimingKeepsGapsAsGaps) {
  const std::string path = tmp_path("gaps.mp4");
  WriterOptions w;
  w.width = 64;
  w.height = 48;
  w.fps = 10;
  w.timing = FrameTiming::kFramePts;
  {
    VideoWriter writer(path, w);
    for (int i : {0, 1, 2, 6, 7}) {  // frames 3..5 never arrived
      Frame f = make_index_frame(64, 48, i);
      f.pts_us = 5'000'000 + i * 100000;  // live pts need not start at 0
      writer.write(f);
    }
    writer.close();
  }
  VideoReader r(parse_source_spec(path));
  Frame f;
  std::vector<std::int64_t> pts;
  while (r.read(f)) pts.push_back(f.pts_us);
  ASSERT_EQ(pts.size(), 5u);
  EXPECT_NEAR(pts[3] - pts[0], 600000, 1000);
}

TEST(Recorder, RecordsAnAudioTrack) {
  const std::string path = tmp_path("av.mp4");
  test::write_tone_clip(path, 20, 10, 1000.0f);
  VideoReader r(parse_source_spec(path));
  EXPECT_TRUE(r.info().has_audio);
  AudioReader audio(parse_audio_spec(path), AudioFormat{16000, 1});
  AudioChunk c;
  std::size_t samples = 0;
  int cycles = 0;
  bool high = false;
  while (audio.read(c)) {
    for (float v : c.samples) {
      // Schmitt trigger: codec noise around zero does not count as a crossing.
      if (!high && v > 0.2f) high = true, ++cycles;
      if (high && v < -0.2f) high = false;
    }
    samples += c.frames();
  }
  EXPECT_NEAR(double(samples), 32000.0, 2048.0);  // 2 s (AAC adds a frame of priming)
  EXPECT_NEAR(cycles, 2000, 40) << "a 1 kHz tone has 2000 cycles in 2 s";
}

TEST(Recorder, RecordsOpusInMatroska) {
  const std::string path = tmp_path("opus.mkv");
  WriterOptions w;
  w.width = 64;
  w.height = 48;
  w.fps = 10;
  w.audio_sample_rate = 48000;
  w.audio_channels = 2;
  w.audio_encoder = "libopus";
  {
    VideoWriter writer(path, w);
    for (int i = 0; i < 10; ++i) {
      writer.write(make_index_frame(64, 48, i));
      AudioChunk a;
      a.sample_rate = 48000;
      a.channels = 2;
      a.samples.assign(4800 * 2, 0.25f);
      writer.write_audio(a);
    }
    writer.close();
  }
  AudioReader audio(parse_audio_spec(path), AudioFormat{48000, 2});
  EXPECT_TRUE(audio.info().codec == "opus" || audio.info().codec == "libopus") << audio.info().codec;
  AudioChunk c;
  std::size_t samples = 0;
  while (audio.read(c)) samples += c.frames();
  EXPECT_NEAR(double(samples), 48000.0, 2000.0);
}

TEST(Recorder, WrongFrameSizeIsAnError) {
  WriterOptions w;
  w.width = 64;
  w.height = 48;
  VideoWriter writer(tmp_path("size.mp4"), w);
  EXPECT_THROW(writer.write(make_index_frame(32, 32, 0)), Error);
}

}  // namespace
}  // namespace sc::media
