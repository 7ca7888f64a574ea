// Every CPU op against PyTorch: the fixtures in tests/golden/fixtures hold
// seeded inputs and float64 reference outputs (tests/golden/gen_ops.py).
// Float results must match at relative L2 error < 1e-5, integer results
// exactly, and shapes always.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/thread_pool.h"
#include "engine/ops.h"
#include "engine/safetensors.h"

namespace sc::engine {
namespace {

constexpr double kTolerance = 1e-5;

std::filesystem::path fixture_path(const std::string& file) {
  return std::filesystem::path(SC_SOURCE_DIR) / "tests" / "golden" / "fixtures" / file;
}

struct Case {
  std::string name;
  std::string op;
  nlohmann::json params;
};

class Fixture {
 public:
  explicit Fixture(const std::string& file) : file_(SafetensorsFile::open(fixture_path(file))) {
    const auto& meta = file_.metadata();
    const auto it = meta.find("cases");
    if (it == meta.end()) throw std::runtime_error(file + " has no cases in its metadata");
    for (const auto& c : nlohmann::json::parse(it->second)) {
      cases_.push_back({c.at("name").get<std::string>(), c.at("op").get<std::string>(), c.at("params")});
    }
  }

  std::vector<Case> cases(const std::string& op) const {
    std::vector<Case> out;
    for (const Case& c : cases_) {
      if (c.op == op) out.push_back(c);
    }
    return out;
  }
  const std::vector<Case>& all() const { return cases_; }
  bool has(const Case& c, const std::string& role) const { return file_.contains(c.name + "/" + role); }
  Tensor get(const Case& c, const std::string& role) const { return file_.load(c.name + "/" + role); }
  // Undefined when the case has no such tensor (e.g. no bias).
  Tensor maybe(const Case& c, const std::string& role) const { return has(c, role) ? get(c, role) : Tensor(); }
  const SafetensorsFile& file() const { return file_; }

 private:
  SafetensorsFile file_;
  std::vector<Case> cases_;
};

double relative_l2(const Tensor& got, const Tensor& want) {
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  double num = 0.0, den = 0.0;
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    if (std::isinf(w[i]) && g[i] == w[i]) continue;  // e.g. -inf from a max over padding
    const double diff = static_cast<double>(g[i]) - static_cast<double>(w[i]);
    num += diff * diff;
    den += static_cast<double>(w[i]) * static_cast<double>(w[i]);
  }
  return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

void expect_match(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.shape().to_string(), want.shape().to_string()) << what << ": shape";
  ASSERT_EQ(got.dtype(), want.dtype()) << what << ": dtype " << to_string(got.dtype()) << " vs "
                                       << to_string(want.dtype());
  if (want.dtype() == DType::kF32) {
    const double err = relative_l2(got, want);
    EXPECT_LT(err, kTolerance) << what << ": relative L2 error " << err;  // NaN fails too
  } else {
    ASSERT_EQ(got.nbytes(), want.nbytes());
    EXPECT_EQ(std::memcmp(got.raw_data(), want.raw_data(), got.nbytes()), 0) << what << ": values differ";
  }
}

// Runs every case of `op` in `file` through fn and compares with "out".
void run_op(const std::string& file, const std::string& op, std::size_t min_cases,
            const std::function<Tensor(const Fixture&, const Case&)>& fn) {
  const Fixture fx(file);
  const std::vector<Case> cases = fx.cases(op);
  ASSERT_GE(cases.size(), min_cases) << file << " should hold at least " << min_cases << " cases of " << op;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + " " + c.params.dump());
    expect_match(fn(fx, c), fx.get(c, "out"), c.name);
  }
}

// The heavy ops also run at other thread counts: their work splitting (GEMM
// blocks, conv tiles, attention query blocks) must not change the result.
class ThreadCounts : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    saved_ = num_threads();
    set_num_threads(GetParam());
  }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_P(ThreadCounts, Linear) {
  run_op("ops_matmul.safetensors", "linear", 4, [](const Fixture& fx, const Case& c) {
    return linear(fx.get(c, "x"), fx.get(c, "weight"), fx.maybe(c, "bias"));
  });
}

