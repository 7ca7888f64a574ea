#pragma once
// The live studio without Qt. Its streams, each item with a stream time and a
// steady-clock capture time:
//   video: source thread -> latest-wins queue -> worker (the active mode)
//          -> latest output for the viewport, and the recorder
//   audio: audio thread (microphone, tone, a file's track) -> the recorder,
//          or -> queue -> worker when the mode consumes audio
//   text:  send_text() (questions, prompts) -> worker -> the mode's answers
//          and status lines -> take_text()
// The GUI polls latest() once per displayed frame; nothing here blocks it.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/session/mode.h"
#include "app/session/metrics.h"
#include "base/bounded_queue.h"
#include "media/audio.h"
#include "media/frame.h"
#include "media/recorder.h"
#include "media/source.h"

namespace sc::media {
class Scaler;
}

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
  std::string mode = "passthrough";  // the active Mode's name
  std::string audio;                 // the audio source, "" when none
  std::uint64_t audio_gaps = 0;      // gaps in the audio the mode took (it fell behind): filled with silence
  bool running = false;
};

// How many frames a live recording may queue while its encoder catches up.
std::size_t live_record_queue_frames(int width, int height, double fps);

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

  // Starts (or switches to) an audio source beside the video: mic,
  // pulse[:SRC], alsa[:DEV], tone[:HZ] or a file (media/audio.h). Files and
  // the tone are paced to real time. Throws sc::Error when it cannot open.
  void start_audio(const std::string& source);
  void stop_audio();
  // The session's audio format: what modes receive and must produce.
  static constexpr media::AudioFormat kAudioFormat{48000, 1};

  // The active mode, from the next item on (nullptr: passthrough). Any
  // thread. A mode that throws is reported and dropped (passthrough).
  void set_mode(std::shared_ptr<Mode> mode);
  std::shared_ptr<Mode> mode() const;

  // A question or prompt for the active mode (any thread); stamped with the
  // newest frame's stream time and now when those are left empty. Ignored
  // (and reported) when the mode takes no text.
  void send_text(TextEvent event);
  // What the mode said since the last call (answers, status), in order.
  std::vector<TextEvent> take_text();

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
  class Output;
  void worker_loop();
  void audio_loop(std::shared_ptr<media::AudioReader> reader, bool paced, std::string name);
  void report(const std::string& error);
  void drop_mode(const std::shared_ptr<Mode>& mode, const std::exception& e);
  // Sinks, on the worker thread (video, text) or the audio thread (audio).
  void show_and_record(media::Frame input, media::Frame output, media::Scaler& scaler);
  void record_audio(media::AudioChunk chunk);
  // stop_recording's first step, with recorder_mutex_ held (released while it waits).
  void align_audio_end(std::unique_lock<std::mutex>& lock);

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

  mutable std::mutex mode_mutex_;
  std::shared_ptr<Mode> mode_;

  // Audio: its own thread; into the worker only when the mode consumes it.
  std::shared_ptr<media::AudioReader> audio_reader_;
  std::thread audio_thread_;
  std::atomic<bool> stop_audio_{false};
  std::string audio_name_;                                                      // guarded by recorder_mutex_
  BoundedQueue<media::AudioChunk> audio_queue_{256, QueuePolicy::kLatestWins};  // ~5 s of 20 ms chunks
  std::atomic<std::uint64_t> audio_gaps_{0};
  // The recording's video has started at this capture time (audio before it is not recorded).
  std::chrono::steady_clock::time_point record_video_start_{};
  bool record_has_audio_ = false;
  // Where the take's tracks end, on the capture clock from the first picture
  // (the clock the writer places the audio on; guarded by recorder_mutex_):
  // the last picture, the audio's start and samples. At stop the audio is
  // brought to the last picture's end (stop_recording).
  double record_fps_ = 30;
  std::int64_t record_last_picture_us_ = -1;
  std::int64_t record_audio_start_us_ = -1, record_audio_samples_ = 0;
  std::int64_t record_stop_us_ = -1;  // >= 0 while stopping: no picture after it, no audio past it

  BoundedQueue<TextEvent> text_in_{64, QueuePolicy::kBlocking};
  mutable std::mutex text_mutex_;
  std::vector<TextEvent> text_out_;
  std::atomic<std::int64_t> newest_pts_us_{0};

  mutable std::mutex errors_mutex_;
  std::vector<std::string> errors_;

  StageMeter capture_{"capture"}, process_{"process"}, display_{"display"}, record_{"record"}, audio_{"audio"};
  Smoothed latency_ms_;
  std::string source_name_;
};

}  // namespace sc::app
