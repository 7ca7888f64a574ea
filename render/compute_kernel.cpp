#include "render/compute_kernel.h"

#include <vector>

#include "base/error.h"
#include "render/buffer.h"
#include "render/context.h"
#include "render/shader_registry.h"
#include "render/vk_util.h"

namespace sc::render {

VkShaderModule create_shader_module(VkDevice device, const std::string& shader_name) {
  const ShaderBlob& blob = find_shader(shader_name);
  VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, nullptr, 0,
                              blob.word_count * sizeof(std::uint32_t), blob.words};
  VkShaderModule module;
  vk_check(vkCreateShaderModule(device, &ci, nullptr, &module), "vkCreateShaderModule");
  return module;
}

ComputeKernel::ComputeKernel(VulkanContext& ctx, const std::string& shader_name, std::uint32_t buffer_count,
                             std::uint32_t push_constant_bytes)
    : ctx_(ctx), buffer_count_(buffer_count), push_bytes_(push_constant_bytes) {
  VkDevice dev = ctx.device();
  module_ = create_shader_module(dev, shader_name);
  std::vector<VkDescriptorSetLayoutBinding> bindings(buffer_count);
  for (std::uint32_t i = 0; i < buffer_count; ++i)
    bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  push_ = ctx.cmd_push_descriptor_set() != nullptr;
  VkDescriptorSetLayoutCreateInfo slci{
      VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, nullptr,
      push_ ? VkDescriptorSetLayoutCreateFlags(VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR) : 0u,
      buffer_count, bindings.data()};
  vk_check(vkCreateDescriptorSetLayout(dev, &slci, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
  VkPipelineLayoutCreateInfo plci{
      VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, nullptr, 0, 1, &set_layout_, push_constant_bytes ? 1u : 0u,
      push_constant_bytes ? &range : nullptr};
  vk_check(vkCreatePipelineLayout(dev, &plci, nullptr, &layout_), "vkCreatePipelineLayout");
  VkComputePipelineCreateInfo cpci{};
  cpci.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  cpci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                nullptr,
                0,
                VK_SHADER_STAGE_COMPUTE_BIT,
                module_,
                "main",
                nullptr};
  cpci.layout = layout_;
  vk_check(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipeline_), "vkCreateComputePipelines");
  if (push_) return;  // no descriptor set to allocate
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, buffer_count};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, nullptr, 0, 1, 1, &ps};
  vk_check(vkCreateDescriptorPool(dev, &dpci, nullptr, &pool_), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo dsai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, nullptr, pool_, 1, &set_layout_};
  vk_check(vkAllocateDescriptorSets(dev, &dsai, &set_), "vkAllocateDescriptorSets");
}

ComputeKernel::~ComputeKernel() {
  VkDevice dev = ctx_.device();
  if (pool_) vkDestroyDescriptorPool(dev, pool_, nullptr);
  vkDestroyPipeline(dev, pipeline_, nullptr);
  vkDestroyPipelineLayout(dev, layout_, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  vkDestroyShaderModule(dev, module_, nullptr);
}

void ComputeKernel::record(VkCommandBuffer cmd, std::initializer_list<const Buffer*> buffers, const void* push,
                           std::uint32_t groups_x, std::uint32_t groups_y, std::uint32_t groups_z) {
  if (buffers.size() != buffer_count_) throw Error("internal: compute kernel expects {} buffers", buffer_count_);
  std::vector<VkDescriptorBufferInfo> infos;
  std::vector<VkWriteDescriptorSet> writes;
  infos.reserve(buffers.size());
  std::uint32_t i = 0;
  for (const Buffer* b : buffers) {
    infos.push_back({b->handle(), 0, VK_WHOLE_SIZE});
    VkWriteDescriptorSet w{};
    w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    w.dstSet = push_ ? VK_NULL_HANDLE : set_;
    w.dstBinding = i++;
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w.pBufferInfo = &infos.back();
    writes.push_back(w);
  }
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_);
  if (push_) {
    ctx_.cmd_push_descriptor_set()(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0,
                                   static_cast<std::uint32_t>(writes.size()), writes.data());
  } else {
    // Without push descriptors the one set is rewritten: record this kernel
    // once per command buffer.
    vkUpdateDescriptorSets(ctx_.device(), static_cast<std::uint32_t>(writes.size()), writes.data(), 0, nullptr);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &set_, 0, nullptr);
  }
  if (push_bytes_) vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes_, push);
  vkCmdDispatch(cmd, groups_x, groups_y, groups_z);
}

}  // namespace sc::render
