// Diffusion models against diffusers / transformers: tiny configs with seeded
// random weights in the real folder layout (tests/golden/gen_diffusion.py).
// Outputs must match at relative L2 < 1e-4, shapes exactly.
#include <gtest/gtest.h>

#include "engine/models/taesd/taesd.h"
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

}  // namespace
}  // namespace sc::engine
