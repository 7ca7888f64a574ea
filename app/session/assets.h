#pragma once
// Finds the studio's bundled assets (the sample volumetric clip, ...):
// $SC_ASSETS_DIR, then <prefix>/share/streamcanvas/assets beside the running
// <prefix>/bin/ program (installed: /usr/bin -> /usr/share/streamcanvas/assets),
// then the source tree the binary was built from.
#include <filesystem>
#include <string>
#include <vector>

namespace sc::app {

// The folders find_asset looks in, in order, for a program at `executable`.
std::vector<std::filesystem::path> asset_search_path(const std::filesystem::path& executable);

// The path of assets/<relative>; throws sc::Error saying where it looked.
std::filesystem::path find_asset(const std::string& relative);

}  // namespace sc::app
