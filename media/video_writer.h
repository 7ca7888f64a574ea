#pragma once
// Encodes RGBA8 frames to H.264 in MP4 or Matroska. While recording, MP4 is
// written fragmented (a fragment per keyframe, a keyframe per second), so a
// crash loses at most about the last second.
#include <memory>
#include <string>

#include "media/frame.h"

namespace sc::media {

struct WriterOptions {
  int width = 0;
  int height = 0;
  double fps = 30;
  std::string encoder = "libx264";  // or "h264_nvenc"
  int crf = 20;                     // quality for libx264 (lower is better)
  std::string preset = "veryfast";
};

class VideoWriter {
 public:
  // Opens path for writing; the container follows the extension (.mp4, .mkv).
  // Throws sc::Error naming the file and the reason.
  VideoWriter(const std::string& path, const WriterOptions& options);
  ~VideoWriter();  // finishes the file if close() was not called
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Frames must match the size given at open; they are timed at options.fps.
  void write(const Frame& frame);
  // Flushes the encoder and writes the trailer. Safe to call twice.
  void close();

  std::int64_t frames_written() const;
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
