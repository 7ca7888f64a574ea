#include "render/splat/gaussians.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include "base/error.h"

namespace sc::render {
namespace {

std::string tmp(const std::string& name) { return std::string(SC_TEST_TMP_DIR) + "/gaussians_" + name; }

GaussianCloud random_cloud(std::size_t n, int degree, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  GaussianCloud c;
  c.resize(n, degree);
  for (auto& v : c.positions) v = u(rng) * 3;
  for (auto& v : c.scales) v = std::exp(u(rng) * 2 - 3);
  for (auto& v : c.sh) v = u(rng);
  for (auto& v : c.opacities) v = 0.5f + 0.49f * u(rng);
  for (std::size_t i = 0; i < n; ++i) {
    float q[4], l = 0;
    for (float& x : q) x = u(rng), l += x * x;
    for (int k = 0; k < 4; ++k) c.rotations[4 * i + k] = q[k] / std::sqrt(l);
  }
  return c;
}

void expect_close(const GaussianCloud& a, const GaussianCloud& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.sh_degree, b.sh_degree);
  auto close = [&](const std::vector<float>& x, const std::vector<float>& y, const char* what) {
    ASSERT_EQ(x.size(), y.size()) << what;
    for (std::size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], y[i], tol * std::max(1.0f, std::fabs(x[i]))) << what << " " << i;
  };
  close(a.positions, b.positions, "positions");
  close(a.scales, b.scales, "scales");
  close(a.rotations, b.rotations, "rotations");
  close(a.opacities, b.opacities, "opacities");
  close(a.sh, b.sh, "sh");
}

TEST(Ply, SaveThenLoadIsTheSameCloud) {
  for (int degree : {0, 1, 2, 3}) {
    GaussianCloud c = random_cloud(57, degree, 3 + degree);
    save_ply(c, tmp("roundtrip.ply"));
    GaussianCloud back = load_ply(tmp("roundtrip.ply"));
    expect_close(c, back, 1e-5f);
  }
}

TEST(Ply, ChannelMajorRestAndActivations) {
  // One Gaussian, degree 1, written by hand in the 3DGS layout.
  std::ofstream out(tmp("hand.ply"), std::ios::binary);
  out << "ply\nformat binary_little_endian 1.0\ncomment made by hand\nelement vertex 1\n";
  const char* names[] = {"x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"};
  for (auto* n : names) out << "property float " << n << "\n";
  for (int r = 0; r < 9; ++r) out << "property float f_rest_" << r << "\n";
  for (auto* n : {"opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"})
    out << "property float " << n << "\n";
  out << "end_header\n";
  float v[] = {1,    2,
               3,    0,
               0,    0,
               0.1f, 0.2f,
               0.3f, 10,
               11,   12,  // R coefficients 1..3
               20,   21,
               22,  // G
               30,   31,
               32,  // B
               0.0f, std::log(2.0f),
               0,    std::log(0.5f),
               2,    0,
               0,    0};
  out.write(reinterpret_cast<const char*>(v), sizeof v);
  out.close();
  GaussianCloud c = load_ply(tmp("hand.ply"));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.sh_degree, 1);
  EXPECT_FLOAT_EQ(c.positions[2], 3);
  EXPECT_FLOAT_EQ(c.opacities[0], 0.5f);  // sigmoid(0)
  EXPECT_FLOAT_EQ(c.scales[0], 2.0f);     // exp(log 2)
  EXPECT_FLOAT_EQ(c.scales[2], 0.5f);
  EXPECT_FLOAT_EQ(c.rotations[0], 1.0f);  // normalised (2,0,0,0)
  // [coef][rgb]: coefficient 1 is (10, 20, 30), coefficient 3 is (12, 22, 32).
  EXPECT_FLOAT_EQ(c.sh[3 + 0], 10);
  EXPECT_FLOAT_EQ(c.sh[3 + 1], 20);
  EXPECT_FLOAT_EQ(c.sh[3 + 2], 30);
  EXPECT_FLOAT_EQ(c.sh[9 + 2], 32);
}

TEST(Ply, AsciiFilesLoad) {
  std::ofstream out(tmp("ascii.ply"));
  out << "ply\nformat ascii 1.0\nelement vertex 2\n";
  for (auto* n : {"x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0",
                  "rot_1", "rot_2", "rot_3"})
    out << "property double " << n << "\n";
  out << "end_header\n";
  out << "1 2 3 0 0 0 0 0 0 0 1 0 0 0\n-1 -2 -3 0.5 0.5 0.5 5 -1 -1 -1 0 0 0 3\n";
  out.close();
  GaussianCloud c = load_ply(tmp("ascii.ply"));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c.positions[3], -1);
  EXPECT_FLOAT_EQ(c.rotations[7], 1);
}

TEST(Ply, MalformedFilesNameTheProblem) {
  struct Case {
    std::string text;
    const char* expect;
  };
  const std::string props =
      "property float x\nproperty float y\nproperty float z\nproperty float f_dc_0\nproperty float f_dc_1\n"
      "property float f_dc_2\nproperty float opacity\nproperty float scale_0\nproperty float scale_1\n"
      "property float scale_2\nproperty float rot_0\nproperty float rot_1\nproperty float rot_2\nproperty float "
      "rot_3\n";
  for (const Case& c : {
           Case{"not a ply", "no 'ply' magic"},
           Case{"ply\nformat binary_little_endian 1.0\nelement vertex 3\n", "end_header"},
           Case{"ply\nformat binary_big_endian 1.0\nelement vertex 1\n" + props + "end_header\n", "not supported"},
           Case{"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nend_header\n", "'y'"},
           Case{"ply\nformat binary_little_endian 1.0\nelement vertex 100\n" + props + "end_header\nxxxx", "truncated"},
           Case{"ply\nformat binary_little_endian 1.0\nelement vertex 99999999999\n" + props + "end_header\n",
                "more than"},
           Case{"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty quad x\nend_header\n",
                "unknown type"},
           Case{"ply\nformat ascii 1.0\nelement vertex 1\n" + props + "end_header\n1 2 3", "ends early"},
           Case{"ply\nformat ascii 1.0\nelement vertex 1\n" + props + "end_header\n1 2 3 0 0 0 nan 0 0 0 1 0 0 0",
                "non-finite"},
       }) {
    try {
      parse_ply(reinterpret_cast<const std::uint8_t*>(c.text.data()), c.text.size(), "bad.ply");
      ADD_FAILURE() << "accepted: " << c.text.substr(0, 60);
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("bad.ply"), std::string::npos) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    }
  }
}

TEST(Splat, ParsesTheAntimatter15Layout) {
  std::vector<std::uint8_t> data(64);
  float f[6] = {1, 2, 3, 0.1f, 0.2f, 0.3f};
  std::memcpy(data.data(), f, sizeof f);
  const std::uint8_t tail[8] = {255, 0, 128, 51, 255, 128, 128, 128};  // colour RGBA, rotation ~ (1, 0, 0, 0)
  std::memcpy(data.data() + 24, tail, 8);
  GaussianCloud c = parse_splat(data.data(), data.size(), "x.splat");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c.scales[1], 0.2f);  // linear, as stored
  EXPECT_NEAR(c.opacities[0], 0.2f, 1e-6);
  EXPECT_NEAR(c.sh[0] * kShC0 + 0.5f, 1.0f, 1e-6);  // red 255
  EXPECT_NEAR(c.rotations[0], 1.0f, 1e-6);
  EXPECT_THROW(parse_splat(data.data(), 33, "odd.splat"), Error);
}

}  // namespace
}  // namespace sc::render
