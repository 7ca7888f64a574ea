// The StreamDiffusion pipeline against a Python reference of the same
// algorithm on diffusers' components (tests/golden/gen_stream_diffusion.py:
// tiny seeded UNet + TAESD, 64x64 frames, t_index_list [18, 32]), one fixture
// per cfg mode; plus the strength mapping, SSF and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

#include "base/error.h"
#include "engine/models/taesd/taesd.h"
#include "engine/ops.h"
#include "engine/pipelines/stream_diffusion.h"
#include "engine/safetensors.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::fixture_dir;
using test::relative_l2;

constexpr double kPipelineTolerance = 1e-3;

struct Models {
  UNet2DCondition unet = UNet2DCondition::load(fixture_dir("diffusion_unet_sd15"));
  Taesd taesd = Taesd::load(fixture_dir("diffusion_taesd"));
  LatentCodec codec() const {
    return LatentCodec{
        "TAESD", [this](const Tensor& x) { return scale(taesd.encoder.forward(x), taesd.config.scaling_factor); },
        [this](const Tensor& x) { return taesd.decoder.forward(scale(x, 1.0f / taesd.config.scaling_factor)); }};
  }
};

const Models& models() {
  static const Models m;
  return m;
}

StreamParams golden_params(CfgMode cfg) {
  StreamParams p;
  p.t_index_list = {18, 32};
  p.cfg = cfg;
  p.guidance = 1.6f;
  p.delta = 0.7f;
  p.height = 64;
  p.width = 64;
  return p;
}

struct GoldenRun {
  double image = 0, latent = 0;  // worst rel L2 over the calls
  std::int64_t unet_rows = 0, unet_calls = 0, rows_per_frame = 0;
};

// Runs a fixture's frames through a stream made with `p`, frame_buffer_size
// frames per call, and compares every call's latent and every shown image with
// the reference. The first `warm_calls` calls fill the latent buffer and show
// nothing. `live`, when given, may change the stream before each call.
GoldenRun run_golden(const SafetensorsFile& f, const StreamParams& p, std::int64_t warm_calls,
                     const std::function<void(std::int64_t call, StreamDiffusion&)>& live = {}) {
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, p);
  stream.set_init_noise(f.load("init_noise"));
  stream.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  const Tensor images = f.load("images"), outputs = f.load("outputs"), latents = f.load("latents");
  const std::int64_t fb = p.frame_buffer_size;
  GoldenRun g;
  for (std::int64_t i = 0, call = 0; i < images.shape()[0]; i += fb, ++call) {
    if (live) live(call, stream);
    const StreamDiffusion::Result r = stream.process(images.slice(0, i, i + fb).clone());
    EXPECT_EQ(r.warming_up, call < warm_calls) << "call " << call;
    EXPECT_EQ(r.latent.shape()[0], fb);
    g.latent = std::max(g.latent, relative_l2(r.latent, latents.slice(0, i, i + fb).clone()));
    if (r.warming_up) {
      EXPECT_FALSE(r.decoded.defined());
      continue;
    }
    g.image = std::max(g.image, relative_l2(r.host_image(), outputs.slice(0, i, i + fb).clone()));
  }
  g.unet_rows = stream.counters().unet_rows;
  g.unet_calls = stream.counters().unet_calls;
  g.rows_per_frame = stream.unet_rows_per_frame();
  return g;
}

// n = 2 steps: the first frame fills the buffer and is not shown.
void check_mode(const std::string& name, std::int64_t rows_per_frame) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / (name + ".safetensors"));
  const std::int64_t frames = f.load("images").shape()[0];
  const GoldenRun g = run_golden(f, golden_params(parse_cfg_mode(name)), 1);
  const double per_frame = static_cast<double>(g.unet_rows) / static_cast<double>(frames);
  std::printf("cfg %s: rel L2 image %.3g latent %.3g, UNet rows per frame %.0f (1 call)\n", name.c_str(), g.image,
              g.latent, per_frame);
  ::testing::Test::RecordProperty("rel_l2_image", std::to_string(g.image));
  ::testing::Test::RecordProperty("unet_rows_per_frame", std::to_string(per_frame));
  EXPECT_LT(g.image, kPipelineTolerance);
  EXPECT_LT(g.latent, kPipelineTolerance);
  EXPECT_EQ(g.rows_per_frame, rows_per_frame);
  EXPECT_EQ(g.unet_rows, rows_per_frame * frames);
  EXPECT_EQ(g.unet_calls, frames);
  EXPECT_EQ(std::to_string(rows_per_frame), f.metadata().at("unet_rows_per_frame"));
}

