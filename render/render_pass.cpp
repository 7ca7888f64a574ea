#include "render/render_pass.h"

#include "render/vk_util.h"

namespace sc::render {

VkRenderPass create_color_render_pass(VkDevice device, VkFormat format, VkImageLayout final_layout) {
  VkAttachmentDescription color{};
  color.format = format;
  color.samples = VK_SAMPLE_COUNT_1_BIT;
  color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  color.finalLayout = final_layout;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription sub{};
  sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  sub.colorAttachmentCount = 1;
  sub.pColorAttachments = &ref;
  VkSubpassDependency deps[2] = {
      {VK_SUBPASS_EXTERNAL, 0, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT,
       VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, 0, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, 0},
      {0, VK_SUBPASS_EXTERNAL, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
       VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT, VK_ACCESS_TRANSFER_READ_BIT, 0}};
  VkRenderPassCreateInfo rpci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO, nullptr, 0, 1, &color, 1, &sub, 2, deps};
  VkRenderPass pass;
  vk_check(vkCreateRenderPass(device, &rpci, nullptr, &pass), "vkCreateRenderPass");
  return pass;
}

void submit_frame(VkQueue queue, VkCommandBuffer cmd, VkSemaphore wait_binary, VkPipelineStageFlags wait_stage,
                  VkSemaphore signal_binary, const TimelineSync& sync, VkFence fence) {
  VkSemaphore waits[2], signals[2];
  VkPipelineStageFlags stages[2];
  std::uint64_t wait_values[2], signal_values[2];
  std::uint32_t nw = 0, ns = 0;
  if (wait_binary != VK_NULL_HANDLE) {
    waits[nw] = wait_binary;
    stages[nw] = wait_stage;
    wait_values[nw++] = 0;  // ignored for a binary semaphore
  }
  if (sync.wait != VK_NULL_HANDLE) {
    waits[nw] = sync.wait;
    stages[nw] = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    wait_values[nw++] = sync.wait_value;
  }
  if (signal_binary != VK_NULL_HANDLE) {
    signals[ns] = signal_binary;
    signal_values[ns++] = 0;
  }
  if (sync.signal != VK_NULL_HANDLE) {
    signals[ns] = sync.signal;
    signal_values[ns++] = sync.signal_value;
  }
  VkTimelineSemaphoreSubmitInfo timeline{
      VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO, nullptr, nw, wait_values, ns, signal_values};
  VkSubmitInfo si{};
  si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  si.pNext = sync.empty() ? nullptr : &timeline;
  si.waitSemaphoreCount = nw;
  si.pWaitSemaphores = waits;
  si.pWaitDstStageMask = stages;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd;
  si.signalSemaphoreCount = ns;
  si.pSignalSemaphores = signals;
  vk_check(vkQueueSubmit(queue, 1, &si, fence), "vkQueueSubmit");
}

bool wait_timeline(VkDevice device, VkSemaphore s, std::uint64_t value, std::uint64_t timeout_ns) {
  VkSemaphoreWaitInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, nullptr, 0, 1, &s, &value};
  const VkResult r = vkWaitSemaphores(device, &info, timeout_ns);
  if (r == VK_TIMEOUT) return false;
  vk_check(r, "vkWaitSemaphores");
  return true;
}

}  // namespace sc::render
