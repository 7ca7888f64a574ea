#include "render/splat/splat_renderer.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "render/buffer.h"
#include "render/compute_kernel.h"
#include "render/context.h"

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

}  // namespace

SplatRenderer::SplatRenderer(VulkanContext& ctx)
    : ctx_(ctx),
      preprocess_(std::make_unique<ComputeKernel>(ctx, "splat_preprocess.comp", 10, sizeof(PreprocessPush))),
      duplicate_(std::make_unique<ComputeKernel>(ctx, "splat_duplicate.comp", 5, 8)),
      ranges_(std::make_unique<ComputeKernel>(ctx, "splat_ranges.comp", 2, 4)),
      rasterize_(std::make_unique<ComputeKernel>(ctx, "splat_rasterize.comp", 7, sizeof(RasterPush))),
      scan_(ctx),
      sort_(ctx) {
  total_ = host_buffer(ctx, 8);
}

SplatRenderer::~SplatRenderer() { vkDeviceWaitIdle(ctx_.device()); }

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
    out_float_ = host_buffer(ctx_, VkDeviceSize(pixels) * 16);
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
  scan_.reserve(n);
  per_gaussian_capacity_ = n;
}

void SplatRenderer::ensure_keys(std::uint32_t n) {
  if (n <= key_capacity_) return;
  vkDeviceWaitIdle(ctx_.device());
  const std::uint32_t cap = n + n / 4;  // headroom: the count changes with the camera
  keys_ = device_buffer(ctx_, VkDeviceSize(cap) * 8);
  values_ = device_buffer(ctx_, VkDeviceSize(cap) * 4);
  sort_.reserve(cap);
  key_capacity_ = cap;
}

SplatStats SplatRenderer::render(const SplatCamera& cam, const std::array<float, 3>& background) {
  if (cam.width == 0 || cam.height == 0 || cam.width > 16384 || cam.height > 16384)
    throw Error("splat render: size {}x{} is out of range", cam.width, cam.height);
  if (!(cam.fx > 0 && cam.fy > 0)) throw Error("splat render: focal lengths must be positive");
  ensure_outputs(cam.width, cam.height);
  const std::uint32_t n = scene_.count;
  const std::uint32_t tiles_x = div_up(cam.width, kTile), tiles_y = div_up(cam.height, kTile);
  const std::uint32_t tiles = tiles_x * tiles_y;
  SplatStats stats;
  stats.gaussians = n;
  ensure_per_gaussian(std::max(n, 1u));

  // Pass 1: project, count tiles per Gaussian, prefix-sum them.
  PreprocessPush pp{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) pp.view[c * 4 + r] = cam.view[r * 4 + c];
  pp.intrinsics[0] = cam.fx;
  pp.intrinsics[1] = cam.fy;
  pp.intrinsics[2] = cam.cx;
  pp.intrinsics[3] = cam.cy;
  pp.dims[0] = cam.width;
  pp.dims[1] = cam.height;
  pp.dims[2] = n;
  pp.dims[3] = std::uint32_t(scene_.sh_degree);
  pp.tiles[0] = tiles_x;
  pp.tiles[1] = tiles_y;
  pp.near_far[0] = cam.near_plane;
  pp.near_far[1] = cam.far_plane;
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  auto t0 = Clock::now();
  if (n > 0) {
    ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
      compute_barrier(cmd);  // after earlier submissions that read our outputs (the viewport's copy)
      preprocess_->record(
          cmd,
          {scene_.positions.get(), scene_.scales.get(), scene_.rotations.get(), scene_.opacities.get(), scene_.sh.get(),
           mean_depth_.get(), conic_opacity_.get(), colors_.get(), rects_.get(), touched_.get()},
          &pp, div_up(n, 256), 1);
      compute_barrier(cmd);
      VkBufferCopy c{0, 0, VkDeviceSize(n) * 4};
      vkCmdCopyBuffer(cmd, touched_->handle(), offsets_->handle(), 1, &c);
      compute_barrier(cmd);
      scan_.record(cmd, *offsets_, n);
      // total = offsets[n-1] + touched[n-1]
      VkBufferCopy last_off{VkDeviceSize(n - 1) * 4, 0, 4}, last_cnt{VkDeviceSize(n - 1) * 4, 4, 4};
      vkCmdCopyBuffer(cmd, offsets_->handle(), total_->handle(), 1, &last_off);
      vkCmdCopyBuffer(cmd, touched_->handle(), total_->handle(), 1, &last_cnt);
      VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                              VK_ACCESS_HOST_READ_BIT};
      vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, nullptr,
                           0, nullptr);
    });
    const auto* t = static_cast<const std::uint32_t*>(total_->mapped());
    stats.intersections = t[0] + t[1];
  }
  stats.project_ms = ms_since(t0);
  const std::uint32_t m = stats.intersections;
  ensure_keys(std::max(m, 1u));
  std::uint32_t tile_bits = 1;
  while ((1u << tile_bits) < tiles) ++tile_bits;

  // Pass 2: keys, sort, ranges.
  t0 = Clock::now();
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    compute_barrier(cmd);
    vkCmdFillBuffer(cmd, ranges_buf_->handle(), 0, VkDeviceSize(tiles) * 8, 0);
    compute_barrier(cmd);
    if (m > 0) {
      const std::uint32_t dp[2] = {n, tiles_x};
      duplicate_->record(cmd, {mean_depth_.get(), rects_.get(), offsets_.get(), keys_.get(), values_.get()}, dp,
                         div_up(n, 256), 1);
      compute_barrier(cmd);
      sort_.record(cmd, *keys_, *values_, m, 32 + tile_bits);
      ranges_->record(cmd, {keys_.get(), ranges_buf_.get()}, &m, div_up(m, 256), 1);
      compute_barrier(cmd);
    }
  });
  stats.sort_ms = ms_since(t0);
  // Pass 3: blend.
  t0 = Clock::now();
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    compute_barrier(cmd);
    RasterPush rp{{background[0], background[1], background[2], 1}, {cam.width, cam.height}, tiles_x, kAlphaMax};
    rasterize_->record(cmd,
                       {ranges_buf_.get(), values_.get(), mean_depth_.get(), conic_opacity_.get(), colors_.get(),
                        out_float_.get(), out_rgba_.get()},
                       &rp, tiles_x, tiles_y);
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                            VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT};
    vkCmdPipelineBarrier(
        cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
        VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
        &to_host, 0, nullptr, 0, nullptr);
  });
  stats.raster_ms = ms_since(t0);
  return stats;
}

std::vector<float> SplatRenderer::read_float() const {
  std::vector<float> out(std::size_t(width_) * height_ * 4);
  std::memcpy(out.data(), out_float_->mapped(), out.size() * 4);
  return out;
}

std::vector<std::uint8_t> SplatRenderer::read_rgba8() const {
  std::vector<std::uint8_t> out(std::size_t(width_) * height_ * 4);
  // Kept between calls: headless renders read back every frame.
  if (!readback_ || readback_->size() < out.size()) readback_ = host_buffer(ctx_, out.size());
  Buffer* tmp = readback_.get();
  ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
    VkBufferCopy c{0, 0, out.size()};
    vkCmdCopyBuffer(cmd, out_rgba_->handle(), tmp->handle(), 1, &c);
    VkMemoryBarrier to_host{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                            VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, nullptr, 0,
                         nullptr);
  });
  std::memcpy(out.data(), tmp->mapped(), out.size());
  return out;
}

}  // namespace sc::render
