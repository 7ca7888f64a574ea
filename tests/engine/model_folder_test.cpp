// Loading what users download: a diffusers pipeline folder assembled from the
// tiny golden components, fp16 variants, and inspection reports that name
// what is missing, misshapen or unused.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "engine/models/model_folder.h"
#include "engine/ops.h"
#include "model_test_util.h"

namespace sc::engine {
namespace {

namespace fs = std::filesystem;
using test::fixture_dir;
using test::kModelTolerance;
using test::reference_dir;
using test::relative_l2;

void copy_folder(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
}

// A tiny sd-turbo-layout pipeline folder made of the golden components.
fs::path make_pipeline(const std::string& name) {
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(reference_dir() / "sd-turbo" / "model_index.json", dir / "model_index.json");
  copy_folder(fixture_dir("diffusion_unet_sd_turbo"), dir / "unet");
  copy_folder(fixture_dir("diffusion_clip_text_gelu"), dir / "text_encoder");
  copy_folder(fixture_dir("diffusion_vae"), dir / "vae");
  fs::create_directories(dir / "tokenizer");
  for (const char* f : {"vocab.json", "merges.txt"}) {
    fs::copy_file(fixture_dir("diffusion_tokenizer") / f, dir / "tokenizer" / f);
  }
  fs::copy_file(reference_dir() / "sd-turbo" / "tokenizer_config.json", dir / "tokenizer" / "tokenizer_config.json");
  return dir;
}

TEST(ModelFolder, LoadsADiffusersPipeline) {
  const fs::path dir = make_pipeline("pipeline_ok");
  const DiffusionPipelineModels m = load_diffusers_pipeline(dir);
  EXPECT_EQ(m.tokenizer.pad_id(), 0);  // sd-turbo pads with "!"
  EXPECT_EQ(m.text_encoder.config().hidden_act, "gelu");
  const SafetensorsFile io = SafetensorsFile::open(fixture_dir("diffusion_unet_sd_turbo") / "io.safetensors");
  const auto t = io.load("timesteps").to_vector<float>();
  EXPECT_LT(relative_l2(m.unet.forward(io.load("sample"), t, io.load("context")), io.load("out")), kModelTolerance);

  const ModelReport report = inspect_model(dir);
  EXPECT_TRUE(report.ok()) << format_report(report);
  ASSERT_EQ(report.components.size(), 4u);
  EXPECT_EQ(report.components[0].class_name, "UNet2DConditionModel");
  EXPECT_EQ(report.components[0].dtypes.at("F32"), report.components[0].tensors);
  EXPECT_NE(format_report(report).find("OK: every component loads"), std::string::npos);
}

TEST(ModelFolder, MissingPiecesAreNamed) {
  const fs::path dir = make_pipeline("pipeline_broken");
  fs::remove(dir / "vae" / "diffusion_pytorch_model.safetensors");
  try {
    load_diffusers_pipeline(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vae"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("diffusion_pytorch_model.safetensors"), std::string::npos) << e.what();
  }
  fs::remove_all(dir / "tokenizer");
  EXPECT_THROW(load_diffusers_pipeline(dir), Error);
  const ModelReport report = inspect_model(dir);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(format_report(report).find("PROBLEMS"), std::string::npos);
}

TEST(ModelFolder, InspectListsMissingMisshapenAndUnusedTensors) {
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "taesd_edited";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("diffusion_taesd") / "config.json", dir / "config.json");
  const SafetensorsFile src =
      SafetensorsFile::open(fixture_dir("diffusion_taesd") / "diffusion_pytorch_model.safetensors");
  std::map<std::string, Tensor> tensors;
  for (const std::string& n : src.names()) tensors[n] = src.load(n);
  tensors.erase("decoder.layers.0.bias");
  tensors["decoder.layers.15.bias"] = Tensor::zeros({4});
  tensors["extra.weight"] = Tensor::zeros({2, 2});
  write_safetensors(dir / "diffusion_pytorch_model.safetensors", tensors);

  const ModelReport report = inspect_model(dir);
  EXPECT_EQ(report.family, "TAESD");
  ASSERT_EQ(report.components.size(), 1u);
  const ComponentReport& c = report.components[0];
  EXPECT_EQ(c.missing, std::vector<std::string>{"decoder.layers.0.bias"});
  ASSERT_EQ(c.mismatched.size(), 1u);
  EXPECT_NE(c.mismatched[0].find("decoder.layers.15.bias: expected shape [3], found [4]"), std::string::npos);
  EXPECT_EQ(c.unused, std::vector<std::string>{"extra.weight"});
  try {
    Taesd::load(dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("decoder.layers.0.bias"), std::string::npos) << e.what();
  }
}

TEST(ModelFolder, Fp16VariantLoads) {
  const fs::path dir = fixture_dir("diffusion_taesd_fp16");
  const SafetensorsFile io = SafetensorsFile::open(dir / "io.safetensors");
  for (const std::string variant : {"fp16", ""}) {  // a lone variant file is found either way
    const Taesd taesd = Taesd::load(dir, variant);
    const double err = relative_l2(taesd.decoder.forward(io.load("latent")), io.load("decoded"));
    std::printf("TAESD fp16 weights rel L2: %.3g\n", err);
    EXPECT_LT(err, kModelTolerance);
  }
  const ModelReport report = inspect_model(dir, "fp16");
  ASSERT_EQ(report.components.size(), 1u);
  EXPECT_EQ(report.components[0].dtypes.at("F16"), report.components[0].tensors);
  EXPECT_TRUE(report.ok()) << format_report(report);
}

std::map<std::string, Tensor> read_all(const fs::path& file) {
  const SafetensorsFile src = SafetensorsFile::open(file);
  std::map<std::string, Tensor> tensors;
  for (const std::string& n : src.names()) tensors[n] = src.load(n).clone();
  return tensors;
}

TEST(ModelFolder, LegacyVaeAttentionNamesLoad) {
  // VAE files from before diffusers 0.14 name the attention query/key/value/proj_attn.
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "vae_legacy";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("diffusion_vae") / "config.json", dir / "config.json");
  std::map<std::string, Tensor> renamed;
  for (auto& [name, t] : read_all(fixture_dir("diffusion_vae") / "diffusion_pytorch_model.safetensors")) {
    std::string n = name;
    for (const auto& [from, to] : {std::pair{".to_q.", ".query."}, std::pair{".to_k.", ".key."},
                                   std::pair{".to_v.", ".value."}, std::pair{".to_out.0.", ".proj_attn."}}) {
      if (const auto at = n.find(from); at != std::string::npos) n.replace(at, std::strlen(from), to);
    }
    renamed[n] = t;
  }
  ASSERT_TRUE(renamed.contains("encoder.mid_block.attentions.0.proj_attn.weight"));
  write_safetensors(dir / "diffusion_pytorch_model.safetensors", renamed);
  const AutoencoderKl vae = AutoencoderKl::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(fixture_dir("diffusion_vae") / "io.safetensors");
  EXPECT_LT(relative_l2(vae.decode(io.load("latent")), io.load("decoded")), kModelTolerance);
}

TEST(ModelFolder, TextEncoderPositionIdsBufferIsAccepted) {
  // Older transformers saved text_model.embeddings.position_ids; it is not a weight.
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "clip_position_ids";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("diffusion_clip_text_gelu") / "config.json", dir / "config.json");
  auto tensors = read_all(fixture_dir("diffusion_clip_text_gelu") / "model.safetensors");
  tensors["text_model.embeddings.position_ids"] = Tensor::zeros({1, 77});
  write_safetensors(dir / "model.safetensors", tensors);
  EXPECT_NO_THROW(ClipTextModel::load(dir));
  EXPECT_TRUE(inspect_model(dir).ok());
}