// A frame buffer of 2: two 32x32 frames per call, 2 steps x 2 frames of UNet
// rows (x2 for full, + 2 for initialize); the first call fills the buffer.
void check_mode_fb2(const std::string& name, std::int64_t rows_per_frame) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion_fb2") / (name + ".safetensors"));
  ASSERT_EQ(f.metadata().at("frame_buffer_size"), "2");
  ASSERT_EQ(f.load("images").shape()[0], 6);
  StreamParams p = golden_params(parse_cfg_mode(name));
  p.height = p.width = 32;
  p.frame_buffer_size = 2;
  const GoldenRun g = run_golden(f, p, 1);
  std::printf("cfg %s, frame buffer 2: rel L2 image %.3g latent %.3g\n", name.c_str(), g.image, g.latent);
  EXPECT_LT(g.image, kPipelineTolerance);
  EXPECT_LT(g.latent, kPipelineTolerance);
  EXPECT_EQ(g.rows_per_frame, rows_per_frame);
  EXPECT_EQ(g.unet_rows, rows_per_frame * 6);
  EXPECT_EQ(g.unet_calls, 3);
  EXPECT_EQ(std::to_string(rows_per_frame), f.metadata().at("unet_rows_per_frame"));
}

// Guidance raised live in a residual mode (1, then 1.6 from frame 3): the
// residual noise is carried while the guidance is 1, as StreamDiffusion's
// unet_step does, so the frames after the change match the reference.
void check_ramp(const std::string& name) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / (name + "_ramp.safetensors"));
  const int ramp_at = std::stoi(f.metadata().at("guidance_from_frame"));
  ASSERT_LT(ramp_at, f.load("images").shape()[0]);
  StreamParams p = golden_params(parse_cfg_mode(name));
  const float guidance = p.guidance;
  p.guidance = 1.0f;
  const GoldenRun g = run_golden(f, p, 1, [&](std::int64_t call, StreamDiffusion& stream) {
    if (call != ramp_at) return;
    p.guidance = guidance;
    stream.set_params(p);  // live: no restart
  });
  std::printf("cfg %s, guidance raised at frame %d: rel L2 image %.3g latent %.3g\n", name.c_str(), ramp_at, g.image,
              g.latent);
  EXPECT_LT(g.image, kPipelineTolerance);
  EXPECT_LT(g.latent, kPipelineTolerance);
}

// sd-turbo's path: one step from the noisiest timestep (t_index 0), no cfg.
// No latent buffer: every frame is shown at once, one UNet row per frame.
TEST(GoldenStreamDiffusion, SingleStepFromTheNoisiestTimestep) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "none_1step.safetensors");
  ASSERT_EQ(f.metadata().at("t_index_list"), "[0]");
  StreamParams p = golden_params(CfgMode::kNone);
  p.t_index_list = t_index_list_for(1.0f, 1);  // what --steps 1 --strength 1 asks for
  ASSERT_EQ(p.t_index_list, std::vector<int>({0}));
  const GoldenRun g = run_golden(f, p, 0);
  std::printf("1 step, t_index 0: rel L2 image %.3g latent %.3g\n", g.image, g.latent);
  EXPECT_LT(g.image, kPipelineTolerance);
  EXPECT_LT(g.latent, kPipelineTolerance);
  EXPECT_EQ(g.unet_rows, f.load("images").shape()[0]);
}

