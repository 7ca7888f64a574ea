#include "app/modes/talking_head/avatar_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "app/session/model_hub.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/pipelines/talking_head/avatar_io.h"

namespace sc::app {
namespace fs = std::filesystem;
namespace th = engine::talking_head;

fs::path default_avatar_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x && fs::path(x).is_absolute())
    return fs::path(x) / "streamcanvas" / "avatars";
  const char* home = std::getenv("HOME");
  if (!home || !*home) return {};
  return fs::path(home) / ".cache" / "streamcanvas" / "avatars";
}

fs::path avatar_cache_dir(const std::string& setting) {
  if (setting == "none") return {};
  return setting.empty() ? default_avatar_cache_dir() : fs::path(setting);
}

std::string avatar_cache_key(const fs::path& image, const fs::path& models, const th::RegistrationOptions& o) {
  std::error_code ec;
  std::string text = "streamcanvas-avatar-1\n";
  if (!fs::is_regular_file(image, ec)) throw Error("portrait '{}': no such file", image.string());
  text += "image " + sha256_of_file(image) + "\n";
  const fs::path folder = fs::weakly_canonical(models, ec);
  text += "models " + folder.string() + "\n";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (!e.is_regular_file(ec)) continue;
    const auto mtime = e.last_write_time(ec).time_since_epoch().count();
    files.push_back(fmt::format("{} {} {}", e.path().filename().string(), e.file_size(ec), mtime));
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) text += f + "\n";
  text += fmt::format("options {} {} {} {} {}\n", o.max_size, o.detector.input_size, o.detector.score_threshold,
                      o.detector.nms_threshold, o.detector_bgr);
  return sha256_hex(text.data(), text.size());
}

PortraitResult set_portrait_cached(th::TalkingHead& head, const fs::path& image, const fs::path& models,
                                   const th::RegistrationOptions& options, const fs::path& cache_dir,
                                   const std::function<engine::Tensor()>& read_rgb) {
  PortraitResult r;
  if (cache_dir.empty()) {
    head.set_portrait(read_rgb());
    return r;
  }
  const std::string key = avatar_cache_key(image, models, options);
  r.cache_file = cache_dir / (key + ".safetensors");
  std::error_code ec;
  if (fs::exists(r.cache_file, ec)) {
    try {
      std::map<std::string, std::string> meta;
      th::Avatar a = th::load_avatar(r.cache_file, &meta);
      if (meta["key"] != key) throw Error("{}: made for another portrait", r.cache_file.string());
      head.set_avatar(std::move(a));
      r.from_cache = true;
      return r;
    } catch (const Error& e) {
      r.warning = fmt::format("ignoring the cached registration: {}; registering again", e.what());
      log::warn("{}", r.warning);
    }
  }
  head.set_portrait(read_rgb());
  try {
    fs::create_directories(cache_dir, ec);
    if (ec) throw Error("cannot make {}: {}", cache_dir.string(), ec.message());
    th::save_avatar(r.cache_file, head.avatar(),
                    {{"key", key}, {"image", image.string()}, {"models", models.string()}});
  } catch (const Error& e) {
    r.warning = fmt::format("the registration was not cached: {}", e.what());
    log::warn("{}", r.warning);
    r.cache_file.clear();
  }
  return r;
}

}  // namespace sc::app
