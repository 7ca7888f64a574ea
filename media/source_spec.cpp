#include "media/source_spec.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "base/error.h"

namespace sc::media {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

int parse_int(std::string_view text, std::string_view what, const std::string& spec) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0)
    throw Error("source '{}': {} '{}' is not a positive whole number", spec, what, text);
  return v;
}

double parse_fps(std::string_view text, const std::string& spec) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v > 0) || v > 1000)
    throw Error("source '{}': frame rate '{}' must be a number between 0 and 1000", spec, text);
  return v;
}

void parse_size(std::string_view text, SourceSpec& spec) {
  auto x = text.find('x');
  if (x == std::string_view::npos) throw Error("source '{}': size '{}' must look like 1280x720", spec.text, text);
  spec.width = parse_int(text.substr(0, x), "width", spec.text);
  spec.height = parse_int(text.substr(x + 1), "height", spec.text);
  if (spec.width > 16384 || spec.height > 16384 || spec.width % 2 || spec.height % 2)
    throw Error("source '{}': size {}x{} must be even and at most 16384 on each side", spec.text, spec.width,
                spec.height);
}

// Splits "a=1&b=2" into a map; rejects keys not in allowed.
std::map<std::string, std::string> parse_query(std::string_view q, const SourceSpec& spec,
                                               std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = item.find('=');
    std::string key(item.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "1" : std::string(item.substr(eq + 1));
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw Error("source '{}': unknown option '{}' (known: {})", spec.text, key, list);
    }
    out[key] = value;
  }
  return out;
}

}  // namespace

const char* to_string(SourceKind kind) {
  switch (kind) {
    case SourceKind::kTest:
      return "test";
    case SourceKind::kV4l2:
      return "v4l2";
    case SourceKind::kScreen:
      return "screen";
    case SourceKind::kFile:
      return "file";
  }
  return "?";
}

SourceSpec parse_source_spec(const std::string& text, Pacing default_pacing) {
  SourceSpec spec;
  spec.text = text;
  std::string_view s(text);
  if (s.empty()) throw Error("empty source: use test, v4l2:/dev/video0, screen or a file path");

  if (s == "test" || starts_with(s, "test:") || starts_with(s, "test?")) {
    spec.kind = SourceKind::kTest;
    spec.width = 1280;
    spec.height = 720;
    spec.fps = 30;
    // Like a camera, the test pattern arrives in real time unless told otherwise.
    spec.pacing = Pacing::kRealtime;
    std::string_view rest = s.substr(4);
    auto q = rest.find('?');
    std::string_view mode = rest.substr(0, q);
    if (!mode.empty()) {
      mode.remove_prefix(1);  // the ':'
      auto at = mode.find('@');
      parse_size(mode.substr(0, at), spec);
      if (at != std::string_view::npos) spec.fps = parse_fps(mode.substr(at + 1), text);
    }
    if (q != std::string_view::npos) {
      for (auto& [k, v] : parse_query(rest.substr(q + 1), spec, {"pacing"})) {
        if (v == "realtime")
          spec.pacing = Pacing::kRealtime;
        else if (v == "fast")
          spec.pacing = Pacing::kFast;
        else
          throw Error("source '{}': pacing '{}' must be realtime or fast", text, v);
      }
    }
    spec.input_format = "lavfi";
    spec.url = fmt::format("testsrc2=size={}x{}:rate={}", spec.width, spec.height, spec.fps);
    return spec;
  }
  if (starts_with(s, "v4l2:")) {
    spec.kind = SourceKind::kV4l2;
    std::string_view rest = s.substr(5);
    auto q = rest.find('?');
    spec.url = std::string(rest.substr(0, q));
    if (spec.url.empty()) throw Error("source '{}': give a device, e.g. v4l2:/dev/video0", text);
    if (q != std::string_view::npos) {
      for (auto& [k, v] : parse_query(rest.substr(q + 1), spec, {"size", "fps", "format"})) {
        if (k == "size") {
          parse_size(v, spec);
          spec.options["video_size"] = v;
        } else if (k == "fps") {
          spec.fps = parse_fps(v, text);
          spec.options["framerate"] = v;
        } else {
          if (v != "mjpeg" && v != "yuyv") throw Error("source '{}': format '{}' must be mjpeg or yuyv", text, v);
          spec.options["input_format"] = v == "yuyv" ? "yuyv422" : "mjpeg";
        }
      }
    }
    spec.input_format = "v4l2";
    spec.pacing = Pacing::kRealtime;
    return spec;
  }
  if (s == "screen" || starts_with(s, "screen:")) {
    spec.kind = SourceKind::kScreen;
    std::string display = s.size() > 7 ? std::string(s.substr(7)) : "";
    if (display.empty()) {
      const char* env = std::getenv("DISPLAY");
      display = env && *env ? env : ":0";
    }
    spec.url = display;
    spec.input_format = "x11grab";
    spec.options["framerate"] = "30";
    spec.fps = 30;
    spec.pacing = Pacing::kRealtime;
    return spec;
  }
  spec.kind = SourceKind::kFile;
  std::string_view path = starts_with(s, "file:") ? s.substr(5) : s;
  spec.pacing = default_pacing;
  auto q = path.find('?');
  if (q != std::string_view::npos && starts_with(s, "file:")) {
    for (auto& [k, v] : parse_query(path.substr(q + 1), spec, {"loop", "pacing"})) {
      if (k == "loop") {
        spec.loop = v == "1" || v == "true" || v == "yes";
      } else if (v == "realtime") {
        spec.pacing = Pacing::kRealtime;
      } else if (v == "fast") {
        spec.pacing = Pacing::kFast;
      } else {
        throw Error("source '{}': pacing '{}' must be realtime or fast", text, v);
      }
    }
    path = path.substr(0, q);
  }
  if (path.empty()) throw Error("source '{}': give a file path, e.g. file:clip.mp4", text);
  spec.url = std::string(path);
  return spec;
}

}  // namespace sc::media
