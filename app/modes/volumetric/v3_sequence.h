#pragma once
// Reading and writing V^3 sequences (layout in app/modes/volumetric/v3_format.h).
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/modes/volumetric/v3_format.h"

namespace sc::app {

struct V3Group {
  int first_frame = 0;  // inclusive, 0-based over the whole sequence
  int last_frame = 0;   // inclusive
};

struct V3FrameInfo {
  std::uint32_t count = 0;
  std::vector<float> minmax;
};

// Parsers of the two manifests; errors name `source`, the key and what was
// expected. Exposed for the fuzzers.
std::vector<V3Group> parse_v3_group_info(std::string_view json, const std::string& source);
std::vector<V3FrameInfo> parse_v3_min_max(std::string_view json, const std::string& source, int* sh_degree);

class V3Sequence {
 public:
  // Reads and checks the manifests and that every stream file exists.
  static V3Sequence open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  int frame_count() const { return int(frames_.size()); }
  int sh_degree() const { return layout_.sh_degree; }
  const V3Layout& layout() const { return layout_; }
  double fps() const { return fps_; }
  const std::vector<V3Group>& groups() const { return groups_; }
  int group_of(int frame) const;
  const V3FrameInfo& frame_info(int frame) const { return frames_.at(std::size_t(frame)); }
  std::uint32_t max_gaussians() const;
  std::filesystem::path video_path(int group, int video) const;

 private:
  std::filesystem::path dir_;
  V3Layout layout_;
  std::vector<V3Group> groups_;
  std::vector<V3FrameInfo> frames_;
  double fps_ = 25;
};

// Decodes frames of a sequence: one thread per attribute stream, each a few
// frames ahead, so sequential playback overlaps decoding with rendering.
class V3Decoder {
 public:
  explicit V3Decoder(const V3Sequence& sequence);
  ~V3Decoder();
  V3Decoder(const V3Decoder&) = delete;
  V3Decoder& operator=(const V3Decoder&) = delete;

  // The planes and min/max of frame `index` (0-based). Sequential calls are
  // cheap; a jump re-opens the streams at the frame's group.
  const V3Frame& decode(int index);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct V3EncodeOptions {
  int group_size = 20;
  int qp = 25;  // V^3's default; 0 is lossless
  double fps = 25;
};

// Writes a V^3 sequence of `frames` clouds produced by `frame(i)` to out_dir.
// progress(i) is called after each frame. Throws sc::Error naming what failed.
void v3_encode(int frames, const std::function<render::GaussianCloud(int)>& frame, const std::filesystem::path& out_dir,
               const V3EncodeOptions& options, const std::function<void(int)>& progress = {});

// The .ply files of a folder, in natural order (frame_2 before frame_10).
std::vector<std::filesystem::path> list_ply_frames(const std::filesystem::path& dir);

// The bundled sample's generator: a procedural, dynamic Gaussian clip.
render::GaussianCloud v3_sample_frame(int frame, int frames, int gaussians);

}  // namespace sc::app
