#pragma once
// Source -> recorder, the headless studio's basic job (`streamcanvas-cli record`
// and `transcode`). Live sources are recorded in real time through a
// latest-wins queue (drops are counted and reported); files are rendered
// frame-exact as fast as the encoder goes.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "app/session/cli_support.h"

namespace sc::app {

struct RecordOptions {
  std::string source = "test";
  std::string output;  // .mp4 or .mkv
  std::string audio;   // audio source spec; "" = none, "same" = the source file's track, "auto" = same if it has one
  std::int64_t max_frames = 0;   // 0 = no limit
  double max_seconds = 0;        // 0 = no limit (live sources then run until cancelled)
  int width = 0, height = 0;     // 0 = the source's size
  double fps = 0;                // 0 = the source's rate
  std::string encoder = "auto";  // auto (NVENC when it works, else libx264), libx264, h264_nvenc
  int crf = 20;
};

// Progress as the CLI's progress line shows it.
using RecordProgress = cli::Progress;

struct RecordResult {
  std::int64_t frames = 0;
  std::uint64_t dropped = 0;
  double elapsed_s = 0;
  double duration_s = 0;  // of the video
  int width = 0, height = 0;
  double fps = 0;
  std::int64_t bytes = 0;
  bool cancelled = false;
  std::string decoder, encoder, output, source_end;
};

// Runs to completion, or until *cancel becomes true (the file is finished
// either way). Throws sc::Error on failure; what was recorded stays readable.
RecordResult run_record(const RecordOptions& options, const std::function<void(const RecordProgress&)>& progress,
                        const std::atomic<bool>* cancel = nullptr);

}  // namespace sc::app
