// The volumetric mode's playback (app/modes/volumetric/volumetric_view.h) on a tiny
// V^3 sequence under a test-driven clock: no sleeps, every step exact. Each
// frame has its own Gaussian count, so the scene on the GPU tells which frame
// was decoded and drawn. Runs on any Vulkan device (lavapipe in CI).
#include "app/modes/volumetric/volumetric_view.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <string>

#include <unistd.h>

#include "app/modes/volumetric/v3_sequence.h"
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
  // Play at the end starts the clip again, as a media player's does.
  view_->play();
  EXPECT_EQ(step(0), 0);
  expect_shows(0);
  EXPECT_EQ(step(150), 1);
}

TEST_F(VolumetricPlayback, AStallDoesNotSkipAhead) {
  step(0);
  EXPECT_EQ(step(10000), 2);  // ten seconds late: playback moves on 250 ms, not ten seconds
  expect_shows(2);
}

// The camera: look turns the view around a fixed eye, fly follows the view.
using Vec3 = std::array<float, 3>;
float dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
Vec3 sub(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
float norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
Vec3 unit(const Vec3& a) {
  const float l = norm(a);
  return {a[0] / l, a[1] / l, a[2] / l};
}
Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Vec3 direction(const VolumetricView& v) { return unit(sub(v.target(), v.eye())); }
bool finite(const Vec3& a) { return std::isfinite(a[0]) && std::isfinite(a[1]) && std::isfinite(a[2]); }

TEST_F(VolumetricPlayback, LookTurnsTheViewAroundAFixedEye) {
  const float tol = 1e-4f * view_->scene_size();
  const Vec3 eye = view_->eye(), dir = direction(*view_);
  const Vec3 right = unit(cross(dir, view_->camera().up));
  view_->look(40, 0);
  EXPECT_LT(norm(sub(view_->eye(), eye)), tol);
  const Vec3 turned = direction(*view_);
  EXPECT_LT(dot(turned, dir), std::cos(5.0f * 3.14159265f / 180));  // 40 px turns it well past 5 degrees
  EXPECT_GT(dot(turned, right), 0.0f) << "dragging right turns the view right";
  EXPECT_NEAR(dot(turned, view_->camera().up), dot(dir, view_->camera().up), 1e-5f)
      << "a horizontal look keeps the pitch";
  view_->look(-40, 0);
  EXPECT_LT(norm(sub(view_->eye(), eye)), tol);
  EXPECT_GT(dot(direction(*view_), dir), 1 - 1e-6f) << "+d then -d gives the view back";

  view_->look(0, -30);  // dragging up looks up
  EXPECT_LT(norm(sub(view_->eye(), eye)), tol);
  EXPECT_GT(dot(direction(*view_), view_->camera().up), dot(dir, view_->camera().up));
  // Drawing from the turned camera still works.
  step(0);
  EXPECT_EQ(ctx_->validation_errors(), 0u);
}

TEST_F(VolumetricPlayback, LookPitchStopsShortOfStraightUpAndDown) {
  const Vec3 eye = view_->eye();
  const Vec3 up = unit(view_->camera().up);
  for (const float dy : {-1e6f, 1e6f, -1e30f, 1e30f}) {
    view_->look(0, dy);
    const Vec3 d = direction(*view_);
    ASSERT_TRUE(finite(d)) << dy;
    EXPECT_LT(std::fabs(dot(d, up)), std::cos(0.5f * 3.14159265f / 180)) << "the view must not line up with up: " << dy;
    EXPECT_LT(norm(sub(view_->eye(), eye)), 1e-4f * view_->scene_size()) << dy;
    // Pitched to the limit, turning and flying stay well defined.
    view_->look(25, 0);
    ASSERT_TRUE(finite(direction(*view_)));
  }
  // Infinities and NaNs from a broken input device leave the camera alone.
  const Vec3 dir = direction(*view_);
  view_->look(std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN());
  EXPECT_GT(dot(direction(*view_), dir), 1 - 1e-6f);
}

TEST_F(VolumetricPlayback, FlyMovesAlongTheViewAfterALook) {
  view_->look(200, -60);
  const Vec3 eye = view_->eye(), dir = direction(*view_);
  const Vec3 right = unit(cross(dir, view_->camera().up));
  view_->fly(0.5f, 0, 0);
  const Vec3 moved = sub(view_->eye(), eye);
  EXPECT_NEAR(norm(moved), 0.5f * view_->scene_size(), 1e-4f * view_->scene_size());
  EXPECT_GT(dot(unit(moved), dir), 1 - 1e-5f) << "forward is the looked-at direction";
  EXPECT_GT(dot(direction(*view_), dir), 1 - 1e-6f) << "flying does not turn the view";
  const Vec3 eye2 = view_->eye();
  view_->fly(0, 0.25f, 0);
  EXPECT_GT(dot(unit(sub(view_->eye(), eye2)), right), 1 - 1e-5f) << "right is the view's right";
}

TEST_F(VolumetricPlayback, ResetCameraRestoresTheHomeView) {
  const OrbitCamera home = view_->camera();
  const Vec3 eye = view_->eye(), target = view_->target();
  view_->orbit(30, 10);
  view_->look(-120, 45);
  view_->fly(0.3f, -0.2f, 0.1f);
  view_->zoom(2);
  EXPECT_GT(norm(sub(view_->eye(), eye)), 0.01f * view_->scene_size());
  view_->reset_camera();
  EXPECT_EQ(view_->eye(), eye);
  EXPECT_EQ(view_->target(), target);
  EXPECT_EQ(view_->camera().yaw_degrees, home.yaw_degrees);
  EXPECT_EQ(view_->camera().pitch_degrees, home.pitch_degrees);
  EXPECT_EQ(view_->camera().distance, home.distance);
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

// Real captures carry a few far "floaters": the default camera frames the
// subject as if they were not there.
TEST(VolumetricStill, TheCameraFramesTheSubjectNotItsFloaters) {
  const std::string pid = std::to_string(getpid());
  const fs::path clean = fs::path(SC_TEST_TMP_DIR) / ("still_clean_" + pid + ".ply");
  const fs::path floaters = fs::path(SC_TEST_TMP_DIR) / ("still_floaters_" + pid + ".ply");
  render::GaussianCloud c = cloud(1000, 4);
  render::save_ply(c, clean.string());
  const std::size_t n = c.size();
  render::GaussianCloud f = c;
  f.resize(n + 5, 0);
  for (std::size_t i = 0; i < n; ++i) {  // resize keeps nothing: copy the subject back
    for (int k = 0; k < 3; ++k) {
      f.positions[3 * i + k] = c.positions[3 * i + k];
      f.scales[3 * i + k] = c.scales[3 * i + k];
    }
    for (int k = 0; k < 4; ++k) f.rotations[4 * i + k] = c.rotations[4 * i + k];
    f.opacities[i] = c.opacities[i];
    for (int k = 0; k < 3; ++k) f.sh[3 * i + k] = c.sh[3 * i + k];
  }
  for (std::size_t i = n; i < n + 5; ++i) {
    for (int k = 0; k < 3; ++k) f.positions[3 * i + k] = 400.0f + float(i - n);
    for (int k = 0; k < 3; ++k) f.scales[3 * i + k] = 0.05f;
    f.rotations[4 * i] = 1;
    f.opacities[i] = 0.5f;
  }
  render::save_ply(f, floaters.string());
  render::VulkanContext ctx(render::ContextOptions{});
  const OrbitCamera a = V3Player(ctx, clean).default_camera();
  const OrbitCamera b = V3Player(ctx, floaters).default_camera();
  EXPECT_LT(b.distance, 1.2f * a.distance) << "5 floaters out of 1005 Gaussians pulled the camera back";
  EXPECT_GT(b.distance, 0.8f * a.distance);
  for (int k = 0; k < 3; ++k) EXPECT_LT(std::fabs(b.target[k] - a.target[k]), 0.2f) << "axis " << k;
  fs::remove(clean);
  fs::remove(floaters);
}

}  // namespace
}  // namespace sc::app
