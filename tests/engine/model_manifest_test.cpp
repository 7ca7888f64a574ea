// Manifest tests: every tensor of the full-size checkpoints we support (lists
// made by tests/golden/gen_diffusion.py from the reference libraries on the
// meta device) must be asked for by our loaders with the same shape, and our
// loaders must ask for nothing else. A dry run: no weights are read.
#include <gtest/gtest.h>

#include <fstream>

#include "base/error.h"
#include "engine/models/clip_text/clip_text.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/models/taesd/taesd.h"
#include "engine/models/unet/unet.h"
#include "engine/models/vae/autoencoder_kl.h"
#include "engine/models/weights.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::manifest_path;
using test::reference_dir;

void expect_complete(const WeightSource& w, std::size_t expected_count) {
  EXPECT_EQ(w.names().size(), expected_count);
  EXPECT_TRUE(w.missing().empty()) << w.missing().size() << " missing, e.g. " << w.missing().front();
  EXPECT_TRUE(w.mismatched().empty()) << w.mismatched().front();
  const auto unused = w.unused();
  EXPECT_TRUE(unused.empty()) << unused.size() << " unused, e.g. " << unused.front();
}

WeightSource survey(const std::string& name) {
  return WeightSource::from_manifest(load_manifest(manifest_path(name)), name, WeightSource::Mode::kSurvey);
}

TEST(Manifest, Taesd) {
  WeightSource w = survey("taesd");
  Taesd::load(w, TaesdConfig::from_config(Config::load(reference_dir() / "taesd" / "config.json")));
  expect_complete(w, 134);
  // The published encoder and decoder have about 1.22M parameters each.
  EXPECT_EQ(w.used_parameters(), 2445063);
}

ClipTextConfig clip_config(const std::string& family) {
  return ClipTextConfig::from_config(Config::load(reference_dir() / family / "text_encoder.config.json"));
}

TEST(Manifest, Sd15TextEncoder) {
  WeightSource w = survey("sd15_text_encoder");
  ClipTextModel::load(w, clip_config("sd15"));
  expect_complete(w, 196);
  EXPECT_EQ(w.used_parameters(), 123060480);
}

TEST(Manifest, SdTurboTextEncoder) {
  WeightSource w = survey("sd-turbo_text_encoder");
  const ClipTextConfig c = clip_config("sd-turbo");
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_EQ(c.num_hidden_layers, 23);
  ClipTextModel::load(w, c);
  expect_complete(w, 372);
  EXPECT_EQ(w.used_parameters(), 340387840);
}

void check_vae(const std::string& family) {
  WeightSource w = survey(family + "_vae");
  const auto config = AutoencoderKlConfig::from_config(Config::load(reference_dir() / family / "vae.config.json"));
  AutoencoderKl::load(w, config);
  expect_complete(w, 248);
  EXPECT_EQ(w.used_parameters(), 83653863);
}

TEST(Manifest, Sd15Vae) { check_vae("sd15"); }
TEST(Manifest, SdTurboVae) { check_vae("sd-turbo"); }

UNetConfig unet_config(const std::string& family) {
  return UNetConfig::from_config(Config::load(reference_dir() / family / "unet.config.json"));
}

TEST(Manifest, Sd15UNet) {
  WeightSource w = survey("sd15_unet");
  const UNetConfig c = unet_config("sd15");
  EXPECT_EQ(c.heads, (std::vector<std::int64_t>{8, 8, 8, 8}));
  EXPECT_FALSE(c.use_linear_projection);
  EXPECT_EQ(c.cross_attention_dim, 768);
  UNet2DCondition::load(w, c);
  expect_complete(w, 686);
  // Published SD 1.5 UNet: 3,438,167,540 bytes of f32 = 859.5M parameters.
  EXPECT_EQ(w.used_parameters(), 859520964);
}

TEST(Manifest, SdTurboUNet) {
  WeightSource w = survey("sd-turbo_unet");
  const UNetConfig c = unet_config("sd-turbo");
  EXPECT_EQ(c.heads, (std::vector<std::int64_t>{5, 10, 20, 20}));
  EXPECT_TRUE(c.use_linear_projection);
  EXPECT_EQ(c.cross_attention_dim, 1024);
  UNet2DCondition::load(w, c);
  expect_complete(w, 686);
  EXPECT_EQ(w.used_parameters(), 865910724);
}

// A UNet of another family (SDXL: text_time added embeddings) is named as
// such, with what is supported, not just "a field is not supported".
TEST(Manifest, AnSdxlUNetIsRefusedByName) {
  std::ifstream in(reference_dir() / "sd-turbo" / "unet.config.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const std::string null_field = "\"addition_embed_type\": null";
  const auto at = text.find(null_field);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, null_field.size(), "\"addition_embed_type\": \"text_time\"");
  try {
    UNetConfig::from_config(Config::parse(text, "sdxl/unet/config.json"));
    FAIL() << "an SDXL config was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sdxl/unet/config.json"), std::string::npos) << what;
    EXPECT_NE(what.find("SDXL"), std::string::npos) << what;
    EXPECT_NE(what.find("sd-turbo"), std::string::npos) << what;
  }
}

