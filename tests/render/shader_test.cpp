#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.h"
#include "render/shader_registry.h"

namespace sc::render {
namespace {

TEST(Shaders, AllAreEmbeddedAsSpirv) {
  auto names = shader_names();
  for (const char* expected : {"background.comp", "background.frag", "fullscreen.vert"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (auto& n : names) {
    const ShaderBlob& s = find_shader(n);
    ASSERT_GE(s.word_count, 5u) << n;
    EXPECT_EQ(s.words[0], 0x07230203u) << n << " does not start with the SPIR-V magic number";
  }
}

TEST(Shaders, UnknownNameIsAnError) { EXPECT_THROW(find_shader("nope.comp"), Error); }

}  // namespace
}  // namespace sc::render
