// The Vulkan splat renderer against golden images made by
// tests/golden/gen_splats.py (gsplat's PyTorch reference for projection, SH and
// covariance; gsplat's blending rules), 3 scenes x 4 cameras, on whatever
// Vulkan device is present (lavapipe in CI).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "engine/safetensors.h"
#include "render/context.h"
#include "render/splat/splat_renderer.h"

namespace sc::render {
namespace {

std::string fixture(const std::string& scene) {
  return std::string(SC_SOURCE_DIR) + "/tests/golden/fixtures/splats_" + scene + ".safetensors";
}

GaussianCloud cloud_from(const engine::SafetensorsFile& f) {
  auto means = f.load("means").to_vector<float>();
  auto quats = f.load("quats").to_vector<float>();
  auto scales = f.load("scales").to_vector<float>();
  auto opacities = f.load("opacities").to_vector<float>();
  engine::Tensor sh = f.load("sh");
  const std::size_t n = opacities.size();
  const int degree = int(std::lround(std::sqrt(double(sh.dim(1))))) - 1;
  GaussianCloud c;
  c.resize(n, degree);
  c.positions = means;
  c.scales = scales;
  c.opacities = opacities;
  c.sh = sh.to_vector<float>();
  for (std::size_t i = 0; i < n; ++i) {  // the renderer takes unit quaternions, as the loaders make them
    float* q = &quats[4 * i];
    float l = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (int k = 0; k < 4; ++k) c.rotations[4 * i + k] = q[k] / l;
  }
  return c;
}

double psnr(const std::vector<float>& got_rgba, const float* want_rgb, std::size_t pixels) {
  double se = 0;
  for (std::size_t p = 0; p < pixels; ++p)
    for (int c = 0; c < 3; ++c) {
      double d = double(got_rgba[4 * p + c]) - double(want_rgb[3 * p + c]);
      se += d * d;
    }
  const double mse = se / double(pixels * 3);
  return mse <= 1e-20 ? 200.0 : 10.0 * std::log10(1.0 / mse);
}

class SplatGolden : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { setenv("SC_VK_VALIDATION", "1", 1); }
};

TEST_P(SplatGolden, MatchesTheReferenceAtPsnr35) {
  auto f = engine::SafetensorsFile::open(fixture(GetParam()));
  const std::uint32_t w = std::stoul(f.metadata().at("width")), h = std::stoul(f.metadata().at("height"));
  ASSERT_FLOAT_EQ(std::stof(f.metadata().at("alpha_max")), SplatRenderer::kAlphaMax);
  VulkanContext ctx(ContextOptions{});
  SplatRenderer renderer(ctx);
  renderer.set_scene(cloud_from(f));
  auto views = f.load("viewmats").to_vector<float>();
  auto Ks = f.load("Ks").to_vector<float>();
  auto images = f.load("images").to_vector<float>();
  const std::size_t cams = views.size() / 16;
  ASSERT_EQ(cams, 4u);
  for (std::size_t c = 0; c < cams; ++c) {
    SplatCamera cam;
    std::copy_n(&views[16 * c], 16, cam.view.begin());
    cam.fx = Ks[9 * c + 0];
    cam.fy = Ks[9 * c + 4];
    cam.cx = Ks[9 * c + 2];
    cam.cy = Ks[9 * c + 5];
    cam.width = w;
    cam.height = h;
    SplatStats st = renderer.render(cam);
    EXPECT_GT(st.intersections, 0u);
    auto got = renderer.read_float();
    const double db = psnr(got, &images[c * w * h * 3], std::size_t(w) * h);
    EXPECT_GE(db, 35.0) << GetParam() << " camera " << c;
    // A renderer that draws nothing would still score against a mostly black
    // image: require that the picture has content where the reference has.
    double want_sum = 0, got_sum = 0;
    for (std::size_t p = 0; p < std::size_t(w) * h; ++p)
      for (int k = 0; k < 3; ++k) want_sum += images[c * w * h * 3 + 3 * p + k], got_sum += got[4 * p + k];
    EXPECT_NEAR(got_sum, want_sum, 0.02 * want_sum + 1) << GetParam() << " camera " << c;
    RecordProperty(std::string(GetParam()) + "_cam" + std::to_string(c) + "_psnr", std::to_string(db));
    std::printf("%s camera %zu: PSNR %.1f dB, %u intersections\n", GetParam(), c, db, st.intersections);
  }
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Scenes, SplatGolden, ::testing::Values("sparse_deg0", "aniso_deg3", "dense_deg1"));

}  // namespace
}  // namespace sc::render
