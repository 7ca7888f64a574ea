#include "engine/models/ditto/face_detect.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "engine/ops.h"

namespace sc::engine::ditto {

Letterbox letterbox_for(std::int64_t image_width, std::int64_t image_height, std::int64_t input_size) {
  if (image_width < 1 || image_height < 1) throw Error("face detection: empty image {}x{}", image_width, image_height);
  Letterbox b;
  // insightface: the image's aspect against the square's decides which side fills it.
  if (static_cast<double>(image_height) / static_cast<double>(image_width) > 1.0) {
    b.height = input_size;
    b.width = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(input_size) * static_cast<double>(image_width) /
                                     static_cast<double>(image_height)));
  } else {
    b.width = input_size;
    b.height = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(static_cast<double>(input_size) * static_cast<double>(image_height) /
                                     static_cast<double>(image_width)));
  }
  b.scale = static_cast<float>(static_cast<double>(b.height) / static_cast<double>(image_height));
  return b;
}

Tensor detector_input(const Tensor& rgb, const Letterbox& box, std::int64_t input_size) {
  if (rgb.rank() != 4 || rgb.dim(0) != 1 || rgb.dim(1) != 3) {
    throw Error("face detection: the image must be [1, 3, H, W]; got {}", rgb.describe());
  }
  Resize2dParams p;
  p.out_h = box.height;
  p.out_w = box.width;
  p.mode = ResizeMode::kLinear;
  p.coords = ResizeCoords::kHalfPixel;
  // An 8-bit resize: values rounded and kept in 0..255.
  Tensor scaled = clamp(resize2d(rgb, p), 0.0f, 255.0f);
  scaled = to_dtype(to_dtype(add_scalar(scaled, 0.5f), DType::kI32), scaled.dtype());  // floor(v + 0.5)
  const Tensor padded = pad(scaled, {0, input_size - box.width, 0, input_size - box.height});
  return scale(add_scalar(padded, -127.5f), 1.0f / 128.0f);
}

namespace {

float iou(const Face& a, const Face& b) {
  const float x1 = std::max(a.box[0], b.box[0]), y1 = std::max(a.box[1], b.box[1]);
  const float x2 = std::min(a.box[2], b.box[2]), y2 = std::min(a.box[3], b.box[3]);
  // insightface's NMS counts pixels inclusively (+1), as the original RetinaFace code.
  const float w = std::max(0.0f, x2 - x1 + 1.0f), h = std::max(0.0f, y2 - y1 + 1.0f);
  const float inter = w * h;
  const float area_a = (a.box[2] - a.box[0] + 1.0f) * (a.box[3] - a.box[1] + 1.0f);
  const float area_b = (b.box[2] - b.box[0] + 1.0f) * (b.box[3] - b.box[1] + 1.0f);
  return inter / (area_a + area_b - inter);
}

std::vector<float> host_floats(const Tensor& t) {
  const Tensor h = to_dtype(t.device() == Device::kCpu ? t : t.to(Device::kCpu), DType::kF32);
  return h.to_vector<float>();
}

}  // namespace

std::vector<Face> non_maximum_suppression(std::vector<Face> faces, float iou_threshold) {
  std::stable_sort(faces.begin(), faces.end(), [](const Face& a, const Face& b) { return a.score > b.score; });
  std::vector<Face> kept;
  for (const Face& f : faces) {
    bool overlaps = false;
    for (const Face& k : kept) overlaps = overlaps || iou(f, k) > iou_threshold;
    if (!overlaps) kept.push_back(f);
  }
  return kept;
}

std::vector<Face> decode_faces(std::span<const Tensor> outputs, const Letterbox& box, const DetectorOptions& o) {
  if (outputs.size() != 9) throw Error("face detection: the detector gave {} outputs; SCRFD gives 9", outputs.size());
  constexpr int kStrides[3] = {8, 16, 32};
  constexpr int kAnchors = 2;
  std::vector<Face> faces;
  for (int s = 0; s < 3; ++s) {
    const int stride = kStrides[s];
    const std::int64_t cells = (o.input_size / stride) * (o.input_size / stride);
    const std::int64_t k = cells * kAnchors;
    const std::vector<float> scores = host_floats(outputs[static_cast<std::size_t>(s)]);
    const std::vector<float> boxes = host_floats(outputs[static_cast<std::size_t>(3 + s)]);
    const std::vector<float> points = host_floats(outputs[static_cast<std::size_t>(6 + s)]);
    if (static_cast<std::int64_t>(scores.size()) != k || static_cast<std::int64_t>(boxes.size()) != 4 * k ||
        static_cast<std::int64_t>(points.size()) != 10 * k) {
      throw Error(
          "face detection: stride {} gave {} scores, {} box and {} point values; a {}x{} input has {} anchors there",
          stride, scores.size(), boxes.size(), points.size(), o.input_size, o.input_size, k);
    }
    const std::int64_t columns = o.input_size / stride;
    for (std::int64_t a = 0; a < k; ++a) {
      const float score = scores[static_cast<std::size_t>(a)];
      if (!(score >= o.score_threshold)) continue;
      const std::int64_t cell = a / kAnchors;
      const float cx = static_cast<float>((cell % columns) * stride),
                  cy = static_cast<float>((cell / columns) * stride);
      const float* d = boxes.data() + a * 4;
      const float* q = points.data() + a * 10;
      Face f;
      f.score = score;
      const float inv = 1.0f / box.scale;
      f.box = {(cx - d[0] * stride) * inv, (cy - d[1] * stride) * inv, (cx + d[2] * stride) * inv,
               (cy + d[3] * stride) * inv};
      for (int i = 0; i < 5; ++i) {
        f.points[static_cast<std::size_t>(2 * i)] = (cx + q[2 * i] * stride) * inv;
        f.points[static_cast<std::size_t>(2 * i + 1)] = (cy + q[2 * i + 1] * stride) * inv;
      }
      faces.push_back(f);
    }
  }
  return non_maximum_suppression(std::move(faces), o.nms_threshold);
}

const Face* largest_face(std::span<const Face> faces) {
  const Face* best = nullptr;
  for (const Face& f : faces)
    if (!best || f.area() > best->area()) best = &f;
  return best;
}

}  // namespace sc::engine::ditto
