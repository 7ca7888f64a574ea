#include "app/session/doctor.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/environment.h"
#include "engine/device.h"
#include "media/ffmpeg_info.h"
#include "render/context.h"
#include "sc/version.h"

namespace sc::app {
namespace {

const char* mark(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok  ";
    case Status::kWarn:
      return "warn";
    case Status::kMissing:
      return "no  ";
  }
  return "?";
}

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kWarn:
      return "warn";
    case Status::kMissing:
      return "missing";
  }
  return "?";
}

DoctorSection build_section() {
  DoctorSection s{"Build", {}};
  s.items.push_back({Status::kOk, "version", fmt::format("{} ({})", kVersion, kGitRevision)});
  s.items.push_back({kBuiltWithCuda ? Status::kOk : Status::kWarn, "CUDA backend",
                     kBuiltWithCuda ? "compiled in" : "not compiled (nvcc was not found when this was built)"});
  return s;
}

DoctorSection cuda_section(bool* usable) {
  DoctorSection s{"CUDA", {}};
  engine::CudaReport r = engine::probe_cuda();
  *usable = r.usable;
  if (!r.compiled) {
    s.items.push_back({Status::kWarn, "devices", r.error + "; the CPU path is used"});
    return s;
  }
  s.items.push_back(
      {Status::kOk, "runtime", fmt::format("{}.{}", r.runtime_version / 1000, r.runtime_version % 1000 / 10)});
  s.items.push_back({r.driver_version ? Status::kOk : Status::kWarn, "driver",
                     r.driver_version ? fmt::format("{}.{}", r.driver_version / 1000, r.driver_version % 1000 / 10)
                                      : "no NVIDIA driver loaded"});
  if (!r.usable) {
    s.items.push_back({Status::kWarn, "devices", fmt::format("none usable: {}; the CPU path is used", r.error)});
  }
  for (auto& d : r.devices)
    s.items.push_back({Status::kOk, fmt::format("device {}", d.index),
                       fmt::format("{} (sm_{}{}, {:.1f} GiB, {} SMs)", d.name, d.compute_major, d.compute_minor,
                                   d.memory_bytes / double(1ull << 30), d.multiprocessors)});
  return s;
}

DoctorSection vulkan_section(bool* usable) {
  DoctorSection s{"Vulkan", {}};
  render::DeviceList list = render::enumerate_vulkan_devices();
  *usable = !list.devices.empty();
  if (!*usable) s.items.push_back({Status::kMissing, "devices", list.error});
  int i = 0;
  for (auto& d : list.devices)
    s.items.push_back({Status::kOk, fmt::format("device {}", i++),
                       fmt::format("{} ({}, Vulkan {}, {})", d.name, d.type, d.api_version, d.driver)});
  return s;
}

DoctorSection ffmpeg_section(bool* headless_ok) {
  DoctorSection s{"FFmpeg", {}};
  media::FfmpegInfo info = media::query_ffmpeg();
  for (auto& [name, version] : info.libraries) s.items.push_back({Status::kOk, name, version});
  bool has_x264 = false, has_lavfi = false;
  for (auto& f : info.features) {
    // Hardware codecs and optional devices are warnings, not failures.
    bool essential = f.name == "libx264" || f.name == "lavfi" || f.name == "h264";
    Status st = f.present ? Status::kOk : essential ? Status::kMissing : Status::kWarn;
    s.items.push_back({st, fmt::format("{} {}", f.kind, f.name), f.present ? f.note : "absent: " + f.note});
    if (f.name == "libx264") has_x264 = f.present;
    if (f.name == "lavfi") has_lavfi = f.present;
  }
  *headless_ok = has_x264 && has_lavfi;
  return s;
}

