#pragma once
// The live studio without Qt: source thread -> latest-wins queue -> worker
// thread (the active mode) -> latest output for the viewport, and the recorder.
// The GUI polls latest() once per displayed frame; nothing here blocks it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/session/frame_processor.h"
#include "app/session/metrics.h"
#include "base/bounded_queue.h"
#include "media/frame.h"
#include "media/recorder.h"
#include "media/source.h"

namespace sc::app {

struct DisplayFrames {
  media::Frame input;
  media::Frame output;
  std::uint64_t seq = 0;  // increases with every new output
};

struct RecordSettings {
  std::string path;  // .mp4 or .mkv
  int quality = 20;  // crf 0..51
  std::string encoder = "auto";
};

struct RecordingStatus {
  bool active = false;
  std::string path;
  double seconds = 0;
  std::int64_t bytes = 0;
  std::int64_t frames = 0;
  std::uint64_t dropped = 0;
};

struct SessionStats {
  std::vector<std::pair<std::string, std::pair<double, double>>> stages;  // name, (fps, ms)
  std::vector<std::pair<std::string, std::size_t>> queues;
  std::uint64_t dropped = 0;  // live frames the worker could not keep up with
  double latency_ms = 0;      // capture -> display
  std::string source;
  std::string decoder;
  std::string mode = "passthrough";  // the active FrameProcessor's name
  bool running = false;
};

class LiveSession {
 public:
  LiveSession();
  ~LiveSession();  // stops everything, finishing any recording
  LiveSession(const LiveSession&) = delete;
  LiveSession& operator=(const LiveSession&) = delete;

  // Starts (or switches to) a source; throws sc::Error when it cannot open.
  void start(const std::string& source);
  void stop();
  bool running() const;

  // The active mode, from the next frame on (nullptr: passthrough). Any
  // thread. A processor that throws is reported and dropped (passthrough).
  void set_processor(std::shared_ptr<FrameProcessor> processor);
  std::shared_ptr<FrameProcessor> processor() const;

  // Newest frames, when newer than *seq (updated). False when nothing new.
  bool latest(DisplayFrames& out, std::uint64_t* seq);
  // The viewport reports each presented frame, for latency and display fps.
  void displayed(const media::Frame& frame);

  // Records the output from now on; throws sc::Error when the file cannot open.
  void start_recording(const RecordSettings& settings);
  // Finishes the file; returns its final status. Throws the recording's error.
  RecordingStatus stop_recording();
  RecordingStatus recording() const;

  SessionStats stats() const;
  // Errors raised on the session's threads since the last call, for the UI.
  std::vector<std::string> take_errors();

 private:
  void worker_loop();
  void report(const std::string& error);

  std::unique_ptr<BoundedQueue<media::Frame>> input_queue_;
  std::unique_ptr<media::SourceThread> source_;
  std::thread worker_;
  std::atomic<bool> stop_worker_{false};

  mutable std::mutex latest_mutex_;
  DisplayFrames latest_;

  mutable std::mutex recorder_mutex_;
  std::unique_ptr<media::Recorder> recorder_;
  RecordSettings record_settings_;
  std::pair<int, int> record_size_{0, 0};

  mutable std::mutex processor_mutex_;
  std::shared_ptr<FrameProcessor> processor_;

  mutable std::mutex errors_mutex_;
  std::vector<std::string> errors_;

  StageMeter capture_{"capture"}, process_{"process"}, display_{"display"}, record_{"record"};
  Smoothed latency_ms_;
  std::string source_name_;
};

}  // namespace sc::app
