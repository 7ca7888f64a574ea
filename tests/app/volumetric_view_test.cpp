// The volumetric mode's playback (app/session/volumetric_view.h) on a tiny
// V^3 sequence under a test-driven clock: no sleeps, every step exact. Each
// frame has its own Gaussian count, so the scene on the GPU tells which frame
// was decoded and drawn. Runs on any Vulkan device (lavapipe in CI).
#include "app/session/volumetric_view.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <unistd.h>

#include "app/session/v3_sequence.h"
#include "render/context.h"
#include "render/splat/gaussians.h"

namespace sc::app {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kFrames = 6;
constexpr double kFps = 10;  // 100 ms a frame

std::uint32_t gaussians_of(int frame) { return std::uint32_t(100 + 10 * frame); }

render::GaussianCloud cloud(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  render::GaussianCloud c;
  c.resize(n, 0);
  for (auto& v : c.positions) v = u(rng);
  for (auto& v : c.scales) v = 0.03f + 0.02f * u(rng);
  for (auto& v : c.sh) v = u(rng);
  for (auto& v : c.opacities) v = 0.8f;
  for (std::size_t i = 0; i < n; ++i) c.rotations[4 * i] = 1;  // identity: w x y z
  return c;
}

class VolumetricPlayback : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One folder per process: ctest runs each test in its own process, in
    // parallel, and they must not rewrite each other's sequence.
    seq_ = new fs::path(fs::path(SC_TEST_TMP_DIR) / ("volumetric_view_seq_" + std::to_string(getpid())));
    fs::remove_all(*seq_);
    V3EncodeOptions o;
    o.group_size = 4;  // a wrap or a seek back crosses a group boundary
    o.qp = 0;
    o.fps = kFps;
    v3_encode(
        kFrames, [](int i) { return cloud(gaussians_of(i), unsigned(i)); }, *seq_, o);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*seq_, ec);
    delete seq_;
  }

  void SetUp() override {
    setenv("SC_VK_VALIDATION", "1", 1);
    ctx_ = std::make_unique<render::VulkanContext>(render::ContextOptions{});
    view_ = std::make_unique<VolumetricView>(*ctx_, *seq_, [this] { return now_; });
  }
  void TearDown() override {
    view_.reset();
    ASSERT_TRUE(ctx_);
    EXPECT_EQ(ctx_->validation_errors(), 0u);
  }

  // Lets `ms` of playback time pass, then draws a frame as the viewport would.
  int step(int ms) {
    now_ += milliseconds(ms);
    last_ = view_->render(32, 24);
    return view_->frame();
  }
  // The frame whose Gaussians are on the GPU now.
  void expect_shows(int frame) {
    EXPECT_EQ(view_->frame(), frame);
    EXPECT_EQ(view_->loaded_frame(), frame);
    EXPECT_EQ(view_->renderer().scene().count, gaussians_of(frame));
  }

  static fs::path* seq_;
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
  std::unique_ptr<render::VulkanContext> ctx_;
  std::unique_ptr<VolumetricView> view_;
  render::SplatStats last_;
};
fs::path* VolumetricPlayback::seq_ = nullptr;

TEST_F(VolumetricPlayback, PlaysAtTheSequenceFrameRate) {
  EXPECT_EQ(view_->frame_count(), kFrames);
  EXPECT_DOUBLE_EQ(view_->fps(), kFps);
  EXPECT_TRUE(view_->playing());
  EXPECT_EQ(step(0), 0);
  expect_shows(0);
  EXPECT_GT(last_.intersections, 0u);  // the default camera frames the scene
  EXPECT_EQ(step(50), 0);              // half a frame: still frame 0
  EXPECT_EQ(step(100), 1);             // 150 ms
  expect_shows(1);
  EXPECT_EQ(step(200), 3);  // 350 ms: a slow display skips frame 2
  expect_shows(3);
}

TEST_F(VolumetricPlayback, SeekShowsThatFrameAndPauseHoldsIt) {
  step(0);
  view_->pause();
  view_->seek(4);
  EXPECT_EQ(step(0), 4);
  expect_shows(4);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(step(100), 4) << "paused, after " << (i + 1) * 100 << " ms";
  expect_shows(4);
  view_->seek(2);  // scrubbing while paused
  EXPECT_EQ(step(300), 2);
  expect_shows(2);
  // Seeks clamp to the sequence.
  view_->seek(99);
  EXPECT_EQ(step(0), kFrames - 1);
  view_->seek(-5);
  EXPECT_EQ(step(0), 0);
  // Playing resumes from the paused position, not from where the clock would be.
  view_->seek(2);
  view_->play();
  EXPECT_EQ(step(120), 3);  // 200 + 120 ms
  expect_shows(3);
}

TEST_F(VolumetricPlayback, LoopWrapsToTheStart) {
  ASSERT_TRUE(view_->loop());
  view_->seek(4);
  EXPECT_EQ(step(0), 4);
  EXPECT_EQ(step(140), 5);  // 540 ms
  expect_shows(5);
  EXPECT_EQ(step(140), 0);  // 680 ms = 600 + 80: wrapped
  expect_shows(0);
  EXPECT_TRUE(view_->playing());
  EXPECT_EQ(step(140), 2);  // 220 ms into the second pass
  expect_shows(2);
}

TEST_F(VolumetricPlayback, WithoutLoopStopsAtTheLastFrame) {
  view_->set_loop(false);
  view_->seek(4);
  EXPECT_EQ(step(0), 4);
  EXPECT_EQ(step(240), 5);  // 640 ms: past the end
  expect_shows(5);
  EXPECT_FALSE(view_->playing());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(step(100), 5);
  expect_shows(5);
}

TEST_F(VolumetricPlayback, AStallDoesNotSkipAhead) {
  step(0);
  EXPECT_EQ(step(10000), 2);  // ten seconds late: playback moves on 250 ms, not ten seconds
  expect_shows(2);
}

TEST(VolumetricStill, APlyFileIsAOneFrameScene) {
  const fs::path file = fs::path(SC_TEST_TMP_DIR) / "volumetric_view_still.ply";
  render::save_ply(cloud(300, 9), file.string());
  setenv("SC_VK_VALIDATION", "1", 1);
  render::VulkanContext ctx(render::ContextOptions{});
  auto now = std::chrono::steady_clock::time_point{};
  VolumetricView view(ctx, file, [&] { return now; });
  EXPECT_EQ(view.frame_count(), 1);
  for (int i = 0; i < 4; ++i) {
    now += milliseconds(70);
    const render::SplatStats st = view.render(32, 24);
    EXPECT_EQ(view.frame(), 0);
    EXPECT_EQ(view.loaded_frame(), 0);
    EXPECT_EQ(view.renderer().scene().count, 300u);
    EXPECT_GT(st.intersections, 0u);
  }
  EXPECT_TRUE(view.playing());  // a looping one-frame clip
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

}  // namespace
}  // namespace sc::app
