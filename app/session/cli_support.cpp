#include "app/session/cli_support.h"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace sc::app::cli {
namespace {

std::atomic<bool> g_cancel{false};

void on_interrupt(int) {
  // First Ctrl-C: stop and finish the file. Second: the default (quit now).
  g_cancel = true;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

void catch_interrupts() {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
}

const std::atomic<bool>* cancel_flag() { return &g_cancel; }
bool cancelled() { return g_cancel; }

std::string human_bytes(std::int64_t b) {
  if (b >= (1 << 30)) return fmt::format("{:.2f} GiB", b / double(1 << 30));
  if (b >= (1 << 20)) return fmt::format("{:.1f} MiB", b / double(1 << 20));
  return fmt::format("{:.0f} KiB", b / 1024.0);
}

bool parse_size(const std::string& text, int* w, int* h) {
  return std::sscanf(text.c_str(), "%dx%d", w, h) == 2 && *w > 0 && *h > 0 && *w <= 16384 && *h <= 16384;
}

ProgressLine::ProgressLine() : tty_(isatty(fileno(stderr))) {}

void ProgressLine::update(const Progress& p) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::string total = p.total_frames > 0 ? fmt::format("/{}", p.total_frames) : "";
  std::string eta;
  if (p.total_frames > 0 && p.fps > 0) eta = fmt::format("  ETA {:.1f}s", (p.total_frames - p.frames) / p.fps);
  std::string drops = p.dropped ? fmt::format("  dropped {}", p.dropped) : "";
  fmt::print(stderr, "\r  frame {}{}  {:.1f} fps  {:.1f}s{}  {}{}   ", p.frames, total, p.fps, p.elapsed_s, eta,
             human_bytes(p.bytes), drops);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::update_frames(std::int64_t frames, std::int64_t total, std::chrono::steady_clock::time_point start,
                                 std::int64_t bytes) {
  Progress p;
  p.frames = frames;
  p.total_frames = total;
  p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  p.fps = p.elapsed_s > 0 ? double(frames) / p.elapsed_s : 0;
  p.bytes = bytes;
  update(p);
}

void ProgressLine::finish() {
  if (shown_) fmt::print(stderr, "\n");
}

}  // namespace sc::app::cli
