#pragma once
// `streamcanvas-cli doctor`: what this machine offers for each part of the
// studio, and why not where something is missing.
#include <string>
#include <vector>

namespace sc::app {

enum class Status { kOk, kWarn, kMissing };

struct DoctorItem {
  Status status = Status::kOk;
  std::string label;
  std::string detail;
};

struct DoctorSection {
  std::string title;
  std::vector<DoctorItem> items;
};

struct DoctorReport {
  std::vector<DoctorSection> sections;
  bool headless_ready = false;  // the CLI can render and record
  bool gui_ready = false;       // the GUI can open its window and viewport
  std::string gui_reason;       // what to do when !gui_ready

  bool can_run() const { return headless_ready; }
  std::string to_text() const;
  std::string to_json() const;
};

DoctorReport run_doctor();

}  // namespace sc::app
