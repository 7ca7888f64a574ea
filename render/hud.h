#pragma once
// The heads-up display inside the viewport, drawn with Dear ImGui 1.86 (the
// Debian package's Vulkan backend, which needs a render pass). It shows what
// the session measures: fps per stage, capture->display latency, queue depths,
// drops, GPU memory and a frame-time graph. Input arrives through
// imgui_io() (the GUI's Qt -> ImGui bridge).
#include <vulkan/vulkan.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

struct ImGuiContext;
struct ImGuiIO;

namespace sc::render {

class VulkanContext;

struct StageStat {
  std::string name;
  double fps = 0;  // negative: not shown (a per-frame stage with no rate of its own)
  double ms = 0;   // average time per item in this stage
};

struct HudStats {
  std::string title = "StreamCanvas";
  std::string device;      // "NVIDIA H100 (CUDA)" or "llvmpipe (CPU)"
  std::string gpu_memory;  // "1.2 / 79.6 GiB", or empty when unknown
  std::vector<StageStat> stages;
  std::vector<std::pair<std::string, std::size_t>> queues;
  double latency_ms = 0;  // capture -> display
  std::uint64_t dropped = 0;
  bool recording = false;
  double recording_s = 0;
  std::string status;  // one line, e.g. the last error
};

class Hud {
 public:
  Hud(VulkanContext& ctx, VkRenderPass render_pass, std::uint32_t image_count);
  ~Hud();
  Hud(const Hud&) = delete;
  Hud& operator=(const Hud&) = delete;

  // The ImGui IO of this HUD's own context, for feeding input.
  ImGuiIO& imgui_io();
  bool wants_mouse() const;
  bool wants_keyboard() const;

  // Builds the HUD for this frame and records it (inside the render pass).
  void record(VkCommandBuffer cmd, VkExtent2D extent, const HudStats& stats, double frame_s);

  // How many frames the HUD has drawn (tests use it to know it is on screen).
  std::uint64_t frames() const { return frames_; }
  // With capture on, each record() also keeps the text the HUD drew (ImGui's
  // own text log of its widgets), so tests can read what it says.
  void set_capture_text(bool on) { capture_text_ = on; }
  const std::string& captured_text() const { return captured_text_; }

 private:
  VulkanContext& ctx_;
  ImGuiContext* imgui_ = nullptr;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  std::array<float, 120> frame_ms_{};
  std::size_t frame_ms_head_ = 0;
  std::uint64_t frames_ = 0;
  bool capture_text_ = false;
  std::string captured_text_;
};

}  // namespace sc::render
