// SCRFD's letterbox and decoding (engine/models/ditto/face_detect.h) on
// outputs made by hand: anchors, strides, the map back to the image, NMS and
// the choice of the largest face.
#include <gtest/gtest.h>

#include <vector>

#include "base/error.h"
#include "engine/models/ditto/face_detect.h"
#include "engine/ops.h"

namespace sc::engine::ditto {
namespace {

struct Outputs {
  std::vector<std::vector<float>> scores, boxes, points;  // per stride
  explicit Outputs(std::int64_t size) {
    for (int stride : {8, 16, 32}) {
      const std::int64_t k = (size / stride) * (size / stride) * 2;
      scores.emplace_back(static_cast<std::size_t>(k), 0.0f);
      boxes.emplace_back(static_cast<std::size_t>(4 * k), 0.0f);
      points.emplace_back(static_cast<std::size_t>(10 * k), 0.0f);
    }
  }
  // One detection at grid cell (row, col) of stride index s, anchor a.
  void set(int s, std::int64_t size, std::int64_t row, std::int64_t col, int a, float score, std::array<float, 4> d,
           float point_offset) {
    const int stride = 8 << s;
    const std::int64_t idx = (row * (size / stride) + col) * 2 + a;
    scores[s][static_cast<std::size_t>(idx)] = score;
    for (int i = 0; i < 4; ++i) boxes[s][static_cast<std::size_t>(idx * 4 + i)] = d[static_cast<std::size_t>(i)];
    for (int i = 0; i < 10; ++i) points[s][static_cast<std::size_t>(idx * 10 + i)] = point_offset;
  }
  std::vector<Tensor> tensors() const {
    std::vector<Tensor> t;
    for (const auto& v : scores) t.push_back(Tensor::from_vector({static_cast<std::int64_t>(v.size()), 1}, v));
    for (const auto& v : boxes) t.push_back(Tensor::from_vector({static_cast<std::int64_t>(v.size() / 4), 4}, v));
    for (const auto& v : points) t.push_back(Tensor::from_vector({static_cast<std::int64_t>(v.size() / 10), 10}, v));
    return t;
  }
};

TEST(DittoFaceDetect, TheLetterboxFillsTheLongerSide) {
  const Letterbox wide = letterbox_for(1024, 768, 512);
  EXPECT_EQ(wide.width, 512);
  EXPECT_EQ(wide.height, 384);
  EXPECT_FLOAT_EQ(wide.scale, 0.5f);
  const Letterbox tall = letterbox_for(600, 800, 512);
  EXPECT_EQ(tall.height, 512);
  EXPECT_EQ(tall.width, 384);
  EXPECT_FLOAT_EQ(tall.scale, 0.64f);
  EXPECT_THROW(letterbox_for(0, 10, 512), Error);

  const Tensor image = Tensor::full({1, 3, 80, 60}, 100.0f);
  const Letterbox b = letterbox_for(60, 80, 64);
  const Tensor in = detector_input(image, b, 64);
  ASSERT_EQ(in.shape(), Shape({1, 3, 64, 64}));
  const float* p = in.data<float>();
  EXPECT_FLOAT_EQ(p[0], (100.0f - 127.5f) / 128.0f);            // inside the scaled image
  EXPECT_FLOAT_EQ(p[63], -127.5f / 128.0f);                     // right of it: padding
  EXPECT_FLOAT_EQ(p[b.width - 1], (100.0f - 127.5f) / 128.0f);  // its last column
}

TEST(DittoFaceDetect, DetectionsDecodeToImagePixelsAndOverlapsAreSuppressed) {
  constexpr std::int64_t kSize = 512;
  Outputs o(kSize);
  // Stride 16, cell (5, 7), anchor 1: centre (112, 80); distances x stride.
  o.set(1, kSize, 5, 7, 1, 0.9f, {1, 2, 3, 4}, 0.5f);
  // The same face again at stride 8, a little lower: suppressed.
  o.set(0, kSize, 10, 14, 0, 0.8f, {2, 4, 6, 8}, 0.0f);
  // A small face far away, and one under the threshold.
  o.set(2, kSize, 12, 12, 0, 0.7f, {0.25f, 0.25f, 0.25f, 0.25f}, 0.0f);
  o.set(2, kSize, 1, 1, 0, 0.3f, {1, 1, 1, 1}, 0.0f);
  const std::vector<Tensor> t = o.tensors();
  Letterbox box;
  box.scale = 0.5f;  // a 1024-pixel image
  const std::vector<Face> faces = decode_faces(t, box, DetectorOptions{});
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_FLOAT_EQ(faces[0].score, 0.9f);
  // (112 - 16, 80 - 32, 112 + 48, 80 + 64) in the input, / 0.5 in the image.
  EXPECT_FLOAT_EQ(faces[0].box[0], 192.0f);
  EXPECT_FLOAT_EQ(faces[0].box[1], 96.0f);
  EXPECT_FLOAT_EQ(faces[0].box[2], 320.0f);
  EXPECT_FLOAT_EQ(faces[0].box[3], 288.0f);
  EXPECT_FLOAT_EQ(faces[0].points[0], (112.0f + 8.0f) * 2.0f);
  EXPECT_FLOAT_EQ(faces[0].points[1], (80.0f + 8.0f) * 2.0f);
  EXPECT_FLOAT_EQ(faces[1].score, 0.7f);
  const Face* big = largest_face(faces);
  ASSERT_NE(big, nullptr);
  EXPECT_FLOAT_EQ(big->score, 0.9f);
  EXPECT_EQ(largest_face(std::vector<Face>{}), nullptr);
  // Two output tensors short, or a stride of the wrong size: named errors.
  EXPECT_THROW(decode_faces(std::span(t).first(7), box, DetectorOptions{}), Error);
  DetectorOptions other;
  other.input_size = 640;
  EXPECT_THROW(decode_faces(t, box, other), Error);
}

}  // namespace
}  // namespace sc::engine::ditto
