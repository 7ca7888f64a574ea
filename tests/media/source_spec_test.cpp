#include "media/source_spec.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace sc::media {
namespace {

TEST(SourceSpec, TestPatternDefaults) {
  SourceSpec s = parse_source_spec("test");
  EXPECT_EQ(s.kind, SourceKind::kTest);
  EXPECT_EQ(s.input_format, "lavfi");
  EXPECT_EQ(s.width, 1280);
  EXPECT_EQ(s.height, 720);
  EXPECT_EQ(s.url, "testsrc2=size=1280x720:rate=30");
  EXPECT_TRUE(s.live());
}

TEST(SourceSpec, TestPatternWithSizeAndRate) {
  SourceSpec s = parse_source_spec("test:320x240@60");
  EXPECT_EQ(s.width, 320);
  EXPECT_EQ(s.height, 240);
  EXPECT_DOUBLE_EQ(s.fps, 60);
  EXPECT_EQ(s.url, "testsrc2=size=320x240:rate=60");
}

TEST(SourceSpec, Webcam) {
  SourceSpec s = parse_source_spec("v4l2:/dev/video2?size=640x480&fps=30&format=yuyv");
  EXPECT_EQ(s.kind, SourceKind::kV4l2);
  EXPECT_EQ(s.url, "/dev/video2");
  EXPECT_EQ(s.options.at("video_size"), "640x480");
  EXPECT_EQ(s.options.at("framerate"), "30");
  EXPECT_EQ(s.options.at("input_format"), "yuyv422");
}

TEST(SourceSpec, Screen) {
  SourceSpec s = parse_source_spec("screen::1");
  EXPECT_EQ(s.kind, SourceKind::kScreen);
  EXPECT_EQ(s.url, ":1");
  EXPECT_EQ(s.input_format, "x11grab");
}

TEST(SourceSpec, FilesPlainAndWithOptions) {
  SourceSpec a = parse_source_spec("clips/a b.mp4");
  EXPECT_EQ(a.kind, SourceKind::kFile);
  EXPECT_EQ(a.url, "clips/a b.mp4");
  EXPECT_EQ(a.pacing, Pacing::kFast);
  EXPECT_FALSE(a.live());
  SourceSpec b = parse_source_spec("file:x.mkv?loop=1&pacing=realtime");
  EXPECT_EQ(b.url, "x.mkv");
  EXPECT_TRUE(b.loop);
  EXPECT_EQ(b.pacing, Pacing::kRealtime);
  EXPECT_EQ(parse_source_spec("y.mp4", Pacing::kRealtime).pacing, Pacing::kRealtime);
}

TEST(SourceSpec, BadSpecsNameTheProblem) {
  struct Case {
    const char* spec;
    const char* expect;
  };
  for (auto c :
       {Case{"", "empty source"}, Case{"test:abc", "must look like"}, Case{"test:0x10", "width"},
        Case{"test:321x240", "even"}, Case{"test:320x240@0", "frame rate"}, Case{"v4l2:", "give a device"},
        Case{"v4l2:/dev/video0?fmt=1", "unknown option 'fmt'"}, Case{"v4l2:/dev/video0?format=h264", "mjpeg or yuyv"},
        Case{"file:x.mp4?pacing=slow", "realtime or fast"}, Case{"file:", "give a file path"}}) {
    try {
      parse_source_spec(c.spec);
      ADD_FAILURE() << "accepted '" << c.spec << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << c.spec << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace sc::media
