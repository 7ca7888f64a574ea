#include "render/gpu_sort.h"

#include <algorithm>
#include <utility>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"

namespace sc::render {
namespace {

constexpr std::uint32_t kScanBlock = 512;
constexpr std::uint32_t kDigitBits = 8;
constexpr std::uint32_t kDigits = 1u << kDigitBits;
// A sort workgroup ranks rows of 256 keys (one per thread), up to kMaxRows of
// them. The histogram has 256 counters per workgroup, so with one row each it
// was as long as the keys, and scanning it was about a quarter of every pass's
// memory traffic; 16 rows make it 16 times shorter. Rows grow only once
// kTargetGroups workgroups are there to fill the GPU.
constexpr std::uint32_t kSortRow = 256;
constexpr std::uint32_t kMaxRows = 16;
constexpr std::uint32_t kTargetGroups = 1024;

std::uint32_t div_up(std::uint32_t a, std::uint32_t b) { return (a + b - 1) / b; }

std::uint32_t rows_for(std::uint32_t n) { return std::clamp(div_up(n, kSortRow * kTargetGroups), 1u, kMaxRows); }
std::uint32_t groups_for(std::uint32_t n) { return div_up(n, kSortRow * rows_for(n)); }
// The most workgroups any n' <= n needs: under kMaxRows rows a sort never has
// more than kTargetGroups workgroups; beyond, the count grows with n.
std::uint32_t max_groups_for(std::uint32_t n) {
  return std::max(std::min(kTargetGroups, div_up(n, kSortRow)), groups_for(n));
}

struct SortPush {
  std::uint32_t n;          // pairs, or their upper bound with use_count
  std::uint32_t shift;      // the digit's lowest bit
  std::uint32_t blocks;     // workgroups (histogram columns)
  std::uint32_t rows;       // 256-key rows per workgroup
  std::uint32_t key_words;  // 1 or 2
  std::uint32_t use_count;  // 1: min(count[0], n) pairs
};

std::unique_ptr<Buffer> storage(VulkanContext& ctx, VkDeviceSize bytes) {
  return std::make_unique<Buffer>(
      ctx, std::max<VkDeviceSize>(bytes, 16),
      VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
}

}  // namespace

void compute_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                    VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                        VK_ACCESS_TRANSFER_WRITE_BIT};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &b, 0, nullptr, 0,
                       nullptr);
}

GpuScan::GpuScan(VulkanContext& ctx)
    : ctx_(ctx),
      blocks_(std::make_unique<ComputeKernel>(ctx, "scan_blocks.comp", 2, 4)),
      add_(std::make_unique<ComputeKernel>(ctx, "scan_add.comp", 2, 4)) {
  if (!ctx.cmd_push_descriptor_set())
    throw Error("Vulkan device '{}' lacks VK_KHR_push_descriptor, which the splat renderer needs",
                ctx.device_info().name);
}

GpuScan::~GpuScan() = default;

void GpuScan::reserve(std::uint32_t n) {
  if (n <= reserved_) return;
  sums_.clear();
  for (std::uint32_t level_n = n;;) {
    const std::uint32_t blocks = div_up(std::max(level_n, 1u), kScanBlock);
    sums_.push_back(storage(ctx_, VkDeviceSize(blocks) * 4));
    if (blocks <= 1) break;
    level_n = blocks;
  }
  reserved_ = n;
}

void GpuScan::record_level(VkCommandBuffer cmd, Buffer& data, std::uint32_t n, std::size_t level) {
  const std::uint32_t blocks = div_up(n, kScanBlock);
  Buffer& sums = *sums_.at(level);
  blocks_->record(cmd, {&data, &sums}, &n, blocks, 1);
  compute_barrier(cmd);
  if (blocks > 1) {
    record_level(cmd, sums, blocks, level + 1);
    add_->record(cmd, {&data, &sums}, &n, div_up(n, 256), 1);
    compute_barrier(cmd);
  }
}