TEST_P(ThreadCounts, Matmul) {
  run_op("ops_matmul.safetensors", "matmul", 5,
         [](const Fixture& fx, const Case& c) { return matmul(fx.get(c, "a"), fx.get(c, "b")); });
}

TEST_P(ThreadCounts, Conv2d) {
  run_op("ops_conv.safetensors", "conv2d", 8, [](const Fixture& fx, const Case& c) {
    const auto& p = c.params;
    Conv2dParams cp;
    cp.stride = {p["stride"][0].get<std::int64_t>(), p["stride"][1].get<std::int64_t>()};
    cp.padding = {p["padding"][0].get<std::int64_t>(), p["padding"][1].get<std::int64_t>()};
    cp.dilation = {p["dilation"][0].get<std::int64_t>(), p["dilation"][1].get<std::int64_t>()};
    cp.groups = p["groups"].get<std::int64_t>();
    return conv2d(fx.get(c, "x"), fx.get(c, "weight"), fx.maybe(c, "bias"), cp);
  });
}

TEST_P(ThreadCounts, Attention) {
  run_op("ops_attention.safetensors", "attention", 8, [](const Fixture& fx, const Case& c) {
    AttentionOptions o;
    o.causal = c.params["causal"].get<bool>();
    o.mask = fx.maybe(c, "mask");
    if (c.params.contains("scale")) o.scale = c.params["scale"].get<float>();
    return attention(fx.get(c, "q"), fx.get(c, "k"), fx.get(c, "v"), o);
  });
}

INSTANTIATE_TEST_SUITE_P(GoldenOps, ThreadCounts, ::testing::Values(1, 2, 5));

TEST(GoldenOps, GroupNorm) {
  run_op("ops_norm.safetensors", "group_norm", 4, [](const Fixture& fx, const Case& c) {
    return group_norm(fx.get(c, "x"), c.params["groups"].get<std::int64_t>(), fx.maybe(c, "weight"),
                      fx.maybe(c, "bias"), c.params["eps"].get<float>());
  });
}

TEST(GoldenOps, LayerNorm) {
  run_op("ops_norm.safetensors", "layer_norm", 3, [](const Fixture& fx, const Case& c) {
    return layer_norm(fx.get(c, "x"), fx.maybe(c, "weight"), fx.maybe(c, "bias"), c.params["eps"].get<float>());
  });
}

TEST(GoldenOps, RmsNorm) {
  run_op("ops_norm.safetensors", "rms_norm", 3, [](const Fixture& fx, const Case& c) {
    return rms_norm(fx.get(c, "x"), fx.maybe(c, "weight"), c.params["eps"].get<float>());
  });
}

TEST(GoldenOps, Softmax) {
  run_op("ops_norm.safetensors", "softmax", 4,
         [](const Fixture& fx, const Case& c) { return softmax(fx.get(c, "x"), c.params["dim"].get<int>()); });
}

TEST(GoldenOps, Activations) {
  const std::map<std::string, std::function<Tensor(const Tensor&)>> ops = {
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::kTanh); }},
      {"quick_gelu", [](const Tensor& x) { return quick_gelu(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
  };
  for (const auto& [name, fn] : ops) {
    SCOPED_TRACE(name);
    run_op("ops_elementwise.safetensors", name, 3,
           [&fn](const Fixture& fx, const Case& c) { return fn(fx.get(c, "x")); });
  }
}

TEST(GoldenOps, BinaryBroadcast) {
  const std::map<std::string, std::function<Tensor(const Tensor&, const Tensor&)>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
  };
  for (const auto& [name, fn] : ops) {
    SCOPED_TRACE(name);
    run_op("ops_elementwise.safetensors", name, 6,
           [&fn](const Fixture& fx, const Case& c) { return fn(fx.get(c, "a"), fx.get(c, "b")); });
  }
}

TEST(GoldenOps, Scale) {
  run_op("ops_elementwise.safetensors", "scale", 2,
         [](const Fixture& fx, const Case& c) { return scale(fx.get(c, "x"), c.params["factor"].get<float>()); });
}

TEST(GoldenOps, Concat) {
  run_op("ops_layout.safetensors", "concat", 3, [](const Fixture& fx, const Case& c) {
    std::vector<Tensor> parts;
    for (int i = 0; i < c.params["count"].get<int>(); ++i) parts.push_back(fx.get(c, "in" + std::to_string(i)));
    return concat(parts, c.params["dim"].get<int>());
  });
}

