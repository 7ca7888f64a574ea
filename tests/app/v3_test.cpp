// V^3: quantisation, manifests, and the round trip .ply -> encode -> decode.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "app/modes/volumetric/v3_player.h"
#include "app/modes/volumetric/v3_sequence.h"
#include "base/error.h"
#include "media/video_reader.h"
#include "render/buffer.h"
#include "render/context.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {
namespace fs = std::filesystem;

fs::path tmp(const std::string& name) {
  fs::path p = fs::path(SC_TEST_TMP_DIR) / ("v3_" + name);
  fs::remove_all(p);
  return p;
}

render::GaussianCloud random_cloud(std::size_t n, int degree, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  render::GaussianCloud c;
  c.resize(n, degree);
  for (auto& v : c.positions) v = u(rng) * 2;
  for (auto& v : c.scales) v = 0.01f + 0.05f * (u(rng) + 1);
  for (auto& v : c.sh) v = u(rng);
  for (auto& v : c.opacities) v = 0.5f + 0.49f * u(rng);
  for (std::size_t i = 0; i < n; ++i) {
    float q[4], l = 0;
    for (float& x : q) x = u(rng), l += x * x;
    for (int k = 0; k < 4; ++k) c.rotations[4 * i + k] = q[k] / std::sqrt(l);
  }
  return c;
}

