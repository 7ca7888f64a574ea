// libFuzzer target: the sharded-checkpoint index parser
// (*.safetensors.index.json) on arbitrary text. Only sc::Error may come out,
// and every accepted shard name must be a plain file name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/error.h"
#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto map = sc::engine::parse_safetensors_index(std::string_view(reinterpret_cast<const char*>(data), size),
                                                         "fuzz.safetensors.index.json");
    for (const auto& [tensor, shard] : map) {
      if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos) std::abort();
    }
  } catch (const sc::Error&) {
  }
  return 0;
}
