// LLaVA-OneVision's video path against transformers 4.57.6
// (tests/golden/gen_llava_onevision.py): a tiny random configuration of the
// real architecture saved as save_pretrained writes it. The video processor
// must match bit for bit (uint8 resize) and to float rounding (normalise);
// the SigLIP features, projector, pooling, the spliced prompt's logits at
// relative L2 <= 1e-5; 16 greedy tokens exactly. Then both tensor layouts,
// and every refusal a user can meet.
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/config.h"
#include "engine/models/folder_loader.h"
#include "engine/models/llava_onevision/llava_onevision.h"
#include "engine/models/llava_onevision/video_processor.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::fixture_dir;
using test::relative_l2;

constexpr double kTolerance = 1e-5;

std::filesystem::path folder() { return fixture_dir("llava_onevision_tiny"); }
const SafetensorsFile& io() {
  static const SafetensorsFile file = SafetensorsFile::open(folder() / "io.safetensors");
  return file;
}
const LlavaOnevisionModel& model() {
  static const LlavaOnevisionModel m = LlavaOnevisionModel::load(folder());
  return m;
}
std::vector<std::int64_t> ids_of(const Tensor& t) { return to_dtype(t, DType::kI64).to_vector<std::int64_t>(); }
std::string message_of(const std::function<void()>& fn) { return sc::test::error_message(fn); }
LlavaOnevisionConfig tiny_config() { return LlavaOnevisionConfig::from_config(Config::load(folder() / "config.json")); }
// The fixture's config.json with one top-level field replaced.
Config edited_config(const std::string& field, const nlohmann::json& value) {
  nlohmann::json j = Config::load(folder() / "config.json").json();
  if (value.is_null()) {
    j.erase(field);
  } else {
    j[field] = value;
  }
  return Config::parse(j.dump(), "edited/config.json");
}

TEST(LlavaOnevisionConfig, ReadsTheFixtureConfig) {
  const LlavaOnevisionConfig c = tiny_config();
  EXPECT_EQ(c.vision.hidden_size, 32);
  EXPECT_EQ(c.vision.image_size, 42);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.vision.num_hidden_layers, 2);
  EXPECT_EQ(c.vision.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(c.text.hidden_size, 64);
  EXPECT_EQ(c.video_token_index, 319);
  EXPECT_EQ(c.image_token_index, 318);
  EXPECT_EQ(c.tokens_per_frame(), 4);  // 3 x 3 patches pool to 2 x 2
  EXPECT_EQ(c.video_tokens(3), 13);
}

TEST(LlavaOnevisionConfig, DefaultsAreThePublishedModelsTower) {
  // No vision_config: transformers builds SigLIP so400m cut to 26 layers.
  const LlavaOnevisionConfig c = LlavaOnevisionConfig::from_config(edited_config("vision_config", nullptr));
  EXPECT_EQ(c.vision.hidden_size, 1152);
  EXPECT_EQ(c.vision.intermediate_size, 4304);
  EXPECT_EQ(c.vision.num_hidden_layers, 26);
  EXPECT_EQ(c.vision.num_attention_heads, 16);
  EXPECT_EQ(c.vision.patches_per_side(), 27);
  EXPECT_EQ(c.tokens_per_frame(), 196);
}

TEST(LlavaOnevisionConfig, WhatIsNotSupportedIsRefusedByField) {
  EXPECT_NE(message_of([] {
              LlavaOnevisionConfig::from_config(edited_config("vision_feature_select_strategy", "default"));
            }).find("vision_feature_select_strategy"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              LlavaOnevisionConfig::from_config(edited_config("vision_feature_layer", 5));
            }).find("vision_feature_layer"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              LlavaOnevisionConfig::from_config(edited_config("video_token_index", 320));
            }).find("video_token_index"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              LlavaOnevisionConfig::from_config(edited_config("projector_hidden_act", "swish"));
            }).find("projector_hidden_act"),
            std::string::npos);
  const std::string other = message_of([] { LlavaOnevisionConfig::from_config(edited_config("model_type", "llava")); });
  EXPECT_NE(other.find("edited/config.json"), std::string::npos) << other;
  EXPECT_NE(other.find("llava_onevision"), std::string::npos) << other;
  EXPECT_NE(
      message_of([] { LlavaOnevisionConfig::from_config(edited_config("text_config", nullptr)); }).find("text_config"),
      std::string::npos);
}

