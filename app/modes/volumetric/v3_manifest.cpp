// The two V^3 manifests (group_info.json, viewer_min_max.json): parsed with
// every field checked, since the files come from anywhere (fuzzed in tests/fuzz).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "app/modes/volumetric/v3_sequence.h"
#include "base/error.h"

namespace sc::app {
namespace {

using nlohmann::json;
constexpr int kMaxFrames = 1'000'000;
constexpr std::uint32_t kMaxGaussians = 1u << 26;

json parse_json(std::string_view text, const std::string& source) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error("{}: not valid JSON", source);
  if (!j.is_object()) throw Error("{}: expected a JSON object at the top level", source);
  return j;
}

// Keys "0", "1", ... as indices; anything else is an error.
int index_key(const std::string& key, const std::string& source, int limit) {
  if (key.empty() || key.size() > 9 || !std::all_of(key.begin(), key.end(), ::isdigit))
    throw Error("{}: key '{}' is not a frame or group number", source, key.substr(0, 40));
  const int v = std::stoi(key);
  if (v >= limit) throw Error("{}: index {} is beyond the supported {}", source, v, limit);
  return v;
}

int json_int(const json& j, const std::string& source, const std::string& what) {
  if (!j.is_number_integer()) throw Error("{}: {} must be a whole number", source, what);
  const auto v = j.get<std::int64_t>();
  if (v < 0 || v > std::int64_t(kMaxGaussians)) throw Error("{}: {} = {} is out of range", source, what, v);
  return int(v);
}

}  // namespace

std::vector<V3Group> parse_v3_group_info(std::string_view text, const std::string& source) {
  json j = parse_json(text, source);
  if (j.empty()) throw Error("{}: lists no groups", source);
  std::vector<V3Group> groups(j.size());
  std::vector<bool> seen(j.size(), false);
  for (auto& [key, value] : j.items()) {
    const int g = index_key(key, source, int(j.size()));
    if (seen[std::size_t(g)]) throw Error("{}: group {} appears twice", source, g);
    seen[std::size_t(g)] = true;
    const std::string where = "group " + key;
    if (!value.is_object() || !value.contains("frame_index"))
      throw Error("{}: {} needs a \"frame_index\": [first, last] entry", source, where);
    const json& fi = value["frame_index"];
    if (!fi.is_array() || fi.size() != 2) throw Error("{}: {} frame_index must be [first, last]", source, where);
    groups[std::size_t(g)] = {json_int(fi[0], source, where + " first frame"),
                              json_int(fi[1], source, where + " last frame")};
  }
  int next = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].first_frame != next || groups[g].last_frame < groups[g].first_frame)
      throw Error("{}: group {} covers frames {}..{}, expected to start at {}", source, g, groups[g].first_frame,
                  groups[g].last_frame, next);
    if (groups[g].last_frame >= kMaxFrames) throw Error("{}: more than {} frames", source, kMaxFrames);
    next = groups[g].last_frame + 1;
  }
  return groups;
}

std::vector<V3FrameInfo> parse_v3_min_max(std::string_view text, const std::string& source, int* sh_degree) {
  json j = parse_json(text, source);
  if (j.size() > std::size_t(kMaxFrames)) throw Error("{}: more than {} frames", source, kMaxFrames);
  std::vector<V3FrameInfo> frames(j.size());
  std::vector<bool> seen(j.size(), false);
  int degree = -2;
  for (auto& [key, value] : j.items()) {
    const int f = index_key(key, source, int(j.size()));
    if (seen[std::size_t(f)]) throw Error("{}: frame {} appears twice", source, f);
    seen[std::size_t(f)] = true;
    const std::string where = "frame " + key;
    if (!value.is_object() || !value.contains("num") || !value.contains("info"))
      throw Error("{}: {} needs \"num\" and \"info\"", source, where);
    frames[std::size_t(f)].count = std::uint32_t(json_int(value["num"], source, where + " num"));
    const json& info = value["info"];
    if (!info.is_array()) throw Error("{}: {} info must be an array of min/max values", source, where);
    const int d = V3Layout::degree_for_info_size(info.size());
    if (d < 0)
      throw Error("{}: {} info has {} values; V^3 frames have 2 x (14 + 3K) for SH degree 0..3", source, where,
                  info.size());
    if (degree != -2 && d != degree)
      throw Error("{}: {} has SH degree {}, earlier frames {}", source, where, d, degree);
    degree = d;
    auto& mm = frames[std::size_t(f)].minmax;
    mm.reserve(info.size());
    for (const json& v : info) {
      if (!v.is_number()) throw Error("{}: {} info holds a non-number", source, where);
      const double x = v.get<double>();
      if (!std::isfinite(x)) throw Error("{}: {} info holds a non-finite value", source, where);
      mm.push_back(float(x));
    }
    for (std::size_t c = 0; c + 1 < mm.size(); c += 2)
      if (mm[c] > mm[c + 1]) throw Error("{}: {} column {} has min > max", source, where, c / 2);
  }
  if (frames.empty()) throw Error("{}: lists no frames", source);
  *sh_degree = degree;
  return frames;
}

}  // namespace sc::app
