#pragma once
// A frame on the GPU, ready to be drawn: an RGBA8 image updated through a
// persistent ring of staging buffers, so an upload never waits for the GPU to
// finish drawing the previous frame.
#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <memory>

namespace sc::render {

class VulkanContext;
class Buffer;
class ColorImage;

// A host image handed to the renderer; render/ does not know media::Frame.
struct HostImage {
  int width = 0;
  int height = 0;
  int pitch_bytes = 0;
  const std::uint8_t* rgba = nullptr;
};

class FrameTexture {
 public:
  static constexpr int kRingSize = 3;  // > frames in flight

  FrameTexture(VulkanContext& ctx, VkDescriptorPool pool, VkDescriptorSetLayout layout, VkSampler linear,
               VkSampler nearest);
  ~FrameTexture();
  FrameTexture(const FrameTexture&) = delete;
  FrameTexture& operator=(const FrameTexture&) = delete;

  // Copies img into the next staging buffer and records the transfer into cmd
  // (outside a render pass). A size change recreates the image.
  void upload(VkCommandBuffer cmd, const HostImage& img);
  // Records a copy from a GPU buffer of packed RGBA8 pixels (e.g. the splat
  // renderer's output), no host round trip.
  void copy_from(VkCommandBuffer cmd, VkBuffer pixels, int width, int height);

  bool ready() const { return image_ && uploaded_; }
  int width() const { return width_; }
  int height() const { return height_; }
  VkDescriptorSet descriptor(bool nearest) const { return nearest ? set_nearest_ : set_linear_; }

 private:
  void recreate(int width, int height);
  void barrier_to_transfer(VkCommandBuffer cmd);
  void barrier_to_shader(VkCommandBuffer cmd);
  void destroy_image();

  VulkanContext& ctx_;
  VkDescriptorPool pool_;
  VkSampler linear_, nearest_;
  std::unique_ptr<ColorImage> image_;
  VkDescriptorSet set_linear_ = VK_NULL_HANDLE, set_nearest_ = VK_NULL_HANDLE;
  std::array<std::unique_ptr<Buffer>, kRingSize> staging_;
  int ring_ = 0;
  int width_ = 0, height_ = 0;
  bool uploaded_ = false;
};

}  // namespace sc::render
