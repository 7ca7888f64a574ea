// The viewport's drawing, offscreen on whatever Vulkan device is present
// (lavapipe on CI), with validation on.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "render/background.h"
#include "render/buffer.h"
#include "render/canvas.h"
#include "render/context.h"
#include "render/hud.h"
#include "render/layout.h"
#include "render/offscreen_target.h"

namespace sc::render {
namespace {

std::vector<std::uint8_t> pattern(int w, int h, int seed) {
  std::vector<std::uint8_t> px(std::size_t(w) * h * 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = &px[(std::size_t(y) * w + x) * 4];
      p[0] = std::uint8_t((x * 7 + seed) & 255);
      p[1] = std::uint8_t((y * 13 + x * 3) & 255);
      p[2] = std::uint8_t((x ^ y) & 255);
      p[3] = 255;
    }
  return px;
}

struct Draw final : FrameCallbacks {
  Canvas& canvas;
  const std::vector<std::uint8_t>* output = nullptr;
  const std::vector<std::uint8_t>* input = nullptr;
  int w = 0, h = 0;
  CanvasView view;
  Hud* hud = nullptr;
  HudStats hud_stats;
  explicit Draw(Canvas& c) : canvas(c) {
    hud_stats.device = "test device";
    hud_stats.stages = {{"capture", 30, 1.5}};
  }
  void before_pass(VkCommandBuffer cmd) override {
    if (output) canvas.output().upload(cmd, {w, h, w * 4, output->data()});
    if (input) canvas.input().upload(cmd, {w, h, w * 4, input->data()});
  }
  void in_pass(VkCommandBuffer cmd, VkExtent2D extent) override {
    canvas.record(cmd, extent, view);
    if (hud) hud->record(cmd, extent, hud_stats, 1.0 / 30);
  }
};

class CanvasTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SC_VK_VALIDATION", "1", 1); }
};

TEST_F(CanvasTest, OneToOneFrameReadsBackExactly) {
  VulkanContext ctx(ContextOptions{});
  const int w = 97, h = 61;  // odd sizes: no row padding luck
  OffscreenTarget target(ctx, w, h);
  Canvas canvas(ctx, target.render_pass());
  auto frame = pattern(w, h, 5);
  Draw d(canvas);
  d.output = &frame;
  d.w = w;
  d.h = h;
  d.view.mode = DisplayMode::kOneToOne;
  std::vector<std::uint8_t> got = target.render(d);
  ASSERT_EQ(got.size(), frame.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < got.size(); ++i) mismatches += got[i] != frame[i];
  EXPECT_EQ(mismatches, 0u) << "a frame shown 1:1 must reach the target bit for bit";
  // A second, different frame through the staging ring replaces it exactly too.
  auto frame2 = pattern(w, h, 99);
  d.output = &frame2;
  got = target.render(d);
  EXPECT_EQ(got, frame2);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

// A frame whose pixels another API writes into GPU memory (CUDA through the
// zero-copy link): the frame's submission waits for the writer's timeline
// value before its copy and signals its own once done.
TEST_F(CanvasTest, AGpuFrameWaitsForItsWriterAndSignalsItsRelease) {
  VulkanContext ctx(ContextOptions{});
  if (!ctx.timeline_semaphores()) GTEST_SKIP() << ctx.device_info().name << " has no timeline semaphores";
  auto timeline = [&] {
    VkSemaphoreTypeCreateInfo type{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO, nullptr, VK_SEMAPHORE_TYPE_TIMELINE,
                                   0};
    VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, &type, 0};
    VkSemaphore s = VK_NULL_HANDLE;
    EXPECT_EQ(vkCreateSemaphore(ctx.device(), &sci, nullptr, &s), VK_SUCCESS);
    return s;
  };
  VkSemaphore ready = timeline(), released = timeline();
  const int w = 40, h = 24;
  OffscreenTarget target(ctx, w, h);
  Canvas canvas(ctx, target.render_pass());
  const auto frame = pattern(w, h, 17);
  Buffer shared(ctx, frame.size(), VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  struct GpuDraw final : FrameCallbacks {
    Canvas& canvas;
    VkBuffer pixels;
    int w, h;
    TimelineSync sync;
    GpuDraw(Canvas& c, VkBuffer p, int width, int height, TimelineSync s)
        : canvas(c), pixels(p), w(width), h(height), sync(s) {}
    void before_pass(VkCommandBuffer cmd) override { canvas.output().copy_from(cmd, pixels, w, h); }
    void in_pass(VkCommandBuffer cmd, VkExtent2D extent) override {
      CanvasView view;
      view.mode = DisplayMode::kOneToOne;
      canvas.record(cmd, extent, view);
    }
    TimelineSync timeline_sync() override { return sync; }
  } draw(canvas, shared.handle(), w, h, TimelineSync{ready, 5, released, 7});
  // The writer finishes later, on another thread.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::memcpy(shared.mapped(), frame.data(), frame.size());
    VkSemaphoreSignalInfo signal{VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO, nullptr, ready, 5};
    vkSignalSemaphore(ctx.device(), &signal);
  });
  const std::vector<std::uint8_t> got = target.render(draw);
  writer.join();
  EXPECT_EQ(got, frame) << "the copy ran before the writer's signal";
  // The release is signalled by the same submission as the frame's fence, but
  // a driver may make the fence visible first (lavapipe does under load), so
  // wait for it, with a bound, as the writer itself would.
  EXPECT_TRUE(wait_timeline(ctx.device(), released, 7, 5'000'000'000ull))
      << "the frame's submission never signalled its release";
  std::uint64_t value = 0;
  vkGetSemaphoreCounterValue(ctx.device(), released, &value);
  EXPECT_EQ(value, 7u);
  vkDestroySemaphore(ctx.device(), ready, nullptr);
  vkDestroySemaphore(ctx.device(), released, nullptr);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST_F(CanvasTest, EmptyCanvasShowsTheBackground) {
  VulkanContext ctx(ContextOptions{});
  OffscreenTarget target(ctx, 64, 40);
  Canvas canvas(ctx, target.render_pass());
  Draw d(canvas);
  auto got = target.render(d);
  int worst = 0;
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 64; ++x) {
      auto want = background_pixel(x, y, 64, 40);
      for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(got[(y * 64 + x) * 4 + c]) - int(want[c])));
    }
  EXPECT_LE(worst, 1);
}