TEST(LlavaOnevisionVideoProcessor, ReadsTheFolderConfig) {
  const VideoProcessorConfig c = VideoProcessorConfig::load(folder());
  EXPECT_EQ(c.height, 42);
  EXPECT_EQ(c.width, 42);
  EXPECT_FLOAT_EQ(c.image_mean[1], 0.4f);
  EXPECT_FLOAT_EQ(c.image_std[2], 0.75f);
  // A folder without any processor file gets the class defaults (CLIP's).
  const VideoProcessorConfig d = VideoProcessorConfig::load(folder() / "no-such-subfolder");
  EXPECT_EQ(d.height, 384);
  EXPECT_FLOAT_EQ(d.image_mean[0], 0.48145466f);
}

TEST(LlavaOnevisionVideoProcessor, ResizeIsBitExactWithTorch) {
  for (const char* name : {"down", "up", "width_only", "mixed"}) {
    const std::string base = std::string("resize/") + name + "/";
    const Tensor in = io().load(base + "in");
    const Tensor want = io().load(base + "out");
    ASSERT_EQ(in.dtype(), DType::kU8);
    std::vector<std::uint8_t> got(static_cast<std::size_t>(want.numel()));
    resize_bicubic_antialias_u8(in.data<std::uint8_t>(), in.dim(0), in.dim(1), 3, got.data(), want.dim(0), want.dim(1));
    const std::uint8_t* w = want.data<std::uint8_t>();
    std::int64_t differ = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) differ += got[static_cast<std::size_t>(i)] != w[i];
    EXPECT_EQ(differ, 0) << name << ": " << differ << " of " << want.numel() << " values differ";
  }
}

TEST(LlavaOnevisionVideoProcessor, PixelValuesMatchTransformers) {
  const Tensor got = preprocess_video(io().load("frames"), VideoProcessorConfig::load(folder()));
  const Tensor want = io().load("pixel_values");
  ASSERT_EQ(got.shape(), want.shape());
  float worst = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    worst = std::max(worst, std::abs(got.data<float>()[i] - want.data<float>()[i]));
  }
  std::printf("pixel_values max abs diff %g\n", worst);
  EXPECT_LE(worst, 1e-6f);
}

TEST(LlavaOnevisionVideoProcessor, BadInputIsRefused) {
  EXPECT_NE(message_of([] {
              preprocess_video(Tensor::zeros({1, 4, 4, 3}), VideoProcessorConfig{});
            }).find("u8"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              preprocess_video(Tensor::zeros({1, 4, 4, 4}, DType::kU8), VideoProcessorConfig{});
            }).find("RGB"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              VideoProcessorConfig::from_config(Config::parse(R"({"resample": 2})", "p.json"));
            }).find("resample"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              VideoProcessorConfig::from_config(Config::parse(R"({"size": {"shortest_edge": 384}})", "p.json"));
            }).find("shortest_edge"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              VideoProcessorConfig::from_config(Config::parse(R"({"image_mean": [0.5, 0.5]})", "p.json"));
            }).find("image_mean"),
            std::string::npos);
}

TEST(GoldenLlavaOnevision, VisionTowerFeaturesMatchTransformers) {
  const Tensor pixels = io().load("pixel_values");
  const double last = relative_l2(model().vision_tower().forward(pixels, -1), io().load("tower_features"));
  const double first = relative_l2(model().vision_tower().forward(pixels, 1), io().load("tower_layer1"));
  std::printf("SigLIP hidden_states[-1] rel L2 %.3g, hidden_states[1] %.3g\n", last, first);
  EXPECT_LE(last, kTolerance);
  EXPECT_LE(first, kTolerance);
}

