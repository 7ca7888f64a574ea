#include "app/session/assets.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "base/error.h"

namespace sc::app {

std::filesystem::path find_asset(const std::string& relative) {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("SC_ASSETS_DIR"); env && *env) roots.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) roots.push_back(exe.parent_path().parent_path() / "share" / "streamcanvas" / "assets");
  roots.emplace_back(SC_SOURCE_ASSETS_DIR);
  std::string looked;
  for (const auto& r : roots) {
    const fs::path p = r / relative;
    if (fs::exists(p, ec)) return p;
    looked += (looked.empty() ? "" : ", ") + p.string();
  }
  throw Error("bundled asset '{}' not found (looked in {}); set SC_ASSETS_DIR to the assets folder", relative, looked);
}

}  // namespace sc::app
