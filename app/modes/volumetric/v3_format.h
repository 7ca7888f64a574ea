#pragma once
// The V^3 layout ("V^3: Viewing Volumetric Videos on Mobiles via Streamable 2D
// Dynamic Gaussians", code: AuthorityWang/VideoGS), as its compressor writes
// it and its players read it:
//
//   SEQ/group_info.json        {"<g>": {"frame_index": [first, last], "name_index": [..]}}, inclusive
//   SEQ/viewer_min_max.json    {"<frame>": {"num": N, "info": [min0, max0, min1, max1, ...]}}
//   SEQ/group<g>/<v>.mp4       one 8-bit H.264 stream per attribute image
//
// Columns, after activation (sigmoid opacity, linear scale, unit quaternion,
// SH interleaved per coefficient): x y z nx ny nz sh[3K] opacity s0 s1 s2 r0 r1 r2 r3
// (K = (degree+1)^2, so 14 + 3K columns and 2(14 + 3K) min/max values; the
// degree is not stored, it follows from that count).
// Videos: v = 2a / 2a+1 hold the low / high byte of the 16-bit position a
// (a = 0..2); column c >= 3 is video c + 3 (17 + 3K videos).
// Images: square, side = the smallest multiple of 8 with side^2 >= N, Gaussian
// k at pixel k in row-major order, padding 0.
// Quantisation (truncating): q8 = floor((v - min) / (max - min) * 255),
// q16 = floor(... * 65535); decoding: v = q / 255 (or 65535) * (max - min) + min.
#include <cstdint>
#include <string>
#include <vector>

#include "render/splat/gaussians.h"

namespace sc::app {

struct V3Layout {
  int sh_degree = 0;
  int coefficients() const { return (sh_degree + 1) * (sh_degree + 1); }
  int columns() const { return 14 + 3 * coefficients(); }
  int videos() const { return 17 + 3 * coefficients(); }
  int opacity_column() const { return 6 + 3 * coefficients(); }
  int scale_column() const { return opacity_column() + 1; }
  int rotation_column() const { return opacity_column() + 4; }
  // The SH degree for a min/max list of this length; -1 when none fits.
  static int degree_for_info_size(std::size_t values);
};

std::uint32_t v3_image_side(std::uint32_t gaussians);

// One frame as the videos carry it: planes[v * side * side + k] for video v.
struct V3Frame {
  std::uint32_t count = 0;
  std::uint32_t side = 0;
  int sh_degree = 0;
  std::vector<std::uint8_t> planes;
  std::vector<float> minmax;  // 2 per column: min, max
};

// side 0 = v3_image_side(cloud.size()); a larger side pads (a group shares one size).
V3Frame v3_quantize(const render::GaussianCloud& cloud, std::uint32_t side = 0);
// The player's de-quantisation on the CPU (the GPU does the same in
// render/splat/v3_dequant.h); quaternions are renormalised after 8-bit decoding.
render::GaussianCloud v3_dequantize(const V3Frame& frame);
// The same into `out`, reusing its memory (playback's path: a new cloud per
// frame costs page faults and a zero fill of every array).
void v3_dequantize(const V3Frame& frame, render::GaussianCloud& out);

// What encoders use per video: qp 0 for the high bytes, min(qp, 22) for the
// SH DC, scales and rotations, qp for the rest (as V^3's compressor does).
int v3_video_qp(const V3Layout& layout, int video, int qp);

}  // namespace sc::app
