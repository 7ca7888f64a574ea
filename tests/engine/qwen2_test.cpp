// Qwen2 against transformers' Qwen2ForCausalLM: tiny configs with seeded
// random BF16 weights in the layouts users download
// (tests/golden/gen_qwen2.py). Logits must match at relative L2 <= 1e-5,
// greedy ids exactly, and the incremental decode through the KV cache must
// equal the full forward. Then every refusal: missing, misshapen and stray
// tensors, config fields, layouts that are not a Qwen2.
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/config.h"
#include "engine/models/folder_loader.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

using test::fixture_dir;
using test::relative_l2;

constexpr double kLogitTolerance = 1e-5;

std::vector<std::int64_t> as_ids(const Tensor& t) { return to_dtype(t, DType::kI64).to_vector<std::int64_t>(); }

Qwen2Model::ForwardOptions all_positions() {
  Qwen2Model::ForwardOptions o;
  o.all_logits = true;
  return o;
}

// The fixture's tensor names and shapes (no data), for dry-run loads under
// other names and with planted faults.
std::vector<ManifestEntry> entries_of(const std::filesystem::path& file) {
  const SafetensorsFile f = SafetensorsFile::open(file);
  std::vector<ManifestEntry> out;
  for (const std::string& name : f.names()) out.push_back({name, f.entry(name).dtype, f.entry(name).shape});
  return out;
}

std::string message_of(const std::function<void()>& fn) { return sc::test::error_message(fn); }

Qwen2Config tiny_config() { return Qwen2Config::from_config(Config::load(fixture_dir("qwen2_tiny") / "config.json")); }

double check_all_logits(const Qwen2Model& model, const SafetensorsFile& io, const char* what) {
  KvCache cache = model.make_cache(32);
  const Tensor logits = model.forward(io.load("ids"), cache, all_positions());
  EXPECT_EQ(cache.length(), 12);
  const double err = relative_l2(logits, io.load("logits"));
  std::printf("%s: logits of 12 positions rel L2 %.3g\n", what, err);
  EXPECT_LE(err, kLogitTolerance);
  return err;
}

void check_greedy(const Qwen2Model& model, const SafetensorsFile& io) {
  const std::vector<std::int64_t> prompt = as_ids(io.load("ids"));
  const std::vector<std::int64_t> want = as_ids(io.load("greedy_ids"));
  std::vector<std::int64_t> seen;
  GreedyOptions options;
  options.max_new_tokens = static_cast<std::int64_t>(want.size());
  const GreedyResult r = model.generate(prompt, options, [&](std::int64_t id) {
    seen.push_back(id);
    return true;
  });
  EXPECT_EQ(r.ids, want);
  EXPECT_EQ(seen, want);
  EXPECT_EQ(r.reason, StopReason::kMaxTokens);
  EXPECT_GT(r.first_token_s, 0.0);
  EXPECT_GE(r.total_s, r.first_token_s);
}

TEST(Qwen2Config, ReadsTheFixtureConfig) {
  const Qwen2Config c = tiny_config();
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);  // hidden / heads: the file has no head_dim
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_FLOAT_EQ(c.rope_theta, 50000.0f);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(GoldenQwen2, LogitsOfEveryPositionMatchTransformers) {
  const auto dir = fixture_dir("qwen2_tiny");
  const Qwen2Model model = Qwen2Model::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  check_all_logits(model, io, "qwen2_tiny");
  // Without all_logits: the last position only, the same values.
  KvCache cache = model.make_cache(12);
  const Tensor last = model.forward(io.load("ids"), cache);
  ASSERT_EQ(last.shape(), Shape({1, 1, 512}));
  EXPECT_LE(relative_l2(last, io.load("logits").reshape({12, 512}).slice(0, 11, 12).reshape({1, 1, 512})),
            kLogitTolerance);
}

TEST(GoldenQwen2, GreedyContinuationMatchesTransformers) {
  const auto dir = fixture_dir("qwen2_tiny");
  check_greedy(Qwen2Model::load(dir), SafetensorsFile::open(dir / "io.safetensors"));
}