TEST(GoldenStreamDiffusion, CfgSelfWithGuidanceRaisedLive) { check_ramp("self"); }
TEST(GoldenStreamDiffusion, CfgInitializeWithGuidanceRaisedLive) { check_ramp("initialize"); }
TEST(GoldenStreamDiffusion, CfgNone) { check_mode("none", 2); }
TEST(GoldenStreamDiffusion, FrameBuffer2CfgNone) { check_mode_fb2("none", 2); }
TEST(GoldenStreamDiffusion, FrameBuffer2CfgFull) { check_mode_fb2("full", 4); }
TEST(GoldenStreamDiffusion, FrameBuffer2CfgSelf) { check_mode_fb2("self", 2); }
TEST(GoldenStreamDiffusion, FrameBuffer2CfgInitialize) { check_mode_fb2("initialize", 3); }
TEST(GoldenStreamDiffusion, CfgFull) { check_mode("full", 4); }
TEST(GoldenStreamDiffusion, CfgSelf) { check_mode("self", 2); }
TEST(GoldenStreamDiffusion, CfgInitialize) { check_mode("initialize", 3); }

TEST(GoldenStreamDiffusion, WrongDeltaFailsTheComparison) {
  // The comparison can fail: self mode with another delta.
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "self.safetensors");
  StreamParams p = golden_params(CfgMode::kSelf);
  p.delta = 0.2f;
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, p);
  stream.set_init_noise(f.load("init_noise"));
  stream.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  const Tensor images = f.load("images");
  StreamDiffusion::Result r;
  for (std::int64_t i = 0; i < 3; ++i) r = stream.process(images.slice(0, i, i + 1).clone());
  EXPECT_GT(relative_l2(r.latent, f.load("latents").slice(0, 2, 3).clone()), 1e-2);
}

TEST(StreamDiffusion, PixelPathIsTheTensorPathWithTheFrameConversions) {
  // process_rgba8 (what the studio calls) = rgba8_to_image -> process ->
  // image_to_rgba8, byte for byte, from a frame of another size.
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "self.safetensors");
  StreamDiffusion pixels(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kSelf));
  StreamDiffusion tensors(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kSelf));
  for (StreamDiffusion* s : {&pixels, &tensors}) s->set_prompt_embeds(f.load("cond"), f.load("uncond"));
  for (int i = 0; i < 3; ++i) {
    Tensor frame = Tensor::empty({48, 80, 4}, DType::kU8);
    for (std::int64_t k = 0; k < frame.numel(); ++k)
      frame.data<std::uint8_t>()[k] = static_cast<std::uint8_t>(k * 7 + i * 31);
    const StreamDiffusion::PixelResult got = pixels.process_rgba8(frame);
    const StreamDiffusion::Result want = tensors.process(rgba8_to_image(frame, 64, 64));
    ASSERT_EQ(got.warming_up, want.warming_up);
    if (got.warming_up) {
      EXPECT_FALSE(got.rgba.defined());
      continue;
    }
    const Tensor want_px = image_to_rgba8(want.decoded);
    ASSERT_EQ(got.rgba.shape(), Shape({1, 64, 64, 4}));
    EXPECT_EQ(std::memcmp(got.rgba.raw_data(), want_px.raw_data(), want_px.nbytes()), 0) << "frame " << i;
  }
  // Every stage was timed.
  const StreamDiffusion::Counters& c = pixels.counters();
  for (double s : {c.preprocess_s, c.encode_s, c.unet_s, c.decode_s, c.postprocess_s}) EXPECT_GT(s, 0.0);
  EXPECT_THROW(pixels.process_rgba8(Tensor::zeros({48, 80, 4})), Error);  // f32, not pixels
}

