#include "render/presenter.h"

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {

Presenter::Presenter(VulkanContext& ctx, VkSurfaceKHR surface, const PresenterOptions& options)
    : ctx_(ctx), surface_(surface), options_(options) {
  VkBool32 supported = VK_FALSE;
  vkGetPhysicalDeviceSurfaceSupportKHR(ctx.physical_device(), ctx.queue_family(), surface, &supported);
  if (!supported)
    throw Error("Vulkan device '{}' cannot present to this window; try another GPU or driver", ctx.device_info().name);
  // Pick the surface format: plain UNORM so the shaders' values reach the screen
  // unchanged (colour management happens upstream, in the frame's own space).
  std::uint32_t n = 0;
  vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical_device(), surface, &n, nullptr);
  std::vector<VkSurfaceFormatKHR> formats(n);
  vkGetPhysicalDeviceSurfaceFormatsKHR(ctx.physical_device(), surface, &n, formats.data());
  if (formats.empty()) throw Error("Vulkan: the window surface offers no pixel formats");
  format_ = formats.front().format;
  for (auto f : formats)
    if (f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) {
      format_ = f.format;
      break;
    }

  VkDevice dev = ctx.device();
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, nullptr,
                              VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, ctx.queue_family()};
  vk_check(vkCreateCommandPool(dev, &pci, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, nullptr, pool_,
                                 VK_COMMAND_BUFFER_LEVEL_PRIMARY, kFramesInFlight};
  vk_check(vkAllocateCommandBuffers(dev, &ai, cmd_), "vkAllocateCommandBuffers");
  for (int i = 0; i < kFramesInFlight; ++i) {
    VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, nullptr, 0};
    vk_check(vkCreateSemaphore(dev, &sci, nullptr, &image_ready_[i]), "vkCreateSemaphore");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, VK_FENCE_CREATE_SIGNALED_BIT};
    vk_check(vkCreateFence(dev, &fci, nullptr, &in_flight_[i]), "vkCreateFence");
  }
  render_pass_ = create_color_render_pass(dev, format_, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
}

Presenter::~Presenter() {
  VkDevice dev = ctx_.device();
  vkDeviceWaitIdle(dev);
  destroy_swapchain();
  vkDestroyRenderPass(dev, render_pass_, nullptr);
  for (int i = 0; i < kFramesInFlight; ++i) {
    vkDestroySemaphore(dev, image_ready_[i], nullptr);
    vkDestroyFence(dev, in_flight_[i], nullptr);
  }
  vkDestroyCommandPool(dev, pool_, nullptr);
}

void Presenter::set_vsync(bool vsync) {
  if (vsync != options_.vsync) {
    options_.vsync = vsync;
    stale_ = true;
  }
}

void Presenter::create_swapchain(std::uint32_t width, std::uint32_t height) {
  VkDevice dev = ctx_.device();
  VkSurfaceCapabilitiesKHR caps;
  vk_check(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx_.physical_device(), surface_, &caps),
           "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
  VkExtent2D extent = caps.currentExtent;
  if (extent.width == 0xFFFFFFFFu) {
    extent.width = std::clamp(width, caps.minImageExtent.width, caps.maxImageExtent.width);
    extent.height = std::clamp(height, caps.minImageExtent.height, caps.maxImageExtent.height);
  }
  VkSwapchainKHR old = swapchain_;
  if (old) {
    vkDeviceWaitIdle(dev);
    for (auto fb : framebuffers_) vkDestroyFramebuffer(dev, fb, nullptr);
    for (auto v : views_) vkDestroyImageView(dev, v, nullptr);
    for (auto s : render_done_) vkDestroySemaphore(dev, s, nullptr);
    framebuffers_.clear();
    views_.clear();
    render_done_.clear();
    images_.clear();
  }
  extent_ = extent;
  if (extent.width == 0 || extent.height == 0) {  // minimised: keep nothing
    if (old) vkDestroySwapchainKHR(dev, old, nullptr);
    swapchain_ = VK_NULL_HANDLE;
    return;
  }
  std::uint32_t n = 0;
  vkGetPhysicalDeviceSurfacePresentModesKHR(ctx_.physical_device(), surface_, &n, nullptr);
  std::vector<VkPresentModeKHR> modes(n);
  vkGetPhysicalDeviceSurfacePresentModesKHR(ctx_.physical_device(), surface_, &n, modes.data());
  VkPresentModeKHR mode = VK_PRESENT_MODE_FIFO_KHR;
  if (!options_.vsync) {
    auto has = [&](VkPresentModeKHR m) { return std::find(modes.begin(), modes.end(), m) != modes.end(); };
    if (has(VK_PRESENT_MODE_MAILBOX_KHR))
      mode = VK_PRESENT_MODE_MAILBOX_KHR;
    else if (has(VK_PRESENT_MODE_IMMEDIATE_KHR))
      mode = VK_PRESENT_MODE_IMMEDIATE_KHR;
  }
  if (mode != present_mode_) {
    present_mode_ = mode;
    log::info("display: present mode {} (vsync {})",
              mode == VK_PRESENT_MODE_FIFO_KHR      ? "FIFO"
              : mode == VK_PRESENT_MODE_MAILBOX_KHR ? "MAILBOX"
                                                    : "IMMEDIATE",
              options_.vsync ? "on" : "off");
  }
  std::uint32_t count = std::max(caps.minImageCount + 1, 3u);
  if (caps.maxImageCount) count = std::min(count, caps.maxImageCount);
  VkSwapchainCreateInfoKHR sci{};
  sci.sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR;
  sci.surface = surface_;
  sci.minImageCount = count;
  sci.imageFormat = format_;
  sci.imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
  sci.imageExtent = extent;
  sci.imageArrayLayers = 1;
  sci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT;
  sci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  sci.preTransform = caps.currentTransform;
  sci.compositeAlpha =
      (caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR)
          ? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
          : static_cast<VkCompositeAlphaFlagBitsKHR>(caps.supportedCompositeAlpha & -caps.supportedCompositeAlpha);
  sci.presentMode = mode;
  sci.clipped = VK_TRUE;
  sci.oldSwapchain = old;
  VkResult r = vkCreateSwapchainKHR(dev, &sci, nullptr, &swapchain_);
  if (old) vkDestroySwapchainKHR(dev, old, nullptr);
  if (r != VK_SUCCESS) {
    swapchain_ = VK_NULL_HANDLE;
    vk_check(r, "vkCreateSwapchainKHR");
  }
  ++rebuilds_;
  vkGetSwapchainImagesKHR(dev, swapchain_, &n, nullptr);
  images_.resize(n);
  vkGetSwapchainImagesKHR(dev, swapchain_, &n, images_.data());
  for (VkImage img : images_) {
    VkImageViewCreateInfo vci{};
    vci.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO;
    vci.image = img;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = format_;
    vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view;
    vk_check(vkCreateImageView(dev, &vci, nullptr, &view), "vkCreateImageView");
    views_.push_back(view);
    VkFramebufferCreateInfo fci{
        VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO, nullptr, 0, render_pass_, 1, &view, extent.width, extent.height, 1};
    VkFramebuffer fb;
    vk_check(vkCreateFramebuffer(dev, &fci, nullptr, &fb), "vkCreateFramebuffer");
    framebuffers_.push_back(fb);
    VkSemaphoreCreateInfo semci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, nullptr, 0};
    VkSemaphore sem;
    vk_check(vkCreateSemaphore(dev, &semci, nullptr, &sem), "vkCreateSemaphore");
    render_done_.push_back(sem);
  }
}

