#pragma once
// Face detection for avatar registration: insightface's SCRFD detector
// (Ditto's insightface_det.onnx, det_10g) around the graph: the letterbox
// into its square input, and the decoding of its three strides (8, 16, 32;
// two anchors per cell) into boxes and five landmarks, thresholded and
// non-maximum suppressed (insightface's RetinaFace/SCRFD post-processing).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace sc::engine::ditto {

struct Face {
  std::array<float, 4> box{};  // x1, y1, x2, y2 in the image's pixels
  float score = 0;
  std::array<float, 10> points{};  // eyes, nose, mouth corners: (x, y) x 5
  float area() const { return (box[2] - box[0]) * (box[3] - box[1]); }
};

struct DetectorOptions {
  std::int64_t input_size = 512;  // the square the image is letterboxed into
  float score_threshold = 0.5f;
  float nms_threshold = 0.4f;
};

// The letterbox: the image scaled by `scale` (its longer side to the input
// size) into the top-left corner of the square; boxes map back by 1 / scale.
struct Letterbox {
  float scale = 1;
  std::int64_t width = 0, height = 0;  // of the scaled image inside the square
};
Letterbox letterbox_for(std::int64_t image_width, std::int64_t image_height, std::int64_t input_size);

// The detector's input [1, 3, S, S] from an RGB image [1, 3, H, W] of 0..255
// values (any device): resized bilinearly, rounded to 0..255 as an 8-bit
// image is, zero-padded, then (v - 127.5) / 128.
Tensor detector_input(const Tensor& rgb, const Letterbox& box, std::int64_t input_size);

// Faces from the graph's nine outputs in its order (scores, boxes, points for
// strides 8, 16, 32; each [K, n] or [1, K, n]), in the image's pixels, best
// first after NMS.
std::vector<Face> decode_faces(std::span<const Tensor> outputs, const Letterbox& box, const DetectorOptions& options);

// Greedy NMS: boxes in score order, each dropped when its overlap (IoU) with a
// kept one is above the threshold.
std::vector<Face> non_maximum_suppression(std::vector<Face> faces, float iou_threshold);

// The largest face by box area (Ditto registers one face per portrait), or
// none.
const Face* largest_face(std::span<const Face> faces);

}  // namespace sc::engine::ditto
