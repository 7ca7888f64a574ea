#pragma once
// Offscreen rendering with readback (no window): used by tests and headless runs.
#include <cstdint>
#include <vector>

namespace sc::render {

class VulkanContext;

// Renders the viewport's empty-state background (shaders/background.comp) at
// width x height and returns tightly packed RGBA8 rows.
std::vector<std::uint8_t> render_background(VulkanContext& ctx, std::uint32_t width, std::uint32_t height);

}  // namespace sc::render
