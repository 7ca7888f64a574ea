#pragma once
// The headless equivalent of the studio: source -> (queue) -> recorder, with
// progress. Later modes put a worker between the two queues.
#include <cstdint>
#include <functional>
#include <string>

namespace sc::app {

struct HeadlessOptions {
  std::string source = "test";
  std::string output;           // .mp4 or .mkv
  std::int64_t max_frames = 0;  // 0 = until the source ends (required for live sources)
  double max_seconds = 0;       // source time; 0 = no limit
};

struct HeadlessProgress {
  std::int64_t frames = 0;
  std::int64_t total_frames = 0;  // 0 when unknown
  double elapsed_s = 0;
  double fps = 0;
};

struct HeadlessResult {
  std::int64_t frames = 0;
  double elapsed_s = 0;
  int width = 0, height = 0;
  double fps = 0;  // the output's frame rate
  std::string output;
};

// Runs to completion; throws sc::Error on failure (what is recorded so far is
// kept: the file is finished before the error propagates).
HeadlessResult run_headless(const HeadlessOptions& options,
                            const std::function<void(const HeadlessProgress&)>& progress);

}  // namespace sc::app
