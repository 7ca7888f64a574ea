#pragma once
// A source running on its own thread: it opens the reader there, stamps each
// frame with its capture time and hands it to the sink. The sink decides the
// queueing policy (the session uses latest-wins queues for live sources and
// blocking ones for files).
#include <functional>
#include <memory>
#include <string>

#include "media/frame.h"
#include "media/source_spec.h"
#include "media/video_reader.h"

namespace sc::media {

enum class SourceEnd {
  kRunning,   // not ended yet
  kFinished,  // the source ran out (end of file, pipe closed, frame limit)
  kStopped,   // stop() was called
  kFailed,    // an error; see message
};

struct SourceStatus {
  SourceEnd end = SourceEnd::kRunning;
  std::string message;  // why it ended, in words
  std::int64_t frames = 0;
};

class SourceThread {
 public:
  // Returns false to stop the source (e.g. the consumer is gone).
  using Sink = std::function<bool(Frame&&)>;

  // Opens the source synchronously (so open errors throw sc::Error here),
  // then starts delivering frames on its own thread. max_frames 0 = no limit.
  SourceThread(const SourceSpec& spec, Sink sink, const ReaderOptions& options = {}, std::int64_t max_frames = 0);
  ~SourceThread();  // stop()
  SourceThread(const SourceThread&) = delete;
  SourceThread& operator=(const SourceThread&) = delete;

  const StreamInfo& info() const;
  void stop();          // asks the thread to end and joins it
  SourceStatus wait();  // joins; returns how it ended
  SourceStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
