#pragma once
// SPIR-V shaders embedded at build time (see cmake/ScShaders.cmake).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sc::render {

struct ShaderBlob {
  const char* name;  // GLSL file name, e.g. "background.comp"
  const std::uint32_t* words;
  std::size_t word_count;
};

// The embedded shader with this file name; throws sc::Error when there is none.
const ShaderBlob& find_shader(std::string_view name);
std::vector<std::string> shader_names();

namespace detail {
extern const ShaderBlob* const kAllShaders[];  // null-terminated, generated
}

}  // namespace sc::render