TEST(GoldenQwen2, IncrementalDecodeEqualsTheFullForward) {
  const auto dir = fixture_dir("qwen2_tiny");
  const Qwen2Model model = Qwen2Model::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor ids = io.load("ids").reshape({12});
  KvCache cache = model.make_cache(16);
  std::vector<Tensor> rows{model.forward(ids.slice(0, 0, 7), cache, all_positions())};
  for (std::int64_t i = 7; i < 12; ++i) rows.push_back(model.forward(ids.slice(0, i, i + 1), cache));
  EXPECT_EQ(cache.length(), 12);
  const Tensor incremental = concat(rows, 1);
  const double vs_transformers = relative_l2(incremental, io.load("incremental_logits"));

  KvCache full_cache = model.make_cache(12);
  const Tensor full = model.forward(ids, full_cache, all_positions());
  const double vs_full = relative_l2(incremental, full);
  std::printf("incremental decode (7 + 5 x 1): rel L2 %.3g vs transformers' cache, %.3g vs our full forward\n",
              vs_transformers, vs_full);
  EXPECT_LE(vs_transformers, kLogitTolerance);
  EXPECT_LE(vs_full, kLogitTolerance);
  // The cache rows are the same either way (keys after rotary).
  for (std::int64_t l = 0; l < 2; ++l) {
    EXPECT_LE(relative_l2(cache.keys(l), full_cache.keys(l)), 1e-6);
    EXPECT_LE(relative_l2(cache.values(l), full_cache.values(l)), 1e-6);
  }

  // Truncating back to 7 and decoding the same 5 tokens again gives the
  // same logits: the rows past the length are overwritten.
  full_cache.truncate(7);
  std::vector<Tensor> again{rows[0]};
  for (std::int64_t i = 7; i < 12; ++i) again.push_back(model.forward(ids.slice(0, i, i + 1), full_cache));
  EXPECT_LE(relative_l2(concat(again, 1), io.load("incremental_logits")), kLogitTolerance);
}

TEST(GoldenQwen2, ExplicitPositionsDriveTheRotaryEmbedding) {
  const auto dir = fixture_dir("qwen2_tiny");
  const Qwen2Model model = Qwen2Model::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  const Tensor ids = io.load("ids").reshape({12}).slice(0, 0, 6);
  Qwen2Model::ForwardOptions options = all_positions();
  options.positions = io.load("shifted_positions");
  KvCache cache = model.make_cache(6);
  const double err = relative_l2(model.forward(ids, cache, options), io.load("shifted_logits"));
  std::printf("positions 100, 101, 102, 110, 111, 130: rel L2 %.3g\n", err);
  EXPECT_LE(err, kLogitTolerance);
  // The default positions 0..5 give other logits (rotary attention sees
  // position differences: these have gaps).
  KvCache plain = model.make_cache(6);
  EXPECT_GT(relative_l2(model.forward(ids, plain, all_positions()), io.load("shifted_logits")), 1e-3);
}

TEST(GoldenQwen2, InputEmbeddingsMatchTransformers) {
  const auto dir = fixture_dir("qwen2_tiny");
  const Qwen2Model model = Qwen2Model::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  KvCache cache = model.make_cache(5);
  const double err =
      relative_l2(model.forward_embeddings(io.load("embeds"), cache, all_positions()), io.load("embeds_logits"));
  std::printf("input embeddings: rel L2 %.3g\n", err);
  EXPECT_LE(err, kLogitTolerance);
  // embed() then forward_embeddings is forward(ids), bit for bit.
  KvCache a = model.make_cache(12), b = model.make_cache(12);
  const Tensor ids = io.load("ids");
  EXPECT_EQ(relative_l2(model.forward_embeddings(model.embed(ids), a, all_positions()),
                        model.forward(ids, b, all_positions())),
            0.0);
}

TEST(GoldenQwen2, TiedEmbeddingsMatchTransformers) {
  const auto dir = fixture_dir("qwen2_tiny_tied");
  EXPECT_FALSE(SafetensorsFile::open(dir / "model.safetensors").contains("lm_head.weight"));
  const Qwen2Model model = Qwen2Model::load(dir);
  EXPECT_TRUE(model.config().tie_word_embeddings);
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  check_all_logits(model, io, "qwen2_tiny_tied");
  check_greedy(model, io);
}

