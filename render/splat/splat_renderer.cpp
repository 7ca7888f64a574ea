#include "render/splat/splat_renderer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {
namespace {

constexpr std::uint32_t kTile = 16;

std::uint32_t div_up(std::uint32_t a, std::uint32_t b) { return (a + b - 1) / b; }

std::unique_ptr<Buffer> device_buffer(VulkanContext& ctx, VkDeviceSize bytes) {
  return std::make_unique<Buffer>(
      ctx, std::max<VkDeviceSize>(bytes, 16),
      VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
}

std::unique_ptr<Buffer> host_buffer(VulkanContext& ctx, VkDeviceSize bytes) {
  return std::make_unique<Buffer>(
      ctx, std::max<VkDeviceSize>(bytes, 16),
      VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
}

struct PreprocessPush {
  float view[16];  // column-major for GLSL mat4
  float intrinsics[4];
  std::uint32_t dims[4];
  std::uint32_t tiles[2];
  float near_far[2];
};
static_assert(sizeof(PreprocessPush) <= 128);

struct RasterPush {
  float background[4];
  std::uint32_t size[2];
  std::uint32_t tiles_x;
  float alpha_max;
};

// Timestamps between the passes of a frame (see SplatPassTimes).
enum Stamp : std::uint32_t {
  kStart,
  kPreprocessed,
  kDepthSorted,
  kScanned,
  kKeyed,
  kTileSorted,
  kRanged,
  kBlended,
  kStamps
};

// Ranges run as a fixed grid striding over the GPU-made key count.
constexpr std::uint32_t kRangeGroups = 2048;

}  // namespace

struct SplatRenderer::Frame {
  PreprocessPush preprocess{};
  RasterPush raster{};
  std::uint32_t n = 0, tiles_x = 0, tiles_y = 0, tiles = 0, tile_bits = 0;
};

SplatRenderer::SplatRenderer(VulkanContext& ctx)
    : ctx_(ctx),
      preprocess_(std::make_unique<ComputeKernel>(ctx, "splat_preprocess.comp", 12, sizeof(PreprocessPush))),
      touched_kernel_(std::make_unique<ComputeKernel>(ctx, "splat_touched.comp", 3, 4)),
      total_kernel_(std::make_unique<ComputeKernel>(ctx, "splat_total.comp", 4, 8)),
      duplicate_(std::make_unique<ComputeKernel>(ctx, "splat_duplicate.comp", 5, 12)),
      ranges_(std::make_unique<ComputeKernel>(ctx, "splat_ranges.comp", 3, 0)),
      rasterize_(std::make_unique<ComputeKernel>(ctx, "splat_rasterize.comp", 7, sizeof(RasterPush))),
      scan_(ctx),
      sort_(ctx) {
  count_ = device_buffer(ctx, 8);
  total_ = host_buffer(ctx, 8);
  VkDevice dev = ctx.device();
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, nullptr, VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                              ctx.queue_family()};
  vk_check(vkCreateCommandPool(dev, &pci, nullptr, &pool_), "vkCreateCommandPool");
  try {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, nullptr, pool_,
                                   VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
    vk_check(vkAllocateCommandBuffers(dev, &ai, &cmd_), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
    vk_check(vkCreateFence(dev, &fci, nullptr, &fence_), "vkCreateFence");
    std::uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physical_device(), &families, nullptr);
    std::vector<VkQueueFamilyProperties> props(families);
    vkGetPhysicalDeviceQueueFamilyProperties(ctx.physical_device(), &families, props.data());
    const std::uint32_t bits = props.at(ctx.queue_family()).timestampValidBits;
    if (bits > 0) {
      VkPhysicalDeviceProperties dp;
      vkGetPhysicalDeviceProperties(ctx.physical_device(), &dp);
      timestamp_ns_ = dp.limits.timestampPeriod;
      timestamp_mask_ = bits >= 64 ? ~0ull : (1ull << bits) - 1;
      VkQueryPoolCreateInfo qci{
          VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, nullptr, 0, VK_QUERY_TYPE_TIMESTAMP, kStamps, 0};
      vk_check(vkCreateQueryPool(dev, &qci, nullptr, &timestamps_), "vkCreateQueryPool");
    }
  } catch (...) {
    if (fence_) vkDestroyFence(dev, fence_, nullptr);
    vkDestroyCommandPool(dev, pool_, nullptr);
    throw;
  }
}

SplatRenderer::~SplatRenderer() {
  VkDevice dev = ctx_.device();
  vkDeviceWaitIdle(dev);
  if (timestamps_) vkDestroyQueryPool(dev, timestamps_, nullptr);
  vkDestroyFence(dev, fence_, nullptr);
  vkDestroyCommandPool(dev, pool_, nullptr);
}

SplatScene& SplatRenderer::reserve_scene(std::uint32_t count, int sh_degree) {
  if (sh_degree < 0 || sh_degree > 3) throw Error("SH degree {} is not 0..3", sh_degree);
  const std::uint32_t coefs = std::uint32_t((sh_degree + 1) * (sh_degree + 1));
  if (!scene_.positions || count > scene_.count || sh_degree != scene_.sh_degree) {
    vkDeviceWaitIdle(ctx_.device());
    scene_.positions = device_buffer(ctx_, VkDeviceSize(count) * 12);
    scene_.scales = device_buffer(ctx_, VkDeviceSize(count) * 12);
    scene_.rotations = device_buffer(ctx_, VkDeviceSize(count) * 16);
    scene_.opacities = device_buffer(ctx_, VkDeviceSize(count) * 4);
    scene_.sh = device_buffer(ctx_, VkDeviceSize(count) * coefs * 12);
  }
  scene_.count = count;
  scene_.sh_degree = sh_degree;
  return scene_;
}

void SplatRenderer::set_scene(const GaussianCloud& cloud) {
  cloud.validate("scene");
  const auto n = static_cast<std::uint32_t>(cloud.size());
  reserve_scene(n, cloud.sh_degree);
  // One staging buffer, kept between calls, and one submission for all five arrays.
  const std::vector<float>* arrays[5] = {&cloud.positions, &cloud.scales, &cloud.rotations, &cloud.opacities,
                                         &cloud.sh};
  Buffer* targets[5] = {scene_.positions.get(), scene_.scales.get(), scene_.rotations.get(), scene_.opacities.get(),
                        scene_.sh.get()};
  VkDeviceSize total = 0;
  for (auto* a : arrays) total += a->size() * 4;
  if (total == 0) return;
  if (!staging_ || staging_->size() < total) {
    vkDeviceWaitIdle(ctx_.device());
    staging_ = host_buffer(ctx_, total);
  }
  auto* dst = static_cast<std::uint8_t*>(staging_->mapped());
  VkBufferCopy copies[5];
  VkDeviceSize offset = 0;
  for (int i = 0; i < 5; ++i) {
    const VkDeviceSize bytes = arrays[i]->size() * 4;
    std::memcpy(dst + offset, arrays[i]->data(), bytes);
    copies[i] = {offset, 0, bytes};
    offset += bytes;
  }
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    compute_barrier(cmd);  // after earlier work that read the scene
    for (int i = 0; i < 5; ++i)
      if (copies[i].size) vkCmdCopyBuffer(cmd, staging_->handle(), targets[i]->handle(), 1, &copies[i]);
    compute_barrier(cmd);
  });
}