TEST(GoldenOps, Slice) {
  run_op("ops_layout.safetensors", "slice", 3, [](const Fixture& fx, const Case& c) {
    const auto& p = c.params;
    return slice(fx.get(c, "x"), p["dim"].get<int>(), p["start"].get<std::int64_t>(), p["end"].get<std::int64_t>(),
                 p["step"].get<std::int64_t>());
  });
}

TEST(GoldenOps, Permute) {
  run_op("ops_layout.safetensors", "permute", 4, [](const Fixture& fx, const Case& c) {
    const auto dims = c.params["dims"].get<std::vector<int>>();
    return permute(fx.get(c, "x"), dims);
  });
}

TEST(GoldenOps, Transpose) {
  run_op("ops_layout.safetensors", "transpose", 1, [](const Fixture& fx, const Case& c) {
    return transpose(fx.get(c, "x"), c.params["dim0"].get<int>(), c.params["dim1"].get<int>());
  });
}

TEST(GoldenOps, Reshape) {
  run_op("ops_layout.safetensors", "reshape", 1, [](const Fixture& fx, const Case& c) {
    const auto dims = c.params["dims"].get<std::vector<std::int64_t>>();
    return fx.get(c, "x").reshape(dims);
  });
}

TEST(GoldenOps, Pad) {
  run_op("ops_layout.safetensors", "pad", 4, [](const Fixture& fx, const Case& c) {
    const auto pads = c.params["pads"].get<std::vector<std::int64_t>>();
    const std::string mode = c.params["mode"].get<std::string>();
    const PadMode m = mode == "reflect"     ? PadMode::kReflect
                      : mode == "replicate" ? PadMode::kReplicate
                                            : PadMode::kConstant;
    return pad(fx.get(c, "x"), pads, m, c.params["value"].get<float>());
  });
}

TEST(GoldenOps, UpsampleNearest2x) {
  run_op("ops_layout.safetensors", "upsample_nearest2x", 2,
         [](const Fixture& fx, const Case& c) { return upsample_nearest2x(fx.get(c, "x")); });
}

Pool2dParams pool_params(const nlohmann::json& p) {
  Pool2dParams pp;
  pp.kernel = {p["kernel"][0].get<std::int64_t>(), p["kernel"][1].get<std::int64_t>()};
  pp.stride = {p["stride"][0].get<std::int64_t>(), p["stride"][1].get<std::int64_t>()};
  pp.padding = {p["padding"][0].get<std::int64_t>(), p["padding"][1].get<std::int64_t>()};
  return pp;
}

TEST(GoldenOps, AvgPool2d) {
  run_op("ops_layout.safetensors", "avg_pool2d", 3,
         [](const Fixture& fx, const Case& c) { return avg_pool2d(fx.get(c, "x"), pool_params(c.params)); });
}

TEST(GoldenOps, MaxPool2d) {
  run_op("ops_layout.safetensors", "max_pool2d", 3,
         [](const Fixture& fx, const Case& c) { return max_pool2d(fx.get(c, "x"), pool_params(c.params)); });
}

TEST(GoldenOps, Embedding) {
  run_op("ops_layout.safetensors", "embedding", 2,
         [](const Fixture& fx, const Case& c) { return embedding(fx.get(c, "ids"), fx.get(c, "weight")); });
}

TEST(GoldenOps, Rope) {
  run_op("ops_sequence.safetensors", "rope", 3, [](const Fixture& fx, const Case& c) {
    RopeOptions o;
    o.theta = c.params["theta"].get<float>();
    o.style = c.params["style"].get<std::string>() == "interleaved" ? RopeStyle::kInterleaved : RopeStyle::kHalf;
    o.rotary_dim = c.params["rotary_dim"].get<std::int64_t>();
    if (fx.has(c, "positions")) return rope(fx.get(c, "x"), fx.get(c, "positions"), o);
    return rope(fx.get(c, "x"), c.params["start_pos"].get<std::int64_t>(), o);
  });
}

