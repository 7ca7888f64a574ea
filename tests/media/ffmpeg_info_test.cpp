#include "media/ffmpeg_info.h"

#include <gtest/gtest.h>

namespace sc::media {
namespace {

TEST(FfmpegInfo, ReportsFiveDotOneAndTheEssentials) {
  FfmpegInfo info = query_ffmpeg();
  ASSERT_FALSE(info.libraries.empty());
  EXPECT_EQ(info.libraries.front().first, "ffmpeg");
  bool avformat = false;
  for (auto& [name, version] : info.libraries)
    if (name == "libavformat") avformat = version.rfind("59.", 0) == 0;  // FFmpeg 5.1 = libavformat 59
  EXPECT_TRUE(avformat);
  auto present = [&](const std::string& n) {
    for (auto& f : info.features)
      if (f.name == n) return f.present;
    ADD_FAILURE() << n << " is not checked";
    return false;
  };
  // Debian 12's FFmpeg has these; the studio cannot record without libx264.
  EXPECT_TRUE(present("libx264"));
  EXPECT_TRUE(present("lavfi"));
  EXPECT_TRUE(present("v4l2"));
  EXPECT_TRUE(present("x11grab"));
  present("h264_nvenc");  // checked, whatever the answer
}

}  // namespace
}  // namespace sc::media
