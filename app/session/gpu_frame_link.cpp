#include "app/session/gpu_frame_link.h"

#include <vulkan/vulkan.h>

#include "base/error.h"
#include "base/log.h"
#include "engine/cuda/interop.h"
#include "engine/cuda/runtime.h"
#include "render/context.h"
#include "render/external.h"

namespace sc::app {

std::unique_ptr<GpuFrameLink> GpuFrameLink::create(render::VulkanContext& ctx, int width, int height,
                                                   std::string* why) {
  auto say = [&](std::string reason) {
    if (why) *why = std::move(reason);
    return nullptr;
  };
  if (width <= 0 || height <= 0) return say("no frame size");
  if (!engine::cuda::available()) return say("no usable CUDA GPU: " + engine::cuda::unavailable_reason());
  if (!ctx.external_memory_fd() || !ctx.external_semaphore_fd() || !ctx.timeline_semaphores()) {
    return say("the Vulkan device '" + ctx.device_info().name +
               "' cannot share memory and timeline semaphores with CUDA");
  }
  try {
    return std::unique_ptr<GpuFrameLink>(new GpuFrameLink(ctx, width, height));
  } catch (const std::exception& e) {
    // E.g. the Vulkan device is not the GPU CUDA runs on.
    return say(e.what());
  }
}

GpuFrameLink::GpuFrameLink(render::VulkanContext& ctx, int width, int height)
    : ctx_(ctx), width_(width), height_(height) {
  recent_pts_.fill(kNoPts);
  const auto bytes = static_cast<VkDeviceSize>(width) * static_cast<VkDeviceSize>(height) * 4;
  for (int i = 0; i < kSlots; ++i) {
    buffers_[i] = std::make_unique<render::ExportableBuffer>(ctx, bytes);
    imported_[i] =
        std::make_shared<engine::cuda::ExternalBuffer>(buffers_[i]->export_fd(), buffers_[i]->allocation_size(), bytes);
  }
  ready_ = std::make_unique<render::ExportableSemaphore>(ctx);
  released_ = std::make_unique<render::ExportableSemaphore>(ctx);
  ready_cuda_ = std::make_unique<engine::cuda::ExternalTimeline>(ready_->export_fd());
}

GpuFrameLink::~GpuFrameLink() {
  // CUDA may still be writing a slot, the viewport copying one: wait for both
  // (on the host; this may run on the engine's thread, which must not touch
  // the viewport's queue). Every frame taken was submitted (the viewport takes
  // after acquiring its image), so its release comes.
  try {
    engine::cuda::synchronize();
    if (taken_ > 0 && !released_->wait(taken_, 5'000'000'000ull)) {
      log::warn("zero-copy display: the viewport never finished copying frame {}", taken_);
    }
  } catch (const std::exception& e) {
    log::warn("zero-copy display: {}", e.what());  // a destructor must not throw
  }
}

bool GpuFrameLink::publish(const engine::Tensor& pixels, std::int64_t pts) {
  const int rank = pixels.rank();
  const bool shaped = pixels.dtype() == engine::DType::kU8 && pixels.device() == engine::Device::kCuda &&
                      (rank == 3 || (rank == 4 && pixels.dim(0) == 1)) && pixels.dim(rank - 1) == 4 &&
                      pixels.dim(rank - 3) == height_ && pixels.dim(rank - 2) == width_;
  if (!shaped) return false;
  const std::uint64_t released = released_->value();
  std::lock_guard lock(mutex_);
  const std::uint64_t value = next_;
  const auto slot = static_cast<std::size_t>(value % kSlots);
  // The viewport may still be copying what it last took from this slot.
  if (handed_[slot] != 0 && released < handed_[slot]) {
    ++skipped_;
    return false;
  }
  handed_[slot] = 0;
  engine::cuda::copy_device_to_device(imported_[slot]->data(), pixels.raw_data(), pixels.nbytes());
  ready_cuda_->signal(value);  // after the copy, on the engine stream
  ++next_;
  recent_pts_[value % recent_pts_.size()] = pts;
  return true;
}

bool GpuFrameLink::carried(std::int64_t pts) const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < recent_pts_.size(); ++i) {
    if (recent_pts_[i] == pts) return true;
  }
  return false;
}

std::optional<GpuFrameLink::Frame> GpuFrameLink::take() {
  std::lock_guard lock(mutex_);
  const std::uint64_t value = next_ - 1;  // the newest published frame
  if (value == 0 || value == taken_) return std::nullopt;
  const auto slot = static_cast<std::size_t>(value % kSlots);
  handed_[slot] = value;
  taken_ = value;
  Frame f;
  f.buffer = buffers_[slot]->handle();
  f.width = width_;
  f.height = height_;
  f.value = value;
  f.sync = render::TimelineSync{ready_->handle(), value, released_->handle(), value};
  return f;
}

std::uint64_t GpuFrameLink::published() const {
  std::lock_guard lock(mutex_);
  return next_ - 1;
}

std::uint64_t GpuFrameLink::skipped() const {
  std::lock_guard lock(mutex_);
  return skipped_;
}

}  // namespace sc::app
