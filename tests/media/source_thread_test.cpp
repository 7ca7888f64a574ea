#include "media/source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/error.h"
#include "tests/common/subprocess.h"
#include "tests/media/media_test_util.h"

namespace sc::media {
namespace {

using test::tmp_path;

TEST(SourceThread, DeliversFramesWithCaptureTimesAndFinishes) {
  const std::string path = tmp_path("clip.mp4");
  test::write_index_clip(path, 64, 48, 20, 20);
  std::vector<Frame> got;
  SourceThread src(parse_source_spec(path), [&](Frame&& f) {
    got.push_back(std::move(f));
    return true;
  });
  SourceStatus st = src.wait();
  EXPECT_EQ(st.end, SourceEnd::kFinished);
  EXPECT_EQ(st.frames, 20);
  ASSERT_EQ(got.size(), 20u);
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_GT(got[i].pts_us, got[i - 1].pts_us);
    EXPECT_GE(got[i].capture_time, got[i - 1].capture_time);
    EXPECT_NE(got[i].planes[0], got[i - 1].planes[0]) << "each frame owns its pixels";
  }
}

TEST(SourceThread, StopEndsALiveSourceQuickly) {
  std::atomic<int> frames{0};
  SourceThread src(parse_source_spec("test:64x48@30"), [&](Frame&&) {
    ++frames;
    return true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto t0 = std::chrono::steady_clock::now();
  src.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_EQ(src.status().end, SourceEnd::kStopped);
  EXPECT_GE(frames.load(), 3);
}

TEST(SourceThread, OpenErrorsThrowAtConstruction) {
  EXPECT_THROW(SourceThread(parse_source_spec("/nonexistent.mp4"), [](Frame&&) { return true; }), Error);
}

TEST(SourceThread, PipeWhoseWriterDiesEndsCleanly) {
  // A named pipe fed by an ffmpeg process that is killed mid-stream: the source
  // must end on its own, with a message, after the frames that did arrive.
  const std::string fifo = tmp_path("pipe.nut");
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string pidfile = tmp_path("writer.pid");
  std::string cmd =
      "(ffmpeg -loglevel error -re -f lavfi -i testsrc2=size=96x64:rate=25 -t 20 -c:v rawvideo -f nut -y " +
      sc::test::shell_quote(fifo) + " & echo $! > " + sc::test::shell_quote(pidfile) + ") ";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::atomic<int> frames{0};
  SourceThread src(parse_source_spec(fifo), [&](Frame&&) {
    ++frames;
    return true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  ASSERT_EQ(std::system(("kill -9 $(cat " + sc::test::shell_quote(pidfile) + ")").c_str()), 0);
  auto t0 = std::chrono::steady_clock::now();
  SourceStatus st = src.wait();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(st.end, SourceEnd::kRunning);
  EXPECT_FALSE(st.message.empty());
  EXPECT_GE(frames.load(), 5) << "frames before the writer died were delivered";
}

}  // namespace
}  // namespace sc::media
