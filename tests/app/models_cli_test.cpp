// `streamcanvas-cli models inspect` on the tiny golden model folders and ONNX
// graphs, and `models run` on an ONNX graph against onnxruntime's outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "tests/common/subprocess.h"

namespace sc::app {
namespace {

using test::run_command;
using test::shell_quote;

const std::string kCli = shell_quote(SC_CLI_PATH);
const std::filesystem::path kFixtures = std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(ModelsCli, InspectTaesdFolder) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kFixtures / "diffusion_taesd").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "family: TAESD")) << r.output;
  EXPECT_TRUE(contains(r.output, "AutoencoderTiny")) << r.output;
  EXPECT_TRUE(contains(r.output, "F32 x")) << r.output;
  EXPECT_TRUE(contains(r.output, "status: complete")) << r.output;
}

TEST(ModelsCli, InspectJsonCountsParameters) {
  auto r = run_command(kCli + " models inspect --json " + shell_quote((kFixtures / "diffusion_vae").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j.at("ok").get<bool>());
  ASSERT_EQ(j.at("components").size(), 1u);
  EXPECT_EQ(j["components"][0].at("class"), "AutoencoderKL");
  EXPECT_GT(j["components"][0].at("parameters").get<long>(), 100000);
  EXPECT_TRUE(j["components"][0].at("unused").empty());
}

TEST(ModelsCli, InspectFp16Variant) {
  auto r = run_command(kCli + " models inspect --variant fp16 " +
                       shell_quote((kFixtures / "diffusion_taesd_fp16").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "F16 x")) << r.output;
}

TEST(ModelsCli, InspectLlavaOnevisionNamesTheFamilyAndItsParts) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kFixtures / "llava_onevision_tiny").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "family: LLaVA-OneVision (SigLIP 2 layers of 32 + Qwen2 2 layers of 64)")) << r.output;
  EXPECT_TRUE(contains(r.output, "parts: vision tower")) << r.output;
  EXPECT_TRUE(contains(r.output, "status: complete")) << r.output;
  auto j = nlohmann::json::parse(
      run_command(kCli + " models inspect --json " + shell_quote((kFixtures / "llava_onevision_tiny").string()))
          .output);
  const auto& parts = j["components"][0].at("parts");
  EXPECT_EQ(parts.at("projector").get<long>(), 32 * 64 + 64 + 64 * 64 + 64 + 64);  // linear_1, linear_2, newline
  EXPECT_EQ(
      parts.at("vision tower").get<long>() + parts.at("projector").get<long>() + parts.at("language model").get<long>(),
      j["components"][0].at("parameters").get<long>());
}

// llava-hf's folders also carry the slow tokenizer's vocab.json and
// merges.txt beside the weights: still the model, not a CLIP tokenizer.
TEST(ModelsCli, AModelFolderWithVocabFilesIsStillTheModel) {
  const std::filesystem::path dir = std::filesystem::path(SC_TEST_TMP_DIR) / "models_cli_llava_vocab";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& e : std::filesystem::directory_iterator(kFixtures / "llava_onevision_tiny"))
    std::filesystem::copy_file(e.path(), dir / e.path().filename());
  std::ofstream(dir / "vocab.json") << "{\"a\": 0}";
  std::ofstream(dir / "merges.txt") << "#version: 0.2\n";
  auto r = run_command(kCli + " models inspect " + shell_quote(dir.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "family: LLaVA-OneVision")) << r.output;
  EXPECT_FALSE(contains(r.output, "CLIPTokenizer")) << r.output;
}