TEST_F(CanvasTest, FitLetterboxesAndSideBySideShowsBoth) {
  VulkanContext ctx(ContextOptions{});
  OffscreenTarget target(ctx, 200, 50);
  Canvas canvas(ctx, target.render_pass());
  std::vector<std::uint8_t> red(40 * 40 * 4), blue(40 * 40 * 4);
  for (std::size_t i = 0; i < red.size(); i += 4) {
    red[i] = 255, red[i + 3] = 255;
    blue[i + 2] = 255, blue[i + 3] = 255;
  }
  Draw d(canvas);
  d.output = &blue;
  d.input = &red;
  d.w = d.h = 40;
  d.view.mode = DisplayMode::kFit;
  auto px = [&](const std::vector<std::uint8_t>& img, int x, int y) { return &img[(std::size_t(y) * 200 + x) * 4]; };
  auto got = target.render(d);
  // Fit: a 50x50 square centred in 200x50; left and right of it is background.
  EXPECT_EQ(px(got, 100, 25)[2], 255);
  EXPECT_LT(px(got, 10, 25)[2], 80);
  d.view.side_by_side = true;
  got = target.render(d);
  EXPECT_EQ(px(got, 48, 25)[0], 255) << "input on the left";
  EXPECT_EQ(px(got, 151, 25)[2], 255) << "output on the right";
  // Fill: the frame covers the whole 200x50 target (scaled to 200x200, the
  // middle quarter of its rows shown). Rows 0-14 red, 15-24 blue, 25-39
  // green: only blue may show, edge to edge, with no background.
  std::vector<std::uint8_t> bands(40 * 40 * 4, 0);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) {
      std::uint8_t* p = &bands[(std::size_t(y) * 40 + x) * 4];
      p[y < 15 ? 0 : y < 25 ? 2 : 1] = 255;
      p[3] = 255;
    }
  d.output = &bands;
  d.view.side_by_side = false;
  d.view.mode = DisplayMode::kFill;
  got = target.render(d);
  // (The outermost rows blend with the next band: bilinear sampling at the crop's edge.)
  for (auto [x, y] : {std::pair{1, 10}, {198, 10}, {1, 40}, {198, 40}, {100, 25}, {10, 25}}) {
    const std::uint8_t* p = px(got, x, y);
    EXPECT_EQ(p[2], 255) << "fill at " << x << "," << y;
    EXPECT_LT(p[0] + p[1], 20) << "fill at " << x << "," << y << " shows another band or the background";
  }
  EXPECT_GT(px(got, 0, 0)[2], 150) << "the frame reaches the top-left corner";
  EXPECT_GT(px(got, 199, 49)[2], 150) << "the frame reaches the bottom-right corner";
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST_F(CanvasTest, HudDrawsOverTheFrame) {
  VulkanContext ctx(ContextOptions{});
  OffscreenTarget target(ctx, 320, 200);
  Canvas canvas(ctx, target.render_pass());
  Hud hud(ctx, target.render_pass(), 3);
  Draw d(canvas);
  auto before = target.render(d);
  d.hud = &hud;
  auto after = target.render(d);
  after = target.render(d);  // ImGui sizes auto-resize windows on the second frame
  std::size_t changed = 0;
  for (std::size_t i = 0; i < before.size(); i += 4) changed += before[i] != after[i] || before[i + 2] != after[i + 2];
  EXPECT_GT(changed, 2000u) << "the HUD window should cover part of the top-left";
  // The far corner stays background.
  const std::size_t far = (std::size_t(199) * 320 + 319) * 4;
  EXPECT_EQ(before[far], after[far]);
  EXPECT_EQ(hud.frames(), 2u);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

// What the HUD says: every number the session hands it, in words.
TEST_F(CanvasTest, HudShowsEveryStatItIsGiven) {
  VulkanContext ctx(ContextOptions{});
  OffscreenTarget target(ctx, 480, 360);
  Canvas canvas(ctx, target.render_pass());
  Hud hud(ctx, target.render_pass(), 3);
  hud.set_capture_text(true);
  Draw d(canvas);
  d.hud = &hud;
  d.hud_stats.device = "llvmpipe (CPU)";
  d.hud_stats.gpu_memory = "1.5 / 8.0 GiB";
  d.hud_stats.stages = {{"capture", 30, 1.25}, {"img2img", 12.5, 80.0}, {"display", -1, 0.5}};
  d.hud_stats.queues = {{"input", 2}, {"output", 1}};
  d.hud_stats.latency_ms = 42.5;
  d.hud_stats.dropped = 7;
  d.hud_stats.recording = true;
  d.hud_stats.recording_s = 12.3;
  d.hud_stats.status = "img2img: resolution 60x64 is not a multiple of 8";
  target.render(d);
  const std::string text = hud.captured_text();
  for (const char* want : {"llvmpipe (CPU)", "GPU memory 1.5 / 8.0 GiB", "capture", "30.0 fps", "1.25 ms", "img2img",
                           "12.5 fps", "80.00 ms", "display", "0.50 ms", "latency 42.5 ms", "dropped 7",
                           "queue input: 2", "queue output: 1", "REC 12.3 s", "not a multiple of 8"}) {
    EXPECT_NE(text.find(want), std::string::npos) << "missing '" << want << "' in:\n" << text;
  }
  // A stage without a rate of its own shows no fps; without recording, no REC.
  EXPECT_EQ(text.find("-1.0 fps"), std::string::npos) << text;
  d.hud_stats.recording = false;
  target.render(d);
  EXPECT_EQ(hud.captured_text().find("REC"), std::string::npos) << hud.captured_text();
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST(Layout, Placements) {
  Rect panel{0, 0, 200, 100};
  Placement fit = place(DisplayMode::kFit, 100, 100, panel);
  EXPECT_FLOAT_EQ(fit.dst.x, 50);
  EXPECT_FLOAT_EQ(fit.dst.w, 100);
  EXPECT_FLOAT_EQ(fit.dst.h, 100);
  Placement fill = place(DisplayMode::kFill, 100, 100, panel);
  EXPECT_FLOAT_EQ(fill.dst.w, 200);
  EXPECT_FLOAT_EQ(fill.src_uv.h, 0.5f);
  EXPECT_FLOAT_EQ(fill.src_uv.y, 0.25f);
  Placement one = place(DisplayMode::kOneToOne, 300, 50, panel);
  EXPECT_FLOAT_EQ(one.dst.w, 200);
  EXPECT_FLOAT_EQ(one.dst.h, 50);
  EXPECT_FLOAT_EQ(one.dst.y, 25);
  EXPECT_FLOAT_EQ(one.src_uv.x, 50.0f / 300);
  EXPECT_EQ(parse_display_mode("1:1"), DisplayMode::kOneToOne);
  EXPECT_ANY_THROW(parse_display_mode("stretch"));
}

}  // namespace
}  // namespace sc::render
