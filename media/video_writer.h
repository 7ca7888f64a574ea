#pragma once
// Encodes RGBA8 frames to H.264 (and optional audio to AAC or Opus) in MP4 or
// Matroska, written so that a crash loses at most about a second:
// - while recording, MP4 is fragmented (a fragment per keyframe, a keyframe per
//   second) and every finished fragment is flushed and fdatasync'ed;
// - close() turns the file into a normal fast-start MP4 with an index (a remux,
//   no re-encode) and atomically replaces the fragmented one. If that fails,
//   the fragmented file stays, still playable.
#include <cstdint>
#include <memory>
#include <string>

#include "media/audio.h"
#include "media/frame.h"

namespace sc::media {

enum class FrameTiming {
  kIndex,     // frame i is shown at i / fps (offline renders, transcodes)
  kFramePts,  // from Frame::pts_us relative to the first frame (live; gaps stay gaps)
};

struct WriterOptions {
  int width = 0;
  int height = 0;
  double fps = 30;
  std::string encoder = "libx264";  // or "h264_nvenc"; "auto" = NVENC when it opens, else libx264
  int crf = 20;                     // quality (lower is better): libx264 crf / NVENC cq
  std::string preset = "veryfast";  // libx264 preset
  FrameTiming timing = FrameTiming::kIndex;
  int audio_sample_rate = 0;  // 0 = no audio track
  int audio_channels = 1;
  std::string audio_encoder = "aac";  // or "libopus"
  bool finalize_faststart = true;     // MP4 only: remux to fast-start on close()
  // Data streams (V^3 attributes): kGray8 frames, stored in the luma plane of
  // full-range 4:4:4 H.264 (chroma 128) at a constant quantiser; qp 0 is
  // lossless. qp < 0 keeps the usual RGBA/CRF path.
  int qp = -1;
  // Data streams decode much faster with CAVLC entropy coding (at ~12% more
  // bits), and deblocking only blurs values that are not a picture.
  bool cavlc = false;
  bool deblock = true;
};

struct WriterStats {
  std::int64_t frames = 0;
  std::int64_t audio_samples = 0;
  std::int64_t bytes = 0;
  double duration_s = 0;  // of the video written so far
};

class VideoWriter {
 public:
  // Opens path for writing; the container follows the extension (.mp4, .mkv).
  // Throws sc::Error naming the file and the reason.
  VideoWriter(const std::string& path, const WriterOptions& options);
  ~VideoWriter();  // finishes the file if close() was not called
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Frames must match the size given at open (RGBA8, or kGray8 when qp >= 0; host). Throws on failure;
  // after a failure (disk full, ...) what was written before stays readable.
  void write(const Frame& frame);
  void write_audio(const AudioChunk& chunk);
  // Flushes the encoders, writes the trailer, finalizes. Safe to call twice.
  void close();

  WriterStats stats() const;
  const std::string& path() const;
  const std::string& encoder_name() const;  // what is actually encoding

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sc::media