// The published checkpoints, by their tensor lists (tests/golden/manifests,
// made by tests/golden/gen_llava_onevision.py with transformers on the meta
// device): what `models inspect` says of a download, without the download.
TEST(ModelsCli, InspectThePublishedLlavaOnevisionCheckpointsByManifest) {
  const std::filesystem::path manifests = kFixtures.parent_path() / "manifests";
  for (const auto& [name, params] : {std::pair{"llava-onevision-qwen2-0.5b-ov-hf", "893675552"},
                                     std::pair{"llava-onevision-qwen2-7b-ov-hf", "8030807584"}}) {
    auto r = run_command(kCli + " models inspect " + shell_quote((manifests / "config" / name).string()) +
                         " --manifest " + shell_quote((manifests / (std::string(name) + ".txt")).string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, std::string("parameters: ") + params)) << r.output;
    EXPECT_TRUE(contains(r.output, "SigLIP 26 layers of 1152")) << r.output;
    EXPECT_TRUE(contains(r.output, "status: complete")) << r.output;
  }
  // A manifest with a tensor short: named.
  const std::filesystem::path dir = std::filesystem::path(SC_TEST_TMP_DIR) / "models_cli_manifest";
  std::filesystem::create_directories(dir);
  const std::string cut = (dir / "cut.txt").string();
  ASSERT_EQ(
      run_command("grep -v 'multi_modal_projector.linear_2.bias' " +
                  shell_quote((manifests / "llava-onevision-qwen2-0.5b-ov-hf.txt").string()) + " > " + shell_quote(cut))
          .exit_code,
      0);
  auto r = run_command(kCli + " models inspect " +
                       shell_quote((manifests / "config" / "llava-onevision-qwen2-0.5b-ov-hf").string()) +
                       " --manifest " + shell_quote(cut));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "missing: 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "multi_modal_projector.linear_2.bias")) << r.output;
}

TEST(ModelsCli, NotAModelFolderFails) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kFixtures / "no_such_folder").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no_such_folder")) << r.output;
  auto usage = run_command(kCli + " models inspect");
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

#if SC_HAVE_ONNX

const std::filesystem::path kOnnx = kFixtures / "onnx";

std::filesystem::path tmp(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(SC_TEST_TMP_DIR) / "models_cli" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(ModelsCli, InspectOnnxFile) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kOnnx / "conv_block.onnx").string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"opsets: ai.onnx 13", "x                        float    [2, 3, 16, 14]", "nodes: 11",
                           "Conv                     2", "parameters: 774 in 12 initializers (float 12)",
                           "unsupported: none", "status: the engine runs this graph"}) {
    EXPECT_TRUE(contains(r.output, part)) << part << " not in:\n" << r.output;
  }
}

