#pragma once
// Opens any source FFmpeg can demux (lavfi test pattern, v4l2, x11grab, files,
// pipes) and delivers decoded frames converted to RGBA8. With CUDA available,
// decoding uses NVDEC (hwaccel cuda) and falls back to software by itself.
#include <memory>
#include <string>

#include "media/frame.h"
#include "media/source_spec.h"

namespace sc::media {

struct StreamInfo {
  int width = 0;  // of the delivered frames
  int height = 0;
  double fps = 0;                // 0 when unknown
  std::int64_t frame_count = 0;  // 0 when unknown (live sources)
  double duration_s = 0;         // 0 when unknown
  std::string codec;
  bool hardware_decode = false;  // NVDEC in use
  std::string decoder;           // e.g. "h264 (software)" or "h264 (NVDEC)"
  bool has_audio = false;
};

struct ReaderOptions {
  int width = 0;  // scale the output to this size; 0 = the source's own
  int height = 0;
  bool hardware_decode = true;  // try NVDEC first (SC_NO_HWDEC=1 turns it off)
  // Deliver the luma plane untouched as kGray8 (no colour conversion, no
  // scaling): for data stored in video, such as V^3 attribute images.
  bool luma_only = false;
};

class VideoReader {
 public:
  // Throws sc::Error naming the source and the reason when it cannot be opened.
  explicit VideoReader(const SourceSpec& spec, const ReaderOptions& options = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const StreamInfo& info() const;
  const SourceSpec& spec() const;

  // Decodes the next frame into out (RGBA8; reused when not shared). Returns
  // false at the end of a non-looping source. Honours realtime pacing. Throws
  // sc::Error when the source fails mid-stream.
  bool read(Frame& out);

  // Files: positions so the next read() returns the first frame at or after
  // seconds. Returns false when the source cannot seek (live sources, pipes).
  bool seek(double seconds);

  // Asks a blocked read() to give up soon (from another thread).
  void interrupt();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