TEST(Manifest, Qwen2_0_5B) {
  // Qwen/Qwen2-0.5B's model.safetensors: 24 layers of 896, 14 query heads
  // over 2 KV heads of 64, the lm_head tied to the embedding (not stored).
  WeightSource w = survey("qwen2-0.5b");
  const Qwen2Config c = Qwen2Config::from_config(Config::load(reference_dir() / "qwen2-0.5b" / "config.json"));
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(Qwen2Model::find_names(w).body, "model");
  Qwen2Model::load(w, c);
  expect_complete(w, 290);
  EXPECT_EQ(w.used_parameters(), 494032768);
}

// llava-hf's LLaVA-OneVision checkpoints (the llava-hf layout, F16; configs
// as transformers' conversion script builds them, see
// tests/golden/gen_llava_onevision.py): SigLIP so400m cut to 26 layers
// without its head, the projector, the image newline, Qwen2-Instruct with
// the vocabulary grown by <image> and <video> and padded to 64.
TEST(Manifest, LlavaOnevision0_5B) {
  WeightSource w = survey("llava-onevision-qwen2-0.5b-ov-hf");
  const LlavaOnevisionConfig c = LlavaOnevisionConfig::from_config(
      Config::load(reference_dir() / "llava-onevision-qwen2-0.5b-ov-hf" / "config.json"));
  EXPECT_EQ(c.vision.num_hidden_layers, 26);
  EXPECT_EQ(c.tokens_per_frame(), 196);
  EXPECT_EQ(c.text.vocab_size, 152000);
  EXPECT_TRUE(c.text.tie_word_embeddings);
  EXPECT_EQ(c.video_token_index, 151647);
  EXPECT_EQ(LlavaOnevisionModel::find_names(w).vision, "vision_tower.vision_model");
  LlavaOnevisionModel::load(w, c);
  expect_complete(w, 716);
  // 893,675,552 stored; SigLIP's post_layernorm (2 x 1152) is stored but
  // not applied to the features LLaVA-OneVision takes.
  EXPECT_EQ(w.used_parameters(), 893675552 - 2 * 1152);
}

TEST(Manifest, LlavaOnevision7B) {
  WeightSource w = survey("llava-onevision-qwen2-7b-ov-hf");
  const LlavaOnevisionConfig c = LlavaOnevisionConfig::from_config(
      Config::load(reference_dir() / "llava-onevision-qwen2-7b-ov-hf" / "config.json"));
  EXPECT_EQ(c.text.num_hidden_layers, 28);
  EXPECT_EQ(c.text.num_key_value_heads, 4);
  EXPECT_EQ(c.text.vocab_size, 152128);
  EXPECT_FALSE(c.text.tie_word_embeddings);
  LlavaOnevisionModel::load(w, c);
  expect_complete(w, 765);
  EXPECT_EQ(w.used_parameters(), 8030807584 - 2 * 1152);
}

TEST(Manifest, ParseErrorsNameTheLine) {
  try {
    parse_manifest("a F32 1,2\nb F32 3,x\n", "m.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.txt:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_manifest("just-a-name\n", "m.txt"), Error);
}

TEST(WeightSource, StrictNamesMissingAndMisshapenTensors) {
  WeightSource w = WeightSource::from_manifest(parse_manifest("a F32 2,3\n", "<t>"), "<t>");
  try {
    w.get("b", {2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor b"), std::string::npos) << e.what();
  }
  try {
    w.get("a", {3, 2});
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("expected shape [3, 2], found [2, 3]"), std::string::npos) << m;
  }
}

TEST(WeightSource, SurveyRecordsProblems) {
  WeightSource w =
      WeightSource::from_manifest(parse_manifest("a F32 2,3\nc F16 4\n", "<t>"), "<t>", WeightSource::Mode::kSurvey);
  EXPECT_FALSE(w.get("a", {3, 2}).defined());
  EXPECT_FALSE(w.get("b", {1}).defined());
  ASSERT_EQ(w.missing().size(), 1u);
  ASSERT_EQ(w.mismatched().size(), 1u);
  EXPECT_EQ(w.unused(), std::vector<std::string>{"c"});
}

TEST(ModelFolder, FindWeightsFilePrefersTheVariant) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "find_weights";
  fs::remove_all(dir);
  EXPECT_THROW(find_weights_file(dir), Error);
  fs::create_directories(dir);
  try {
    find_weights_file(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diffusion_pytorch_model.safetensors"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "diffusion_pytorch_model.safetensors") << "x";
  std::ofstream(dir / "diffusion_pytorch_model.fp16.safetensors") << "x";
  EXPECT_EQ(find_weights_file(dir).filename(), "diffusion_pytorch_model.safetensors");
  EXPECT_EQ(find_weights_file(dir, "fp16").filename(), "diffusion_pytorch_model.fp16.safetensors");
}

}  // namespace
}  // namespace sc::engine
