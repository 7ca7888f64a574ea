// libFuzzer target: the 3DGS .ply and antimatter15 .splat parsers. Any input
// must give a cloud that validates or an sc::Error, never a crash or an
// out-of-bounds read (ASan/UBSan watch).
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "render/splat/gaussians.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    sc::render::GaussianCloud c = sc::render::parse_ply(data, size, "fuzz.ply");
    c.validate("fuzz.ply");
  } catch (const sc::Error&) {
  }
  try {
    sc::render::GaussianCloud c = sc::render::parse_splat(data, size, "fuzz.splat");
    c.validate("fuzz.splat");
  } catch (const sc::Error&) {
  }
  return 0;
}
