// libFuzzer target: the V^3 manifests (group_info.json, viewer_min_max.json)
// and camera path files. Any input gives a result or an sc::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/modes/volumetric/camera_path.h"
#include "app/modes/volumetric/v3_sequence.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto groups = sc::app::parse_v3_group_info(text, "group_info.json");
    (void)groups;
  } catch (const sc::Error&) {
  }
  try {
    int degree = 0;
    auto frames = sc::app::parse_v3_min_max(text, "viewer_min_max.json", &degree);
    (void)frames;
  } catch (const sc::Error&) {
  }
  try {
    auto path = sc::app::CameraPath::parse(text, "camera.json");
    auto cam = path.camera(3.5, 64, 48);
    (void)cam;
  } catch (const sc::Error&) {
  }
  return 0;
}