TEST(ModelFolder, OriginalTaesdReleaseFilesLoad) {
  // madebyollin/taesd also ships taesd_encoder/decoder.safetensors: no prefix,
  // decoder indices one higher (the original starts with a clamp layer).
  const fs::path dir = fs::path(SC_TEST_TMP_DIR) / "taesd_original";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_dir("diffusion_taesd") / "config.json", dir / "config.json");
  std::map<std::string, Tensor> enc, dec;
  for (auto& [name, t] : read_all(fixture_dir("diffusion_taesd") / "diffusion_pytorch_model.safetensors")) {
    const std::string rest = name.substr(name.find(".layers.") + 8);
    const std::size_t dot = rest.find('.');
    const int index = std::stoi(rest.substr(0, dot));
    if (name.starts_with("encoder.")) enc[rest] = t;
    if (name.starts_with("decoder.")) dec[std::to_string(index + 1) + rest.substr(dot)] = t;
  }
  write_safetensors(dir / "taesd_encoder.safetensors", enc);
  write_safetensors(dir / "taesd_decoder.safetensors", dec);
  const Taesd taesd = Taesd::load(dir);
  const SafetensorsFile io = SafetensorsFile::open(fixture_dir("diffusion_taesd") / "io.safetensors");
  EXPECT_LT(relative_l2(taesd.encoder.forward(io.load("image")), io.load("encoded")), kModelTolerance);
  EXPECT_LT(relative_l2(taesd.decoder.forward(io.load("latent")), io.load("decoded")), kModelTolerance);
  const ModelReport report = inspect_model(dir);
  EXPECT_EQ(report.family, "TAESD");
}