TEST(GoldenLlavaOnevision, ProjectorPoolingAndNewlineMatchTransformers) {
  const double projected = relative_l2(model().project(io().load("tower_features")), io().load("projected"));
  const double pooled = relative_l2(model().pool(io().load("projected")), io().load("pooled"));
  const double video = relative_l2(model().video_features(io().load("pixel_values")), io().load("video_features"));
  std::printf("projector rel L2 %.3g, pooling %.3g, video features %.3g\n", projected, pooled, video);
  EXPECT_LE(projected, kTolerance);
  EXPECT_LE(pooled, kTolerance);
  EXPECT_LE(video, kTolerance);
}

TEST(GoldenLlavaOnevision, PromptLogitsMatchTransformers) {
  const std::vector<std::int64_t> ids = ids_of(io().load("ids"));
  KvCache cache = model().make_cache(64);
  const Tensor logits =
      model().prefill(ids, model().video_features(io().load("pixel_values")), cache, /*all_logits=*/true);
  EXPECT_EQ(cache.length(), static_cast<std::int64_t>(ids.size()));
  const double err = relative_l2(logits, io().load("logits"));
  std::printf("prefill logits of %zu positions rel L2 %.3g\n", ids.size(), err);
  EXPECT_LE(err, kTolerance);
}

TEST(GoldenLlavaOnevision, GreedyAnswerFromTheRawFramesMatchesTransformers) {
  // The whole path a user runs: uint8 frames -> processor -> model -> ids.
  const Tensor pixels = preprocess_video(io().load("frames"), VideoProcessorConfig::load(folder()));
  const std::vector<std::int64_t> ids = ids_of(io().load("ids"));
  GreedyOptions options;
  options.max_new_tokens = 16;
  std::vector<std::int64_t> streamed;
  const GreedyResult r = model().generate(ids, model().video_features(pixels), options, [&](std::int64_t id) {
    streamed.push_back(id);
    return true;
  });
  EXPECT_EQ(r.ids, ids_of(io().load("greedy_ids")));
  EXPECT_EQ(streamed, r.ids);
  EXPECT_EQ(r.reason, StopReason::kMaxTokens);
  EXPECT_GE(r.total_s, r.first_token_s);
  EXPECT_GT(r.first_token_s, 0.0);
}

// The fixture's tensors under transformers >= 4.52's names
// (model.vision_tower.*, model.multi_modal_projector.*, model.image_newline,
// model.language_model.*, lm_head.weight), served from the llava-hf file.
TEST(LlavaOnevisionLoad, TheNewerLayoutLoadsTheSameModel) {
  auto ckpt = std::make_shared<const Checkpoint>(Checkpoint::open(folder() / "model.safetensors"));
  std::map<std::string, std::string> original;
  std::vector<ManifestEntry> entries;
  for (const std::string& name : ckpt->names()) {
    std::string renamed = name;
    if (name.starts_with("language_model.model.")) {
      renamed = "model.language_model." + name.substr(std::string("language_model.model.").size());
    } else if (name == "language_model.lm_head.weight") {
      renamed = "lm_head.weight";
    } else {
      renamed = "model." + name;
    }
    original[renamed] = name;
    entries.push_back({renamed, ckpt->entry(name).dtype, ckpt->entry(name).shape});
  }
  WeightSource w = WeightSource::from_maker(entries, "<transformers 4.52 layout>", [&](const ManifestEntry& e) {
    return to_dtype(ckpt->load(original.at(e.name)), DType::kF32);
  });
  const LlavaOnevisionNames names = LlavaOnevisionModel::find_names(w);
  EXPECT_EQ(names.vision, "model.vision_tower.vision_model");
  EXPECT_EQ(names.text.lm_head, "lm_head.weight");
  const LlavaOnevisionModel m = LlavaOnevisionModel::load(w, tiny_config());
  EXPECT_TRUE(w.unused().empty()) << w.unused().front();
  const double err = relative_l2(m.video_features(io().load("pixel_values")), io().load("video_features"));
  EXPECT_LE(err, kTolerance);
}

