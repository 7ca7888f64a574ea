#include "render/gpu_sort.h"

#include <utility>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"

namespace sc::render {
namespace {

constexpr std::uint32_t kScanBlock = 512;
constexpr std::uint32_t kSortBlock = 256;
constexpr std::uint32_t kDigitBits = 8;
constexpr std::uint32_t kDigits = 1u << kDigitBits;

std::uint32_t div_up(std::uint32_t a, std::uint32_t b) { return (a + b - 1) / b; }

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
      count_(std::make_unique<ComputeKernel>(ctx, "radix_count.comp", 2, 12)),
      scatter_(std::make_unique<ComputeKernel>(ctx, "radix_scatter.comp", 5, 12)),
      scan_(ctx) {}

GpuRadixSort::~GpuRadixSort() = default;

void GpuRadixSort::reserve(std::uint32_t n) {
  if (n <= reserved_) return;
  keys_tmp_ = storage(ctx_, VkDeviceSize(n) * 8);
  values_tmp_ = storage(ctx_, VkDeviceSize(n) * 4);
  const std::uint32_t hist_n = kDigits * div_up(n, kSortBlock);
  hist_ = storage(ctx_, VkDeviceSize(hist_n) * 4);
  scan_.reserve(hist_n);
  reserved_ = n;
}

void GpuRadixSort::record(VkCommandBuffer cmd, Buffer& keys, Buffer& values, std::uint32_t n, std::uint32_t key_bits) {
  if (n <= 1) return;
  if (n > reserved_) throw Error("internal: GpuRadixSort of {} keys, {} reserved", n, reserved_);
  if (key_bits == 0 || key_bits > 64) throw Error("internal: radix sort over {} bits", key_bits);
  const std::uint32_t blocks = div_up(n, kSortBlock);
  const std::uint32_t passes = div_up(key_bits, kDigitBits);
  Buffer* kin = &keys;
  Buffer* vin = &values;
  Buffer* kout = keys_tmp_.get();
  Buffer* vout = values_tmp_.get();
  for (std::uint32_t p = 0; p < passes; ++p) {
    const std::uint32_t push[3] = {n, kDigitBits * p, blocks};
    count_->record(cmd, {kin, hist_.get()}, push, blocks, 1);
    compute_barrier(cmd);
    scan_.record(cmd, *hist_, kDigits * blocks);
    scatter_->record(cmd, {kin, vin, kout, vout, hist_.get()}, push, blocks, 1);
    compute_barrier(cmd);
    std::swap(kin, kout);
    std::swap(vin, vout);
  }
  if (kin != &keys) {  // odd number of passes: the result is in the scratch pair
    VkBufferCopy kc{0, 0, VkDeviceSize(n) * 8}, vc{0, 0, VkDeviceSize(n) * 4};
    vkCmdCopyBuffer(cmd, kin->handle(), keys.handle(), 1, &kc);
    vkCmdCopyBuffer(cmd, vin->handle(), values.handle(), 1, &vc);
    compute_barrier(cmd);
  }
}

}  // namespace sc::render