void GpuScan::record(VkCommandBuffer cmd, Buffer& data, std::uint32_t n) {
  if (n == 0) return;
  if (n > reserved_) throw Error("internal: GpuScan of {} values, {} reserved", n, reserved_);
  record_level(cmd, data, n, 0);
}

GpuRadixSort::GpuRadixSort(VulkanContext& ctx)
    : ctx_(ctx),
      count_(std::make_unique<ComputeKernel>(ctx, "radix_count.comp", 3, sizeof(SortPush))),
      scatter_(std::make_unique<ComputeKernel>(ctx, "radix_scatter.comp", 6, sizeof(SortPush))),
      scan_(ctx) {}

GpuRadixSort::~GpuRadixSort() = default;

void GpuRadixSort::reserve(std::uint32_t n, SortKeys keys) {
  const bool wider = keys == SortKeys::u64 && reserved_keys_ == SortKeys::u32;
  if (n <= reserved_ && !wider) return;
  n = std::max(n, reserved_);
  if (keys == SortKeys::u64) reserved_keys_ = keys;
  keys_tmp_ = storage(ctx_, VkDeviceSize(n) * (reserved_keys_ == SortKeys::u64 ? 8 : 4));
  values_tmp_ = storage(ctx_, VkDeviceSize(n) * 4);
  const std::uint32_t hist_n = kDigits * max_groups_for(n);
  hist_ = storage(ctx_, VkDeviceSize(hist_n) * 4);
  scan_.reserve(hist_n);
  reserved_ = n;
}

void GpuRadixSort::record(VkCommandBuffer cmd, Buffer& keys, Buffer& values, std::uint32_t n, std::uint32_t key_bits,
                          SortKeys key_type, const Buffer* count) {
  if (n <= 1) return;
  if (n > reserved_ || (key_type == SortKeys::u64 && reserved_keys_ != SortKeys::u64))
    throw Error("internal: GpuRadixSort of {} keys, {} reserved", n, reserved_);
  const std::uint32_t max_bits = key_type == SortKeys::u64 ? 64 : 32;
  if (key_bits == 0 || key_bits > max_bits) throw Error("internal: radix sort over {} bits", key_bits);
  const std::uint32_t key_bytes = key_type == SortKeys::u64 ? 8 : 4;
  const std::uint32_t blocks = groups_for(n);
  const std::uint32_t passes = div_up(key_bits, kDigitBits);
  // Without a count the shaders never read the binding: any buffer fills it.
  const Buffer* count_buf = count ? count : hist_.get();
  Buffer* kin = &keys;
  Buffer* vin = &values;
  Buffer* kout = keys_tmp_.get();
  Buffer* vout = values_tmp_.get();
  for (std::uint32_t p = 0; p < passes; ++p) {
    const SortPush push{n, kDigitBits * p, blocks, rows_for(n), key_bytes / 4, count ? 1u : 0u};
    count_->record(cmd, {kin, hist_.get(), count_buf}, &push, blocks, 1);
    compute_barrier(cmd);
    scan_.record(cmd, *hist_, kDigits * blocks);
    scatter_->record(cmd, {kin, vin, kout, vout, hist_.get(), count_buf}, &push, blocks, 1);
    compute_barrier(cmd);
    std::swap(kin, kout);
    std::swap(vin, vout);
  }
  if (kin != &keys) {  // odd number of passes: the result is in the scratch pair
    VkBufferCopy kc{0, 0, VkDeviceSize(n) * key_bytes}, vc{0, 0, VkDeviceSize(n) * 4};
    vkCmdCopyBuffer(cmd, kin->handle(), keys.handle(), 1, &kc);
    vkCmdCopyBuffer(cmd, vin->handle(), values.handle(), 1, &vc);
    compute_barrier(cmd);
  }
}

}  // namespace sc::render
