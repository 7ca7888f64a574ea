// Every graph of tests/golden/fixtures/onnx (tests/golden/gen_onnx.py) run on
// the CPU against onnxruntime's outputs for the same inputs: relative L2
// <= 1e-5 for floats, integers and bools exact. Each case runs twice, with
// the load-time rewrites and without them, so a rewrite that changed a
// result would show here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/onnx/executor.h"
#include "engine/onnx/reader.h"
#include "engine/safetensors.h"
#include "model_test_util.h"

namespace sc::engine::onnx {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-5;

fs::path fixtures() { return fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "onnx"; }

nlohmann::json manifest() {
  std::ifstream in(fixtures() / "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<std::string> case_names() {
  const nlohmann::json m = manifest();  // kept: the loop reads into it
  std::vector<std::string> names;
  for (const auto& c : m.at("cases")) names.push_back(c.at("name").get<std::string>());
  return names;
}

// The graph inputs ("input/<name>") and reference outputs ("output/<name>") of a case.
struct Io {
  std::map<std::string, Tensor> inputs, outputs;
};

Io load_io(const fs::path& file) {
  const SafetensorsFile st = SafetensorsFile::open(file);
  Io io;
  for (const std::string& name : st.names()) {
    if (name.rfind("input/", 0) == 0) io.inputs[name.substr(6)] = st.load(name);
    if (name.rfind("output/", 0) == 0) io.outputs[name.substr(7)] = st.load(name);
  }
  return io;
}

void expect_matches(const std::map<std::string, Tensor>& got, const std::map<std::string, Tensor>& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(what + ", output " + name);
    ASSERT_TRUE(got.count(name)) << "missing output " << name;
    const Tensor& g = got.at(name);
    ASSERT_EQ(g.shape(), w.shape());
    if (w.dtype() == DType::kF32) {
      ASSERT_EQ(g.dtype(), DType::kF32);
      const double err = test::relative_l2(g, w);
      EXPECT_LE(err, kTolerance);
      // SC_ONNX_GOLDEN_VERBOSE=1 prints every measured error (the README quotes them).
      if (const char* v = std::getenv("SC_ONNX_GOLDEN_VERBOSE"); v && std::string(v) == "1") {
        std::printf("[rel-l2] %-40s %-16s %-8s %.3g\n", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                    what.c_str(), name.c_str(), err);
      }
    } else {
      ASSERT_EQ(g.dtype(), w.dtype());
      EXPECT_EQ(std::memcmp(g.raw_data(), w.raw_data(), w.nbytes()), 0) << "integer or bool values differ";
    }
  }
}

class OnnxGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxGolden, MatchesOnnxruntime) {
  const std::string name = GetParam();
  const Io io = load_io(fixtures() / (name + ".safetensors"));
  ASSERT_FALSE(io.outputs.empty());
  Executor with(read_model(fixtures() / (name + ".onnx")));
  expect_matches(with.run(io.inputs), io.outputs, "with rewrites");
  // A second run reuses the plan and gives the same values.
  expect_matches(with.run(io.inputs), io.outputs, "second run");

  ExecutorOptions plain;
  plain.fold_constants = plain.remove_identities = plain.fuse_batchnorm = plain.fuse_matmul_add = false;
  plain.fuse_attention = plain.fuse_norm_activation = false;
  Executor without(read_model(fixtures() / (name + ".onnx")), plain);
  expect_matches(without.run(io.inputs), io.outputs, "without rewrites");
}

