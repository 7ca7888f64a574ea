#include "app/modes/volumetric/camera_path.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.h"

namespace sc::app {
namespace {

std::array<float, 3> vec3_of(const nlohmann::json& j, const std::string& source, const std::string& what) {
  if (!j.is_array() || j.size() != 3) throw Error("{}: {} must be [x, y, z]", source, what);
  std::array<float, 3> v{};
  for (int i = 0; i < 3; ++i) {
    if (!j[i].is_number()) throw Error("{}: {} must hold numbers", source, what);
    v[i] = j[i].get<float>();
    if (!std::isfinite(v[i])) throw Error("{}: {} holds a non-finite number", source, what);
  }
  return v;
}

}  // namespace

CameraPath CameraPath::parse(std::string_view text, const std::string& source) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("{}: not a JSON object", source);
  CameraPath p;
  if (j.contains("fov_y_degrees")) {
    if (!j["fov_y_degrees"].is_number()) throw Error("{}: fov_y_degrees must be a number", source);
    p.fov_y_degrees = j["fov_y_degrees"].get<float>();
    if (!(p.fov_y_degrees > 1 && p.fov_y_degrees < 179)) throw Error("{}: fov_y_degrees must be 1..179", source);
  }
  if (j.contains("up")) p.up = vec3_of(j["up"], source, "up");
  if (!j.contains("keys") || !j["keys"].is_array() || j["keys"].empty())
    throw Error("{}: needs \"keys\": [{{\"frame\": 0, \"eye\": [x,y,z], \"target\": [x,y,z]}}, ...]", source);
  for (const auto& k : j["keys"]) {
    if (!k.is_object() || !k.contains("eye") || !k.contains("target"))
      throw Error("{}: every key needs \"eye\" and \"target\"", source);
    Key key;
    if (k.contains("frame")) {
      if (!k["frame"].is_number()) throw Error("{}: a key's frame must be a number", source);
      key.frame = k["frame"].get<double>();
    }
    key.eye = vec3_of(k["eye"], source, "eye");
    key.target = vec3_of(k["target"], source, "target");
    if (!p.keys.empty() && !(key.frame > p.keys.back().frame)) throw Error("{}: key frames must increase", source);
    p.keys.push_back(key);
  }
  return p;
}

CameraPath CameraPath::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("{}: cannot open the camera path", path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return parse(s.str(), path.string());
}

render::SplatCamera CameraPath::camera(double frame, std::uint32_t width, std::uint32_t height) const {
  std::size_t i = 0;
  while (i + 1 < keys.size() && keys[i + 1].frame <= frame) ++i;
  const Key& a = keys[i];
  const Key& b = keys[std::min(i + 1, keys.size() - 1)];
  const double span = b.frame - a.frame;
  const float t = span > 0 ? float(std::clamp((frame - a.frame) / span, 0.0, 1.0)) : 0.0f;
  std::array<float, 3> eye{}, target{};
  for (int k = 0; k < 3; ++k) {
    eye[k] = a.eye[k] + t * (b.eye[k] - a.eye[k]);
    target[k] = a.target[k] + t * (b.target[k] - a.target[k]);
  }
  return render::look_at_camera(eye, target, up, fov_y_degrees, width, height);
}

}  // namespace sc::app
