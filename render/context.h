#pragma once
// The Vulkan instance and device the studio owns. Qt 6.4's QVulkanWindow cannot
// enable Vulkan 1.2 features (timeline semaphores), so render/ creates both and
// the GUI hands the instance to Qt (QVulkanInstance::setVkInstance).
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "render/render_pass.h"

namespace sc::render {

struct PhysicalDeviceInfo {
  std::string name;
  std::string type;         // "discrete GPU", "integrated GPU", "CPU (software)", ...
  std::string api_version;  // "1.3.238"
  std::string driver;       // driver name and info when VK_KHR_driver_properties is there
  std::uint32_t vendor_id = 0;
  bool software = false;  // lavapipe / SwiftShader
};

struct DeviceList {
  std::vector<PhysicalDeviceInfo> devices;
  std::string error;  // why there are none, with what to install
};

// Lists the Vulkan devices without keeping an instance. Never throws.
DeviceList enumerate_vulkan_devices();

struct ContextOptions {
  std::vector<std::string> instance_extensions;  // e.g. surface extensions from Qt
  bool swapchain = false;                        // enable VK_KHR_swapchain on the device
  // Validation layers: on in debug builds or when asked here; SC_VK_VALIDATION=1/0
  // forces them on/off.
  bool validation = false;
  std::string application_name = "StreamCanvas";
};

class VulkanContext {
 public:
  // Throws sc::Error with an actionable message when no driver or device is usable.
  explicit VulkanContext(const ContextOptions& options);
  ~VulkanContext();
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  std::uint32_t queue_family() const { return queue_family_; }
  const PhysicalDeviceInfo& device_info() const { return info_; }
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
  bool timeline_semaphores() const { return timeline_; }
  // VK_KHR_push_descriptor: null when the device lacks it.
  PFN_vkCmdPushDescriptorSetKHR cmd_push_descriptor_set() const { return cmd_push_descriptor_set_; }
  // VK_KHR_external_memory_fd / _semaphore_fd: memory and semaphores shared with CUDA.
  bool external_memory_fd() const { return external_memory_fd_; }
  bool external_semaphore_fd() const { return external_semaphore_fd_; }

  // Number of validation-layer errors reported so far (0 when validation is off).
  std::uint32_t validation_errors() const { return validation_errors_.load(); }

  // Index of a memory type with these properties among type_bits; throws if none.
  std::uint32_t memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags props) const;

  // Records with record(), submits on the context's queue and waits.
  // `sync`: a timeline semaphore to wait for first and / or to signal when done.
  template <typename F>
  void submit_and_wait(F&& record, const TimelineSync& sync = {}) {
    VkCommandBuffer cmd = begin_one_shot();
    record(cmd);
    end_one_shot(cmd, sync);
  }

  static void on_validation_message(VulkanContext* self, bool is_error, const char* text);

 private:
  void release();  // destroys what was created; safe on a partly built context
  VkCommandBuffer begin_one_shot();
  void end_one_shot(VkCommandBuffer cmd, const TimelineSync& sync);

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  std::uint32_t queue_family_ = 0;
  PhysicalDeviceInfo info_;
  bool timeline_ = false;
  bool push_descriptors_ = false;
  bool external_memory_fd_ = false;
  bool external_semaphore_fd_ = false;
  PFN_vkCmdPushDescriptorSetKHR cmd_push_descriptor_set_ = nullptr;
  std::atomic<std::uint32_t> validation_errors_{0};
};

}  // namespace sc::render
