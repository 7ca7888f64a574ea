// `streamcanvas-cli img2img` on a tiny pipeline folder assembled from the
// golden fixtures (stream_pipeline: unet/ + text_encoder/ + model_index.json;
// diffusion_tokenizer, diffusion_vae, diffusion_taesd). Seconds, not minutes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "engine/cuda/runtime.h"
#include "media/source_spec.h"
#include "media/video_reader.h"
#include "tests/common/img2img_fixture.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const fs::path kFixtures = fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";
const fs::path kTmp = fs::path(SC_TEST_TMP_DIR) / "img2img_cli";
// Not paced to real time, so every frame reaches the pipeline.
const std::string kSource = " --source " + shell_quote("test:64x64@25?pacing=fast");

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

fs::path model_folder() { return test::tiny_img2img_pipeline("img2img_cli_model"); }

std::string img2img(const fs::path& model, const std::string& extra, const std::string& output) {
  fs::create_directories(kTmp);
  return kCli + " img2img --device cpu --model " + shell_quote(model.string()) + kSource + " --size 64x64 --output " +
         shell_quote((kTmp / output).string()) + " " + extra;
}

TEST(Img2ImgCli, SelfCfgWithTaesdWritesFramesAndStats) {
  const fs::path out = kTmp / "self.mp4";
  fs::remove(out);
  auto r =
      run_command(img2img(model_folder(),
                          "--taesd " + shell_quote((kFixtures / "diffusion_taesd").string()) +
                              " --prompt 'a watercolor city' --frames 5 --steps 2 --cfg self --guidance 1.5 --stats",
                          "self.mp4"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Two steps: the first frame fills the latent buffer; at the end of the
  // source the buffered frame is flushed, so every input frame has an output.
  EXPECT_TRUE(contains(r.output, "wrote 5 frames (64x64)")) << r.output;
  EXPECT_TRUE(contains(r.output, "5 in, 5 out, 1 warm-up (latent buffer fill, not shown), 1 flushed at the end"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "UNet: 6 calls, 2 rows per frame (2.00 measured)")) << r.output;
  EXPECT_TRUE(contains(r.output, "(TAESD) on CPU fp32, cfg self")) << r.output;
  for (const char* stage : {"preprocess", "VAE encode", "VAE decode", "postprocess", "fps:", "SSF skips: 0 of 5"}) {
    EXPECT_TRUE(contains(r.output, stage)) << stage << "\n" << r.output;
  }
  // The stage times are measured, not printed as placeholders: the source's
  // decode and the UNet took time, and every output has a capture -> output
  // latency (the first frame waited a whole frame in the latent buffer).
  auto number_after = [&](const std::string& label) {
    const std::smatch m = [&] {
      std::smatch found;
      std::regex_search(r.output, found, std::regex(label + "\\s*([0-9.]+)"));
      return found;
    }();
    return m.empty() ? -1.0 : std::stod(m[1].str());
  };
  EXPECT_GT(number_after("per frame \\(ms\\): source[^0-9]*"), 0.0) << r.output;
  EXPECT_GT(number_after("  UNet"), 0.0) << r.output;
  EXPECT_TRUE(contains(r.output, "over 5 frames")) << r.output;
  const double mean = number_after("capture -> output \\(ms\\): mean"), max = number_after(", max");
  EXPECT_GT(mean, 0.0) << r.output;
  EXPECT_GE(max, mean) << r.output;
  EXPECT_GT(fs::file_size(out), 0u);
}

// A live source faster than the model: the input queue keeps only the newest
// frames (latest wins), the model never falls behind the source, and the
// frames it could not take are counted as dropped.
TEST(Img2ImgCli, ALiveSourceFasterThanTheModelDropsOldFrames) {
  const fs::path out = kTmp / "live.mp4";
  fs::remove(out);
  auto r = run_command(kCli + " img2img --device cpu --model " + shell_quote(model_folder().string()) + " --taesd " +
                       shell_quote((kFixtures / "diffusion_taesd").string()) +
                       " --source test:64x64@60 --size 256x256 --frames 4 --prompt x --stats --output " +
                       shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::smatch m = [&] {
    std::smatch found;
    std::regex_search(r.output, found, std::regex("frames: 4 in, 3 out, 1 warm-up .*, ([0-9]+) dropped"));
    return found;
  }();
  ASSERT_FALSE(m.empty()) << r.output;
  EXPECT_GT(std::stoi(m[1].str()), 0) << "a 60 fps source outran a model at 256x256 on the CPU\n" << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 3 frames (256x256)")) << r.output;
}

// A video file as the source (every frame processed, its own size resized to
// the model's) and --strength mapped to the t_index_list.
TEST(Img2ImgCli, AFileSourceWithAStrength) {
  const fs::path in = kTmp / "clip_in.mp4", out = kTmp / "clip_out.mp4";
  fs::create_directories(kTmp);
  fs::remove(out);
  ASSERT_EQ(std::system(("ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=96x72:rate=25 -frames:v 6 "
                         "-pix_fmt yuv420p " +
                         shell_quote(in.string()))
                            .c_str()),
            0);
  auto r =
      run_command(kCli + " img2img --device cpu --model " + shell_quote(model_folder().string()) + " --taesd " +
                  shell_quote((kFixtures / "diffusion_taesd").string()) + " --source " + shell_quote(in.string()) +
                  " --size 64x64 --steps 2 --strength 0.8 --prompt x --stats --output " + shell_quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "t_index_list [10, 30]")) << "strength 0.8, 2 steps\n" << r.output;
  EXPECT_TRUE(contains(r.output, "6 in, 6 out")) << r.output;
  EXPECT_TRUE(contains(r.output, "0 dropped")) << "a file is processed frame by frame\n" << r.output;
  media::VideoReader reader(media::parse_source_spec(out.string()));
  EXPECT_EQ(reader.info().width, 64);
  media::Frame f;
  int n = 0;
  while (reader.read(f)) ++n;
  EXPECT_EQ(n, 6);
}

TEST(Img2ImgCli, FullCfgWithTheVaeCountsTwoRowsPerStep) {
  auto r = run_command(
      img2img(model_folder(),
              "--prompt x --negative-prompt blurry --frames 3 --steps 2 --cfg full --guidance 2 --stats", "full.mkv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(VAE) on CPU fp32, cfg full")) << r.output;
  EXPECT_TRUE(contains(r.output, "4 rows per frame (4.00 measured)")) << r.output;
  auto init = run_command(
      img2img(model_folder(), "--prompt x --frames 3 --steps 3 --cfg initialize --guidance 2 --stats", "init.mp4"));
  ASSERT_EQ(init.exit_code, 0) << init.output;
  EXPECT_TRUE(contains(init.output, "4 rows per frame (4.00 measured)")) << init.output;  // n + 1
  EXPECT_TRUE(contains(init.output, "3 in, 3 out, 2 warm-up (latent buffer fill, not shown), 2 flushed"))
      << init.output;
}

TEST(Img2ImgCli, AOneFrameFileStillGetsItsOutput) {
  // Three steps: the buffer needs two more frames after the only real one.
  auto r = run_command(img2img(model_folder(), "--prompt x --frames 1 --steps 3 --stats", "one.mp4"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 1 frames")) << r.output;
  // One warm-up frame of input; the two flush repeats fill the rest and push it out.
  EXPECT_TRUE(contains(r.output, "1 in, 1 out, 1 warm-up (latent buffer fill, not shown), 1 flushed")) << r.output;
  EXPECT_TRUE(contains(r.output, "UNet: 3 calls, 3 rows per frame (3.00 measured)")) << r.output;
}

TEST(Img2ImgCli, SimilarityFilterSkipsSimilarFrames) {
  // Consecutive test-pattern frames are far more similar than a threshold of
  // 0.05: SSF skips some (never more than the limit in a row) and says so.
  auto r = run_command(
      img2img(model_folder(), "--prompt x --frames 8 --steps 1 --ssf --ssf-threshold 0.05 --stats", "ssf.mp4"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "SSF skips: ")) << r.output;
  EXPECT_FALSE(contains(r.output, "SSF skips: 0 of")) << r.output;
  EXPECT_TRUE(contains(r.output, "wrote 8 frames")) << r.output;  // a skip repeats the last output
}

TEST(Img2ImgCli, LongPromptIsTruncatedAndSaysSo) {
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += "word ";
  auto r =
      run_command(img2img(model_folder(), "--prompt " + shell_quote(prompt) + " --frames 2 --steps 1", "long.mp4"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "longer than 77 CLIP tokens")) << r.output;
}

TEST(Img2ImgCli, BadInputsSayWhatIsWrong) {
  auto size = run_command(kCli + " img2img --model " + shell_quote(model_folder().string()) +
                          " --prompt x --size 60x64 --output " + shell_quote((kTmp / "bad.mp4").string()));
  EXPECT_EQ(size.exit_code, 1) << size.output;
  EXPECT_TRUE(contains(size.output, "not a multiple of 8")) << size.output;
  auto component = run_command(img2img(kFixtures / "diffusion_taesd", "--prompt x --frames 2", "bad.mp4"));
  EXPECT_EQ(component.exit_code, 1) << component.output;
  EXPECT_TRUE(contains(component.output, "not a diffusers pipeline folder")) << component.output;
  auto missing = run_command(img2img(kFixtures / "stream_pipeline", "--prompt x --frames 2", "bad.mp4"));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "tokenizer/ folder is missing")) << missing.output;
  // Components of different families: a text encoder whose width is not the
  // UNet's cross-attention width.
  const fs::path mixed = kTmp / "mixed";
  fs::remove_all(mixed);
  fs::copy(model_folder(), mixed, fs::copy_options::recursive);
  fs::remove_all(mixed / "text_encoder");
  fs::copy(kFixtures / "diffusion_clip_text_quick_gelu", mixed / "text_encoder", fs::copy_options::recursive);
  auto family = run_command(img2img(mixed, "--prompt x --frames 2", "bad.mp4"));
  EXPECT_EQ(family.exit_code, 1) << family.output;
  EXPECT_TRUE(contains(family.output, "different model families")) << family.output;
  auto cfg = run_command(img2img(model_folder(), "--prompt x --cfg double", "bad.mp4"));
  EXPECT_EQ(cfg.exit_code, 2) << cfg.output;
  auto steps = run_command(img2img(model_folder(), "--prompt x --steps 5", "bad.mp4"));
  EXPECT_EQ(steps.exit_code, 2) << steps.output;
  auto dtype = run_command(img2img(model_folder(), "--prompt x --dtype fp8", "bad.mp4"));
  EXPECT_EQ(dtype.exit_code, 2) << dtype.output;
  if (!engine::cuda::available()) {
    // Asking for the GPU where there is none says why, before any work.
    auto gpu = run_command(kCli + " img2img --device cuda --model " + shell_quote(model_folder().string()) +
                           " --prompt x --frames 2 --size 64x64 --output " + shell_quote((kTmp / "gpu.mp4").string()));
    EXPECT_EQ(gpu.exit_code, 1) << gpu.output;
    EXPECT_TRUE(contains(gpu.output, "--device cuda:")) << gpu.output;
    EXPECT_FALSE(fs::exists(kTmp / "gpu.mp4"));
  }
}

}  // namespace
}  // namespace sc::app
