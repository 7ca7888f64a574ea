// libFuzzer target: the safetensors reader on arbitrary bytes. Parsing and
// loading every tensor may fail only with sc::Error; anything else (a crash,
// an out-of-bounds read under ASan, UB, another exception type) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sc::engine;
  try {
    const SafetensorsFile f =
        SafetensorsFile::from_bytes(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz.safetensors");
    for (const auto& [key, value] : f.metadata()) (void)(key.size() + value.size());
    for (const std::string& name : f.names()) {
      const TensorEntry& e = f.entry(name);
      try {
        const Tensor t = f.load(name);
        // Read every byte of the result so ASan sees any bad copy.
        const auto* p = static_cast<const std::uint8_t*>(t.raw_data());
        std::uint8_t acc = 0;
        for (std::size_t i = 0; i < t.nbytes(); ++i) acc ^= p[i];
        (void)acc;
        (void)f.load(name,
                     Shape(std::span<const std::int64_t>(e.shape.data(), e.shape.size() > 6 ? 6 : e.shape.size())));
      } catch (const sc::Error&) {
      }
    }
  } catch (const sc::Error&) {
  }
  return 0;
}
