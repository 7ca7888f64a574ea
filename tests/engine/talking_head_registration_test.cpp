// Avatar registration (engine/pipelines/talking_head/registration.h) with
// fake networks: the size limit, the detector fed B, G, R at the letterbox,
// the largest of several faces, landmarks mapped back through each crop, and
// the crops and inputs the extractors get.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <vector>

#include "base/error.h"
#include "engine/ops.h"
#include "engine/pipelines/talking_head/avatar_io.h"
#include "engine/pipelines/talking_head/registration.h"
#include "engine/safetensors.h"

namespace sc::engine::talking_head {
namespace {

TEST(TalkingHeadRegistration, TheSizeLimitKeepsTheAspectAndEvenSides) {
  EXPECT_EQ(registration_size(640, 480, 1920), (std::pair<int, int>{640, 480}));
  EXPECT_EQ(registration_size(641, 481, 1920), (std::pair<int, int>{640, 480}));
  EXPECT_EQ(registration_size(3840, 2160, 1920), (std::pair<int, int>{1920, 1080}));
  EXPECT_EQ(registration_size(1000, 4000, 1920), (std::pair<int, int>{480, 1920}));
  // 2001 x 1001 -> 1920 x round(960.48) = 960.
  EXPECT_EQ(registration_size(2001, 1001, 1920), (std::pair<int, int>{1920, 960}));
  EXPECT_THROW(registration_size(1, 100, 1920), Error);
}

// A fake detector: faces given in image pixels, encoded at stride 32 for a
// letterbox scale, as SCRFD's outputs.
struct FakeDetector {
  struct F {
    int row, col;  // stride-32 cell
    std::array<float, 4> d;
    float score;
  };
  std::vector<F> faces;
  float seen_channel0 = 0;
  std::vector<Tensor> operator()(const Tensor& in) {
    seen_channel0 = in.data<float>()[0];
    std::vector<Tensor> out;
    for (int stride : {8, 16, 32}) {
      const std::int64_t k = (512 / stride) * (512 / stride) * 2;
      std::vector<float> s(static_cast<std::size_t>(k), 0.0f);
      if (stride == 32)
        for (const F& f : faces) s[static_cast<std::size_t>((f.row * 16 + f.col) * 2)] = f.score;
      out.push_back(Tensor::from_vector({k, 1}, s));
    }
    for (int stride : {8, 16, 32}) {
      const std::int64_t k = (512 / stride) * (512 / stride) * 2;
      std::vector<float> b(static_cast<std::size_t>(4 * k), 0.0f);
      if (stride == 32)
        for (const F& f : faces)
          for (int i = 0; i < 4; ++i)
            b[static_cast<std::size_t>((f.row * 16 + f.col) * 2 * 4 + i)] = f.d[static_cast<std::size_t>(i)];
      out.push_back(Tensor::from_vector({k, 4}, b));
    }
    for (int stride : {8, 16, 32}) {
      const std::int64_t k = (512 / stride) * (512 / stride) * 2;
      out.push_back(Tensor::zeros({k, 10}));
    }
    return out;
  }
};

// Landmarks of an upright face: eyes, mouth, and a ring around them.
std::vector<float> face_points(int n, std::initializer_list<int> left, std::initializer_list<int> right,
                               std::initializer_list<int> lip, double cx, double cy, double r) {
  std::vector<float> v(static_cast<std::size_t>(2 * n));
  for (int i = 0; i < n; ++i) {
    const double a = 2.0 * M_PI * i / n;
    v[static_cast<std::size_t>(2 * i)] = static_cast<float>(cx + r * std::cos(a));
    v[static_cast<std::size_t>(2 * i + 1)] = static_cast<float>(cy + 1.2 * r * std::sin(a));
  }
  auto put = [&](std::initializer_list<int> idx, double x, double y) {
    for (int i : idx) {
      v[static_cast<std::size_t>(2 * i)] = static_cast<float>(x);
      v[static_cast<std::size_t>(2 * i + 1)] = static_cast<float>(y);
    }
  };
  put(left, cx - 0.3 * r, cy - 0.2 * r);
  put(right, cx + 0.3 * r, cy - 0.2 * r);
  put(lip, cx, cy + 0.5 * r);
  return v;
}

RegistrationNets fake_nets(FakeDetector& det, int* calls) {
  RegistrationNets n;
  n.detector = [&det](const Tensor& in) { return det(in); };
  n.landmark106 = [calls](const Tensor& in) {
    EXPECT_EQ(in.shape(), Shape({1, 3, 192, 192}));
    ++calls[0];
    // In [-1, 1] of the 192 crop, centred.
    return std::vector<Tensor>{
        Tensor::from_vector({1, 212}, face_points(106, {33, 35, 40, 39}, {87, 89, 94, 93}, {52, 61}, 0.0, 0.0, 0.5))};
  };
  n.landmark203 = [calls](const Tensor& in) {
    EXPECT_EQ(in.shape(), Shape({1, 3, 224, 224}));
    EXPECT_LE(amax(in, std::vector<int>{0, 1, 2, 3}).item(), 1.0f);  // divided by 255
    ++calls[1];
    return std::vector<Tensor>{
        Tensor::from_vector({1, 406}, face_points(203, {0, 6, 12, 18}, {24, 30, 36, 42}, {48, 66}, 0.5, 0.5, 0.25))};
  };
  n.motion = [calls](const Tensor& in) {
    EXPECT_EQ(in.shape(), Shape({1, 3, 256, 256}));
    ++calls[2];
    return std::vector<Tensor>{Tensor::full({1, 66}, 0.1f), Tensor::full({1, 66}, 0.2f), Tensor::full({1, 66}, 0.3f),
                               Tensor::full({1, 3}, 0.4f),  Tensor::full({1, 63}, 0.5f), Tensor::full({1, 1}, 1.5f),
                               Tensor::full({1, 63}, 0.7f)};
  };
  n.appearance = [calls](const Tensor& in) {
    ++calls[3];
    return std::vector<Tensor>{Tensor::full({1, 2}, mean(in, std::vector<int>{0, 1, 2, 3}).item())};
  };
  return n;
}

Tensor portrait(int w, int h) {
  // R 200, G 100, B 50 everywhere.
  std::vector<float> v;
  for (float c : {200.0f, 100.0f, 50.0f}) v.insert(v.end(), static_cast<std::size_t>(w * h), c);
  return Tensor::from_vector({1, 3, h, w}, v);
}

TEST(TalkingHeadRegistration, TheLargestFaceIsCroppedAndItsInputsMade) {
  FakeDetector det;
  // 640 x 480: letterbox scale 0.8. A face at cell (5, 7) (centre (224, 160) in the input)
  // reaching 64 / 64 / 64 / 96 input pixels, and a smaller one.
  det.faces = {{5, 7, {2, 2, 2, 3}, 0.9f}, {12, 2, {0.5f, 0.5f, 0.5f, 0.5f}, 0.95f}};
  int calls[4] = {};
  const Avatar a = register_avatar(portrait(640, 480), fake_nets(det, calls));
  EXPECT_NEAR(det.seen_channel0, (50.0f - 127.5f) / 128.0f, 1e-6f);  // B first
  EXPECT_EQ(a.faces_found, 2);
  EXPECT_FLOAT_EQ(a.face.score, 0.9f);  // the larger, not the more confident
  EXPECT_NEAR(a.face.box[0], (224 - 64) / 0.8, 1e-3);
  EXPECT_NEAR(a.face.box[3], (160 + 96) / 0.8, 1e-3);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(calls[i], 1) << i;
  // The 512 crop's centre lies on the face: inside its box.
  const auto centre = apply(a.m_c2o, 256, 256);
  EXPECT_GT(centre[0], a.face.box[0]);
  EXPECT_LT(centre[0], a.face.box[2]);
  EXPECT_GT(centre[1], a.face.box[1] - 0.5 * (a.face.box[3] - a.face.box[1]));
  EXPECT_LT(centre[1], a.face.box[3]);
  ASSERT_EQ(a.crop.shape(), Shape({1, 3, 512, 512}));
  ASSERT_EQ(a.input.shape(), Shape({1, 3, 256, 256}));
  EXPECT_NEAR(a.input.data<float>()[128 * 256 + 128], 200.0f / 255.0f, 1e-6f);  // R inside the image
  EXPECT_FLOAT_EQ(a.motion.scale, 1.5f);
  EXPECT_FLOAT_EQ(a.motion.yaw[3], 0.2f);
  EXPECT_FLOAT_EQ(a.motion.kp[20][2], 0.7f);
  ASSERT_EQ(a.frame_mask.shape(), Shape({1, 1, 480, 640}));
  EXPECT_NEAR(a.frame_mask.data<float>()[static_cast<int>(centre[1]) * 640 + static_cast<int>(centre[0])], 1.0f, 1e-5f);
  EXPECT_FLOAT_EQ(a.frame_mask.data<float>()[0], 0.0f);
}

TEST(TalkingHeadRegistration, APortraitWithoutAFaceIsNamedAndABigOneIsShrunk) {
  FakeDetector none;
  int calls[4] = {};
  EXPECT_THROW(register_avatar(portrait(64, 48), fake_nets(none, calls)), Error);
  FakeDetector det;
  det.faces = {{5, 7, {2, 2, 2, 3}, 0.9f}};
  const Avatar big = register_avatar(portrait(2000, 1500), fake_nets(det, calls));
  EXPECT_EQ(big.frame.shape(), Shape({1, 3, 1440, 1920}));
}

}  // namespace
}  // namespace sc::engine::talking_head