TEST(GoldenQwen2, LlavaOnevisionLayoutLoads) {
  // llava-hf's names (language_model.model.*, language_model.lm_head.weight)
  // and the Qwen2 config nested as text_config; qwen2_tiny's weights.
  const auto dir = fixture_dir("qwen2_tiny_llava");
  const Qwen2Config c = Qwen2Config::from_config(Config::load(dir / "config.json"));
  const Qwen2Config plain = tiny_config();
  EXPECT_EQ(c.hidden_size, plain.hidden_size);
  EXPECT_EQ(c.num_key_value_heads, plain.num_key_value_heads);
  EXPECT_FLOAT_EQ(c.rope_theta, plain.rope_theta);
  EXPECT_FALSE(c.tie_word_embeddings);
  WeightSource w = WeightSource::from_file(dir / "model.safetensors");
  const Qwen2Names names = Qwen2Model::find_names(w);
  EXPECT_EQ(names.body, "language_model.model");
  EXPECT_EQ(names.lm_head, "language_model.lm_head.weight");
  const Qwen2Model model = Qwen2Model::load(w, c);
  EXPECT_TRUE(w.unused().empty());
  check_all_logits(model, SafetensorsFile::open(fixture_dir("qwen2_tiny") / "io.safetensors"), "qwen2_tiny_llava");
  // The folder loader takes it too.
  check_all_logits(Qwen2Model::load(dir), SafetensorsFile::open(fixture_dir("qwen2_tiny") / "io.safetensors"),
                   "qwen2_tiny_llava (folder)");
}

std::vector<ManifestEntry> renamed(std::vector<ManifestEntry> entries, const std::string& body,
                                   const std::string& lm_head) {
  for (ManifestEntry& e : entries) {
    if (e.name == "lm_head.weight") {
      e.name = lm_head;
    } else {
      e.name = join_name(body, e.name.substr(std::string("model.").size()));
    }
  }
  return entries;
}

TEST(Qwen2Load, EveryLayoutTransformersWroteIsFound) {
  const auto file = fixture_dir("qwen2_tiny") / "model.safetensors";
  const Qwen2Config c = tiny_config();
  struct Case {
    std::string body, lm_head;
  };
  for (const Case& k : {Case{"model", "lm_head.weight"}, Case{"language_model.model", "language_model.lm_head.weight"},
                        Case{"language_model.model", "lm_head.weight"}, Case{"model.language_model", "lm_head.weight"},
                        Case{"", "lm_head.weight"}}) {
    SCOPED_TRACE(k.body + " + " + k.lm_head);
    WeightSource w = WeightSource::from_manifest(renamed(entries_of(file), k.body, k.lm_head), "<renamed>");
    const Qwen2Names names = Qwen2Model::find_names(w);
    EXPECT_EQ(names.body, k.body);
    EXPECT_EQ(names.lm_head, k.lm_head);
    Qwen2Model::load(w, c);
    EXPECT_TRUE(w.unused().empty()) << w.unused().front();
    EXPECT_EQ(w.used_parameters(), 139840);
  }
}

TEST(Qwen2Load, TiedConfigIgnoresAStoredLmHead) {
  // Some exports of tied models store lm_head anyway; transformers ties it.
  Qwen2Config c = tiny_config();
  c.tie_word_embeddings = true;
  WeightSource w =
      WeightSource::from_manifest(entries_of(fixture_dir("qwen2_tiny") / "model.safetensors"), "<with lm_head>");
  Qwen2Model::load(w, c);
  EXPECT_TRUE(w.unused().empty());
  EXPECT_EQ(w.used_parameters(), 139840 - 512 * 64);
}