void SplatRenderer::ensure_outputs(std::uint32_t width, std::uint32_t height) {
  const std::uint32_t pixels = width * height;
  const std::uint32_t tiles = div_up(width, kTile) * div_up(height, kTile);
  if (pixels > pixel_capacity_) {
    vkDeviceWaitIdle(ctx_.device());
    // Device-local: written every frame, read back only when asked. (Host
    // memory here made every frame's blend write 16 bytes a pixel over PCIe.)
    out_float_ = device_buffer(ctx_, VkDeviceSize(pixels) * 16);
    out_rgba_ = device_buffer(ctx_, VkDeviceSize(pixels) * 4);
    pixel_capacity_ = pixels;
  }
  if (tiles > tile_capacity_) {
    vkDeviceWaitIdle(ctx_.device());
    ranges_buf_ = device_buffer(ctx_, VkDeviceSize(tiles) * 8);
    tile_capacity_ = tiles;
  }
  width_ = width;
  height_ = height;
}

void SplatRenderer::ensure_per_gaussian(std::uint32_t n) {
  if (n <= per_gaussian_capacity_) return;
  vkDeviceWaitIdle(ctx_.device());
  mean_depth_ = device_buffer(ctx_, VkDeviceSize(n) * 16);
  conic_opacity_ = device_buffer(ctx_, VkDeviceSize(n) * 16);
  colors_ = device_buffer(ctx_, VkDeviceSize(n) * 16);
  rects_ = device_buffer(ctx_, VkDeviceSize(n) * 16);
  touched_ = device_buffer(ctx_, VkDeviceSize(n) * 4);
  offsets_ = device_buffer(ctx_, VkDeviceSize(n) * 4);
  depth_keys_ = device_buffer(ctx_, VkDeviceSize(n) * 4);
  order_ = device_buffer(ctx_, VkDeviceSize(n) * 4);
  scan_.reserve(n);
  sort_.reserve(n, SortKeys::u32);  // the depth sort
  per_gaussian_capacity_ = n;
}

