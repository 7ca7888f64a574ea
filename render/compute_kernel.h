#pragma once
// One compute shader from the embedded registry, with a descriptor layout of
// `buffer_count` storage buffers (bindings 0..n-1) and a push-constant block.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace sc::render {

class VulkanContext;
class Buffer;

class ComputeKernel {
 public:
  ComputeKernel(VulkanContext& ctx, const std::string& shader_name, std::uint32_t buffer_count,
                std::uint32_t push_constant_bytes);
  ~ComputeKernel();
  ComputeKernel(const ComputeKernel&) = delete;
  ComputeKernel& operator=(const ComputeKernel&) = delete;

  // Binds the buffers, pushes the constants and dispatches groups; records into cmd.
  // With VK_KHR_push_descriptor (lavapipe, NVIDIA) it may be recorded any
  // number of times per command buffer.
  void record(VkCommandBuffer cmd, std::initializer_list<const Buffer*> buffers, const void* push,
              std::uint32_t groups_x, std::uint32_t groups_y, std::uint32_t groups_z = 1);

 private:
  VulkanContext& ctx_;
  std::uint32_t buffer_count_;
  std::uint32_t push_bytes_;
  bool push_ = false;  // VK_KHR_push_descriptor in use
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

// Creates a VkShaderModule from an embedded shader; throws on failure.
VkShaderModule create_shader_module(VkDevice device, const std::string& shader_name);

}  // namespace sc::render
