// Diffusion models against diffusers / transformers: tiny configs with seeded
// random weights in the real folder layout (tests/golden/gen_diffusion.py).
// Outputs must match at relative L2 < 1e-4, shapes exactly.
#include <gtest/gtest.h>

#include "engine/models/clip_text/clip_text.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/models/vae/autoencoder_kl.h"
#include "engine/ops.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::fixture_dir;
using test::kModelTolerance;
using test::relative_l2;

TEST(GoldenTaesd, EncoderAndDecoderMatchDiffusers) {
  const auto dir = fixture_dir("diffusion_taesd");
  const Taesd taesd = Taesd::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const double enc = relative_l2(taesd.encoder.forward(io.load("image")), io.load("encoded"));
  const double dec = relative_l2(taesd.decoder.forward(io.load("latent")), io.load("decoded"));
  RecordProperty("rel_l2_encoder", std::to_string(enc));
  RecordProperty("rel_l2_decoder", std::to_string(dec));
  std::printf("TAESD rel L2: encoder %.3g decoder %.3g\n", enc, dec);
  EXPECT_LT(enc, kModelTolerance);
  EXPECT_LT(dec, kModelTolerance);
}

TEST(GoldenTaesd, ChangedWeightChangesOutput) {
  // The comparison can fail: the same fixture with one weight perturbed.
  const auto dir = fixture_dir("diffusion_taesd");
  WeightSource w = WeightSource::from_file(dir / "diffusion_pytorch_model.safetensors");
  const TaesdConfig config = TaesdConfig::from_config(Config::load(dir / "config.json"));
  Taesd taesd = Taesd::load(w, config);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  WeightSource w2 = WeightSource::from_file(dir / "diffusion_pytorch_model.safetensors");
  Tensor bias = w2.get("decoder.layers.0.bias", {16});
  bias.data<float>()[0] += 0.5f;  // copy-on-write mapping: the file is untouched
  const Taesd changed = Taesd::load(w2, config);
  EXPECT_GT(relative_l2(changed.decoder.forward(io.load("latent")), io.load("decoded")), 1e-3);
}

void check_clip(const std::string& name) {
  const auto dir = fixture_dir(name);
  const ClipTextModel model = ClipTextModel::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor ids = to_dtype(io.load("ids"), DType::kI64);
  const double err = relative_l2(model.forward(ids), io.load("hidden"));
  std::printf("%s rel L2: %.3g\n", name.c_str(), err);
  EXPECT_LT(err, kModelTolerance);
  // One sequence alone gives the same rows (no cross-batch leakage).
  const Tensor one = model.forward(ids.slice(0, 1, 2));
  EXPECT_LT(relative_l2(one, io.load("hidden").slice(0, 1, 2)), kModelTolerance);
}

TEST(GoldenClipText, QuickGeluMatchesTransformers) { check_clip("diffusion_clip_text_quick_gelu"); }
TEST(GoldenClipText, GeluMatchesTransformers) { check_clip("diffusion_clip_text_gelu"); }

TEST(GoldenClipText, WrongActivationIsDetected) {
  // Loading the gelu weights but running quick_gelu must not pass.
  const auto dir = fixture_dir("diffusion_clip_text_gelu");
  ClipTextConfig config = ClipTextConfig::from_config(Config::load(dir / "config.json"));
  config.hidden_act = "quick_gelu";
  WeightSource w = WeightSource::from_file(dir / "model.safetensors");
  const ClipTextModel model = ClipTextModel::load(w, config);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  EXPECT_GT(relative_l2(model.forward(to_dtype(io.load("ids"), DType::kI64)), io.load("hidden")), 1e-3);
}

TEST(GoldenAutoencoderKl, EncodeAndDecodeMatchDiffusers) {
  const auto dir = fixture_dir("diffusion_vae");
  const AutoencoderKl vae = AutoencoderKl::load(dir);
  EXPECT_FLOAT_EQ(vae.config().scaling_factor, 0.18215f);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const AutoencoderKl::Moments m = vae.encode(io.load("image"));
  const double mean = relative_l2(m.mean, io.load("mean"));
  const double logvar = relative_l2(m.logvar, io.load("logvar"));
  const double dec = relative_l2(vae.decode(io.load("latent")), io.load("decoded"));
  std::printf("AutoencoderKL rel L2: mean %.3g logvar %.3g decoder %.3g\n", mean, logvar, dec);
  EXPECT_LT(mean, kModelTolerance);
  EXPECT_LT(logvar, kModelTolerance);
  EXPECT_LT(dec, kModelTolerance);
  EXPECT_LT(relative_l2(vae.encode_scaled(io.load("image")), scale(io.load("mean"), 0.18215f)), kModelTolerance);
  EXPECT_LT(relative_l2(vae.decode_scaled(scale(io.load("latent"), 0.18215f)), io.load("decoded")), kModelTolerance);
}

double check_unet(const std::string& name, std::int64_t heads0, bool linear) {
  const auto dir = fixture_dir(name);
  const UNet2DCondition unet = UNet2DCondition::load(dir);
  EXPECT_EQ(unet.config().heads[0], heads0);
  EXPECT_EQ(unet.config().use_linear_projection, linear);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const std::vector<float> t = io.load("timesteps").to_vector<float>();
  const double err = relative_l2(unet.forward(io.load("sample"), t, io.load("context")), io.load("out"));
  std::printf("%s rel L2: %.3g\n", name.c_str(), err);
  EXPECT_LT(err, kModelTolerance);
  return err;
}

TEST(GoldenUNet, Sd15ShapeMatchesDiffusers) { check_unet("diffusion_unet_sd15", 4, false); }
TEST(GoldenUNet, SdTurboShapeMatchesDiffusers) { check_unet("diffusion_unet_sd_turbo", 2, true); }

TEST(GoldenUNet, TimestepMatters) {
  // Swapping the two samples' timesteps must change the result.
  const auto dir = fixture_dir("diffusion_unet_sd_turbo");
  const UNet2DCondition unet = UNet2DCondition::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  std::vector<float> t = io.load("timesteps").to_vector<float>();
  std::swap(t[0], t[1]);
  EXPECT_GT(relative_l2(unet.forward(io.load("sample"), t, io.load("context")), io.load("out")), 1e-3);
}

TEST(GoldenUNet, TimestepEmbeddingIsCosThenSin) {
  const std::vector<float> t{0.0f, 10.0f};
  const Tensor e = timestep_embedding(t, 8, true, 0.0f);
  ASSERT_EQ(e.shape(), Shape({2, 8}));
  EXPECT_FLOAT_EQ(e.data<float>()[0], 1.0f);  // cos(0)
  EXPECT_FLOAT_EQ(e.data<float>()[4], 0.0f);  // sin(0)
  EXPECT_NEAR(e.data<float>()[8 + 4], std::sin(10.0f), 1e-6);
  EXPECT_NEAR(e.data<float>()[8 + 5], std::sin(10.0f * std::exp(-std::log(10000.0f) / 4)), 1e-6);
}

}  // namespace
}  // namespace sc::engine