void SplatRenderer::ensure_keys(std::uint32_t n) {
  if (n <= key_capacity_) return;
  vkDeviceWaitIdle(ctx_.device());
  // Headroom: the count changes with the camera, and a frame that outgrows
  // the buffers is drawn twice.
  const auto cap =
      std::uint32_t(std::min<std::uint64_t>(std::uint64_t(n) + n / 4, std::numeric_limits<std::uint32_t>::max()));
  keys_ = device_buffer(ctx_, VkDeviceSize(cap) * 4);
  values_ = device_buffer(ctx_, VkDeviceSize(cap) * 4);
  sort_.reserve(cap, SortKeys::u32);
  key_capacity_ = cap;
}

void SplatRenderer::record_frame(VkCommandBuffer cmd, const Frame& f) {
  const std::uint32_t n = f.n, cap = key_capacity_;
  auto stamp = [&](Stamp s) {
    if (timestamps_) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, timestamps_, s);
  };
  if (timestamps_) vkCmdResetQueryPool(cmd, timestamps_, 0, kStamps);
  stamp(kStart);
  compute_barrier(cmd);  // after earlier submissions that read our outputs (the viewport's copy)
  // With no Gaussians only the clears and the blend (of the background) run;
  // every timestamp is still written.
  if (n > 0) {
    // Project; each Gaussian's depth key and the tiles it touches.
    preprocess_->record(cmd,
                        {scene_.positions.get(), scene_.scales.get(), scene_.rotations.get(), scene_.opacities.get(),
                         scene_.sh.get(), mean_depth_.get(), conic_opacity_.get(), colors_.get(), rects_.get(),
                         touched_.get(), depth_keys_.get(), order_.get()},
                        &f.preprocess, div_up(n, 256), 1);
    compute_barrier(cmd);
  }
  stamp(kPreprocessed);
  // Gaussians front to back. Sorting the n Gaussians by depth once, then the
  // keys only by tile (stably), gives the order a sort of the keys by (tile,
  // depth) gives, in a fraction of the radix passes over the many keys.
  sort_.record(cmd, *depth_keys_, *order_, n, 32, SortKeys::u32);
  stamp(kDepthSorted);
  // Where each Gaussian's keys go, and how many there are, stay on the GPU.
  if (n > 0) {
    touched_kernel_->record(cmd, {order_.get(), touched_.get(), offsets_.get()}, &n, div_up(n, 256), 1);
    compute_barrier(cmd);
    scan_.record(cmd, *offsets_, n);
    const std::uint32_t tp[2] = {n, cap};
    total_kernel_->record(cmd, {order_.get(), touched_.get(), offsets_.get(), count_.get()}, tp, 1, 1);
  } else {
    vkCmdFillBuffer(cmd, count_->handle(), 0, 8, 0);
  }
  compute_barrier(cmd);
  stamp(kScanned);
  vkCmdFillBuffer(cmd, ranges_buf_->handle(), 0, VkDeviceSize(f.tiles) * 8, 0);
  if (n > 0) {
    const std::uint32_t dp[3] = {n, f.tiles_x, cap};
    duplicate_->record(cmd, {order_.get(), rects_.get(), offsets_.get(), keys_.get(), values_.get()}, dp,
                       div_up(n, 256), 1);
  }
  compute_barrier(cmd);
  stamp(kKeyed);
  // Sized for the capacity; sorts the count the GPU made.
  sort_.record(cmd, *keys_, *values_, cap, f.tile_bits, SortKeys::u32, count_.get());
  stamp(kTileSorted);
  ranges_->record(cmd, {keys_.get(), ranges_buf_.get(), count_.get()}, nullptr,
                  std::min(div_up(cap, 256), kRangeGroups), 1);
  compute_barrier(cmd);
  stamp(kRanged);
  rasterize_->record(cmd,
                     {ranges_buf_.get(), values_.get(), mean_depth_.get(), conic_opacity_.get(), colors_.get(),
                      out_float_.get(), out_rgba_.get()},
                     &f.raster, f.tiles_x, f.tiles_y);
  VkMemoryBarrier done{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                       VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &done, 0, nullptr,
                       0, nullptr);
  stamp(kBlended);
  // The key count for the host, read after the fence: it says whether the
  // key buffers were big enough.
  VkBufferCopy c{0, 0, 8};
  vkCmdCopyBuffer(cmd, count_->handle(), total_->handle(), 1, &c);
  VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                          VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, nullptr, 0,
                       nullptr);
}

