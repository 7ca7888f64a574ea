// Sharing memory and semaphores through fds (the Vulkan half of CUDA interop),
// exercised by exporting and re-importing on the same device (lavapipe in CI).
#include "render/external.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "render/buffer.h"
#include "render/context.h"

namespace sc::render {
namespace {

TEST(External, ExportedMemoryIsSeenThroughItsImport) {
  setenv("SC_VK_VALIDATION", "1", 1);
  VulkanContext ctx(ContextOptions{});
  if (!ctx.external_memory_fd()) GTEST_SKIP() << ctx.device_info().name << " has no VK_KHR_external_memory_fd";
  constexpr VkDeviceSize kBytes = 64 * 1024;
  ExportableBuffer shared(ctx, kBytes);
  int fd = shared.export_fd();
  ASSERT_GE(fd, 0);
  ImportedBuffer view(ctx, fd, kBytes, shared.allocation_size());
  Buffer host(ctx, kBytes, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
              VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  // Write through the exporter, read through the importer.
  ctx.submit_and_wait([&](VkCommandBuffer cmd) {
    vkCmdFillBuffer(cmd, shared.handle(), 0, kBytes, 0xC0FFEE42u);
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &b, 0, nullptr, 0,
                         nullptr);
    VkBufferCopy c{0, 0, kBytes};
    vkCmdCopyBuffer(cmd, view.handle(), host.handle(), 1, &c);
    VkMemoryBarrier h{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &h, 0, nullptr, 0,
                         nullptr);
  });
  const auto* words = static_cast<const std::uint32_t*>(host.mapped());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < kBytes / 4; ++i) wrong += words[i] != 0xC0FFEE42u;
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST(External, TimelineSemaphoreExportsAndSignals) {
  VulkanContext ctx(ContextOptions{});
  if (!ctx.external_semaphore_fd() || !ctx.timeline_semaphores())
    GTEST_SKIP() << ctx.device_info().name << " cannot share timeline semaphores";
  ExportableSemaphore sem(ctx);
  int fd = sem.export_fd();
  EXPECT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(sem.value(), 0u);
  EXPECT_FALSE(sem.wait(1, 1000));
  std::thread signaller([&] { sem.signal(3); });
  EXPECT_TRUE(sem.wait(3, 5'000'000'000ull));
  signaller.join();
  EXPECT_EQ(sem.value(), 3u);
}

}  // namespace
}  // namespace sc::render
