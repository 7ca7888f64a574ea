// ONNX graphs on CUDA against the CPU reference (the device suite runs these;
// they skip without a GPU): every Ditto structure graph and a set of the op
// goldens in f32 and f16 storage, and a fixed-shape graph captured once and
// replayed with new inputs giving what an eager run gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cuda_test_util.h"
#include "engine/graph.h"
#include "engine/onnx/executor.h"
#include "engine/onnx/reader.h"
#include "engine/safetensors.h"

namespace sc::engine::onnx {
namespace {

namespace fs = std::filesystem;
using test::CudaTest;

fs::path golden() { return fs::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures"; }

std::map<std::string, Tensor> inputs_of(const fs::path& st_file) {
  const SafetensorsFile st = SafetensorsFile::open(st_file);
  std::map<std::string, Tensor> in;
  for (const std::string& name : st.names())
    if (name.rfind("input/", 0) == 0) in[name.substr(6)] = st.load(name);
  return in;
}

std::map<std::string, Tensor> on_host(const std::map<std::string, Tensor>& m) {
  std::map<std::string, Tensor> h;
  for (const auto& [k, v] : m) {
    Tensor t = v.to(Device::kCpu);
    h[k] = is_floating(t.dtype()) ? to_dtype(t, DType::kF32) : t;
  }
  return h;
}

std::vector<fs::path> graphs() {
  std::vector<fs::path> g;
  std::ifstream in(golden() / "ditto_onnx" / "manifest.json");
  for (const auto& e : nlohmann::json::parse(in).at("graphs"))
    g.push_back(golden() / "ditto_onnx" / e.at("file").get<std::string>());
  for (const char* name : {"conv_block", "attention_block", "conv3d_3x3x3_pad1", "gridsample3d_linear_zeros_ac0",
                           "gridsample_bilinear_reflection_ac1", "avgpool3d_pads_exclude", "resize3d_linear_x2",
                           "attention_hubert_style", "instance_norm", "layer_norm_last"}) {
    g.push_back(golden() / "onnx" / (std::string(name) + ".onnx"));
  }
  return g;
}

class CudaOnnx : public CudaTest {};

TEST_F(CudaOnnx, GraphsMatchTheCpu) {
  for (const fs::path& file : graphs()) {
    SCOPED_TRACE(file.string());
    const std::map<std::string, Tensor> in = inputs_of(fs::path(file).replace_extension(".safetensors"));
    Executor cpu(read_model(file));
    const std::map<std::string, Tensor> want = cpu.run(in);
    for (DType dt : test::float_dtypes({DType::kF32, DType::kF16})) {
      ExecutorOptions o;
      o.device = test::gpu();
      o.float_dtype = dt;
      Executor gpu(read_model(file), o);
      const std::map<std::string, Tensor> got = on_host(gpu.run(in));
      for (const auto& [name, w] : want) {
        ASSERT_TRUE(got.count(name)) << name;
        if (!is_floating(w.dtype())) continue;
        const double err = test::relative_l2(got.at(name), w);
        const double tol = dt == DType::kF32 ? 1e-4 : 1e-2;
        test::report(file.stem().string() + " " + name, dt, err, tol);
        EXPECT_LT(err, tol) << file.stem() << " output " << name << " in " << to_string(dt);
      }
    }
  }
}

TEST_F(CudaOnnx, ACapturedForwardReplaysWithNewInputs) {
  for (const char* rel : {"ditto_onnx/warp_network/warp_network.onnx", "ditto_onnx/decoder/decoder.onnx",
                          "ditto_onnx/stitch_network/stitch_network.onnx", "onnx/attention_block.onnx"}) {
    SCOPED_TRACE(rel);
    const fs::path file = golden() / rel;
    const std::map<std::string, Tensor> in = inputs_of(fs::path(file).replace_extension(".safetensors"));
    ExecutorOptions o;
    o.device = test::gpu();
    o.float_dtype = DType::kF32;
    Executor eager(read_model(file), o), recorded(read_model(file), o);
    const bool captured = recorded.capture(in);
    EXPECT_EQ(captured, Graph::supported(test::gpu()));
    EXPECT_EQ(recorded.captured(), captured);
    if (captured) {
      EXPECT_GT(recorded.captured_nodes(), 0u);
    }
    // New values in the same shapes: the replay reads them.
    std::map<std::string, Tensor> next;
    std::uint32_t seed = 7;
    for (const auto& [k, v] : in) {
      next[k] = is_floating(v.dtype()) ? test::randn(v.shape(), seed++, 0.5f) : v;
    }
    const std::map<std::string, Tensor>* feeds[] = {&in, &next, &in};
    for (const std::map<std::string, Tensor>* feed : feeds) {
      const std::map<std::string, Tensor> want = on_host(eager.run(*feed));
      const std::map<std::string, Tensor> got = on_host(recorded.replay(*feed));
      for (const auto& [name, w] : want) {
        if (!is_floating(w.dtype())) continue;
        EXPECT_LT(test::relative_l2(got.at(name), w), 1e-6) << rel << " output " << name;
      }
    }
  }
}

}  // namespace
}  // namespace sc::engine::onnx
