// The zero-copy display link: img2img's pixels written by CUDA into the
// viewport's memory, read by Vulkan behind the link's semaphores, and slots
// the viewport still holds turned down instead of overwritten. Needs an
// NVIDIA GPU with both drivers (tests/device/run.sh); here only the refusal.
#include "app/session/gpu_frame_link.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/models/taesd/taesd.h"
#include "engine/ops.h"
#include "engine/pipelines/stream_diffusion.h"
#include "engine/safetensors.h"
#include "render/buffer.h"
#include "render/context.h"
#include "render/render_pass.h"

namespace sc {
namespace {

using engine::Device;
using engine::DType;
using engine::Tensor;

std::unique_ptr<render::VulkanContext> vulkan() {
  try {
    return std::make_unique<render::VulkanContext>(render::ContextOptions{});
  } catch (const std::exception&) {
    return nullptr;
  }
}

// RGBA8 pixels [h, w, 4] on the GPU, different for each seed.
Tensor pixels(int w, int h, int seed) {
  Tensor t = Tensor::empty({h, w, 4}, DType::kU8);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(i * 7 + seed * 31);
  return t;
}

// What the viewport does with a linked frame, into host memory: the copy
// waits for CUDA's signal and signals the release.
std::vector<std::uint8_t> copy_out(render::VulkanContext& ctx, const app::GpuFrameLink::Frame& f) {
  const auto bytes = static_cast<VkDeviceSize>(f.width) * static_cast<VkDeviceSize>(f.height) * 4;
  render::Buffer host(ctx, bytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  ctx.submit_and_wait(
      [&](VkCommandBuffer cmd) {
        VkBufferCopy c{0, 0, bytes};
        vkCmdCopyBuffer(cmd, f.buffer, host.handle(), 1, &c);
        VkMemoryBarrier h{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                          VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &h, 0, nullptr, 0,
                             nullptr);
      },
      f.sync);
  // The release shares the fence's submission but may become visible after
  // it (lavapipe does so under load): wait for it, as the writer's next
  // publish into this slot needs it.
  EXPECT_TRUE(render::wait_timeline(ctx.device(), f.sync.signal, f.sync.signal_value, 5'000'000'000ull))
      << "the copy never signalled";
  const auto* p = static_cast<const std::uint8_t*>(host.mapped());
  return std::vector<std::uint8_t>(p, p + bytes);
}

#define REQUIRE_LINK(ctx, link, w, h)                                                                           \
  if (!engine::cuda::available()) GTEST_SKIP() << "no usable CUDA GPU: " << engine::cuda::unavailable_reason(); \
  auto ctx = vulkan();                                                                                          \
  if (!ctx) GTEST_SKIP() << "no Vulkan device";                                                                 \
  std::string why;                                                                                              \
  auto link = app::GpuFrameLink::create(*ctx, w, h, &why);                                                      \
  if (!link) GTEST_SKIP() << why;

TEST(GpuFrameLink, WithoutAGpuItSaysWhyAndFramesTakeTheHostPath) {
  auto ctx = vulkan();
  if (!ctx) GTEST_SKIP() << "no Vulkan device";
  std::string why;
  auto link = app::GpuFrameLink::create(*ctx, 64, 48, &why);
  if (engine::cuda::available() && ctx->external_memory_fd() && ctx->external_semaphore_fd() &&
      ctx->timeline_semaphores()) {
    EXPECT_TRUE(link != nullptr) << why;
    return;
  }
  EXPECT_EQ(link, nullptr);
  EXPECT_FALSE(why.empty());
  EXPECT_TRUE(why.find("CUDA") != std::string::npos || why.find("cannot share") != std::string::npos) << why;
  EXPECT_EQ(app::GpuFrameLink::create(*ctx, 0, 48, &why), nullptr);
}

TEST(GpuFrameLink, CudaPixelsReachVulkanWithoutTheHost) {
  REQUIRE_LINK(ctx, link, 64, 48);
  EXPECT_FALSE(link->take().has_value());  // nothing published yet
  for (int seed = 0; seed < 5; ++seed) {
    const Tensor want = pixels(64, 48, seed);
    ASSERT_TRUE(link->publish(want.to(Device::kCuda))) << "frame " << seed;
    const auto f = link->take();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->value, static_cast<std::uint64_t>(seed + 1));
    const std::vector<std::uint8_t> got = copy_out(*ctx, *f);
    EXPECT_EQ(std::memcmp(got.data(), want.raw_data(), got.size()), 0) << "frame " << seed;
    EXPECT_FALSE(link->take().has_value());  // taken once
  }
  // Another size, the host's memory or another dtype: not linked.
  EXPECT_FALSE(link->publish(pixels(32, 48, 0).to(Device::kCuda)));
  EXPECT_FALSE(link->publish(pixels(64, 48, 0)));
  EXPECT_EQ(link->published(), 5u);
}

TEST(GpuFrameLink, ASlotTheViewportStillHoldsIsNotOverwritten) {
  REQUIRE_LINK(ctx, link, 32, 16);
  constexpr int kSlots = app::GpuFrameLink::kSlots;                 // frame v goes to slot v % kSlots
  ASSERT_TRUE(link->publish(pixels(32, 16, 1).to(Device::kCuda)));  // frame 1
  const auto held = link->take();                                   // the viewport takes it...
  ASSERT_TRUE(held.has_value());
  for (int v = 2; v <= kSlots; ++v) ASSERT_TRUE(link->publish(pixels(32, 16, v).to(Device::kCuda))) << v;
  // ...and has not copied it yet: frame kSlots + 1 would land in its slot.
  EXPECT_FALSE(link->publish(pixels(32, 16, kSlots + 1).to(Device::kCuda)));
  EXPECT_EQ(link->skipped(), 1u);
  const std::vector<std::uint8_t> got = copy_out(*ctx, *held);  // the copy signals the release
  const Tensor first = pixels(32, 16, 1);
  EXPECT_EQ(std::memcmp(got.data(), first.raw_data(), got.size()), 0) << "frame 1 was overwritten";
  const Tensor next = pixels(32, 16, kSlots + 1);
  ASSERT_TRUE(link->publish(next.to(Device::kCuda), 77));
  EXPECT_TRUE(link->carried(77));
  EXPECT_FALSE(link->carried(78));
  const auto f = link->take();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->value, static_cast<std::uint64_t>(kSlots + 1));
  const std::vector<std::uint8_t> latest = copy_out(*ctx, *f);
  EXPECT_EQ(std::memcmp(latest.data(), next.raw_data(), latest.size()), 0);
}

TEST(GpuFrameLink, Img2ImgPixelsOnTheLinkAreTheHostCopy) {
  // The studio's path end to end on the tiny golden models: what the viewport
  // copies from the link is byte for byte what the recorder gets on the host.
  REQUIRE_LINK(ctx, link, 64, 64);
  const std::filesystem::path fixtures = std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";
  const engine::Placement placement{Device::kCuda, DType::kF16};
  const auto unet = engine::UNet2DCondition::load(fixtures / "diffusion_unet_sd15", "", placement);
  const auto taesd = engine::Taesd::load(fixtures / "diffusion_taesd", "", placement);
  const engine::LatentCodec codec{
      "TAESD", [&](const Tensor& x) { return engine::scale(taesd.encoder.forward(x), taesd.config.scaling_factor); },
      [&](const Tensor& x) { return taesd.decoder.forward(engine::scale(x, 1.0f / taesd.config.scaling_factor)); }};
  engine::StreamParams p;
  p.t_index_list = {18, 32};
  p.cfg = engine::CfgMode::kNone;
  p.height = p.width = 64;
  engine::StreamDiffusion stream(&unet, codec, engine::LcmScheduler{}, p);
  const engine::SafetensorsFile f = engine::SafetensorsFile::open(fixtures / "stream_diffusion" / "none.safetensors");
  stream.set_prompt_embeds(f.load("cond"), Tensor());
  int shown = 0;
  for (int i = 0; i < 4; ++i) {
    const engine::StreamDiffusion::PixelResult r = stream.process_rgba8(pixels(96, 80, i));
    if (r.warming_up) continue;
    ASSERT_EQ(r.device_rgba.device(), Device::kCuda);
    ASSERT_TRUE(link->publish(r.device_rgba));
    const auto frame = link->take();
    ASSERT_TRUE(frame.has_value());
    const std::vector<std::uint8_t> got = copy_out(*ctx, *frame);
    ASSERT_EQ(got.size(), r.rgba.nbytes());
    EXPECT_EQ(std::memcmp(got.data(), r.rgba.raw_data(), got.size()), 0) << "frame " << i;
    ++shown;
  }
  EXPECT_EQ(shown, 3);
}

}  // namespace
}  // namespace sc