INSTANTIATE_TEST_SUITE_P(Cases, OnnxGolden, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// One small graph per network of Ditto's published ditto_onnx folder, of the
// same structure with random weights (tests/golden/gen_ditto_onnx.py; op by
// op with their sources in tests/golden/fixtures/ditto_onnx/OPS.md), against
// onnxruntime (PyTorch for the GridSample3D forms, which onnxruntime lacks).
fs::path ditto_fixtures() { return fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / "ditto_onnx"; }

nlohmann::json ditto_manifest() {
  std::ifstream in(ditto_fixtures() / "manifest.json");
  return nlohmann::json::parse(in);
}

std::vector<std::string> ditto_graphs() {
  const nlohmann::json m = ditto_manifest();
  std::vector<std::string> files;
  for (const auto& g : m.at("graphs")) files.push_back(g.at("file").get<std::string>());
  return files;
}

// The bound per graph: relative L2 <= 1e-5 over all its outputs together,
// and per output the same, or 10x the disagreement of onnxruntime and
// PyTorch on it where that is larger (one near-cancelling scalar, the
// motion extractor's `scale`, differs by 3.5e-6 between the two).
void expect_matches_graph(const std::map<std::string, Tensor>& got, const std::map<std::string, Tensor>& want,
                          const nlohmann::json& graph, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double num = 0.0, den = 0.0;
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(what + ", output " + name);
    ASSERT_TRUE(got.count(name)) << "missing output " << name;
    const Tensor& g = got.at(name);
    ASSERT_EQ(g.shape(), w.shape());
    ASSERT_EQ(g.dtype(), w.dtype());
    if (w.dtype() != DType::kF32) {
      EXPECT_EQ(std::memcmp(g.raw_data(), w.raw_data(), w.nbytes()), 0) << "integer or bool values differ";
      continue;
    }
    const double err = test::relative_l2(g, w);
    double bound = kTolerance;
    if (graph.contains("ort_vs_torch_rel_l2") && graph.at("ort_vs_torch_rel_l2").contains(name)) {
      bound = std::max(bound, 10.0 * graph.at("ort_vs_torch_rel_l2").at(name).get<double>());
    }
    EXPECT_LE(err, bound);
    const float* pg = g.data<float>();
    const float* pw = w.data<float>();
    for (std::int64_t i = 0; i < w.numel(); ++i) {
      num += (static_cast<double>(pg[i]) - pw[i]) * (static_cast<double>(pg[i]) - pw[i]);
      den += static_cast<double>(pw[i]) * pw[i];
    }
    if (const char* v = std::getenv("SC_ONNX_GOLDEN_VERBOSE"); v && std::string(v) == "1") {
      std::printf("[rel-l2] %-40s %-16s %-8s %.3g\n", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                  what.c_str(), name.c_str(), err);
    }
  }
  EXPECT_LE(std::sqrt(num / std::max(den, 1e-30)), kTolerance) << what << ": all outputs together";
}

class DittoGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(DittoGolden, MatchesTheReference) {
  const nlohmann::json m = ditto_manifest();
  nlohmann::json graph;
  for (const auto& g : m.at("graphs"))
    if (g.at("file") == GetParam()) graph = g;
  const fs::path model = ditto_fixtures() / GetParam();
  const Io io = load_io(fs::path(model).replace_extension(".safetensors"));
  ASSERT_FALSE(io.outputs.empty());
  Executor with(read_model(model));
  expect_matches_graph(with.run(io.inputs), io.outputs, graph, "with rewrites");
  ExecutorOptions plain;
  plain.fold_constants = plain.remove_identities = plain.fuse_batchnorm = plain.fuse_matmul_add = false;
  plain.fuse_attention = plain.fuse_norm_activation = false;
  Executor without(read_model(model), plain);
  expect_matches_graph(without.run(io.inputs), io.outputs, graph, "without rewrites");
}

