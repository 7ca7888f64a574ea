#pragma once
// What the linked FFmpeg offers: library versions and the codecs and devices the
// studio cares about. Used by `streamcanvas-cli doctor`.
#include <string>
#include <vector>

namespace sc::media {

struct FeatureCheck {
  std::string name;  // e.g. "libx264"
  std::string kind;  // "encoder", "decoder", "input device", "filter"
  bool present = false;
  std::string note;  // what it is for / what to do when missing
};

struct FfmpegInfo {
  std::vector<std::pair<std::string, std::string>> libraries;  // name, version
  std::vector<FeatureCheck> features;
};

FfmpegInfo query_ffmpeg();

}  // namespace sc::media
