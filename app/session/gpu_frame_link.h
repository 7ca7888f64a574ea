#pragma once
// Zero-copy display of frames the engine makes on the GPU: img2img's output
// goes from CUDA memory to the viewport's texture without crossing the host.
//
// A ring of kSlots Vulkan buffers exported to CUDA (render/external.h <->
// engine/cuda/interop.h) and two timeline semaphores:
//   ready    (shared with CUDA) CUDA signals v once frame v is in slot
//            v % kSlots; the viewport's copy of it waits for v;
//   released (Vulkan's own)     the viewport's frame signals v once that copy
//            is done. publish() reads it on the host and writes a slot only
//            when the viewport is finished with what it last took from it;
//            otherwise that frame is not linked (the viewport shows frames
//            latest-wins anyway, and it still has the host copy).
// engine/ never sees Vulkan and render/ never sees CUDA: this class, in app/,
// holds both halves. Thread-safe: publish() on the engine's thread, take() on
// the viewport's.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <vulkan/vulkan.h>

#include "engine/tensor.h"
#include "render/render_pass.h"

namespace sc::render {
class VulkanContext;
class ExportableBuffer;
class ExportableSemaphore;
}  // namespace sc::render

namespace sc::engine::cuda {
class ExternalBuffer;
class ExternalTimeline;
}  // namespace sc::engine::cuda

namespace sc::app {

class GpuFrameLink {
 public:
  // A slot is held from the viewport's take() until that frame's submission
  // (copy, render pass) is done, up to two refreshes with vsync and two
  // frames in flight; four slots leave two for frames arriving meanwhile. A
  // frame that finds none free is turned down and shown from its host copy.
  static constexpr int kSlots = 4;

  // Null, with the reason in *why, where CUDA is not usable or the Vulkan
  // device cannot share memory and timeline semaphores (lavapipe, another GPU).
  static std::unique_ptr<GpuFrameLink> create(render::VulkanContext& ctx, int width, int height, std::string* why);
  ~GpuFrameLink();  // waits until the viewport's queue is done with the buffers
  GpuFrameLink(const GpuFrameLink&) = delete;
  GpuFrameLink& operator=(const GpuFrameLink&) = delete;

  int width() const { return width_; }
  int height() const { return height_; }

  // Engine thread: RGBA8 pixels, u8 [height, width, 4] (or [1, h, w, 4]) on
  // CUDA. Queues the copy into a free slot and the ready signal on the engine
  // stream; returns false (nothing queued) for another size or when every
  // slot still holds a frame the viewport is copying.
  // `pts`: the frame's timestamp, so the viewport can tell the host copy of a
  // linked frame (carried()) from a frame that took the host path.
  bool publish(const engine::Tensor& pixels, std::int64_t pts = 0);
  // Whether a recently published frame had this pts.
  bool carried(std::int64_t pts) const;

  // Viewport thread: the newest frame published since the last take(). Copy
  // `buffer` (packed RGBA8 rows) in a submission with `sync` (wait for it to
  // be written, signal that the copy is done).
  struct Frame {
    VkBuffer buffer = VK_NULL_HANDLE;
    int width = 0, height = 0;
    std::uint64_t value = 0;
    render::TimelineSync sync;
  };
  std::optional<Frame> take();

  std::uint64_t published() const;  // frames linked so far
  std::uint64_t skipped() const;    // frames publish() turned down (all slots busy)

 private:
  GpuFrameLink(render::VulkanContext& ctx, int width, int height);

  render::VulkanContext& ctx_;
  int width_, height_;
  std::array<std::unique_ptr<render::ExportableBuffer>, kSlots> buffers_;
  std::array<std::shared_ptr<engine::cuda::ExternalBuffer>, kSlots> imported_;
  std::unique_ptr<render::ExportableSemaphore> ready_, released_;
  std::unique_ptr<engine::cuda::ExternalTimeline> ready_cuda_;

  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;                      // the value of the next published frame; next_ - 1 is the newest
  std::uint64_t taken_ = 0;                     // the newest frame handed to the viewport
  std::array<std::uint64_t, kSlots> handed_{};  // per slot: the frame the viewport took from it (0: none)
  std::uint64_t skipped_ = 0;
  static constexpr std::int64_t kNoPts = INT64_MIN;
  std::array<std::int64_t, 8> recent_pts_;  // of the last published frames (kNoPts: none yet)
};

}  // namespace sc::app
