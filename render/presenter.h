#pragma once
// Presents to a window surface created by someone else (Qt gives us the
// VkSurfaceKHR). Owns the swapchain and recreates it on resize; a minimised
// window (zero extent) renders nothing until restored.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "render/render_pass.h"

namespace sc::render {

class VulkanContext;

struct PresenterOptions {
  bool vsync = true;  // FIFO; off prefers MAILBOX, then IMMEDIATE
};

class Presenter {
 public:
  // Throws sc::Error when the context's queue cannot present to this surface.
  Presenter(VulkanContext& ctx, VkSurfaceKHR surface, const PresenterOptions& options);
  ~Presenter();
  Presenter(const Presenter&) = delete;
  Presenter& operator=(const Presenter&) = delete;

  // Records one frame with callbacks at the window's current size
  // (width/height in pixels are used when the surface leaves the extent to
  // us) and presents it. Returns false when nothing was presented (minimised,
  // or the swapchain was out of date and is rebuilt on the next call).
  bool render_frame(std::uint32_t width, std::uint32_t height, FrameCallbacks& callbacks);

  VkRenderPass render_pass() const { return render_pass_; }
  std::uint32_t image_count() const { return static_cast<std::uint32_t>(images_.size()); }

  // Forces a swapchain rebuild on the next frame (call on resize).
  void invalidate() { stale_ = true; }
  void set_vsync(bool vsync);

  VkExtent2D extent() const { return extent_; }
  VkFormat format() const { return format_; }
  std::uint64_t frames_presented() const { return frames_presented_; }
  std::uint32_t swapchain_rebuilds() const { return rebuilds_; }

 private:
  void create_swapchain(std::uint32_t width, std::uint32_t height);
  void destroy_swapchain();

  VulkanContext& ctx_;
  VkSurfaceKHR surface_;
  PresenterOptions options_;
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkFormat format_ = VK_FORMAT_UNDEFINED;
  VkExtent2D extent_{0, 0};
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  std::vector<VkSemaphore> render_done_;  // one per swapchain image

  static constexpr int kFramesInFlight = 2;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_[kFramesInFlight]{};
  VkSemaphore image_ready_[kFramesInFlight]{};
  VkFence in_flight_[kFramesInFlight]{};
  int frame_ = 0;
  bool stale_ = true;
  std::uint64_t frames_presented_ = 0;
  VkPresentModeKHR present_mode_ = VK_PRESENT_MODE_MAX_ENUM_KHR;  // logged when it changes
  std::uint32_t rebuilds_ = 0;
};

}  // namespace sc::render
