#pragma once
// Finds the studio's bundled assets (the sample volumetric clip, ...):
// $SC_ASSETS_DIR, then <executable>/../share/streamcanvas/assets (installed),
// then the source tree the binary was built from.
#include <filesystem>
#include <string>

namespace sc::app {

// The path of assets/<relative>; throws sc::Error saying where it looked.
std::filesystem::path find_asset(const std::string& relative);

}  // namespace sc::app
