#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "media/video_writer.h"

namespace sc::media {
namespace {

std::string tmp_path(const std::string& name) {
  return std::string(SC_TEST_TMP_DIR) + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
         name;
}

// A frame whose colour encodes its index: left half red level, right half blue.
Frame make_frame(int w, int h, int i) {
  Frame f = Frame::make_rgba(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = f.row(y) + x * 4;
      p[0] = x < w / 2 ? static_cast<std::uint8_t>(i * 20) : 0;
      p[1] = 64;
      p[2] = x < w / 2 ? 0 : 200;
      p[3] = 255;
    }
  return f;
}

TEST(VideoReader, TestSourceDeliversSizedFramesWithRisingPts) {
  VideoReader r(parse_source_spec("test:160x120@25"));
  EXPECT_EQ(r.info().width, 160);
  EXPECT_EQ(r.info().height, 120);
  EXPECT_NEAR(r.info().fps, 25, 1e-6);
  Frame f;
  std::int64_t last = -1;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.read(f));
    EXPECT_EQ(f.width, 160);
    EXPECT_EQ(f.height, 120);
    EXPECT_EQ(f.pitch_bytes, 160 * 4);
    EXPECT_GT(f.pts_us, last);
    last = f.pts_us;
  }
  EXPECT_NEAR(last, 4 * 40000, 1000);  // 25 fps -> 40 ms apart
}

TEST(VideoIo, WriteThenReadBackFramesAndColours) {
  const std::string path = tmp_path("roundtrip.mp4");
  {
    WriterOptions o;
    o.width = 64;
    o.height = 48;
    o.fps = 10;
    o.crf = 10;
    VideoWriter w(path, o);
    for (int i = 0; i < 12; ++i) w.write(make_frame(64, 48, i));
    w.close();
    EXPECT_EQ(w.frames_written(), 12);
  }
  VideoReader r(parse_source_spec(path));
  EXPECT_EQ(r.info().width, 64);
  EXPECT_EQ(r.info().height, 48);
  Frame f;
  int n = 0;
  while (r.read(f)) {
    // Lossy but close: compare the centre of each half.
    const std::uint8_t* left = f.row(24) + 16 * 4;
    const std::uint8_t* right = f.row(24) + 48 * 4;
    EXPECT_NEAR(left[0], n * 20, 12) << "frame " << n;
    EXPECT_NEAR(right[2], 200, 12) << "frame " << n;
    ++n;
  }
  EXPECT_EQ(n, 12);
}

TEST(VideoIo, TruncatedRecordingStillPlays) {
  // A crash mid-recording leaves a file cut short; the fragmented MP4 layout
  // keeps every complete fragment (one per second) playable.
  const std::string path = tmp_path("crash.mp4");
  {
    WriterOptions o;
    o.width = 128;
    o.height = 96;
    o.fps = 10;
    VideoWriter w(path, o);
    for (int i = 0; i < 60; ++i) w.write(make_frame(128, 96, i % 12));
    w.close();
  }
  auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size * 6 / 10);
  VideoReader r(parse_source_spec(path));
  Frame f;
  int n = 0;
  try {
    while (r.read(f)) ++n;
  } catch (const Error&) {
    // The last, cut fragment may fail to parse; what came before must decode.
  }
  EXPECT_GE(n, 20) << "a 60% file should keep well over a second of frames";
}

TEST(VideoIo, ErrorsNameTheFile) {
  try {
    VideoReader r(parse_source_spec("/nonexistent/clip.mp4"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/clip.mp4"), std::string::npos) << e.what();
  }
  WriterOptions o;
  o.width = 64;
  o.height = 48;
  try {
    VideoWriter w("/nonexistent/dir/out.mp4", o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/out.mp4"), std::string::npos) << e.what();
  }
  o.width = 63;
  EXPECT_THROW(VideoWriter(tmp_path("odd.mp4"), o), Error);
}

TEST(VideoIo, GarbageFileIsAnErrorNotACrash) {
  const std::string path = tmp_path("garbage.mp4");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  EXPECT_THROW(VideoReader r(parse_source_spec(path)), Error);
}

}  // namespace
}  // namespace sc::media
