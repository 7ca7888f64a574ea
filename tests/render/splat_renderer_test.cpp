// The splat renderer's frame mechanics (the pictures themselves are checked
// against gsplat in splat_golden_test.cpp): key buffers that grow mid-frame,
// an empty scene, equal depths, GPU timestamps. lavapipe in CI.
#include "render/splat/splat_renderer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "render/context.h"

namespace sc::render {
namespace {

class SplatRendererTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SC_VK_VALIDATION", "1", 1); }
};

SplatCamera front_camera(std::uint32_t w, std::uint32_t h) {
  return look_at_camera({0, 0, -4}, {0, 0, 0}, {0, -1, 0}, 50, w, h);
}

// Big splats: each touches dozens of tiles, so a few thousand make more keys
// than the renderer's first guess holds.
GaussianCloud big_splats(std::size_t n) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  GaussianCloud c;
  c.resize(n, 0);
  for (auto& v : c.positions) v = u(rng);
  for (auto& v : c.scales) v = 0.4f * std::exp(0.3f * u(rng));
  for (auto& v : c.sh) v = u(rng);
  for (auto& v : c.opacities) v = 0.8f + 0.15f * u(rng);
  for (std::size_t i = 0; i < n; ++i) c.rotations[4 * i] = 1;
  return c;
}

TEST_F(SplatRendererTest, AFrameThatOutgrowsTheKeyBuffersIsDrawnAgainTheSame) {
  VulkanContext ctx(ContextOptions{});
  SplatRenderer renderer(ctx);
  renderer.set_scene(big_splats(2500));
  const SplatCamera cam = front_camera(160, 120);
  const SplatStats first = renderer.render(cam);
  ASSERT_EQ(first.attempts, 2u) << first.intersections << " keys should outgrow the first guess";
  const std::vector<float> cold = renderer.read_float();
  const SplatStats second = renderer.render(cam);
  EXPECT_EQ(second.attempts, 1u);
  EXPECT_EQ(second.intersections, first.intersections);
  EXPECT_EQ(renderer.read_float(), cold);  // bit for bit
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST_F(SplatRendererTest, AnEmptySceneShowsTheBackground) {
  VulkanContext ctx(ContextOptions{});
  SplatRenderer renderer(ctx);
  GaussianCloud empty;
  renderer.set_scene(empty);
  const SplatStats st = renderer.render(front_camera(40, 30), {0.25f, 0.5f, 1.0f});
  EXPECT_EQ(st.intersections, 0u);
  const std::vector<float> px = renderer.read_float();
  ASSERT_EQ(px.size(), 40u * 30u * 4u);
  for (std::size_t p = 0; p < 40u * 30u; ++p) {
    ASSERT_EQ(px[4 * p + 0], 0.25f) << p;
    ASSERT_EQ(px[4 * p + 1], 0.5f) << p;
    ASSERT_EQ(px[4 * p + 2], 1.0f) << p;
    ASSERT_EQ(px[4 * p + 3], 0.0f) << p;
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

// Two opaque splats at exactly the same depth: the first in the scene is in
// front (as a stable (tile, depth) sort of keys made in scene order puts it).
TEST_F(SplatRendererTest, EqualDepthsBlendInSceneOrder) {
  VulkanContext ctx(ContextOptions{});
  SplatRenderer renderer(ctx);
  GaussianCloud c;
  c.resize(2, 0);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < 3; ++k) c.scales[3 * i + k] = 0.3f;
    c.rotations[4 * i] = 1;
    c.opacities[i] = 0.99f;
  }
  c.sh[0] = 0.5f / kShC0;  // red: 0.5 + 0.5
  c.sh[1] = c.sh[2] = -0.5f / kShC0;
  c.sh[4] = 0.5f / kShC0;  // green
  c.sh[3] = c.sh[5] = -0.5f / kShC0;
  renderer.set_scene(c);
  renderer.render(front_camera(64, 64));
  const std::vector<float> px = renderer.read_float();
  const float* centre = &px[4 * (32 * 64 + 32)];
  EXPECT_GT(centre[0], 0.95f);
  EXPECT_LT(centre[1], 0.05f);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST_F(SplatRendererTest, GpuPassTimesAddUpToTheFrame) {
  VulkanContext ctx(ContextOptions{});
  SplatRenderer renderer(ctx);
  renderer.set_scene(big_splats(200));
  const SplatStats st = renderer.render(front_camera(160, 120));
  if (st.gpu_ms == 0) GTEST_SKIP() << "the queue has no timestamps";
  const SplatPassTimes& p = st.passes;
  const double sum =
      p.preprocess_ms + p.depth_sort_ms + p.scan_ms + p.keys_ms + p.tile_sort_ms + p.ranges_ms + p.blend_ms;
  EXPECT_NEAR(sum, st.gpu_ms, 1e-6 * st.gpu_ms + 1e-9);
  EXPECT_NEAR(st.project_ms + st.sort_ms + st.raster_ms, st.gpu_ms, 1e-6 * st.gpu_ms + 1e-9);
  EXPECT_GE(st.frame_ms, st.gpu_ms);
  EXPECT_GT(p.blend_ms, 0);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

}  // namespace
}  // namespace sc::render
