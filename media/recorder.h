#pragma once
// Records on its own thread so the live pipeline never waits for the encoder:
// push() hands a frame over and returns. When the encoder falls behind, the
// queue drops the oldest frame and counts it (live), or push() waits (offline
// renders, where every frame must land). Audio is never dropped.
#include <cstdint>
#include <memory>
#include <string>

#include "media/audio.h"
#include "media/frame.h"
#include "media/video_writer.h"

namespace sc::media {

struct RecorderOptions {
  std::size_t queue_frames = 8;  // about a quarter second at 30 fps
  bool live = true;              // drop when behind (true) or wait (false)
};

struct RecorderStats {
  WriterStats written;
  std::uint64_t dropped = 0;  // frames the encoder could not keep up with
  std::size_t queued = 0;
  std::string error;  // set once a write failed; recording has stopped
  std::string encoder;
};

class Recorder {
 public:
  // Opens the file (throws sc::Error like VideoWriter) and starts the thread.
  Recorder(const std::string& path, const WriterOptions& writer, const RecorderOptions& options = {});
  ~Recorder();  // stop(), logging instead of throwing
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // False once the recording failed or stopped (the frame is not recorded).
  bool push(Frame frame);
  bool push_audio(AudioChunk chunk);

  RecorderStats stats() const;

  // Writes what is queued, finishes the file and joins the thread. Throws the
  // recording's failure, if any (the file keeps what was written before it).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
