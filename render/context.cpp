#include "render/context.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/error.h"
#include "base/log.h"
#include "render/vk_util.h"

namespace sc::render {
namespace {

constexpr const char* kNoDriver =
    "no Vulkan driver found: install mesa-vulkan-drivers (software rendering) or the NVIDIA driver";
constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

std::string version_text(std::uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

const char* type_text(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "CPU (software)";
    default:
      return "other";
  }
}

PhysicalDeviceInfo describe(VkPhysicalDevice pd) {
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, nullptr, {}, {}, {}, {}};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &driver, {}};
  vkGetPhysicalDeviceProperties2(pd, &props);
  PhysicalDeviceInfo info;
  info.name = props.properties.deviceName;
  info.type = type_text(props.properties.deviceType);
  info.api_version = version_text(props.properties.apiVersion);
  info.vendor_id = props.properties.vendorID;
  info.driver = std::string(driver.driverName);
  if (driver.driverInfo[0]) info.driver += std::string(" ") + driver.driverInfo;
  info.software = props.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  return info;
}

bool layer_available(const char* name) {
  std::uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  for (auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  const bool is_error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  VulkanContext::on_validation_message(static_cast<VulkanContext*>(user), is_error, data->pMessage);
  return VK_FALSE;
}

}  // namespace

DeviceList enumerate_vulkan_devices() {
  DeviceList out;
  VkApplicationInfo app{
      VK_STRUCTURE_TYPE_APPLICATION_INFO, nullptr, "streamcanvas-probe", 1, nullptr, 0, VK_API_VERSION_1_2};
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, nullptr, 0, &app, 0, nullptr, 0, nullptr};
  VkInstance inst = VK_NULL_HANDLE;
  VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r != VK_SUCCESS) {
    out.error =
        r == VK_ERROR_INCOMPATIBLE_DRIVER ? kNoDriver : fmt::format("vkCreateInstance failed: {}", to_string(r));
    return out;
  }
  std::uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  vkEnumeratePhysicalDevices(inst, &n, pds.data());
  for (auto pd : pds) out.devices.push_back(describe(pd));
  if (out.devices.empty()) out.error = kNoDriver;
  vkDestroyInstance(inst, nullptr);
  return out;
}

void VulkanContext::on_validation_message(VulkanContext* self, bool is_error, const char* text) {
  if (is_error) {
    ++self->validation_errors_;
    log::error("vulkan validation: {}", text);
  } else {
    log::warn("vulkan validation: {}", text);
  }
}