TEST(StreamDiffusion, StrengthMapsToAscendingIndexLists) {
  EXPECT_EQ(t_index_list_for(1.0f, 1), std::vector<int>({0}));
  EXPECT_EQ(t_index_list_for(1.0f, 4), std::vector<int>({0, 12, 25, 37}));
  const std::vector<int> low = t_index_list_for(0.1f, 4);
  ASSERT_EQ(low.size(), 4u);
  for (std::size_t i = 1; i < low.size(); ++i) EXPECT_GT(low[i], low[i - 1]);
  EXPECT_LE(low.back(), 49);
  EXPECT_GT(t_index_list_for(0.3f, 2)[0], t_index_list_for(0.8f, 2)[0]);  // less strength: later, less noisy
  EXPECT_THROW(t_index_list_for(0.5f, 5), Error);
  // Strength 0 is the least change the 50-step schedule allows: its last indices.
  EXPECT_EQ(t_index_list_for(0.0f, 1), std::vector<int>({49}));
  EXPECT_EQ(t_index_list_for(0.0f, 2), std::vector<int>({48, 49}));
  EXPECT_THROW(t_index_list_for(-0.1f, 2), Error);
  EXPECT_THROW(t_index_list_for(1.5f, 2), Error);
  EXPECT_THROW(t_index_list_for(std::nanf(""), 2), Error);
}

TEST(StreamDiffusion, SimilarityFilterSkipsStillFramesUpToTheLimit) {
  EXPECT_DOUBLE_EQ(SimilarityFilter::skip_probability(0.9, 0.98), 0.0);
  EXPECT_NEAR(SimilarityFilter::skip_probability(0.99, 0.98), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(SimilarityFilter::skip_probability(1.0, 0.98), 1.0);
  SimilarityFilter filter(0.98f, 3, 7);
  const Tensor still = Tensor::full({1, 3, 8, 8}, 0.25f);
  std::vector<bool> skips;
  for (int i = 0; i < 10; ++i) skips.push_back(filter.should_skip(still));
  // Identical frames: first processed, then 3 skips, one processed, 3 skips...
  EXPECT_EQ(skips, std::vector<bool>({false, true, true, true, false, true, true, true, false, true}));
  EXPECT_EQ(filter.skipped(), 7);
  // A different frame is never skipped.
  Tensor other = still.clone();
  for (int i = 0; i < 32; ++i) other.data<float>()[i] = -1.0f;
  EXPECT_FALSE(filter.should_skip(other));
}

TEST(StreamDiffusion, SkippedFramesRepeatTheLastOutput) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "none.safetensors");
  StreamParams p = golden_params(CfgMode::kNone);
  p.similarity_filter = true;
  p.max_skip_frames = 2;
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, p);
  stream.set_prompt_embeds(f.load("cond"), Tensor());
  const Tensor frame = f.load("images").slice(0, 0, 1).clone();
  int skipped = 0;
  Tensor shown;  // the last output shown
  for (int i = 0; i < 6; ++i) {
    const StreamDiffusion::Result r = stream.process(frame);
    EXPECT_FALSE(r.warming_up && r.skipped);
    if (r.skipped) {
      ++skipped;
      // A skip shows the previous output again, pixel for pixel.
      ASSERT_TRUE(shown.defined()) << "frame " << i << " skipped before anything was shown";
      EXPECT_EQ(relative_l2(r.host_image(), shown), 0.0) << "frame " << i;
    }
    if (!r.warming_up) shown = r.host_image();
  }
  EXPECT_GE(skipped, 2);
  EXPECT_EQ(stream.counters().skipped, skipped);
  EXPECT_EQ(stream.counters().unet_calls, 6 - skipped);
  EXPECT_NEAR(stream.skip_rate(), skipped / 6.0, 1e-12);
}

TEST(StreamDiffusion, BadInputsSayWhatIsWrongAndKeepTheStream) {
  StreamParams p = golden_params(CfgMode::kFull);
  p.height = 60;
  try {
    StreamDiffusion bad(&models().unet, models().codec(), LcmScheduler{}, p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_cfg_mode("double"), Error);
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kFull));
  StreamParams live = stream.params();
  live.width = 70;
  EXPECT_THROW(stream.set_params(live), Error);
  EXPECT_EQ(stream.params().width, 64);  // the running settings stay
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "full.safetensors");
  const Tensor frame = f.load("images").slice(0, 0, 1).clone();
  EXPECT_THROW(stream.process(frame), Error);  // no prompt yet
  stream.set_prompt_embeds(f.load("cond"), Tensor());
  EXPECT_THROW(stream.process(frame), Error);  // full cfg needs a negative prompt
  stream.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  EXPECT_NO_THROW(stream.process(frame));
  EXPECT_THROW(stream.process(Tensor::zeros({1, 3, 32, 32})), Error);
  // Guidance changes live without restarting the buffer.
  live = stream.params();
  live.guidance = 1.0f;
  stream.set_params(live);
  EXPECT_EQ(stream.unet_rows_per_frame(), 2);
  EXPECT_FALSE(stream.process(frame).warming_up);
}

