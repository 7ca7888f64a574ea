#include "render/shader_registry.h"

#include "base/error.h"

namespace sc::render {

const ShaderBlob& find_shader(std::string_view name) {
  for (const ShaderBlob* const* s = detail::kAllShaders; *s; ++s)
    if (name == (*s)->name) return **s;
  throw Error("internal: no embedded shader named '{}'", name);
}

std::vector<std::string> shader_names() {
  std::vector<std::string> out;
  for (const ShaderBlob* const* s = detail::kAllShaders; *s; ++s) out.emplace_back((*s)->name);
  return out;
}

}  // namespace sc::render
