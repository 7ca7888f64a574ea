#include "media/input_context.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "base/error.h"
#include "media/audio.h"
#include "tests/media/media_test_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

namespace sc::media::detail {
namespace {

using test::tmp_path;

InputSpec file_input(const std::string& path) { return InputSpec{"source '" + path + "'", path, "", {}, ""}; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(InputContext, OpensTheVideoAndAudioStreamsOfOneFile) {
  const std::string path = tmp_path("av.mp4");
  test::write_tone_clip(path, 5, 10, 440.0f);  // 0.5 s
  InputContext input(file_input(path));
  EXPECT_EQ(input.label(), "source '" + path + "'");
  EXPECT_TRUE(input.has_stream(MediaType::kVideo));
  EXPECT_TRUE(input.has_stream(MediaType::kAudio));

  int threads = -1;
  Decoder video = input.open_decoder(MediaType::kVideo, [&](AVCodecContext& c) { c.thread_count = threads = 1; });
  EXPECT_EQ(threads, 1) << "configure runs before the decoder opens";
  EXPECT_STREQ(video.codec_name(), "h264");
  EXPECT_EQ(video.context()->width, 64);
  EXPECT_EQ(video.stream()->codecpar->codec_type, AVMEDIA_TYPE_VIDEO);
  EXPECT_NEAR(video.duration_s(), 0.5, 0.15);

  Decoder audio = input.open_decoder(MediaType::kAudio);
  EXPECT_NE(audio.stream_index(), video.stream_index());
  EXPECT_STREQ(audio.codec_name(), "aac");
  EXPECT_EQ(audio.context()->sample_rate, 16000);
  EXPECT_EQ(audio.stream()->codecpar->codec_type, AVMEDIA_TYPE_AUDIO);

  // Each decoder keeps only its own stream's packets.
  int frames = 0;
  while (video.next()) {
    EXPECT_EQ(video.frame()->width, 64);
    av_frame_unref(video.frame());
    ++frames;
  }
  EXPECT_EQ(frames, 5);
  ASSERT_GE(av_seek_frame(input.get(), -1, 0, AVSEEK_FLAG_BACKWARD), 0);
  audio.flush();
  std::int64_t samples = 0;
  while (audio.next()) {
    samples += audio.frame()->nb_samples;
    av_frame_unref(audio.frame());
  }
  EXPECT_NEAR(samples, 8000, 2048);
}

TEST(InputContext, InterruptStopsDecoding) {
  const std::string path = tmp_path("av.mp4");
  test::write_tone_clip(path, 5, 10, 440.0f);  // 0.5 s
  InputContext input(file_input(path));
  Decoder video = input.open_decoder(MediaType::kVideo);
  input.interrupt();
  EXPECT_TRUE(input.interrupted());
  EXPECT_FALSE(video.next());
}

TEST(InputContext, MissingFileIsAnErrorNamingIt) {
  const std::string msg = error_of([] { InputContext input(file_input("/nonexistent/clip.mp4")); });
  EXPECT_NE(msg.find("cannot open source '/nonexistent/clip.mp4'"), std::string::npos) << msg;
}

TEST(InputContext, FileWithoutAudioIsAnErrorNamingIt) {
  const std::string path = tmp_path("silent.mp4");
  test::write_index_clip(path, 32, 32, 3, 10);
  InputContext input(file_input(path));
  EXPECT_FALSE(input.has_stream(MediaType::kAudio));
  const std::string msg = error_of([&] { input.open_decoder(MediaType::kAudio); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("has no audio stream"), std::string::npos) << msg;
  // The readers say the same.
  const std::string reader_msg = error_of([&] { AudioReader r(parse_audio_spec(path)); });
  EXPECT_NE(reader_msg.find("audio source '" + path + "' has no audio stream"), std::string::npos) << reader_msg;
}

TEST(InputContext, UnknownInputDeviceIsAnErrorNamingIt) {
  const std::string msg = error_of([] { InputContext input(InputSpec{"source 'x'", "x", "no-such-device", {}, ""}); });
  EXPECT_NE(msg.find("source 'x'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'no-such-device' input device"), std::string::npos) << msg;
}

}  // namespace
}  // namespace sc::media::detail
