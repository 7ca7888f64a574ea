#pragma once
// The portrait crops of avatar registration (app/modes/talking_head/PIPELINE.md
// 2.3 to 2.6; LivePortrait's src/utils/crop.py, which Ditto shares): the
// similarity transform that centres a face box for the 106-point landmark
// net, the rotated square crop from landmarks (eyes to mouth upright, sized
// by the landmarks' extent, moved towards the top of the head), and the
// affine warp of an image into a crop (OpenCV warpAffine's bilinear with a
// zero border, run as grid_sample so it works on any device).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine::talking_head {

// A 2-D affine transform as 3 x 3 rows (last row 0 0 1): crop = M * image.
using Affine = std::array<std::array<double, 3>, 3>;

Affine invert(const Affine& m);
std::array<double, 2> apply(const Affine& m, double x, double y);

struct Point {
  double x = 0, y = 0;
};

// 2.3: the box centred at (96, 96) of a 192 crop, its longer side 1 / 1.5 of it.
Affine landmark106_transform(const std::array<float, 4>& box);

enum class LandmarkSet { k106, k203 };

struct CropOptions {
  int size = 512;            // dsize
  double scale = 2.3;        // of the landmarks' square extent
  double vy_ratio = -0.125;  // the centre moved along the face's vertical axis, by this times the size
  bool rotate = true;
};

// 2.4: original -> crop for the landmarks (106 or 203 points, image pixels).
Affine crop_transform(std::span<const Point> landmarks, LandmarkSet set, const CropOptions& options);

// The image [1, C, H, W] (any device, floats) warped into a size x size crop:
// crop pixel p samples the image at inverse(m) * p, bilinearly, zero outside.
Tensor warp_affine(const Tensor& image, const Affine& m, int width, int height);

}  // namespace sc::engine::talking_head
