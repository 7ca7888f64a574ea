#pragma once
#include <vulkan/vulkan.h>

#include <string>

namespace sc::render {

const char* to_string(VkResult result);

// Throws sc::Error("<what>: VK_ERROR_...") unless result is VK_SUCCESS.
void vk_check(VkResult result, const char* what);

}  // namespace sc::render