// Decodes a rendered video: its frame count and how many of its first frame's
// pixels differ clearly from the renderer's background (0.05, 0.05, 0.07).
struct VideoSummary {
  int frames = 0;
  int width = 0, height = 0;
  std::size_t lit_pixels = 0;
};
VideoSummary summarize_video(const fs::path& file) {
  media::VideoReader reader(media::parse_source_spec(file.string()));
  VideoSummary v;
  v.width = reader.info().width;
  v.height = reader.info().height;
  media::Frame f;
  while (reader.read(f)) {
    if (v.frames++ > 0) continue;
    for (int y = 0; y < f.height; ++y) {
      const std::uint8_t* row = f.row(y);
      for (int x = 0; x < f.width; ++x)
        v.lit_pixels += std::abs(row[4 * x] - 13) + std::abs(row[4 * x + 1] - 13) + std::abs(row[4 * x + 2] - 18) > 30;
    }
  }
  return v;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// |a - b| within one quantisation step of the attribute's range, per value.
void expect_within_step(const std::vector<float>& a, const std::vector<float>& b, int per, float levels,
                        const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (int k = 0; k < per; ++k) {
    float lo = a[k], hi = a[k];
    for (std::size_t i = k; i < a.size(); i += per) lo = std::min(lo, a[i]), hi = std::max(hi, a[i]);
    const float step = (hi - lo) / levels;
    for (std::size_t i = k; i < a.size(); i += per)
      ASSERT_LE(std::fabs(a[i] - b[i]), step * 1.01f + 2e-6f * std::fabs(a[i])) << what << " value " << i;
  }
}

TEST(V3Format, ImageSidesAndLayout) {
  EXPECT_EQ(v3_image_side(1), 8u);
  EXPECT_EQ(v3_image_side(64), 8u);
  EXPECT_EQ(v3_image_side(65), 16u);
  EXPECT_EQ(v3_image_side(150000), 392u);  // 392^2 = 153664
  V3Layout l{0};
  EXPECT_EQ(l.videos(), 20);
  EXPECT_EQ(l.columns(), 17);
  EXPECT_EQ(V3Layout::degree_for_info_size(34), 0);
  EXPECT_EQ(V3Layout::degree_for_info_size(2 * (14 + 48)), 3);
  EXPECT_EQ(V3Layout::degree_for_info_size(35), -1);
  EXPECT_EQ(v3_video_qp(l, 1, 25), 0);    // high byte: lossless
  EXPECT_EQ(v3_video_qp(l, 0, 25), 25);   // low byte
  EXPECT_EQ(v3_video_qp(l, 9, 25), 22);   // SH DC
  EXPECT_EQ(v3_video_qp(l, 12, 25), 25);  // opacity
  EXPECT_EQ(v3_video_qp(l, 19, 25), 22);  // rotation
}

TEST(V3Format, QuantiseDequantiseIsWithinOneStep) {
  render::GaussianCloud c = random_cloud(1000, 1, 5);
  V3Frame f = v3_quantize(c);
  EXPECT_EQ(f.side, 32u);
  render::GaussianCloud back = v3_dequantize(f);
  expect_within_step(c.positions, back.positions, 3, 65535, "positions");
  expect_within_step(c.scales, back.scales, 3, 255, "scales");
  expect_within_step(c.opacities, back.opacities, 1, 255, "opacities");
  expect_within_step(c.sh, back.sh, 12, 255, "sh");
  // Rotations are renormalised after decoding: close, not within one step.
  for (std::size_t i = 0; i < c.rotations.size(); ++i) ASSERT_NEAR(c.rotations[i], back.rotations[i], 0.02f);
}

TEST(V3Format, ConstantColumnsDoNotDivideByZero) {
  render::GaussianCloud c = random_cloud(10, 0, 1);
  for (auto& o : c.opacities) o = 0.7f;
  V3Frame f = v3_quantize(c);
  render::GaussianCloud back = v3_dequantize(f);
  for (float o : back.opacities) EXPECT_FLOAT_EQ(o, 0.7f);
}

TEST(V3Manifests, BadInputNamesTheFileAndTheProblem) {
  struct Case {
    const char* json;
    const char* expect;
  };
  for (const Case& c : {Case{"[]", "JSON object"}, Case{"{", "not valid JSON"}, Case{"{}", "no groups"},
                        Case{R"({"0": {"frame_index": [0, 9]}, "0x": {}})", "not a frame or group number"},
                        Case{R"({"0": {"frame_index": [1, 9]}})", "expected to start at 0"},
                        Case{R"({"0": {"frame_index": [0]}})", "[first, last]"},
                        Case{R"({"0": {"frame_index": [0, -3]}})", "out of range"}}) {
    try {
      parse_v3_group_info(c.json, "group_info.json");
      ADD_FAILURE() << "accepted " << c.json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("group_info.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  int degree = 0;
  for (const Case& c : {Case{R"({"0": {"num": 3}})", "\"num\" and \"info\""},
                        Case{R"({"0": {"num": 3, "info": [1, 2, 3]}})", "2 x (14 + 3K)"},
                        Case{R"({"1": {"num": 3, "info": []}})", "beyond"}}) {
    try {
      parse_v3_min_max(c.json, "viewer_min_max.json", &degree);
      ADD_FAILURE() << "accepted " << c.json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  std::string ok = R"({"0": {"num": 2, "info": [)";
  for (int i = 0; i < 34; ++i) ok += std::string(i ? "," : "") + (i % 2 ? "1" : "0");
  ok += "]}}";
  auto frames = parse_v3_min_max(ok, "viewer_min_max.json", &degree);
  EXPECT_EQ(degree, 0);
  EXPECT_EQ(frames.at(0).count, 2u);
}

TEST(V3Sequence, MissingFilesAreClearErrors) {
  fs::path dir = tmp("empty");
  fs::create_directories(dir);
  try {
    V3Sequence::open(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group_info.json is missing"), std::string::npos) << e.what();
  }
  EXPECT_THROW(V3Sequence::open(tmp("nonexistent")), Error);
}

// Reads a device buffer back through a host-visible copy.
std::vector<float> read_back(render::VulkanContext& ctx, render::Buffer& src, std::size_t floats) {
  render::Buffer host(ctx, floats * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  ctx.submit_and_wait([&](VkCommandBuffer cmd) {
    VkBufferCopy c{0, 0, floats * 4};
    vkCmdCopyBuffer(cmd, src.handle(), host.handle(), 1, &c);
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT, VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0,
                         nullptr);
  });
  std::vector<float> out(floats);
  std::memcpy(out.data(), host.mapped(), floats * 4);
  return out;
}

TEST(V3RoundTrip, PlySequenceEncodeThenPlayBack) {
  // 7 frames of varying size (one group pads to its largest frame) in groups
  // of 3, lossless (qp 0): every attribute the player decodes must equal the
  // original within one quantisation step, on the CPU and on the GPU.
  fs::path plys = tmp("plys"), seq_dir = tmp("seq");
  fs::create_directories(plys);
  std::vector<render::GaussianCloud> originals;
  for (int f = 0; f < 7; ++f) {
    originals.push_back(random_cloud(300 + 40 * f, 1, 100 + f));
    render::save_ply(originals.back(), (plys / ("frame_" + std::to_string(f) + ".ply")).string());
  }
  auto files = list_ply_frames(plys);
  ASSERT_EQ(files.size(), 7u);
  EXPECT_EQ(files[2].filename(), "frame_2.ply");
  V3EncodeOptions o;
  o.group_size = 3;
  o.qp = 0;
  v3_encode(
      int(files.size()), [&](int i) { return render::load_ply(files[std::size_t(i)].string()); }, seq_dir, o);

  V3Sequence seq = V3Sequence::open(seq_dir);
  EXPECT_EQ(seq.frame_count(), 7);
  EXPECT_EQ(seq.groups().size(), 3u);
  EXPECT_EQ(seq.sh_degree(), 1);
  EXPECT_NEAR(seq.fps(), 25, 0.01);
  V3Decoder decoder(seq);
  for (int f : {0, 1, 2, 3, 6, 4, 5}) {  // sequential, a jump ahead and a jump back
    const V3Frame& q = decoder.decode(f);
    EXPECT_EQ(q.count, originals[f].size());
    render::GaussianCloud back = v3_dequantize(q);
    expect_within_step(originals[f].positions, back.positions, 3, 65535, "positions");
    expect_within_step(originals[f].scales, back.scales, 3, 255, "scales");
    expect_within_step(originals[f].opacities, back.opacities, 1, 255, "opacities");
    expect_within_step(originals[f].sh, back.sh, 12, 255, "sh");
    // Rotations: 8 bits per quaternion component, renormalised on decode; the
    // same rotation (q and -q are one) to within 2 degrees.
    for (std::size_t i = 0; i < q.count; ++i) {
      const float* a = &originals[f].rotations[4 * i];
      const float* b = &back.rotations[4 * i];
      const float dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
      const float degrees = 2.0f * std::acos(std::min(1.0f, std::fabs(dot))) * 180.0f / 3.14159265f;
      ASSERT_LT(degrees, 2.0f) << "frame " << f << ", Gaussian " << i;
    }
  }

  // The GPU de-quantiser gives the CPU's values.
  setenv("SC_VK_VALIDATION", "1", 1);
  render::VulkanContext ctx(render::ContextOptions{});
  V3Player player(ctx, seq_dir, V3Player::Dequantize::kGpu);
  player.load(4);
  render::GaussianCloud cpu = v3_dequantize(decoder.decode(4));
  auto& scene = player.renderer().scene();
  ASSERT_EQ(scene.count, cpu.size());
  auto close = [](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
    for (std::size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5f * std::max(1.0f, std::fabs(a[i]))) << what;
  };
  close(read_back(ctx, *scene.positions, cpu.positions.size()), cpu.positions, "positions");
  close(read_back(ctx, *scene.scales, cpu.scales.size()), cpu.scales, "scales");
  close(read_back(ctx, *scene.rotations, cpu.rotations.size()), cpu.rotations, "rotations");
  close(read_back(ctx, *scene.opacities, cpu.opacities.size()), cpu.opacities, "opacities");
  close(read_back(ctx, *scene.sh, cpu.sh.size()), cpu.sh, "sh");
  // And it renders something.
  auto st = player.renderer().render(player.default_camera().camera(160, 120));
  EXPECT_GT(st.intersections, 100u);
  EXPECT_EQ(ctx.validation_errors(), 0u);
}

// The bundled sample (assets/volumetric/sample) is a whole sequence and stays
// small: the project ships it under 5 MB.
TEST(V3Sample, TheBundledClipOpensAndStaysUnder5MB) {
  const fs::path dir = fs::path(SC_SOURCE_DIR) / "assets" / "volumetric" / "sample";
  std::uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_GT(bytes, 0u);
  EXPECT_LT(bytes, 5u * 1000 * 1000) << dir << " holds " << bytes << " bytes";
  const V3Sequence seq = V3Sequence::open(dir);
  EXPECT_GT(seq.frame_count(), 1);
  EXPECT_GT(seq.max_gaussians(), 0u);
}

TEST(V3Cli, SampleThenRender) {
  const std::string cli = test::shell_quote(SC_CLI_PATH);
  fs::path seq = tmp("cli_sample");
  auto r = test::run_command(cli + " v3 sample " + test::shell_quote(seq.string()) + " --frames 6 --gaussians 2000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string out = (fs::path(SC_TEST_TMP_DIR) / "v3_cli_render.mp4").string();
  r = test::run_command(cli + " v3 render " + test::shell_quote(seq.string()) +
                        " --size 160x120 --frames 8 --stats --output " + test::shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rendered 8 frames"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("per frame"), std::string::npos) << r.output;
  EXPECT_GT(fs::file_size(out), 1000u);
  r = test::run_command(cli + " v3 render /nonexistent/seq --output " + test::shell_quote(out));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/seq"), std::string::npos) << r.output;
  r = test::run_command(cli + " v3 encode /nonexistent/plys " + test::shell_quote(seq.string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not a folder"), std::string::npos) << r.output;
}

TEST(V3Cli, EncodePlyFolderThenRenderIt) {
  // The documented workflow for one's own captures: a folder of .ply frames
  // -> `v3 encode` -> a sequence that `v3 render` and the library both open.
  const std::string cli = test::shell_quote(SC_CLI_PATH);
  fs::path plys = tmp("cli_plys"), seq_dir = tmp("cli_encoded");
  fs::create_directories(plys);
  for (int f = 0; f < 5; ++f)
    render::save_ply(random_cloud(200 + 30 * f, 0, 40 + f), (plys / ("f" + std::to_string(f) + ".ply")).string());
  auto r = test::run_command(cli + " v3 encode " + test::shell_quote(plys.string()) + " " +
                             test::shell_quote(seq_dir.string()) + " --group-size 2 --qp 0 --fps 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "encoded 5 frames")) << r.output;
  V3Sequence seq = V3Sequence::open(seq_dir);
  EXPECT_EQ(seq.frame_count(), 5);
  EXPECT_EQ(seq.groups().size(), 3u);  // 2 + 2 + 1
  EXPECT_NEAR(seq.fps(), 10, 1e-6);
  EXPECT_EQ(seq.frame_info(4).count, 320u);
  EXPECT_EQ(seq.max_gaussians(), 320u);

  const fs::path out = fs::path(SC_TEST_TMP_DIR) / "v3_cli_encoded.mp4";
  fs::remove(out);
  r = test::run_command(cli + " v3 render " + test::shell_quote(seq_dir.string()) + " --size 96x64 --output " +
                        test::shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "rendered 5 frames")) << r.output;  // default: the whole sequence once
  EXPECT_TRUE(contains(r.output, "320 Gaussians max")) << r.output;
  const VideoSummary v = summarize_video(out);
  EXPECT_EQ(v.frames, 5);
  EXPECT_EQ(v.width, 96);
  EXPECT_EQ(v.height, 64);
  EXPECT_GT(v.lit_pixels, 20u) << "the splats should show against the background";
}

TEST(V3Cli, RenderAlongACameraPath) {
  const std::string cli = test::shell_quote(SC_CLI_PATH);
  fs::path seq = tmp("cli_path_seq");
  auto r = test::run_command(cli + " v3 sample " + test::shell_quote(seq.string()) + " --frames 3 --gaussians 500");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path camera = fs::path(SC_TEST_TMP_DIR) / "v3_camera_path.json";
  std::ofstream(camera) << R"({"fov_y_degrees": 60, "up": [0, -1, 0], "keys": [
      {"frame": 0, "eye": [0, 0, -3], "target": [0, 0, 0]},
      {"frame": 6, "eye": [3, 0, 0], "target": [0, 0, 0]}]})";
  const fs::path out = fs::path(SC_TEST_TMP_DIR) / "v3_cli_path.mp4";
  fs::remove(out);
  const std::string render = cli + " v3 render " + test::shell_quote(seq.string()) + " --size 64x48 --frames 7 ";
  r = test::run_command(render + "--camera " + test::shell_quote(camera.string()) + " --output " +
                        test::shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "rendered 7 frames")) << r.output;  // more frames than the sequence: it loops
  ASSERT_TRUE(fs::exists(out));
  const VideoSummary v = summarize_video(out);
  EXPECT_EQ(v.frames, 7);
  EXPECT_GT(v.lit_pixels, 20u);

  // Malformed paths: the error names the file and what is wrong, and no video is written.
  struct Case {
    const char* json;
    const char* expect;
  };
  const fs::path bad = fs::path(SC_TEST_TMP_DIR) / "v3_bad_camera.json";
  for (const Case& c :
       {Case{R"({"keys": [{"frame": 0, "eye": [0, 0, -3], "target": [0, 0)", "not a JSON object"},
        Case{R"({"fov_y_degrees": 50})", "needs \"keys\""},
        Case{R"({"keys": [{"frame": 0, "eye": [0, 0], "target": [0, 0, 0]}]})", "eye must be [x, y, z]"},
        Case{R"({"keys": [{"frame": 3, "eye": [0, 0, 1], "target": [0, 0, 0]},
                                          {"frame": 1, "eye": [0, 0, 2], "target": [0, 0, 0]}]})",
             "key frames must increase"}}) {
    std::ofstream(bad) << c.json;
    fs::remove(out);
    r = test::run_command(render + "--camera " + test::shell_quote(bad.string()) + " --output " +
                          test::shell_quote(out.string()));
    EXPECT_EQ(r.exit_code, 1) << c.json << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, bad.string())) << r.output;
    EXPECT_TRUE(contains(r.output, c.expect)) << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.json;
  }
  r = test::run_command(render + "--camera /nonexistent/path.json --output " + test::shell_quote(out.string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/path.json: cannot open the camera path")) << r.output;
}

// antimatter15's .splat layout (render/splat/gaussians.h): 32 bytes a Gaussian.
void write_splat(const render::GaussianCloud& c, const fs::path& file) {
  std::ofstream out(file, std::ios::binary);
  for (std::size_t i = 0; i < c.size(); ++i) {
    out.write(reinterpret_cast<const char*>(&c.positions[3 * i]), 12);
    out.write(reinterpret_cast<const char*>(&c.scales[3 * i]), 12);
    std::uint8_t rgba[4];
    for (int k = 0; k < 3; ++k)
      rgba[k] = std::uint8_t(
          std::clamp(255.0f * (c.sh[3 * i * std::size_t(c.sh_coefficients()) + std::size_t(k)] * render::kShC0 + 0.5f),
                     0.0f, 255.0f));
    rgba[3] = std::uint8_t(255.0f * c.opacities[i]);
    std::uint8_t rot[4];
    for (int k = 0; k < 4; ++k)
      rot[k] = std::uint8_t(std::clamp(c.rotations[4 * i + std::size_t(k)] * 128.0f + 128.0f, 0.0f, 255.0f));
    out.write(reinterpret_cast<const char*>(rgba), 4);
    out.write(reinterpret_cast<const char*>(rot), 4);
  }
}

TEST(V3Cli, RenderStillPlyAndSplatScenes) {
  // A single scene plays as a one-frame still; the orbit camera still moves.
  const std::string cli = test::shell_quote(SC_CLI_PATH);
  const fs::path dir = tmp("still");
  fs::create_directories(dir);
  const render::GaussianCloud cloud = random_cloud(250, 1, 77);
  render::save_ply(cloud, (dir / "scene.ply").string());
  render::GaussianCloud flat = random_cloud(180, 0, 78);
  write_splat(flat, dir / "scene.splat");
  ASSERT_EQ(render::load_splat((dir / "scene.splat").string()).size(), 180u);  // the writer is right
  struct Case {
    const char* file;
    const char* gaussians;
    const char* degree;
  };
  for (const Case& c : {Case{"scene.ply", "250 Gaussians max", "SH degree 1"},
                        Case{"scene.splat", "180 Gaussians max", "SH degree 0"}}) {
    const fs::path out = dir / (std::string(c.file) + ".mp4");
    auto r = test::run_command(cli + " v3 render " + test::shell_quote((dir / c.file).string()) +
                               " --size 64x48 --frames 4 --output " + test::shell_quote(out.string()));
    ASSERT_EQ(r.exit_code, 0) << c.file << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "rendered 4 frames")) << r.output;
    EXPECT_TRUE(contains(r.output, c.gaussians)) << r.output;
    EXPECT_TRUE(contains(r.output, c.degree)) << r.output;
    const VideoSummary v = summarize_video(out);
    EXPECT_EQ(v.frames, 4) << c.file;
    EXPECT_GT(v.lit_pixels, 20u) << c.file;
  }
  // Without --frames a still is one frame; a file of another type is refused by name.
  auto r = test::run_command(cli + " v3 render " + test::shell_quote((dir / "scene.ply").string()) +
                             " --size 64x48 --output " + test::shell_quote((dir / "one.mp4").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(summarize_video(dir / "one.mp4").frames, 1);
  std::ofstream(dir / "notes.txt") << "not a scene";
  r = test::run_command(cli + " v3 render " + test::shell_quote((dir / "notes.txt").string()) + " --output " +
                        test::shell_quote((dir / "x.mp4").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "notes.txt: unknown Gaussian file type")) << r.output;
  // A mistyped scene path is named as a missing file, not as a sequence folder.
  r = test::run_command(cli + " v3 render " + test::shell_quote((dir / "typo.ply").string()) + " --output " +
                        test::shell_quote((dir / "typo.mp4").string()));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "typo.ply")) << r.output;
  EXPECT_FALSE(contains(r.output, "V^3 sequence folder")) << r.output;
}

}  // namespace
}  // namespace sc::app
