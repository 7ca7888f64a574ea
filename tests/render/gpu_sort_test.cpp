#include "render/gpu_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <tuple>

#include "render/buffer.h"
#include "render/context.h"

namespace sc::render {
namespace {

std::unique_ptr<Buffer> host_buffer(VulkanContext& ctx, VkDeviceSize bytes) {
  return std::make_unique<Buffer>(
      ctx, std::max<VkDeviceSize>(bytes, 16),
      VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
}

class GpuSortTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("SC_VK_VALIDATION", "1", 1); }
};

TEST_F(GpuSortTest, ExclusiveScanMatchesTheCpu) {
  VulkanContext ctx(ContextOptions{});
  GpuScan scan(ctx);
  std::mt19937 rng(1);
  for (std::uint32_t n : {1u, 7u, 512u, 513u, 1000u, 300000u}) {  // one, two and three levels
    std::vector<std::uint32_t> v(n);
    for (auto& x : v) x = rng() % 5;
    auto buf = host_buffer(ctx, VkDeviceSize(n) * 4);
    std::memcpy(buf->mapped(), v.data(), n * 4);
    scan.reserve(n);
    ctx.submit_and_wait([&](VkCommandBuffer cmd) {
      scan.record(cmd, *buf, n);
      compute_barrier(cmd);
    });
    std::vector<std::uint32_t> want(n);
    std::exclusive_scan(v.begin(), v.end(), want.begin(), 0u);
    std::vector<std::uint32_t> got(n);
    std::memcpy(got.data(), buf->mapped(), n * 4);
    EXPECT_EQ(got, want) << "n = " << n;
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST_F(GpuSortTest, RadixSortIsStableAndMatchesTheCpu) {
  VulkanContext ctx(ContextOptions{});
  GpuRadixSort sort(ctx);
  std::mt19937 rng(7);
  // 300001 keys take more than one 256-key row per workgroup.
  for (auto [n, bits] :
       {std::pair{1000u, 45u}, std::pair{70001u, 45u}, std::pair{5000u, 8u}, std::pair{300001u, 45u}}) {
    std::vector<std::uint32_t> lo(n), hi(n), vals(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      // Few distinct high words (tiles) and colliding low words test stability.
      const std::uint64_t mask = bits >= 64 ? ~0ull : ((1ull << bits) - 1);
      std::uint64_t key = ((std::uint64_t(rng() % 300) << 32) | (rng() % 1000)) & mask;
      lo[i] = std::uint32_t(key);
      hi[i] = std::uint32_t(key >> 32);
      vals[i] = i;
    }
    auto keys = host_buffer(ctx, VkDeviceSize(n) * 8);
    auto values = host_buffer(ctx, VkDeviceSize(n) * 4);
    auto* k = static_cast<std::uint32_t*>(keys->mapped());
    for (std::uint32_t i = 0; i < n; ++i) k[2 * i] = lo[i], k[2 * i + 1] = hi[i];
    std::memcpy(values->mapped(), vals.data(), n * 4);
    sort.reserve(n);
    ctx.submit_and_wait([&](VkCommandBuffer cmd) {
      sort.record(cmd, *keys, *values, n, bits);
      compute_barrier(cmd);
    });
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return std::pair(hi[a], lo[a]) < std::pair(hi[b], lo[b]);
    });
    const auto* got_vals = static_cast<const std::uint32_t*>(values->mapped());
    std::size_t wrong = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      wrong += got_vals[i] != order[i];
      wrong += k[2 * i] != lo[order[i]] || k[2 * i + 1] != hi[order[i]];
    }
    EXPECT_EQ(wrong, 0u) << "n = " << n << ", bits = " << bits;
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

// The splat renderer's use: 32-bit keys, and a key count written on the GPU
// that is less than the size the dispatches were recorded for.
TEST_F(GpuSortTest, Sorts32BitKeysCountedOnTheGpu) {
  VulkanContext ctx(ContextOptions{});
  GpuRadixSort sort(ctx);
  std::mt19937 rng(11);
  // (upper bound, keys on the GPU, bits): one row per workgroup and several;
  // an even and an odd number of passes.
  for (auto [cap, n, bits] : {std::tuple{5000u, 4321u, 13u}, std::tuple{700000u, 600001u, 20u}}) {
    std::vector<std::uint32_t> keys_in(cap), vals(cap);
    for (std::uint32_t i = 0; i < cap; ++i) {
      keys_in[i] = rng() & ((1u << bits) - 1);  // equal keys (plenty at these sizes) test stability
      vals[i] = i;
    }
    auto keys = host_buffer(ctx, VkDeviceSize(cap) * 4);
    auto values = host_buffer(ctx, VkDeviceSize(cap) * 4);
    auto count = host_buffer(ctx, 4);
    std::memcpy(keys->mapped(), keys_in.data(), cap * 4);
    std::memcpy(values->mapped(), vals.data(), cap * 4);
    *static_cast<std::uint32_t*>(count->mapped()) = n;
    sort.reserve(cap, SortKeys::u32);
    ctx.submit_and_wait([&](VkCommandBuffer cmd) {
      sort.record(cmd, *keys, *values, cap, bits, SortKeys::u32, count.get());
      compute_barrier(cmd);
    });
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return keys_in[a] < keys_in[b]; });
    const auto* k = static_cast<const std::uint32_t*>(keys->mapped());
    const auto* v = static_cast<const std::uint32_t*>(values->mapped());
    std::size_t wrong = 0;
    for (std::uint32_t i = 0; i < n; ++i) wrong += v[i] != order[i] || k[i] != keys_in[order[i]];
    EXPECT_EQ(wrong, 0u) << "n = " << n << " of " << cap << ", bits = " << bits;
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

}  // namespace
}  // namespace sc::render
