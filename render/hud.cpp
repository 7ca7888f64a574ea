#include "render/hud.h"

#include <backends/imgui_impl_vulkan.h>
#include <imgui.h>

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/log.h"
#include "render/context.h"
#include "render/vk_util.h"

namespace sc::render {
namespace {

void check_imgui_vk(VkResult r) {
  if (r != VK_SUCCESS) log::error("imgui vulkan backend: {}", to_string(r));
}

// Makes this HUD's ImGui context current for the scope.
class ContextScope {
 public:
  explicit ContextScope(ImGuiContext* c) : previous_(ImGui::GetCurrentContext()) { ImGui::SetCurrentContext(c); }
  ~ContextScope() { ImGui::SetCurrentContext(previous_); }

 private:
  ImGuiContext* previous_;
};

}  // namespace

Hud::Hud(VulkanContext& ctx, VkRenderPass render_pass, std::uint32_t image_count) : ctx_(ctx) {
  imgui_ = ImGui::CreateContext();
  ContextScope scope(imgui_);
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // layout is not persisted; the HUD places itself
  io.LogFilename = nullptr;
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 4;

  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                  nullptr,
                                  VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT,
                                  16,
                                  1,
                                  &size};
  vk_check(vkCreateDescriptorPool(ctx.device(), &dpci, nullptr, &pool_), "vkCreateDescriptorPool (HUD)");
  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = ctx.instance();
  info.PhysicalDevice = ctx.physical_device();
  info.Device = ctx.device();
  info.QueueFamily = ctx.queue_family();
  info.Queue = ctx.queue();
  info.DescriptorPool = pool_;
  info.MinImageCount = std::max(2u, image_count);
  info.ImageCount = std::max(3u, image_count);  // the backend keeps a vertex buffer per image
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  info.CheckVkResultFn = check_imgui_vk;
  if (!ImGui_ImplVulkan_Init(&info, render_pass)) throw Error("the ImGui Vulkan backend failed to start");
  ctx.submit_and_wait([](VkCommandBuffer cmd) { ImGui_ImplVulkan_CreateFontsTexture(cmd); });
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

Hud::~Hud() {
  vkDeviceWaitIdle(ctx_.device());
  {
    ContextScope scope(imgui_);
    ImGui_ImplVulkan_Shutdown();
  }
  ImGui::DestroyContext(imgui_);
  vkDestroyDescriptorPool(ctx_.device(), pool_, nullptr);
}

ImGuiIO& Hud::imgui_io() {
  ImGui::SetCurrentContext(imgui_);
  return ImGui::GetIO();
}

bool Hud::wants_mouse() const {
  ContextScope scope(imgui_);
  return ImGui::GetIO().WantCaptureMouse;
}

bool Hud::wants_keyboard() const {
  ContextScope scope(imgui_);
  return ImGui::GetIO().WantCaptureKeyboard;
}

void Hud::record(VkCommandBuffer cmd, VkExtent2D extent, const HudStats& stats, double frame_s) {
  ContextScope scope(imgui_);
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(float(extent.width), float(extent.height));
  io.DeltaTime = frame_s > 0 ? float(frame_s) : 1.0f / 60.0f;
  frame_ms_[frame_ms_head_] = float(frame_s * 1000.0);
  frame_ms_head_ = (frame_ms_head_ + 1) % frame_ms_.size();

  ImGui_ImplVulkan_NewFrame();
  ImGui::NewFrame();
  ImGui::SetNextWindowPos(ImVec2(10, 10), ImGuiCond_Always);
  ImGui::SetNextWindowBgAlpha(0.75f);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                 ImGuiWindowFlags_NoFocusOnAppearing | ImGuiWindowFlags_NoMove;
  // ImGui logs the text of every widget while logging is on and hands it to
  // the clipboard hook at LogFinish(): borrowed here to capture it.
  using SetClipboard = void (*)(void*, const char*);
  const SetClipboard saved_hook = io.SetClipboardTextFn;
  void* const saved_data = io.ClipboardUserData;
  if (capture_text_) {
    io.SetClipboardTextFn = [](void* user, const char* text) { *static_cast<std::string*>(user) = text; };
    io.ClipboardUserData = &captured_text_;
    captured_text_.clear();
  }
  if (ImGui::Begin(stats.title.c_str(), nullptr, flags)) {
    if (capture_text_) ImGui::LogToClipboard();
    if (!stats.device.empty()) ImGui::Text("%s", stats.device.c_str());
    if (!stats.gpu_memory.empty()) ImGui::Text("GPU memory %s", stats.gpu_memory.c_str());
    if (!stats.stages.empty() && ImGui::BeginTable("stages", 3, ImGuiTableFlags_SizingFixedFit)) {
      for (const auto& s : stats.stages) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(s.name.c_str());
        ImGui::TableNextColumn();
        if (s.fps >= 0) ImGui::Text("%6.1f fps", s.fps);
        ImGui::TableNextColumn();
        ImGui::Text("%6.2f ms", s.ms);
      }
      ImGui::EndTable();
    }
    ImGui::Text("latency %.1f ms   dropped %llu", stats.latency_ms, static_cast<unsigned long long>(stats.dropped));
    for (const auto& [name, depth] : stats.queues) ImGui::Text("queue %s: %zu", name.c_str(), depth);
    if (stats.recording) ImGui::TextColored(ImVec4(1, 0.3f, 0.3f, 1), "REC %.1f s", stats.recording_s);
    // Oldest to newest, so the graph scrolls left.
    std::array<float, 120> ordered{};
    for (std::size_t i = 0; i < ordered.size(); ++i) ordered[i] = frame_ms_[(frame_ms_head_ + i) % ordered.size()];
    const float peak = *std::max_element(ordered.begin(), ordered.end());
    ImGui::PlotLines("##frametime", ordered.data(), int(ordered.size()), 0, "frame time (ms)", 0.0f,
                     std::max(33.4f, peak), ImVec2(240, 50));
    if (!stats.status.empty()) ImGui::TextWrapped("%s", stats.status.c_str());
    if (capture_text_) ImGui::LogFinish();
  }
  ImGui::End();
  if (capture_text_) {
    io.SetClipboardTextFn = saved_hook;
    io.ClipboardUserData = saved_data;
  }
  ImGui::Render();
  ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), cmd);
  ++frames_;
}

}  // namespace sc::render
