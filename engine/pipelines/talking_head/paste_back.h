#pragma once
// Putting the rendered face back into the portrait (app/modes/talking_head/
// PIPELINE.md 2.8 and 6.4, ditto putback.py): Ditto's generated crop mask
// (a 26-pixel linear ramp on the border of the 512 crop, rounded corners),
// warped into the frame once per portrait, then per frame the render warped
// the same way and blended over the frame.
#include "engine/pipelines/talking_head/crop.h"
#include "engine/tensor.h"

namespace sc::engine::talking_head {

// The crop's mask [1, 1, size, size] in [0, 1] (Ditto's get_mask, inner ratio 0.9).
Tensor paste_mask(int size = 512);

// The mask (or any crop-space image) in the frame's space: frame pixel p
// reads the crop at M_o2c p (m_c2o maps the crop to the frame).
Tensor to_frame(const Tensor& crop_image, const Affine& m_c2o, int frame_width, int frame_height);

// frame [1, 3, H, W] and render [1, 3, S, S] in 0..255; frame_mask [1, 1, H, W]
// from to_frame(paste_mask()). mask * render + (1 - mask) * frame, clamped to
// 0..255 and truncated as Ditto's C blend does (values stay floats).
Tensor paste_back(const Tensor& frame, const Tensor& render, const Tensor& frame_mask, const Affine& m_c2o);

}  // namespace sc::engine::talking_head