INSTANTIATE_TEST_SUITE_P(Networks, DittoGolden, ::testing::ValuesIn(ditto_graphs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = fs::path(info.param).stem().string();
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(OnnxGoldenFixtures, EveryCaseHasItsFilesAndTheManifestItsVersions) {
  const nlohmann::json m = manifest();
  for (const char* package : {"onnx", "onnxruntime", "numpy", "safetensors", "python"}) {
    EXPECT_TRUE(m.at("versions").contains(package)) << package;
  }
  std::size_t bytes = 0;
  for (const std::string& name : case_names()) {
    for (const char* ext : {".onnx", ".safetensors"}) {
      const fs::path p = fixtures() / (name + ext);
      ASSERT_TRUE(fs::exists(p)) << p;
      EXPECT_LT(fs::file_size(p), 2'000'000u) << p;
      bytes += fs::file_size(p);
    }
  }
  EXPECT_LT(bytes, 1'000'000u) << "the ONNX fixtures should stay small";
}

TEST(OnnxGoldenFixtures, ExternalDataLoadsFromBesideTheModel) {
  const Model model = read_model(fixtures() / "external_data.onnx");
  EXPECT_GT(model.external_bytes, 0u);
  const Io io = load_io(fixtures() / "external_data.safetensors");
  Executor ex(model);
  expect_matches(ex.run(io.inputs), io.outputs, "external data");
}

// The rewrites fire on the graphs made for them (their outputs are checked
// against onnxruntime above, with and without).
TEST(OnnxGoldenFixtures, RewritesFireWhereTheyShould) {
  const Executor conv_bn(read_model(fixtures() / "rewrite_conv_bn.onnx"));
  EXPECT_EQ(conv_bn.stats().fused_batchnorms, 1u);
  EXPECT_EQ(conv_bn.stats().removed_identities, 1u);
  EXPECT_EQ(conv_bn.stats().steps, 2u);  // Conv, Sigmoid
  const Executor mm(read_model(fixtures() / "rewrite_matmul_add.onnx"));
  EXPECT_EQ(mm.stats().fused_matmul_adds, 1u);  // the [1, 4] bias stays an Add
  // Attention: every pattern the generator wrote fuses into one step, but the
  // one whose probabilities are also a graph output.
  for (const char* name : {"attention_block", "attention_hubert_style", "attention_div_scale", "attention_sdpa_export",
                           "attention_broadcast_keys"}) {
    const Executor ex(read_model(fixtures() / (std::string(name) + ".onnx")));
    EXPECT_EQ(ex.stats().fused_attentions, 1u) << name;
  }
  EXPECT_EQ(Executor(read_model(fixtures() / "attention_sdpa_export.onnx")).stats().steps, 1u);
  EXPECT_EQ(Executor(read_model(fixtures() / "attention_probs_read_twice.onnx")).stats().fused_attentions, 0u);
  // Norm + activation: GroupNorm and SiLU into one group_norm (one step), the shape-chain
  // form too, InstanceNorm + SiLU, and the pattern whose merge is not x's shape.
  const Executor gn_silu(read_model(fixtures() / "groupnorm_export_silu.onnx"));
  EXPECT_EQ(gn_silu.stats().fused_norms, 3u);  // the SiLU, the GroupNorm, then the pair
  EXPECT_EQ(gn_silu.stats().steps, 1u);
  EXPECT_EQ(Executor(read_model(fixtures() / "groupnorm_export_shape_chain.onnx")).stats().fused_norms, 1u);
  const Executor in_silu(read_model(fixtures() / "instancenorm_silu.onnx"));
  EXPECT_EQ(in_silu.stats().fused_norms, 2u);
  EXPECT_EQ(in_silu.stats().steps, 1u);
  EXPECT_EQ(Executor(read_model(fixtures() / "groupnorm_export_other_merge.onnx")).stats().fused_norms, 1u);
  const Executor mlp(read_model(fixtures() / "mlp.onnx"));
  EXPECT_EQ(mlp.stats().fused_matmul_adds, 2u);  // Add(m, b) and Add(b, m)
  const Executor folded(read_model(fixtures() / "fold_transposed_weight.onnx"));
  EXPECT_EQ(folded.stats().folded_at_load, 3u);  // Transpose, Cast, Mul of initializers
  EXPECT_EQ(folded.stats().steps, 1u);           // the MatMul
  // The Shape -> Gather -> Unsqueeze -> Concat chain folds once x's shape is known.
  Executor chain(read_model(fixtures() / "shape_chain_flatten.onnx"));
  EXPECT_FALSE(chain.planned());  // x is [batch, 4, 5]
  chain.plan({{"x", Shape{3, 4, 5}}});
  EXPECT_EQ(chain.stats().folded_at_plan, 4u);
  EXPECT_EQ(chain.stats().steps, 1u);  // the Reshape
}

}  // namespace
}  // namespace sc::engine::onnx
