#include "render/vk_util.h"

#include "base/error.h"

namespace sc::render {

const char* to_string(VkResult r) {
  switch (r) {
#define SC_CASE(x) \
  case x:          \
    return #x;
    SC_CASE(VK_SUCCESS)
    SC_CASE(VK_NOT_READY)
    SC_CASE(VK_TIMEOUT)
    SC_CASE(VK_INCOMPLETE)
    SC_CASE(VK_SUBOPTIMAL_KHR)
    SC_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    SC_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    SC_CASE(VK_ERROR_INITIALIZATION_FAILED)
    SC_CASE(VK_ERROR_DEVICE_LOST)
    SC_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    SC_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    SC_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    SC_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    SC_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    SC_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    SC_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    SC_CASE(VK_ERROR_SURFACE_LOST_KHR)
    SC_CASE(VK_ERROR_NATIVE_WINDOW_IN_USE_KHR)
    SC_CASE(VK_ERROR_OUT_OF_DATE_KHR)
#undef SC_CASE
    default:
      return "VK_ERROR_(unknown)";
  }
}

void vk_check(VkResult result, const char* what) {
  if (result != VK_SUCCESS) throw Error("Vulkan: {} failed: {}", what, to_string(result));
}

}  // namespace sc::render
