#pragma once
// The registration cache: a portrait registered once (face detection,
// landmarks, crops, the appearance volume, the source motion) is kept as a
// file keyed by the image's content, the model folder's files and the
// registration options, so opening the same portrait again skips
// registration. Files live in $XDG_CACHE_HOME/streamcanvas/avatars
// (~/.cache/streamcanvas/avatars) unless a folder is given.
#include <filesystem>
#include <functional>
#include <string>

#include "engine/pipelines/talking_head/talking_head.h"

namespace sc::app {

std::filesystem::path default_avatar_cache_dir();
// The folder a setting names: "" the default, "none" no cache (empty path).
std::filesystem::path avatar_cache_dir(const std::string& setting);

// SHA-256 (hex) of what a registration depends on: the image file's bytes,
// the model folder (each file's name, size and modification time) and the
// options. Throws sc::Error when the image cannot be read.
std::string avatar_cache_key(const std::filesystem::path& image, const std::filesystem::path& models,
                             const engine::talking_head::RegistrationOptions& options);

struct PortraitResult {
  bool from_cache = false;
  std::filesystem::path cache_file;  // empty: no cache
  std::string warning;               // a cache that could not be read or written (registration went on)
};

// Registers `image` on `head` (read_rgb reads it as [1, 3, H, W] RGB 0..255),
// through the cache in `cache_dir` (empty: no cache). A cache file that does
// not read back is replaced; one that cannot be written is only a warning.
PortraitResult set_portrait_cached(engine::talking_head::TalkingHead& head, const std::filesystem::path& image,
                                   const std::filesystem::path& models,
                                   const engine::talking_head::RegistrationOptions& options,
                                   const std::filesystem::path& cache_dir,
                                   const std::function<engine::Tensor()>& read_rgb);

}  // namespace sc::app
