// libFuzzer target: config.json parsing and typed access on arbitrary text.
// Only sc::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/config.h"

namespace {

// Every getter on every field name the seeds use, so type mismatches in both
// directions are exercised.
template <typename T>
void probe(const sc::engine::Config& c, const char* field) {
  try {
    (void)c.get<T>(field);
  } catch (const sc::Error&) {
  }
  try {
    (void)c.get_or<T>(field, T{});
  } catch (const sc::Error&) {
  }
}

void probe_all(const sc::engine::Config& c, int depth) {
  for (const char* field : {"hidden_size", "in_channels", "norm_eps", "block_out_channels", "down_block_types",
                            "_class_name", "use_bias", "a", "b", "x"}) {
    (void)c.has(field);
    probe<bool>(c, field);
    probe<int>(c, field);
    probe<std::int64_t>(c, field);
    probe<float>(c, field);
    probe<double>(c, field);
    probe<std::string>(c, field);
    probe<std::vector<int>>(c, field);
    probe<std::vector<std::int64_t>>(c, field);
    probe<std::vector<float>>(c, field);
    probe<std::vector<std::string>>(c, field);
    if (depth < 3) {
      try {
        probe_all(c.child(field), depth + 1);
      } catch (const sc::Error&) {
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const sc::engine::Config c =
        sc::engine::Config::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    probe_all(c, 0);
  } catch (const sc::Error&) {
  }
  return 0;
}
