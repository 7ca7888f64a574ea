#include "app/session/assets.h"

#include <cstdlib>

#include "base/error.h"

namespace sc::app {

namespace fs = std::filesystem;

std::vector<fs::path> asset_search_path(const fs::path& executable) {
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("SC_ASSETS_DIR"); env && *env) roots.emplace_back(env);
  // The installed layout (packaging/README.md): <prefix>/bin/streamcanvas and
  // <prefix>/share/streamcanvas/assets, whatever the prefix.
  if (!executable.empty())
    roots.push_back(executable.parent_path().parent_path() / "share" / "streamcanvas" / "assets");
  roots.emplace_back(SC_SOURCE_ASSETS_DIR);
  return roots;
}

fs::path find_asset(const std::string& relative) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::string looked;
  for (const auto& r : asset_search_path(ec ? fs::path() : exe)) {
    const fs::path p = r / relative;
    if (fs::exists(p, ec)) return p;
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw Error("bundled asset '{}' not found (looked in {}); set SC_ASSETS_DIR to the assets folder", relative, looked);
}

}  // namespace sc::app
