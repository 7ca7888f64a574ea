// Zero-copy CUDA <-> Vulkan: memory and a timeline semaphore exported by the
// viewport's Vulkan device (render/external.h) and imported by the engine
// (engine/cuda/interop.h). Needs an NVIDIA GPU with both drivers: skips here,
// runs in tests/device/run.sh.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/cuda/interop.h"
#include "engine/cuda/runtime.h"
#include "engine/ops.h"
#include "render/buffer.h"
#include "render/context.h"
#include "render/external.h"

namespace sc {
namespace {

using engine::Device;
using engine::DType;
using engine::Tensor;

// The Vulkan device, or a skip saying what is missing.
#define REQUIRE_INTEROP(ctx)                                                                                    \
  if (!engine::cuda::available()) GTEST_SKIP() << "no usable CUDA GPU: " << engine::cuda::unavailable_reason(); \
  std::unique_ptr<render::VulkanContext> ctx;                                                                   \
  try {                                                                                                         \
    ctx = std::make_unique<render::VulkanContext>(render::ContextOptions{});                                    \
  } catch (const std::exception& e) {                                                                           \
    GTEST_SKIP() << "no Vulkan device: " << e.what();                                                           \
  }                                                                                                             \
  if (!ctx->external_memory_fd() || !ctx->external_semaphore_fd() || !ctx->timeline_semaphores())               \
    GTEST_SKIP() << ctx->device_info().name << " cannot share memory and timeline semaphores";

TEST(CudaVulkanInterop, CudaWritesVulkanReadsAfterTheSemaphore) {
  REQUIRE_INTEROP(ctx);
  constexpr std::int64_t kCount = 1 << 18;  // 1 MiB of f32: one 512x512 gray frame
  constexpr VkDeviceSize kBytes = kCount * 4;
  render::ExportableBuffer shared(*ctx, kBytes);
  render::ExportableSemaphore ready(*ctx);
  auto buffer = std::make_shared<engine::cuda::ExternalBuffer>(shared.export_fd(), shared.allocation_size(), kBytes);
  engine::cuda::ExternalTimeline timeline(ready.export_fd());

  // A frame computed on the GPU and written into the viewport's memory on the
  // GPU (no host copy), then the semaphore, all queued on the engine stream.
  std::vector<float> values(kCount);
  for (std::int64_t i = 0; i < kCount; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(i % 977) * 0.5f;
  const Tensor src = Tensor::from_vector({kCount}, values).to(Device::kCuda);
  Tensor view = engine::cuda::ExternalBuffer::view(buffer, {kCount}, DType::kF32);
  const Tensor doubled = engine::scale(src, 2.0f);
  engine::cuda::copy_device_to_device(view.raw_data(), doubled.raw_data(), kBytes);
  timeline.signal(1);

  ASSERT_TRUE(ready.wait(1, 10'000'000'000ull)) << "the CUDA signal never reached Vulkan";
  render::Buffer host(*ctx, kBytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  ctx->submit_and_wait([&](VkCommandBuffer cmd) {
    VkBufferCopy c{0, 0, kBytes};
    vkCmdCopyBuffer(cmd, shared.handle(), host.handle(), 1, &c);
    VkMemoryBarrier h{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &h, 0, nullptr, 0,
                         nullptr);
  });
  const auto* got = static_cast<const float*>(host.mapped());
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < kCount; ++i) wrong += got[i] != values[static_cast<std::size_t>(i)] * 2.0f;
  EXPECT_EQ(wrong, 0);
}

TEST(CudaVulkanInterop, CudaWaitsForVulkanBeforeReading) {
  REQUIRE_INTEROP(ctx);
  constexpr VkDeviceSize kBytes = 1 << 20;
  render::ExportableBuffer shared(*ctx, kBytes);
  render::ExportableSemaphore ready(*ctx);
  auto buffer = std::make_shared<engine::cuda::ExternalBuffer>(shared.export_fd(), shared.allocation_size(), kBytes);
  engine::cuda::ExternalTimeline timeline(ready.export_fd());
  // Vulkan fills the memory, then the host signals 2; CUDA's read is queued
  // behind a wait for 2.
  ctx->submit_and_wait([&](VkCommandBuffer cmd) { vkCmdFillBuffer(cmd, shared.handle(), 0, kBytes, 0x3F800000u); });
  timeline.wait(2);
  const Tensor view = engine::cuda::ExternalBuffer::view(buffer, {static_cast<std::int64_t>(kBytes / 4)}, DType::kF32);
  const Tensor sum_input = engine::add_scalar(view, 1.0f);  // queued after the wait
  ready.signal(2);
  const Tensor host = sum_input.to(Device::kCpu);
  std::int64_t wrong = 0;
  for (std::int64_t i = 0; i < host.numel(); ++i) wrong += host.data<float>()[i] != 2.0f;  // 1.0f + 1
  EXPECT_EQ(wrong, 0);
}

TEST(CudaVulkanInterop, ImportErrorsAreClear) {
  if (!engine::cuda::available()) {
    // Without a GPU the import says why (and closes the fd it was given).
    try {
      engine::cuda::ExternalBuffer b(-1, 16, 16);
      FAIL();
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("importing a Vulkan buffer into CUDA"), std::string::npos) << e.what();
    }
    return;
  }
  try {
    engine::cuda::ExternalBuffer b(-1, 16, 16);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("bad fd"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sc
