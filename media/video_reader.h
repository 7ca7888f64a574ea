#pragma once
// Opens any source FFmpeg can demux (lavfi test pattern, v4l2, x11grab, files)
// and delivers decoded frames converted to RGBA8.
#include <memory>
#include <string>

#include "media/frame.h"
#include "media/source_spec.h"

namespace sc::media {

struct StreamInfo {
  int width = 0;
  int height = 0;
  double fps = 0;                // 0 when unknown
  std::int64_t frame_count = 0;  // 0 when unknown (live sources)
  double duration_s = 0;         // 0 when unknown
  std::string codec;
};

class VideoReader {
 public:
  // Throws sc::Error naming the source and the reason when it cannot be opened.
  explicit VideoReader(const SourceSpec& spec);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const StreamInfo& info() const;

  // Decodes the next frame into out (RGBA8, allocated on first use). Returns
  // false at the end of a non-looping source. Honours realtime pacing.
  bool read(Frame& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