TEST(ModelsCli, InspectRecognisesDittosFolderAndNamesWhatIsMissing) {
  namespace fs = std::filesystem;
  const fs::path fixture = kFixtures / "ditto_folder";
  auto r = run_command(kCli + " models inspect " + shell_quote(fixture.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"family: Ditto talking head (ditto_onnx)", "warp_network           warp_network.onnx",
                           "status: every network is present and runs on the engine"}) {
    EXPECT_TRUE(contains(r.output, part)) << part << " not in:\n" << r.output;
  }
  const fs::path dir = fs::temp_directory_path() / ("sc_cli_ditto_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(fixture, dir);
  fs::remove(dir / "decoder.onnx");
  auto m = run_command(kCli + " models inspect " + shell_quote(dir.string()));
  EXPECT_EQ(m.exit_code, 1) << m.output;
  EXPECT_TRUE(contains(m.output, "decoder                missing (decoder.onnx)")) << m.output;
  auto j = run_command(kCli + " models inspect --json " + shell_quote(dir.string()));
  const auto json = nlohmann::json::parse(j.output);
  EXPECT_FALSE(json.at("ditto").at("ok").get<bool>());
  fs::remove_all(dir);
}

TEST(ModelsCli, InspectOnnxNamesEveryUnsupportedNode) {
  auto r = run_command(kCli + " models inspect " + shell_quote((kOnnx / "unsupported_ops.onnx").string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  for (const char* part :
       {"unsupported: 3 of 4 nodes", "node 'warp' (GridSample): mode 'bicubic' is not supported",
        "node 'warp3d' (Warp3D)", "domain 'com.custom'", "node 'cubic_up' (Resize): mode 'cubic'", "cannot run"}) {
    EXPECT_TRUE(contains(r.output, part)) << part << " not in:\n" << r.output;
  }
  auto j = run_command(kCli + " models inspect --json " + shell_quote((kOnnx / "unsupported_ops.onnx").string()));
  EXPECT_EQ(j.exit_code, 1) << j.output;
  const auto json = nlohmann::json::parse(j.output);
  EXPECT_FALSE(json.at("ok").get<bool>());
  EXPECT_EQ(json.at("unsupported").size(), 3u);
  EXPECT_EQ(json.at("opsets").at("com.custom"), 1);
}

TEST(ModelsCli, InspectAFolderOfOnnxFiles) {
  const auto dir = tmp("folder");
  for (const char* f : {"mlp.onnx", "conv_block.onnx"}) std::filesystem::copy_file(kOnnx / f, dir / f);
  auto r = run_command(kCli + " models inspect --json " + shell_quote(dir.string()));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  ASSERT_EQ(json.at("models").size(), 2u);
  EXPECT_EQ(json["models"][1].at("inputs")[0].at("shape"), "[batch, seq, 12]");
  EXPECT_EQ(json["models"][0].at("op_types").at("Conv"), 2);
}

TEST(ModelsCli, RunOnnxMatchesOnnxruntime) {
  const auto dir = tmp("run");
  const engine::SafetensorsFile io = engine::SafetensorsFile::open(kOnnx / "mlp.safetensors");
  engine::write_safetensors(dir / "in.safetensors", {{"x", io.load("input/x")}});
  auto r = run_command(kCli + " models run " + shell_quote((kOnnx / "mlp.onnx").string()) + " --device cpu --inputs " +
                       shell_quote((dir / "in.safetensors").string()) + " --output " +
                       shell_quote((dir / "out.safetensors").string()) + " --bench 2 --profile");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part :
       {"device: cpu, floats as f32", "bench: 2 forwards", "op by op", "MatMul+Add", "output y: f32[2, 5, 12]"}) {
    EXPECT_TRUE(contains(r.output, part)) << part << " not in:\n" << r.output;
  }
  const engine::Tensor got = engine::SafetensorsFile::open(dir / "out.safetensors").load("y");
  const engine::Tensor want = io.load("output/y");
  ASSERT_EQ(got.shape(), want.shape());
  double num = 0, den = 0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    const double d = got.data<float>()[i] - want.data<float>()[i];
    num += d * d;
    den += static_cast<double>(want.data<float>()[i]) * want.data<float>()[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-5);
}

TEST(ModelsCli, RunOnnxRefusesInputsThatDoNotFit) {
  const auto dir = tmp("run_bad");
  const std::string model = shell_quote((kOnnx / "mlp.onnx").string());
  auto run = [&](const std::map<std::string, engine::Tensor>& inputs) {
    engine::write_safetensors(dir / "in.safetensors", inputs);
    return run_command(kCli + " models run " + model + " --device cpu --inputs " +
                       shell_quote((dir / "in.safetensors").string()) + " --output " +
                       shell_quote((dir / "out.safetensors").string()));
  };
  auto missing = run({{"other", engine::Tensor::zeros({1})}});
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "has no tensor 'x'")) << missing.output;
  auto extra = run({{"x", engine::Tensor::zeros({2, 5, 12})}, {"y", engine::Tensor::zeros({1})}});
  EXPECT_EQ(extra.exit_code, 1) << extra.output;
  EXPECT_TRUE(contains(extra.output, "'y', which is not a graph input")) << extra.output;
  auto shape = run({{"x", engine::Tensor::zeros({2, 5, 7})}});
  EXPECT_EQ(shape.exit_code, 1) << shape.output;
  EXPECT_TRUE(contains(shape.output, "input 'x' is [2, 5, 7]")) << shape.output;
  EXPECT_TRUE(contains(shape.output, "[batch, seq, 12]")) << shape.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.safetensors"));
  auto usage = run_command(kCli + " models run " + model);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

#endif

}  // namespace
}  // namespace sc::app