void SplatRenderer::read_timestamps(SplatStats& stats) const {
  if (!timestamps_) return;
  std::uint64_t t[kStamps];
  vk_check(vkGetQueryPoolResults(ctx_.device(), timestamps_, 0, kStamps, sizeof(t), t, sizeof(t[0]),
                                 VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
           "vkGetQueryPoolResults");
  auto ms = [&](Stamp a, Stamp b) { return double((t[b] - t[a]) & timestamp_mask_) * timestamp_ns_ * 1e-6; };
  SplatPassTimes& p = stats.passes;
  p.preprocess_ms = ms(kStart, kPreprocessed);
  p.depth_sort_ms = ms(kPreprocessed, kDepthSorted);
  p.scan_ms = ms(kDepthSorted, kScanned);
  p.keys_ms = ms(kScanned, kKeyed);
  p.tile_sort_ms = ms(kKeyed, kTileSorted);
  p.ranges_ms = ms(kTileSorted, kRanged);
  p.blend_ms = ms(kRanged, kBlended);
  stats.project_ms = p.preprocess_ms + p.depth_sort_ms + p.scan_ms;
  stats.sort_ms = p.keys_ms + p.tile_sort_ms + p.ranges_ms;
  stats.raster_ms = p.blend_ms;
  stats.gpu_ms = ms(kStart, kBlended);
}

SplatStats SplatRenderer::render(const SplatCamera& cam, const std::array<float, 3>& background) {
  if (cam.width == 0 || cam.height == 0 || cam.width > 16384 || cam.height > 16384)
    throw Error("splat render: size {}x{} is out of range", cam.width, cam.height);
  if (!(cam.fx > 0 && cam.fy > 0)) throw Error("splat render: focal lengths must be positive");
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  ensure_outputs(cam.width, cam.height);
  Frame f;
  f.n = scene_.count;
  f.tiles_x = div_up(cam.width, kTile);
  f.tiles_y = div_up(cam.height, kTile);
  f.tiles = f.tiles_x * f.tiles_y;
  f.tile_bits = 1;
  while ((1u << f.tile_bits) < f.tiles) ++f.tile_bits;
  ensure_per_gaussian(std::max(f.n, 1u));
  // A first guess at the keys per frame; a frame that needs more grows them.
  if (key_capacity_ == 0) ensure_keys(std::uint32_t(std::clamp<std::uint64_t>(4ull * f.n, 1u << 16, 1u << 30)));

  PreprocessPush& pp = f.preprocess;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) pp.view[c * 4 + r] = cam.view[r * 4 + c];
  pp.intrinsics[0] = cam.fx;
  pp.intrinsics[1] = cam.fy;
  pp.intrinsics[2] = cam.cx;
  pp.intrinsics[3] = cam.cy;
  pp.dims[0] = cam.width;
  pp.dims[1] = cam.height;
  pp.dims[2] = f.n;
  pp.dims[3] = std::uint32_t(scene_.sh_degree);
  pp.tiles[0] = f.tiles_x;
  pp.tiles[1] = f.tiles_y;
  pp.near_far[0] = cam.near_plane;
  pp.near_far[1] = cam.far_plane;
  f.raster = {{background[0], background[1], background[2], 1}, {cam.width, cam.height}, f.tiles_x, kAlphaMax};

  SplatStats stats;
  stats.gaussians = f.n;
  VkDevice dev = ctx_.device();
  for (;;) {
    vk_check(vkResetCommandPool(dev, pool_, 0), "vkResetCommandPool");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr,
                                VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, nullptr};
    vk_check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");
    record_frame(cmd_, f);
    vk_check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd_;
    vk_check(vkQueueSubmit(ctx_.queue(), 1, &si, fence_), "vkQueueSubmit (splat frame)");
    vk_check(vkWaitForFences(dev, 1, &fence_, VK_TRUE, UINT64_MAX), "vkWaitForFences (splat frame)");
    vk_check(vkResetFences(dev, 1, &fence_), "vkResetFences");
    ++stats.attempts;
    stats.intersections = static_cast<const std::uint32_t*>(total_->mapped())[1];
    if (stats.intersections <= key_capacity_) break;
    // Too many keys for the buffers (the first frame, or the camera came
    // closer): the keys past the end were dropped, so grow and draw again.
    if (stats.attempts > 1)
      throw Error("internal: splat frame needs {} keys after growing to {}", stats.intersections, key_capacity_);
    ensure_keys(stats.intersections);
  }
  read_timestamps(stats);
  stats.frame_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  return stats;
}

const Buffer& SplatRenderer::read_back(const Buffer& src, VkDeviceSize bytes) const {
  // Kept between calls: headless renders read back every frame.
  if (!readback_ || readback_->size() < bytes) readback_ = host_buffer(ctx_, bytes);
  Buffer* tmp = readback_.get();
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    VkBufferCopy c{0, 0, bytes};
    vkCmdCopyBuffer(cmd, src.handle(), tmp->handle(), 1, &c);
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                            VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, nullptr, 0,
                         nullptr);
  });
  return *tmp;
}

std::vector<float> SplatRenderer::read_float() const {
  std::vector<float> out(std::size_t(width_) * height_ * 4);
  std::memcpy(out.data(), read_back(*out_float_, out.size() * 4).mapped(), out.size() * 4);
  return out;
}

std::vector<std::uint8_t> SplatRenderer::read_rgba8() const {
  std::vector<std::uint8_t> out(std::size_t(width_) * height_ * 4);
  std::memcpy(out.data(), read_back(*out_rgba_, out.size()).mapped(), out.size());
  return out;
}

}  // namespace sc::render