TEST(ModelFolder, EveryFolderLoaderNamesTheFileAndTheTensor) {
  // One load sequence (engine/models/folder_loader.h) behind every loader: a
  // stray tensor, a misshapen one and a missing one each fail naming the file
  // and the tensor.
  struct Case {
    const char* fixture;
    const char* weights;
    std::function<void(const fs::path&)> load;
  };
  const Case cases[] = {
      {"diffusion_unet_sd_turbo", "diffusion_pytorch_model.safetensors",
       [](const fs::path& d) { UNet2DCondition::load(d); }},
      {"diffusion_clip_text_gelu", "model.safetensors", [](const fs::path& d) { ClipTextModel::load(d); }},
      {"diffusion_vae", "diffusion_pytorch_model.safetensors", [](const fs::path& d) { AutoencoderKl::load(d); }},
      {"diffusion_taesd", "diffusion_pytorch_model.safetensors", [](const fs::path& d) { Taesd::load(d); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture);
    const fs::path dir = fs::path(SC_TEST_TMP_DIR) / (std::string(c.fixture) + "_edited");
    const std::map<std::string, Tensor> original = read_all(fixture_dir(c.fixture) / c.weights);
    auto write = [&](const std::map<std::string, Tensor>& tensors) {
      fs::remove_all(dir);
      fs::create_directories(dir);
      fs::copy_file(fixture_dir(c.fixture) / "config.json", dir / "config.json");
      write_safetensors(dir / c.weights, tensors);
    };
    auto expect_load_error = [&](const std::string& tensor) {
      try {
        c.load(dir);
        ADD_FAILURE() << "loaded despite " << tensor;
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / c.weights).string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(tensor), std::string::npos) << e.what();
      }
    };
    write(original);
    EXPECT_NO_THROW(c.load(dir));
    auto extra = original;
    extra["stray.weight"] = Tensor::zeros({2});
    write(extra);
    expect_load_error("stray.weight");
    auto misshapen = original;
    const std::string first = original.begin()->first;
    misshapen[first] = Tensor::zeros({original.begin()->second.numel() + 1});
    write(misshapen);
    expect_load_error(first);
    auto missing = original;
    missing.erase(first);
    write(missing);
    expect_load_error(first);
  }
}

TEST(ModelFolder, FamilyFromTheUNetConfig) {
  EXPECT_EQ(unet_family(UNetConfig::from_config(Config::load(reference_dir() / "sd15" / "unet.config.json"))),
            "SD 1.x");
  EXPECT_EQ(unet_family(UNetConfig::from_config(Config::load(reference_dir() / "sd-turbo" / "unet.config.json"))),
            "SD 2.x / sd-turbo");
}

}  // namespace
}  // namespace sc::engine
