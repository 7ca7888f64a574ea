#pragma once
// Where a frame goes in the viewport: fit (letterbox), fill (crop), 1:1
// (pixel exact, centred, cropped when larger), and side-by-side panels.
#include <algorithm>
#include <cmath>
#include <string_view>

namespace sc::render {

enum class DisplayMode { kFit, kFill, kOneToOne };

const char* to_string(DisplayMode mode);
// "fit", "fill", "1:1"; throws sc::Error otherwise.
DisplayMode parse_display_mode(std::string_view text);

struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
};

struct Placement {
  Rect dst;     // in target pixels
  Rect src_uv;  // normalised texture rectangle shown in dst
};

Placement place(DisplayMode mode, int image_w, int image_h, const Rect& panel);

// Left and right halves of the target (input | output), with a gap.
inline void split_side_by_side(const Rect& target, float gap, Rect* left, Rect* right) {
  const float w = std::max(0.0f, (target.w - gap) / 2);
  *left = {target.x, target.y, std::floor(w), target.h};
  *right = {target.x + target.w - std::floor(w), target.y, std::floor(w), target.h};
}

}  // namespace sc::render