TEST(StreamDiffusion, LiveChangesKeepOrRestartTheStream) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "self.safetensors");
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kSelf));
  stream.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  const Tensor images = f.load("images");
  EXPECT_TRUE(stream.process(images.slice(0, 0, 1).clone()).warming_up);
  const Tensor before = stream.process(images.slice(0, 1, 2).clone()).latent;
  // A new prompt applies to the next frame without a new warm-up.
  stream.set_prompt_embeds(f.load("uncond"), f.load("cond"));
  const StreamDiffusion::Result after = stream.process(images.slice(0, 1, 2).clone());
  EXPECT_FALSE(after.warming_up);
  EXPECT_GT(relative_l2(after.latent, before), 1e-3);
  // A new seed (or steps, strength, size) refills the buffer first.
  StreamParams p = stream.params();
  p.seed = 99;
  stream.set_params(p);
  EXPECT_TRUE(stream.process(images.slice(0, 2, 3).clone()).warming_up);
  EXPECT_FALSE(stream.process(images.slice(0, 3, 4).clone()).warming_up);
  p.t_index_list = t_index_list_for(0.7f, 3);
  stream.set_params(p);
  EXPECT_EQ(stream.unet_rows_per_frame(), 3);
  EXPECT_TRUE(stream.process(images.slice(0, 0, 1).clone()).warming_up);
  EXPECT_TRUE(stream.process(images.slice(0, 1, 2).clone()).warming_up);
  EXPECT_FALSE(stream.process(images.slice(0, 2, 3).clone()).warming_up);
}

TEST(StreamDiffusion, TheCodecSwitchesWithoutARestartAtTheSameScale) {
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("stream_diffusion") / "self.safetensors");
  StreamDiffusion stream(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kSelf));
  stream.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  const Tensor images = f.load("images");
  EXPECT_TRUE(stream.process(images.slice(0, 0, 1).clone()).warming_up);
  StreamDiffusion twin(&models().unet, models().codec(), LcmScheduler{}, golden_params(CfgMode::kSelf));
  twin.set_prompt_embeds(f.load("cond"), f.load("uncond"));
  EXPECT_TRUE(twin.process(images.slice(0, 0, 1).clone()).warming_up);
  // Another codec at the same 1/8 scale (TAESD's decoder, negated): the
  // latent buffer carries on, the next frame is decoded the new way.
  LatentCodec negated = models().codec();
  negated.name = "negated";
  const auto decode = negated.decode;
  negated.decode = [decode](const Tensor& x) { return scale(decode(x), -1.0f); };
  const std::uint64_t restarts = stream.restarts();
  stream.set_codec(negated);
  EXPECT_EQ(stream.restarts(), restarts);
  const StreamDiffusion::Result got = stream.process(images.slice(0, 1, 2).clone());
  const StreamDiffusion::Result want = twin.process(images.slice(0, 1, 2).clone());
  ASSERT_FALSE(got.warming_up);
  EXPECT_LT(relative_l2(got.latent, want.latent), 1e-6);  // same latent: nothing restarted
  EXPECT_LT(relative_l2(got.decoded, scale(want.decoded, -1.0f)), 1e-6);
  // A codec of another scale restarts the stream.
  LatentCodec coarse = models().codec();
  coarse.downscale = 4;
  stream.set_codec(coarse);
  EXPECT_EQ(stream.restarts(), restarts + 1);
}

}  // namespace
}  // namespace sc::engine