TEST(GoldenOps, Cumsum) {
  run_op("ops_sequence.safetensors", "cumsum", 4,
         [](const Fixture& fx, const Case& c) { return cumsum(fx.get(c, "x"), c.params["dim"].get<int>()); });
}

TEST(GoldenOps, Argmax) {
  run_op("ops_sequence.safetensors", "argmax", 3, [](const Fixture& fx, const Case& c) {
    return argmax(fx.get(c, "x"), c.params["dim"].get<int>(), c.params["keepdim"].get<bool>());
  });
}

TEST(GoldenOps, Topk) {
  const Fixture fx("ops_sequence.safetensors");
  const auto cases = fx.cases("topk");
  ASSERT_GE(cases.size(), 3u);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const TopK r = topk(fx.get(c, "x"), c.params["k"].get<std::int64_t>(), c.params["dim"].get<int>(),
                        c.params["largest"].get<bool>());
    expect_match(r.values, fx.get(c, "values"), c.name + " values");
    expect_match(r.indices, fx.get(c, "indices"), c.name + " indices");
  }
}

// f16/bf16 widening (the checkpoint load path) and narrowing (to_dtype) are
// bit-exact with PyTorch, including subnormals, overflow and infinities.
TEST(GoldenOps, HalfConversionsAreExact) {
  const Fixture fx("ops_dtypes.safetensors");
  for (const auto& [op, file_dtype, dtype] :
       {std::tuple{"to_f16", "F16", DType::kF16}, std::tuple{"to_bf16", "BF16", DType::kBF16}}) {
    const auto cases = fx.cases(op);
    ASSERT_EQ(cases.size(), 1u) << op;
    const Case& c = cases.front();
    ASSERT_EQ(fx.file().entry(c.name + "/narrow").dtype, file_dtype);
    const Tensor widened = fx.get(c, "widened");
    const Tensor loaded = fx.get(c, "narrow");  // converted by the reader
    ASSERT_EQ(loaded.dtype(), DType::kF32);
    ASSERT_EQ(loaded.nbytes(), widened.nbytes());
    EXPECT_EQ(std::memcmp(loaded.raw_data(), widened.raw_data(), widened.nbytes()), 0) << op << " load";
    const Tensor round_trip = to_dtype(to_dtype(fx.get(c, "x"), dtype), DType::kF32);
    EXPECT_EQ(std::memcmp(round_trip.raw_data(), widened.raw_data(), widened.nbytes()), 0) << op << " narrowing";
  }
}

// The fixtures cover every op of the engine core, with several shapes each,
// and record what made them.
TEST(GoldenOps, FixturesCoverEveryOp) {
  const std::set<std::string> required = {"linear",     "matmul",
                                          "conv2d",     "group_norm",
                                          "layer_norm", "rms_norm",
                                          "softmax",    "attention",
                                          "silu",       "gelu",
                                          "gelu_tanh",  "quick_gelu",
                                          "relu",       "tanh",
                                          "sigmoid",    "add",
                                          "sub",        "mul",
                                          "div",        "scale",
                                          "concat",     "slice",
                                          "permute",    "transpose",
                                          "reshape",    "upsample_nearest2x",
                                          "avg_pool2d", "max_pool2d",
                                          "pad",        "embedding",
                                          "rope",       "cumsum",
                                          "argmax",     "topk",
                                          "to_f16",     "to_bf16"};
  std::map<std::string, int> count;
  for (const char* file : {"ops_matmul.safetensors", "ops_conv.safetensors", "ops_norm.safetensors",
                           "ops_attention.safetensors", "ops_elementwise.safetensors", "ops_layout.safetensors",
                           "ops_sequence.safetensors", "ops_dtypes.safetensors"}) {
    const Fixture fx(file);
    const auto& meta = fx.file().metadata();
    for (const char* key : {"torch_version", "safetensors_version", "numpy_version", "generator"}) {
      EXPECT_TRUE(meta.count(key)) << file << " does not record " << key;
    }
    for (const Case& c : fx.all()) ++count[c.op];
  }
  for (const std::string& op : required) {
    EXPECT_GE(count[op], op.rfind("to_", 0) == 0 || op == "transpose" || op == "reshape" ? 1 : 2)
        << "no golden cases for " << op;
  }
}

}  // namespace
}  // namespace sc::engine
