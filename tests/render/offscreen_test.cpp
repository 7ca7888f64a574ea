// Runs on whatever Vulkan device is present: lavapipe on CI, a GPU elsewhere.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>

#include "base/error.h"
#include "render/background.h"
#include "render/context.h"
#include "render/offscreen.h"

namespace sc::render {
namespace {

TEST(Vulkan, EnumeratesAtLeastOneDevice) {
  DeviceList list = enumerate_vulkan_devices();
  ASSERT_FALSE(list.devices.empty()) << list.error;
  EXPECT_TRUE(list.error.empty());
  for (auto& d : list.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_FALSE(d.api_version.empty());
  }
}

// The tests' "no validation errors" checks mean something only with the
// Khronos layer present: it is a test package (packaging/bootstrap.sh).
TEST(Vulkan, ValidationIsOnInTestRuns) {
  const char* env = std::getenv("SC_VK_VALIDATION");
  if (env && std::string_view(env) == "0") GTEST_SKIP() << "validation is turned off for this run (SC_VK_VALIDATION=0)";
  setenv("SC_VK_VALIDATION", "1", 1);
  VulkanContext ctx(ContextOptions{});
  EXPECT_TRUE(ctx.validation_enabled())
      << "the Khronos validation layer is missing, so no test can see a validation error: "
         "apt-get install vulkan-validationlayers";
}

TEST(Vulkan, ComputeDispatchMatchesTheCpuFormula) {
  setenv("SC_VK_VALIDATION", "1", 1);
  VulkanContext ctx(ContextOptions{});
  // Odd sizes exercise the partial workgroups at the edges.
  for (auto [w, h] : {std::pair{37u, 29u}, std::pair{256u, 64u}}) {
    std::vector<std::uint8_t> px = render_background(ctx, w, h);
    ASSERT_EQ(px.size(), std::size_t(w) * h * 4);
    int worst = 0;
    for (std::uint32_t y = 0; y < h; ++y)
      for (std::uint32_t x = 0; x < w; ++x) {
        auto want = background_pixel(x, y, w, h);
        for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(int(px[(y * w + x) * 4 + c]) - int(want[c])));
      }
    EXPECT_LE(worst, 1) << w << "x" << h << ": GPU and CPU backgrounds differ by " << worst;
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

TEST(Vulkan, BadSizeIsAnError) {
  VulkanContext ctx(ContextOptions{});
  EXPECT_THROW(render_background(ctx, 0, 10), Error);
}

}  // namespace
}  // namespace sc::render
