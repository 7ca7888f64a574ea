#pragma once
// What every command-line job shares: Ctrl-C that finishes the file, a
// one-line progress display, and the parsing of sizes. Qt-free; used by the
// CLI's own commands and by the modes' subcommands.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace sc::app::cli {

constexpr int kUsageError = 2;

// Installs the SIGINT / SIGTERM handler: the first press sets the flag (the
// job stops and keeps its file), the second quits at once.
void catch_interrupts();
const std::atomic<bool>* cancel_flag();
bool cancelled();

std::string human_bytes(std::int64_t bytes);

// "1280x720" -> 1280, 720; false when it is not a size (1..16384 each).
bool parse_size(const std::string& text, int* width, int* height);

struct Progress {
  std::int64_t frames = 0;
  std::int64_t total_frames = 0;  // 0 when unknown
  double elapsed_s = 0;
  double fps = 0;
  std::uint64_t dropped = 0;
  std::int64_t bytes = 0;
};

// A one-line progress display on a terminal; nothing when stderr is a file.
class ProgressLine {
 public:
  ProgressLine();
  void update(const Progress& p);
  // The same for a job counting frames since `start`.
  void update_frames(std::int64_t frames, std::int64_t total, std::chrono::steady_clock::time_point start,
                     std::int64_t bytes = 0);
  void finish();

 private:
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace sc::app::cli
