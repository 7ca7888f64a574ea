#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>

namespace sc::render {

// One colour attachment, cleared, stored, ending in final_layout. Swapchains
// and offscreen targets share this shape, so their pipelines are alike.
VkRenderPass create_color_render_pass(VkDevice device, VkFormat format, VkImageLayout final_layout);

// Callbacks a target runs while recording a frame: uploads go before the
// render pass, draws inside it.
// A timeline-semaphore wait and / or signal around a frame's submission:
// frames another API (CUDA) wrote into shared memory are copied only once it
// signalled `wait_value`, and the frame signals `signal_value` once its
// commands (the copy) are done, so the writer may reuse the memory.
struct TimelineSync {
  VkSemaphore wait = VK_NULL_HANDLE;
  std::uint64_t wait_value = 0;
  VkSemaphore signal = VK_NULL_HANDLE;
  std::uint64_t signal_value = 0;
  bool empty() const { return wait == VK_NULL_HANDLE && signal == VK_NULL_HANDLE; }
};

// Waits until timeline semaphore `s` reaches `value`; false on timeout.
// (A submission's fence may be seen signalled before its timeline signals
// are: wait on the semaphore itself for them.)
bool wait_timeline(VkDevice device, VkSemaphore s, std::uint64_t value, std::uint64_t timeout_ns);

struct FrameCallbacks {
  virtual ~FrameCallbacks() = default;
  virtual void before_pass(VkCommandBuffer) {}
  virtual void in_pass(VkCommandBuffer cmd, VkExtent2D extent) = 0;
  // Asked after recording, before the submission.
  virtual TimelineSync timeline_sync() { return {}; }
};

// vkQueueSubmit of one command buffer with optional binary semaphores (the
// swapchain's) and a TimelineSync (its wait holds back transfers).
void submit_frame(VkQueue queue, VkCommandBuffer cmd, VkSemaphore wait_binary, VkPipelineStageFlags wait_stage,
                  VkSemaphore signal_binary, const TimelineSync& sync, VkFence fence);

}  // namespace sc::render