std::vector<ManifestEntry> entries_of(const std::filesystem::path& file) {
  const SafetensorsFile f = SafetensorsFile::open(file);
  std::vector<ManifestEntry> out;
  for (const std::string& name : f.names()) out.push_back({name, f.entry(name).dtype, f.entry(name).shape});
  return out;
}
std::vector<ManifestEntry> fixture_entries() { return entries_of(folder() / "model.safetensors"); }

TEST(LlavaOnevisionLoad, AMissingOrMisshapenTensorIsNamed) {
  std::vector<ManifestEntry> entries = fixture_entries();
  std::erase_if(entries, [](const ManifestEntry& e) { return e.name == "multi_modal_projector.linear_2.bias"; });
  WeightSource w = WeightSource::from_manifest(entries, "tiny.safetensors");
  EXPECT_NE(
      message_of([&] { LlavaOnevisionModel::load(w, tiny_config()); }).find("multi_modal_projector.linear_2.bias"),
      std::string::npos);
  entries = fixture_entries();
  for (ManifestEntry& e : entries) {
    if (e.name == "vision_tower.vision_model.embeddings.position_embedding.weight") e.shape = {16, 32};
  }
  WeightSource w2 = WeightSource::from_manifest(entries, "tiny.safetensors");
  const std::string msg = message_of([&] { LlavaOnevisionModel::load(w2, tiny_config()); });
  EXPECT_NE(msg.find("position_embedding"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[9, 32]"), std::string::npos) << msg;
}

TEST(LlavaOnevisionLoad, AnotherFamilyIsRefusedWithWhatWasLookedFor) {
  // A Qwen2 language model's folder is not a VLM: the config says so first.
  const std::string config_error = message_of([] { LlavaOnevisionModel::load(fixture_dir("qwen2_tiny")); });
  EXPECT_NE(config_error.find("llava_onevision"), std::string::npos) << config_error;
  // LLaVA-OneVision's config over a text-only file: no image_newline.
  WeightSource w = WeightSource::from_manifest(entries_of(fixture_dir("qwen2_tiny_llava") / "model.safetensors"),
                                               "qwen2_tiny_llava/model.safetensors");
  const std::string msg = message_of([&] { LlavaOnevisionModel::load(w, tiny_config()); });
  EXPECT_NE(msg.find("image_newline"), std::string::npos) << msg;
  EXPECT_NE(msg.find("qwen2_tiny_llava"), std::string::npos) << msg;
}

TEST(LlavaOnevisionForward, BadCallsAreRefused) {
  const LlavaOnevisionModel& m = model();
  const Tensor video = m.video_features(io().load("pixel_values"));
  std::vector<std::int64_t> ids = ids_of(io().load("ids"));
  // One placeholder short.
  std::vector<std::int64_t> short_ids(ids.begin(), ids.end());
  short_ids.erase(std::find(short_ids.begin(), short_ids.end(), 319));
  const std::string mismatch = message_of([&] { m.embed_prompt(short_ids, video); });
  EXPECT_NE(mismatch.find("12 video placeholders"), std::string::npos) << mismatch;
  // An image placeholder.
  std::vector<std::int64_t> with_image = ids;
  with_image[0] = 318;
  EXPECT_NE(message_of([&] { m.embed_prompt(with_image, video); }).find("image placeholder"), std::string::npos);
  EXPECT_NE(message_of([&] { m.embed_prompt({}, video); }).find("empty"), std::string::npos);
  // Pixels of the wrong size, and not floats.
  EXPECT_NE(message_of([&] {
              m.video_features(Tensor::zeros({1, 3, 40, 40}));
            }).find("[frames, 3, 42, 42]"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              m.video_features(Tensor::zeros({1, 3, 42, 42}, DType::kU8));
            }).find("float"),
            std::string::npos);
  // A prompt longer than the language model's positions.
  std::vector<std::int64_t> long_ids(600, 7);
  EXPECT_NE(message_of([&] { m.generate(long_ids, Tensor(), GreedyOptions{}); }).find("at most 512 positions"),
            std::string::npos);
}

}  // namespace
}  // namespace sc::engine
