// Ditto's ditto_onnx folder: recognised, checked network by network (missing
// files, another version's inputs, unsupported nodes named), and each network
// loaded and run through engine/models/ditto. The folder is
// tests/golden/fixtures/ditto_folder (tests/golden/gen_ditto_folder.py): the
// real graph inputs with trivial bodies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "engine/models/ditto/ditto_folder.h"
#include "engine/models/ditto/networks.h"
#include "tests/common/expect_error.h"

namespace sc::engine::ditto {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

fs::path fixture() { return fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "ditto_folder"; }

// A copy of the fixture folder to break.
fs::path copy_of_fixture(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sc_ditto_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(fixture(), dir);
  return dir;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(DittoFolder, TheDownloadedLayoutIsRecognisedAndComplete) {
  ASSERT_TRUE(looks_like_ditto_folder(fixture()));
  EXPECT_FALSE(looks_like_ditto_folder(fixture() / "decoder.onnx"));
  EXPECT_FALSE(looks_like_ditto_folder(fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "onnx"));
  const FolderReport r = inspect_folder(fixture());
  ASSERT_EQ(r.files.size(), networks().size());
  for (const FileReport& f : r.files)
    EXPECT_TRUE(f.ok()) << f.spec->key << ": " << (f.problems.empty() ? "missing" : f.problems[0]);
  EXPECT_TRUE(r.ok());
  const std::string text = format_report(r);
  EXPECT_TRUE(contains(text, "family: Ditto talking head")) << text;
  EXPECT_TRUE(contains(text, "status: every network is present")) << text;
}

TEST(DittoFolder, AMissingNetworkIsNamedWithItsFileAndRole) {
  const fs::path dir = copy_of_fixture("missing");
  fs::remove(dir / "warp_network.onnx");
  fs::remove(dir / "hubert.onnx");
  const FolderReport r = inspect_folder(dir);
  EXPECT_FALSE(r.ok());
  const std::string text = format_report(r);
  EXPECT_TRUE(contains(text, "warp_network           missing (warp_network.onnx or warp_network_ori.onnx)")) << text;
  EXPECT_TRUE(contains(text, "hubert")) << text;
  EXPECT_TRUE(contains(text, "2 missing, 0 with problems")) << text;
  EXPECT_TRUE(contains(text, "digital-avatar/ditto-talkinghead")) << text;
  expect_error([&] { OnnxNetwork::load(dir, Network::kWarpNetwork); },
               {dir.string(), "no warp_network", "warp_network_ori.onnx"});
  // The other accepted name is found.
  fs::copy_file(fixture() / "warp_network.onnx", dir / "warp_network_ori.onnx");
  EXPECT_EQ(find_file(dir, Network::kWarpNetwork)->filename(), "warp_network_ori.onnx");
  fs::remove_all(dir);
}

TEST(DittoFolder, AnotherVersionsInputsAreNamed) {
  const fs::path dir = copy_of_fixture("version");
  // The decoder's graph where the warp network's should be: wrong inputs.
  fs::copy_file(dir / "decoder.onnx", dir / "warp_network.onnx", fs::copy_options::overwrite_existing);
  // The structure fixture's appearance extractor takes 32 x 32 images, not 256.
  fs::copy_file(
      fs::path(SC_SOURCE_DIR) / "tests/golden/fixtures/ditto_onnx/appearance_extractor/appearance_extractor.onnx",
      dir / "appearance_extractor.onnx", fs::copy_options::overwrite_existing);
  const std::string text = format_report(inspect_folder(dir));
  EXPECT_TRUE(contains(text, "has 1 inputs; Ditto's warp_network takes 3")) << text;
  EXPECT_TRUE(contains(text, "has no input 'feature_3d'")) << text;
  EXPECT_TRUE(contains(text, "input 'image' is [1, 3, 32, 32]; the pipeline feeds [1, 3, 256, 256]")) << text;
  expect_error([&] { OnnxNetwork::load(dir, Network::kAppearanceExtractor); },
               {"appearance_extractor.onnx", "different version", "[1, 3, 32, 32]"});
  fs::remove_all(dir);
}

TEST(DittoFolder, AnUnreadableFileIsAProblemNotACrash) {
  const fs::path dir = copy_of_fixture("corrupt");
  {
    std::FILE* f = std::fopen((dir / "lmdm_v0.4_hubert.onnx").c_str(), "wb");
    std::fputs("not a protobuf at all", f);
    std::fclose(f);
  }
  const FolderReport r = inspect_folder(dir);
  EXPECT_FALSE(r.ok());
  const std::string text = format_report(r);
  EXPECT_TRUE(contains(text, "lmdm_v0.4_hubert.onnx")) << text;
  EXPECT_TRUE(contains(text, "1 with problems")) << text;
  fs::remove_all(dir);
}

TEST(DittoNetworks, EveryNetworkLoadsAndRunsWithTheInputsThePipelineFeeds) {
  LivePortrait lp = LivePortrait::load(fixture());
  const Tensor image = Tensor::full({1, 3, 256, 256}, 0.5f);
  // The stand-in graphs return mean(first input) * (output index + 1).
  EXPECT_FLOAT_EQ(lp.appearance_volume(image).item(), 0.5f);
  const KeypointInfo kp = lp.keypoints(image);
  EXPECT_FLOAT_EQ(kp.pitch.item(), 0.5f);
  EXPECT_FLOAT_EQ(kp.kp.item(), 3.5f);  // the 7th output
  const Tensor kps = Tensor::full({1, 21, 3}, 2.0f);
  EXPECT_FLOAT_EQ(lp.stitched(kps, kps).item(), 2.0f);
  EXPECT_FLOAT_EQ(lp.warped(Tensor::full({1, 32, 16, 64, 64}, 1.0f), kps, kps).item(), 1.0f);
  EXPECT_FLOAT_EQ(lp.decoded(Tensor::full({1, 256, 64, 64}, 0.25f)).item(), 0.25f);

  OnnxNetwork lmdm = OnnxNetwork::load(fixture(), Network::kLmdm);
  const std::vector<Tensor> out =
      lmdm.run({{"x", Tensor::full({1, 80, 265}, 1.0f)},
                {"cond_frame", Tensor::full({1, 265}, 0.0f)},
                {"cond", Tensor::full({1, 80, 1103}, 0.0f)},
                {"time_cond", Tensor::from_vector_i64({1}, std::vector<std::int64_t>{10})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[1].item(), 2.0f);
  expect_error([&] { lmdm.run({{"x", Tensor::full({1, 80, 265}, 1.0f)}}); }, {"lmdm_v0.4_hubert.onnx", "'cond_frame'"});

  // HuBERT takes any number of samples; the face nets take their one input under any name.
  OnnxNetwork hubert = OnnxNetwork::load(fixture(), Network::kHubert);
  EXPECT_FLOAT_EQ(hubert.run(Tensor::full({1, 6480}, 0.125f)).at(0).item(), 0.125f);
  OnnxNetwork det = OnnxNetwork::load(fixture(), Network::kFaceDetector);
  EXPECT_EQ(det.run(Tensor::full({1, 3, 512, 512}, 1.0f)).size(), 9u);
  OnnxNetwork mesh = OnnxNetwork::load(fixture(), Network::kFaceMesh);
  EXPECT_EQ(mesh.run(Tensor::full({1, 256, 256, 3}, 1.0f)).size(), 3u);
}

}  // namespace
}  // namespace sc::engine::ditto