TEST(Qwen2Load, AMissingTensorIsNamed) {
  std::vector<ManifestEntry> entries = entries_of(fixture_dir("qwen2_tiny") / "model.safetensors");
  std::erase_if(entries, [](const ManifestEntry& e) { return e.name == "model.layers.1.self_attn.k_proj.bias"; });
  WeightSource w = WeightSource::from_manifest(entries, "tiny.safetensors");
  const std::string m = message_of([&] { Qwen2Model::load(w, tiny_config()); });
  EXPECT_NE(m.find("tiny.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("missing tensor model.layers.1.self_attn.k_proj.bias"), std::string::npos) << m;
  EXPECT_NE(m.find("[32]"), std::string::npos) << m;
}

TEST(Qwen2Load, AMisshapenTensorIsNamed) {
  std::vector<ManifestEntry> entries = entries_of(fixture_dir("qwen2_tiny") / "model.safetensors");
  for (ManifestEntry& e : entries) {
    if (e.name == "model.layers.0.mlp.up_proj.weight") e.shape = {127, 64};
  }
  WeightSource w = WeightSource::from_manifest(entries, "tiny.safetensors");
  const std::string m = message_of([&] { Qwen2Model::load(w, tiny_config()); });
  EXPECT_NE(m.find("model.layers.0.mlp.up_proj.weight: expected shape [128, 64], found [127, 64]"), std::string::npos)
      << m;
}

TEST(Qwen2Load, AnUntiedConfigNeedsTheLmHead) {
  // The tied fixture's file with a config saying the head is separate.
  WeightSource w = WeightSource::from_file(fixture_dir("qwen2_tiny_tied") / "model.safetensors");
  const std::string m = message_of([&] { Qwen2Model::load(w, tiny_config()); });
  EXPECT_NE(m.find("missing tensor lm_head.weight"), std::string::npos) << m;
}

TEST(Qwen2Load, AFileWithoutAQwen2SaysWhatItLookedFor) {
  WeightSource w = WeightSource::from_manifest(
      parse_manifest("text_model.embeddings.token_embedding.weight F32 8,4\n", "<clip>"), "clip.safetensors");
  const std::string m = message_of([&] { Qwen2Model::find_names(w); });
  EXPECT_NE(m.find("clip.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("model.embed_tokens.weight"), std::string::npos) << m;
  EXPECT_NE(m.find("language_model.model.embed_tokens.weight"), std::string::npos) << m;
  EXPECT_NE(m.find("model.language_model.embed_tokens.weight"), std::string::npos) << m;
}

TEST(Qwen2Load, AStrayTensorIsRefusedByTheFolderLoader) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "qwen2_stray";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("qwen2_tiny") / "config.json", dir / "config.json");
  const SafetensorsFile f = SafetensorsFile::open(fixture_dir("qwen2_tiny") / "model.safetensors");
  std::map<std::string, Tensor> tensors;
  for (const std::string& name : f.names()) tensors[name] = f.load(name);
  // A third layer the config does not have: another model than it describes.
  tensors["model.layers.2.input_layernorm.weight"] = Tensor::zeros({64});
  write_safetensors(dir / "model.safetensors", tensors);
  const std::string m = message_of([&] { Qwen2Model::load(dir); });
  EXPECT_NE(m.find("not used by Qwen2ForCausalLM"), std::string::npos) << m;
  EXPECT_NE(m.find("model.layers.2.input_layernorm.weight"), std::string::npos) << m;
}

std::string config_error(const std::string& json) {
  return message_of([&] { Qwen2Config::from_config(Config::parse(json, "cfg.json")); });
}

TEST(Qwen2Config, AMissingFieldIsNamed) {
  const std::string m = config_error(
      R"({"model_type": "qwen2", "vocab_size": 512, "intermediate_size": 128, "num_hidden_layers": 2,
          "num_attention_heads": 4})");
  EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
  EXPECT_NE(m.find("hidden_size"), std::string::npos) << m;
  // Inside a VLM's config the field's path names the text_config.
  const std::string nested = config_error(
      R"({"model_type": "llava_onevision", "text_config": {"vocab_size": 512, "hidden_size": 64,
          "intermediate_size": 128, "num_attention_heads": 4}})");
  EXPECT_NE(nested.find("text_config.num_hidden_layers"), std::string::npos) << nested;
}