DoctorSection display_section(bool* ok, std::string* why) {
  DoctorSection s{"Display and Qt", {}};
  DisplayInfo d = probe_display();
  *ok = d.available;
  if (d.available) {
    s.items.push_back({Status::kOk, "display", fmt::format("{} {}", d.kind, d.name)});
  } else {
    *why = d.reason;
    s.items.push_back(
        {Status::kWarn, "display",
         d.reason + " (the GUI needs one; `xvfb-run streamcanvas` gives a virtual one; the CLI does not)"});
  }
#if defined(SC_HAVE_GUI)
  namespace fs = std::filesystem;
  std::string plugins;
  bool has_xcb = false;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(fs::path(SC_QT_PLUGIN_DIR) / "platforms", ec)) {
    std::string n = e.path().stem().string();  // libqxcb
    if (n.rfind("libq", 0) == 0) n = n.substr(4);
    plugins += (plugins.empty() ? "" : " ") + n;
    has_xcb = has_xcb || n == "xcb";
  }
  if (plugins.empty()) {
    s.items.push_back({Status::kMissing, "Qt platform plugins",
                       fmt::format("none in {}/platforms (apt-get install qt6-qpa-plugins)", SC_QT_PLUGIN_DIR)});
    *ok = false;
    *why = "Qt has no platform plugins (apt-get install qt6-qpa-plugins)";
  } else {
    s.items.push_back({has_xcb ? Status::kOk : Status::kWarn, "Qt platform plugins", plugins});
  }
#else
  s.items.push_back({Status::kWarn, "Qt GUI", "not built (SC_BUILD_GUI=OFF)"});
  *ok = false;
  *why = "this build has no GUI";
#endif
  return s;
}

}  // namespace

DoctorReport run_doctor() {
  DoctorReport r;
  bool cuda_ok = false, vulkan_ok = false, ffmpeg_ok = false, display_ok = false;
  std::string display_why;
  r.sections.push_back(build_section());
  r.sections.push_back(cuda_section(&cuda_ok));
  r.sections.push_back(vulkan_section(&vulkan_ok));
  r.sections.push_back(ffmpeg_section(&ffmpeg_ok));
  r.sections.push_back(display_section(&display_ok, &display_why));
  r.headless_ready = ffmpeg_ok;
  r.gui_ready = display_ok && vulkan_ok;
  if (!vulkan_ok)
    r.gui_reason = "no Vulkan device: install mesa-vulkan-drivers (software) or the NVIDIA driver";
  else if (!display_ok)
    r.gui_reason = display_why;

  DoctorSection verdict{"Summary", {}};
  verdict.items.push_back({cuda_ok ? Status::kOk : Status::kWarn, "compute path",
                           cuda_ok ? "CUDA (GPU)" : "CPU (no usable GPU; models run slowly)"});
  verdict.items.push_back({r.headless_ready ? Status::kOk : Status::kMissing, "headless (streamcanvas-cli)",
                           r.headless_ready ? "ready" : "not ready: FFmpeg lacks libx264 or lavfi"});
  verdict.items.push_back({r.gui_ready ? Status::kOk : Status::kWarn, "GUI (streamcanvas)",
                           r.gui_ready ? "ready" : "not ready: " + r.gui_reason});
  r.sections.push_back(verdict);
  return r;
}

std::string DoctorReport::to_text() const {
  std::string out;
  for (auto& s : sections) {
    out += s.title + "\n";
    for (auto& i : s.items) out += fmt::format("  [{}] {:<28} {}\n", mark(i.status), i.label, i.detail);
  }
  return out;
}

std::string DoctorReport::to_json() const {
  nlohmann::json j;
  j["headless_ready"] = headless_ready;
  j["gui_ready"] = gui_ready;
  j["gui_reason"] = gui_reason;
  for (auto& s : sections) {
    nlohmann::json items = nlohmann::json::array();
    for (auto& i : s.items)
      items.push_back({{"status", status_name(i.status)}, {"label", i.label}, {"detail", i.detail}});
    j["sections"].push_back({{"title", s.title}, {"items", items}});
  }
  return j.dump(2);
}

}  // namespace sc::app