void Presenter::destroy_swapchain() {
  VkDevice dev = ctx_.device();
  for (auto fb : framebuffers_) vkDestroyFramebuffer(dev, fb, nullptr);
  for (auto v : views_) vkDestroyImageView(dev, v, nullptr);
  for (auto s : render_done_) vkDestroySemaphore(dev, s, nullptr);
  framebuffers_.clear();
  views_.clear();
  render_done_.clear();
  images_.clear();
  if (swapchain_) vkDestroySwapchainKHR(dev, swapchain_, nullptr);
  swapchain_ = VK_NULL_HANDLE;
}

bool Presenter::render_frame(std::uint32_t width, std::uint32_t height, FrameCallbacks& callbacks) {
  VkDevice dev = ctx_.device();
  if (stale_ || !swapchain_ || (width && height && (width != extent_.width || height != extent_.height))) {
    stale_ = false;
    create_swapchain(width, height);
  }
  if (!swapchain_) return false;

  vkWaitForFences(dev, 1, &in_flight_[frame_], VK_TRUE, UINT64_MAX);
  std::uint32_t index = 0;
  VkResult r = vkAcquireNextImageKHR(dev, swapchain_, UINT64_MAX, image_ready_[frame_], VK_NULL_HANDLE, &index);
  if (r == VK_ERROR_OUT_OF_DATE_KHR) {
    stale_ = true;
    return false;
  }
  if (r != VK_SUBOPTIMAL_KHR) vk_check(r, "vkAcquireNextImageKHR");
  vkResetFences(dev, 1, &in_flight_[frame_]);

  VkCommandBuffer cmd = cmd_[frame_];
  vkResetCommandBuffer(cmd, 0);
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr,
                              VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, nullptr};
  vkBeginCommandBuffer(cmd, &bi);
  callbacks.before_pass(cmd);
  VkClearValue clear{};
  VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
                            nullptr,
                            render_pass_,
                            framebuffers_[index],
                            {{0, 0}, extent_},
                            1,
                            &clear};
  vkCmdBeginRenderPass(cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
  callbacks.in_pass(cmd, extent_);
  vkCmdEndRenderPass(cmd);
  vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");

  submit_frame(ctx_.queue(), cmd, image_ready_[frame_], VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
               render_done_[index], callbacks.timeline_sync(), in_flight_[frame_]);

  VkPresentInfoKHR pi{
      VK_STRUCTURE_TYPE_PRESENT_INFO_KHR, nullptr, 1, &render_done_[index], 1, &swapchain_, &index, nullptr};
  r = vkQueuePresentKHR(ctx_.queue(), &pi);
  frame_ = (frame_ + 1) % kFramesInFlight;
  if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) {
    stale_ = true;
    return r == VK_SUBOPTIMAL_KHR;
  }
  vk_check(r, "vkQueuePresentKHR");
  ++frames_presented_;
  return true;
}

}  // namespace sc::render