TEST(Qwen2Config, WhatIsNotSupportedIsRefusedByField) {
  const std::string base = R"("vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
                              "num_hidden_layers": 2, "num_attention_heads": 4)";
  std::string m = config_error("{" + base + R"(, "model_type": "llama"})");
  EXPECT_NE(m.find("model_type"), std::string::npos) << m;
  EXPECT_NE(m.find("llama"), std::string::npos) << m;
  m = config_error("{" + base + R"(, "rope_scaling": {"type": "yarn", "factor": 4.0}})");
  EXPECT_NE(m.find("rope_scaling"), std::string::npos) << m;
  m = config_error("{" + base + R"(, "use_sliding_window": true})");
  EXPECT_NE(m.find("use_sliding_window"), std::string::npos) << m;
  m = config_error("{" + base + R"(, "num_key_value_heads": 3})");
  EXPECT_NE(m.find("num_key_value_heads"), std::string::npos) << m;
  m = config_error("{" + base + R"(, "hidden_act": "gelu"})");
  EXPECT_NE(m.find("hidden_act"), std::string::npos) << m;
  m = config_error("{" + base + R"(, "num_attention_heads": "four"})");
  EXPECT_NE(m.find("num_attention_heads"), std::string::npos) << m;
  // Defaults as Qwen2Config's: KV heads = heads, head_dim = hidden / heads,
  // untied; an explicit head_dim wins; a text_config's tie is its own.
  const Qwen2Config d = Qwen2Config::from_config(Config::parse("{" + base + "}", "cfg.json"));
  EXPECT_EQ(d.num_key_value_heads, 4);
  EXPECT_EQ(d.head_dim, 16);
  EXPECT_FALSE(d.tie_word_embeddings);
  EXPECT_FLOAT_EQ(d.rope_theta, 10000.0f);
  EXPECT_EQ(Qwen2Config::from_config(Config::parse("{" + base + R"(, "head_dim": 32})", "cfg.json")).head_dim, 32);
  EXPECT_TRUE(Qwen2Config::from_config(Config::parse(R"({"tie_word_embeddings": false, "text_config": {)" + base +
                                                         R"(, "tie_word_embeddings": true}})",
                                                     "cfg.json"))
                  .tie_word_embeddings);
  EXPECT_TRUE(
      Qwen2Config::from_config(Config::parse(R"({"tie_word_embeddings": true, "text_config": {)" + base + "}}", "c"))
          .tie_word_embeddings);
}

TEST(Qwen2Forward, BadCallsAreRefused) {
  const Qwen2Model model = Qwen2Model::load(fixture_dir("qwen2_tiny"));
  const Tensor ids = Tensor::from_vector_i64({4}, std::vector<std::int64_t>{1, 2, 3, 4});
  KvCache small = model.make_cache(3);
  std::string m = message_of([&] { model.forward(ids, small); });
  EXPECT_NE(m.find("do not fit the KV cache"), std::string::npos) << m;
  EXPECT_EQ(small.length(), 0);
  KvCache other(3, 2, 16, 8);
  m = message_of([&] { model.forward(ids, other); });
  EXPECT_NE(m.find("KV cache holds 3 layers"), std::string::npos) << m;
  KvCache cache = model.make_cache(8);
  Qwen2Model::ForwardOptions o;
  o.positions = Tensor::from_vector_i64({3}, std::vector<std::int64_t>{0, 1, 2});
  m = message_of([&] { model.forward(ids, cache, o); });
  EXPECT_NE(m.find("positions"), std::string::npos) << m;
  m = message_of([&] { model.forward(Tensor::from_vector_i64({1}, std::vector<std::int64_t>{512}), cache); });
  EXPECT_NE(m.find("embedding"), std::string::npos) << m;
  EXPECT_EQ(cache.length(), 0);
  m = message_of([&] { model.forward_embeddings(Tensor::zeros({1, 3, 63}), cache); });
  EXPECT_NE(m.find("input embeddings"), std::string::npos) << m;
  m = message_of([&] { model.make_cache(257); });
  EXPECT_NE(m.find("max_position_embeddings"), std::string::npos) << m;
}

}  // namespace
}  // namespace sc::engine