// The registration cache's file (avatar_io.h): every field back bit for bit.
TEST(AvatarFile, EveryFieldComesBackExactly) {
  namespace th = sc::engine::talking_head;
  using sc::engine::Tensor;
  auto ramp = [](std::vector<std::int64_t> shape, float step) {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(float(i) * step) * 100.0f;
    return Tensor::from_vector(sc::engine::Shape(shape), v);
  };
  th::Avatar a;
  a.frame = ramp({1, 3, 20, 30}, 0.1f);
  a.crop = ramp({1, 3, 512, 512}, 0.01f);
  a.input = ramp({1, 3, 256, 256}, 0.02f);
  a.volume = ramp({1, 4, 2, 8, 8}, 0.3f);
  a.frame_mask = ramp({1, 1, 20, 30}, 0.05f);
  a.face.box = {1.5f, 2.25f, 17.125f, 19.0f};
  a.face.score = 0.875f;
  for (std::size_t i = 0; i < a.face.points.size(); ++i) a.face.points[i] = float(i) * 1.1f;
  a.faces_found = 3;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      a.m_o2c[r][c] = 1.0 / (1 + r + 3 * c) + 1e-13;  // not a float: the doubles must survive
      a.m_c2o[r][c] = -3.141592653589793 * (r - c);
    }
  for (std::size_t i = 0; i < a.motion.pitch.size(); ++i) a.motion.pitch[i] = float(i) * 0.5f;
  a.motion.t = {0.1f, -0.2f, 0.3f};
  a.motion.exp[62] = 7.0f;
  a.motion.scale = 1.25f;
  a.motion.kp[20] = {1.0f, 2.0f, 3.0f};
  const std::filesystem::path file = std::filesystem::path(SC_TEST_TMP_DIR) / "avatar_roundtrip.safetensors";
  std::filesystem::create_directories(file.parent_path());
  th::save_avatar(file, a, {{"key", "abc"}});
  std::map<std::string, std::string> meta;
  const th::Avatar b = th::load_avatar(file, &meta);
  EXPECT_EQ(meta["key"], "abc");
  auto same = [](const Tensor& x, const Tensor& y) {
    return x.shape() == y.shape() &&
           std::memcmp(x.data<float>(), y.data<float>(), static_cast<std::size_t>(x.numel()) * sizeof(float)) == 0;
  };
  EXPECT_TRUE(same(a.frame, b.frame));
  EXPECT_TRUE(same(a.crop, b.crop));
  EXPECT_TRUE(same(a.input, b.input));
  EXPECT_TRUE(same(a.volume, b.volume));
  EXPECT_TRUE(same(a.frame_mask, b.frame_mask));
  EXPECT_EQ(a.face.box, b.face.box);
  EXPECT_EQ(a.face.points, b.face.points);
  EXPECT_EQ(a.face.score, b.face.score);
  EXPECT_EQ(a.faces_found, b.faces_found);
  EXPECT_EQ(a.m_o2c, b.m_o2c);
  EXPECT_EQ(a.m_c2o, b.m_c2o);
  EXPECT_EQ(a.motion.pitch, b.motion.pitch);
  EXPECT_EQ(a.motion.t, b.motion.t);
  EXPECT_EQ(a.motion.exp, b.motion.exp);
  EXPECT_EQ(a.motion.scale, b.motion.scale);
  EXPECT_EQ(a.motion.kp, b.motion.kp);
  // Not an avatar file: said, naming it.
  const std::filesystem::path other = std::filesystem::path(SC_TEST_TMP_DIR) / "not_avatar.safetensors";
  sc::engine::write_safetensors(other, {{"x", ramp({2}, 1.0f)}});
  try {
    th::load_avatar(other);
    ADD_FAILURE() << "read a file that is not an avatar";
  } catch (const sc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not_avatar.safetensors: not a streamcanvas-avatar-1 file"), std::string::npos)
        << e.what();
  }
}