VulkanContext::VulkanContext(const ContextOptions& options) {
  std::vector<const char*> exts;
  for (auto& e : options.instance_extensions) exts.push_back(e.c_str());
  std::vector<const char*> layers;
  // Debug builds validate by default (tests, development); SC_VK_VALIDATION=1
  // or =0 overrides in any build.
  const char* env = std::getenv("SC_VK_VALIDATION");
#ifdef NDEBUG
  const bool build_default = false;
#else
  const bool build_default = true;
#endif
  bool want_validation = env ? std::string_view(env) == "1" : (options.validation || build_default);
  if (want_validation) {
    if (layer_available(kValidationLayer)) {
      layers.push_back(kValidationLayer);
      exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    } else {
      log::warn("Vulkan validation requested but {} is not installed (apt-get install vulkan-validationlayers)",
                kValidationLayer);
      want_validation = false;
    }
  }
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO,
                        nullptr,
                        options.application_name.c_str(),
                        1,
                        "StreamCanvas",
                        1,
                        VK_API_VERSION_1_2};
  VkDebugUtilsMessengerCreateInfoEXT dbg{};
  dbg.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  dbg.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  dbg.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  dbg.pfnUserCallback = debug_callback;
  dbg.pUserData = this;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                          want_validation ? &dbg : nullptr,
                          0,
                          &app,
                          static_cast<std::uint32_t>(layers.size()),
                          layers.data(),
                          static_cast<std::uint32_t>(exts.size()),
                          exts.data()};
  VkResult r = vkCreateInstance(&ci, nullptr, &instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) throw Error("{}", kNoDriver);
  if (r == VK_ERROR_EXTENSION_NOT_PRESENT)
    throw Error("Vulkan: the driver lacks a required instance extension (window-system support); {}", kNoDriver);
  vk_check(r, "vkCreateInstance");
  if (want_validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (create) create(instance_, &dbg, nullptr, &messenger_);
  }

  std::uint32_t n = 0;
  vkEnumeratePhysicalDevices(instance_, &n, nullptr);
  std::vector<VkPhysicalDevice> pds(n);
  vkEnumeratePhysicalDevices(instance_, &n, pds.data());
  if (pds.empty()) {
    release();
    throw Error("{}", kNoDriver);
  }
  // Prefer a discrete GPU, then integrated, then anything (lavapipe).
  auto rank = [](VkPhysicalDevice pd) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(pd, &p);
    switch (p.deviceType) {
      case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
        return 0;
      case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
        return 1;
      case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
        return 2;
      default:
        return 3;
    }
  };
  physical_ = pds.front();
  for (auto pd : pds)
    if (rank(pd) < rank(physical_)) physical_ = pd;
  info_ = describe(physical_);

  std::uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> families(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, families.data());
  bool found = false;
  for (std::uint32_t i = 0; i < nq && !found; ++i) {
    if ((families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) && (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) {
      queue_family_ = i;
      found = true;
    }
  }
  if (!found) {
    release();
    throw Error("Vulkan device '{}' has no queue that does both graphics and compute", info_.name);
  }

  VkPhysicalDeviceVulkan12Features f12{};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f12, {}};
  vkGetPhysicalDeviceFeatures2(physical_, &f2);
  timeline_ = f12.timelineSemaphore == VK_TRUE;
  VkPhysicalDeviceVulkan12Features enable12{};
  enable12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  enable12.timelineSemaphore = timeline_ ? VK_TRUE : VK_FALSE;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, nullptr, 0, queue_family_, 1, &priority};
  std::vector<const char*> dev_exts;
  if (options.swapchain) dev_exts.push_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  {
    // Push descriptors let a compute kernel be recorded many times in one
    // command buffer with different buffers (sort passes, scan levels).
    std::uint32_t ne = 0;
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &ne, nullptr);
    std::vector<VkExtensionProperties> avail(ne);
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &ne, avail.data());
    for (auto& e : avail) {
      if (std::strcmp(e.extensionName, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME) == 0) push_descriptors_ = true;
      if (std::strcmp(e.extensionName, VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME) == 0) external_memory_fd_ = true;
      if (std::strcmp(e.extensionName, VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME) == 0) external_semaphore_fd_ = true;
    }
    if (push_descriptors_) dev_exts.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
    // Sharing memory and semaphores with CUDA (zero-copy display of engine output).
    if (external_memory_fd_) dev_exts.push_back(VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME);
    if (external_semaphore_fd_) dev_exts.push_back(VK_KHR_EXTERNAL_SEMAPHORE_FD_EXTENSION_NAME);
  }
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.pNext = &enable12;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<std::uint32_t>(dev_exts.size());
  dci.ppEnabledExtensionNames = dev_exts.data();
  r = vkCreateDevice(physical_, &dci, nullptr, &device_);
  if (r != VK_SUCCESS) {
    release();
    throw Error("Vulkan: cannot create a device on '{}': {}", info_.name, to_string(r));
  }
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
  if (push_descriptors_)
    cmd_push_descriptor_set_ =
        reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(vkGetDeviceProcAddr(device_, "vkCmdPushDescriptorSetKHR"));
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, nullptr,
                              VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, queue_family_};
  vk_check(vkCreateCommandPool(device_, &pci, nullptr, &pool_), "vkCreateCommandPool");
  log::debug("vulkan: using '{}' ({}, {})", info_.name, info_.type, info_.driver);
}

VulkanContext::~VulkanContext() { release(); }

void VulkanContext::release() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
    device_ = VK_NULL_HANDLE;
    pool_ = VK_NULL_HANDLE;
  }
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
    messenger_ = VK_NULL_HANDLE;
  }
  if (instance_) {
    vkDestroyInstance(instance_, nullptr);
    instance_ = VK_NULL_HANDLE;
  }
}

std::uint32_t VulkanContext::memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags props) const {
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(physical_, &mp);
  for (std::uint32_t i = 0; i < mp.memoryTypeCount; ++i)
    if ((type_bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & props) == props) return i;
  throw Error("Vulkan device '{}' has no memory type with the needed properties", info_.name);
}

VkCommandBuffer VulkanContext::begin_one_shot() {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, nullptr, pool_,
                                 VK_COMMAND_BUFFER_LEVEL_PRIMARY, 1};
  VkCommandBuffer cmd;
  vk_check(vkAllocateCommandBuffers(device_, &ai, &cmd), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, nullptr,
                              VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, nullptr};
  vkBeginCommandBuffer(cmd, &bi);
  return cmd;
}

void VulkanContext::end_one_shot(VkCommandBuffer cmd, const TimelineSync& sync) {
  vk_check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO, nullptr, 0};
  VkFence fence;
  vk_check(vkCreateFence(device_, &fci, nullptr, &fence), "vkCreateFence");
  VkResult r = VK_SUCCESS;
  try {
    submit_frame(queue_, cmd, VK_NULL_HANDLE, 0, VK_NULL_HANDLE, sync, fence);
    r = vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX);
  } catch (...) {
    vkDestroyFence(device_, fence, nullptr);
    vkFreeCommandBuffers(device_, pool_, 1, &cmd);
    throw;
  }
  vkDestroyFence(device_, fence, nullptr);
  vkFreeCommandBuffers(device_, pool_, 1, &cmd);
  vk_check(r, "vkWaitForFences");
}

}  // namespace sc::render
