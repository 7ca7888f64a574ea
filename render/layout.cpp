#include "render/layout.h"

#include "base/error.h"

namespace sc::render {

const char* to_string(DisplayMode mode) {
  switch (mode) {
    case DisplayMode::kFit:
      return "fit";
    case DisplayMode::kFill:
      return "fill";
    case DisplayMode::kOneToOne:
      return "1:1";
  }
  return "?";
}

DisplayMode parse_display_mode(std::string_view text) {
  if (text == "fit") return DisplayMode::kFit;
  if (text == "fill") return DisplayMode::kFill;
  if (text == "1:1") return DisplayMode::kOneToOne;
  throw Error("display mode '{}' must be fit, fill or 1:1", text);
}

Placement place(DisplayMode mode, int image_w, int image_h, const Rect& panel) {
  Placement p;
  p.src_uv = {0, 0, 1, 1};
  if (image_w <= 0 || image_h <= 0 || panel.w <= 0 || panel.h <= 0) return p;
  const float iw = float(image_w), ih = float(image_h);
  switch (mode) {
    case DisplayMode::kFit: {
      const float s = std::min(panel.w / iw, panel.h / ih);
      const float w = std::round(iw * s), h = std::round(ih * s);
      p.dst = {panel.x + std::floor((panel.w - w) / 2), panel.y + std::floor((panel.h - h) / 2), w, h};
      break;
    }
    case DisplayMode::kFill: {
      const float s = std::max(panel.w / iw, panel.h / ih);
      p.dst = panel;
      const float uw = panel.w / (iw * s), uh = panel.h / (ih * s);
      p.src_uv = {(1 - uw) / 2, (1 - uh) / 2, uw, uh};
      break;
    }
    case DisplayMode::kOneToOne: {
      // Whole pixels only, so every texel lands on exactly one screen pixel.
      const float w = std::min(iw, panel.w), h = std::min(ih, panel.h);
      p.dst = {panel.x + std::floor((panel.w - w) / 2), panel.y + std::floor((panel.h - h) / 2), w, h};
      const float u0 = std::floor((iw - w) / 2), v0 = std::floor((ih - h) / 2);
      p.src_uv = {u0 / iw, v0 / ih, w / iw, h / ih};
      break;
    }
  }
  return p;
}

}  // namespace sc::render
