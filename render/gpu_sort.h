#pragma once
// GPU primitives for the splat renderer, in Vulkan compute: an exclusive
// prefix sum and a stable LSD radix sort of 32- or 64-bit keys (8 bits per
// pass) with 32-bit payloads. Work is recorded into a caller's command buffer;
// reserve() sizes the scratch buffers first (they must outlive the submission).
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace sc::render {

class VulkanContext;
class Buffer;
class ComputeKernel;

// A compute -> compute (and transfer) memory barrier: everything written
// before is visible to what comes after.
void compute_barrier(VkCommandBuffer cmd);

class GpuScan {
 public:
  explicit GpuScan(VulkanContext& ctx);
  ~GpuScan();
  void reserve(std::uint32_t n);
  // In place: data[i] = sum of data[0..i). n must be <= the reserved size.
  void record(VkCommandBuffer cmd, Buffer& data, std::uint32_t n);

 private:
  void record_level(VkCommandBuffer cmd, Buffer& data, std::uint32_t n, std::size_t level);
  VulkanContext& ctx_;
  std::unique_ptr<ComputeKernel> blocks_, add_;
  std::vector<std::unique_ptr<Buffer>> sums_;  // one per level
  std::uint32_t reserved_ = 0;
};

// How a key is stored: one uint, or a uvec2 (y = high word, x = low word).
enum class SortKeys { u32, u64 };

class GpuRadixSort {
 public:
  explicit GpuRadixSort(VulkanContext& ctx);
  ~GpuRadixSort();
  // Grows the scratch buffers (never shrinks them) for n keys of this kind.
  void reserve(std::uint32_t n, SortKeys keys = SortKeys::u64);
  // Sorts n (key, uint value) pairs in place by key, stably, looking at the
  // lowest key_bits bits (<= 32 or 64). With count, the number of pairs is
  // min(count[0], n), read on the GPU (n only sizes the dispatches): a count
  // made earlier in the same command buffer needs no trip to the host (pairs
  // past it are left undefined).
  void record(VkCommandBuffer cmd, Buffer& keys, Buffer& values, std::uint32_t n, std::uint32_t key_bits,
              SortKeys key_type = SortKeys::u64, const Buffer* count = nullptr);

 private:
  VulkanContext& ctx_;
  std::unique_ptr<ComputeKernel> count_, scatter_;
  GpuScan scan_;
  std::unique_ptr<Buffer> keys_tmp_, values_tmp_, hist_;
  std::uint32_t reserved_ = 0;
  SortKeys reserved_keys_ = SortKeys::u32;
};

}  // namespace sc::render
