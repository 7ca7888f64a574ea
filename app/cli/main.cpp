// streamcanvas-cli: the headless studio. Git-style subcommands; every capability
// of the GUI is scriptable from here.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "app/session/doctor.h"
#include "app/session/headless_run.h"
#include "base/error.h"
#include "base/log.h"
#include "engine/device.h"
#include "sc/version.h"

namespace {

constexpr int kUsageError = 2;

std::string version_line() {
  return fmt::format("streamcanvas-cli {} ({}, CUDA {})", sc::kVersion, sc::kGitRevision,
                     sc::kBuiltWithCuda ? "compiled in" : "not compiled");
}

// A one-line progress display on a terminal; nothing when stderr is a file.
class ProgressLine {
 public:
  ProgressLine() : tty_(isatty(fileno(stderr))) {}
  void update(const sc::app::HeadlessProgress& p) {
    if (!tty_) return;
    std::string eta;
    if (p.total_frames > 0 && p.fps > 0) eta = fmt::format(", ETA {:.1f}s", (p.total_frames - p.frames) / p.fps);
    std::string total = p.total_frames > 0 ? fmt::format("/{}", p.total_frames) : "";
    fmt::print(stderr, "\r  frame {}{}  {:.1f} fps  {:.1f}s{}   ", p.frames, total, p.fps, p.elapsed_s, eta);
    std::fflush(stderr);
    shown_ = true;
  }
  void finish() {
    if (shown_) fmt::print(stderr, "\n");
  }

 private:
  bool tty_;
  bool shown_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"StreamCanvas headless studio: render, record and inspect without a window.", "streamcanvas-cli"};
  app.set_version_flag("--version", version_line());
  app.require_subcommand(0, 1);
  app.footer("Run `streamcanvas-cli COMMAND --help` for a command's options.");

  bool json = false;
  auto* doctor = app.add_subcommand("doctor", "Report what this machine offers (GPU, Vulkan, FFmpeg, display)");
  doctor->add_flag("--json", json, "Print the report as JSON");

  sc::app::HeadlessOptions run_opt;
  run_opt.output = "streamcanvas-out.mp4";
  auto* run = app.add_subcommand("run", "Render a source to a video file (the studio's headless default)");
  run->add_option("--source,-s", run_opt.source, "Source: test, test:WxH@FPS, v4l2:/dev/videoN, screen, or a file")
      ->capture_default_str();
  run->add_option("--output,-o", run_opt.output, "Output video (.mp4 or .mkv)")->capture_default_str();
  run->add_option("--frames,-n", run_opt.max_frames, "Stop after N frames")->check(CLI::PositiveNumber);
  run->add_option("--duration,-d", run_opt.max_seconds, "Stop after SECONDS of source time")
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line that says what is wrong, then the usage, exit 2.
    std::string msg = e.what();
    fmt::print(stderr, "streamcanvas-cli: error: {}\n\n", msg);
    const CLI::App* failing = &app;
    for (const CLI::App* sub : app.get_subcommands())
      if (sub->parsed()) failing = sub;
    std::cerr << failing->help();
    return kUsageError;
  }

  try {
    if (doctor->parsed()) {
      sc::app::DoctorReport report = sc::app::run_doctor();
      if (json)
        fmt::print("{}\n", report.to_json());
      else
        fmt::print("{}\n{}", version_line(), report.to_text());
      return report.can_run() ? 0 : 1;
    }
    if (run->parsed()) {
      sc::engine::compute_path();  // says once which path this machine uses
      ProgressLine line;
      auto result = sc::app::run_headless(run_opt, [&](const sc::app::HeadlessProgress& p) { line.update(p); });
      line.finish();
      fmt::print("wrote {} frames ({}x{} @ {:.2f} fps) to {} in {:.2f}s\n", result.frames, result.width, result.height,
                 result.fps, result.output, result.elapsed_s);
      return 0;
    }
    fmt::print(stderr, "streamcanvas-cli: error: no command given\n\n");
    std::cerr << app.help();
    return kUsageError;
  } catch (const sc::Error& e) {
    fmt::print(stderr, "streamcanvas-cli: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "streamcanvas-cli: internal error: {}\n", e.what());
    return 1;
  }
}
