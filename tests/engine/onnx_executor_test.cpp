// The executor on graphs built here: every refusal at load (op, domain,
// opset, attribute, subgraph, graph structure) and at planning (input
// shapes), re-planning, freeing intermediates, profiling, and the rewrites
// left alone where they must not fire.
#include "engine/onnx/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "engine/cuda/runtime.h"
#include "engine/onnx/rewrites.h"
#include "engine/ops.h"
#include "model_test_util.h"
#include "onnx_test_util.h"
#include "tests/common/expect_error.h"

namespace sc::engine::onnx {
namespace {

using sc::test::expect_error;
using test::GraphBuilder;
namespace proto = ::onnx;

constexpr std::int64_t k2 = 2, k3 = 3;

Tensor iota(const Shape& s, float scale = 1.0f, float offset = 0.0f) {
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * scale + offset;
  return Tensor::from_vector(s, v);
}

TEST(OnnxExecutor, RunsAndPlansAtLoadWhenShapesAreFixed) {
  Executor ex(test::relu_graph().parse());
  EXPECT_TRUE(ex.planned());
  EXPECT_EQ(ex.stats().steps, 1u);
  const auto out = ex.run({{"x", iota({2, 3}, 1.0f, -2.0f)}});
  EXPECT_EQ(out.at("y").to_vector<float>(), (std::vector<float>{0, 0, 0, 1, 2, 3}));
}

// Where the device cannot record (the CPU), capture says so and replay is an
// eager run; the recording itself is checked on CUDA (cuda_onnx_test.cpp).
TEST(OnnxExecutor, CaptureOnTheCpuFallsBackToEagerRuns) {
  Executor ex(test::relu_graph().parse());
  const Tensor x = Tensor::from_vector({2, 3}, std::vector<float>{-1, 2, -3, 4, -5, 6});
  EXPECT_FALSE(ex.capture({{"x", x}}));
  EXPECT_FALSE(ex.captured());
  EXPECT_EQ(ex.captured_nodes(), 0u);
  const Tensor y = ex.replay({{"x", x}}).at("y");
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 2, 0, 4, 0, 6}));
}

TEST(OnnxExecutor, ReplansWhenInputShapesChange) {
  GraphBuilder b;
  b.input("x", {std::string("n"), std::int64_t{3}}).output("y");
  b.node("Shape", {"x"}, {"s"});
  b.node("ConstantOfShape", {"s"}, {"ones"});  // zeros of x's shape, known once planned
  b.node("Add", {"x", "ones"}, {"y"});
  Executor ex(b.parse());
  EXPECT_FALSE(ex.planned());
  EXPECT_EQ(ex.run({{"x", iota({2, 3})}}).at("y").shape(), (Shape{2, 3}));
  EXPECT_EQ(ex.stats().folded_at_plan, 2u);
  EXPECT_EQ(ex.run({{"x", iota({5, 3})}}).at("y").to_vector<float>(), iota({5, 3}).to_vector<float>());
  expect_error([&] { ex.run({{"x", iota({5, 4})}}); }, {"input 'x'", "[5, 4]", "[n, 3]", "dimension 1: 4 vs 3"});
}

TEST(OnnxExecutorBadInput, InputsThatDoNotFitTheGraph) {
  GraphBuilder b;
  b.input("a", {std::string("batch"), k3}).input("b", {std::string("batch"), k3}).output("y");
  b.node("Add", {"a", "b"}, {"y"});
  Executor ex(b.parse("two.onnx"));
  expect_error([&] { ex.run({{"a", iota({2, 3})}}); }, {"'two.onnx'", "input 'b'", "not given"});
  expect_error(
      [&] {
        ex.run({{"a", iota({2, 3})}, {"b", iota({4, 3})}});
      },
      {"'two.onnx'", "dimension 'batch' is 2 in input 'a' but 4 in input 'b'"});
  expect_error(
      [&] {
        ex.run({{"a", iota({2, 3})}, {"b", iota({2, 3})}, {"c", iota({1})}});
      },
      {"'c' is not an input of the graph", "a, b"});
  expect_error([&] { ex.run({{"a", iota({2, 3, 1})}, {"b", iota({2, 3})}}); }, {"input 'a'", "rank 3 vs 2"});
  expect_error(
      [&] {
        ex.run({{"a", Tensor::zeros({2, 3}, DType::kI64)}, {"b", iota({2, 3})}});
      },
      {"input 'a'", "i64", "wants float"});
}

TEST(OnnxExecutorBadInput, NodesWithoutALoweringAreRefusedAtLoad) {
  auto one = [](const std::string& op, const std::string& domain = "") {
    GraphBuilder b = test::relu_graph();
    auto& n = b.node(op, {"x"}, {"z"}, "odd");
    n.set_domain(domain);
    if (!domain.empty()) {
      auto* o = b.model().add_opset_import();
      o->set_domain(domain);
      o->set_version(1);
    }
    return b;
  };
  expect_error([&] { Executor(one("FooBar").parse("m.onnx")); },
               {"'m.onnx'", "node 'odd' (FooBar) (opset 17)", "no lowering for FooBar"});
  expect_error([&] { Executor(one("FusedConv", "com.microsoft").parse()); },
               {"node 'odd' (FusedConv)", "domain 'com.microsoft' is not supported"});
  expect_error([&] { Executor(one("Gelu").parse()); }, {"node 'odd' (Gelu)", "does not exist before opset 20"});

  GraphBuilder attr = test::relu_graph();
  test::set_attr(*attr.graph().mutable_node(0), "made_up", std::int64_t{1});
  expect_error([&] { Executor(attr.parse()); },
               {"node 'relu' (Relu)", "opset 17", "attribute 'made_up' is not supported"});

  GraphBuilder cubic;
  cubic.input("x", {std::int64_t{1}, std::int64_t{1}, k2, k2}).output("y");
  test::set_attr(cubic.node("Resize", {"x", "", "s"}, {"y"}, "up"), "mode", std::string("cubic"));
  cubic.init("s", {4}, {1, 1, 2, 2});
  expect_error([&] { Executor(cubic.parse()); }, {"node 'up' (Resize)", "mode 'cubic' is not supported"});

  GraphBuilder branch = test::relu_graph();
  auto& n = branch.node("If", {"x"}, {"z"}, "branch");
  auto* a = n.add_attribute();
  a->set_name("then_branch");
  a->set_type(proto::AttributeProto::GRAPH);
  expect_error([&] { Executor(branch.parse()); }, {"node 'branch' (If)", "subgraph", "If, Loop, Scan"});

  // Every refusal is listed by find_unsupported (models inspect), not only the first.
  GraphBuilder many = one("FooBar");
  many.node("BarBaz", {"x"}, {"w"}, "odd2");
  EXPECT_EQ(find_unsupported(many.parse()).size(), 2u);
  expect_error([&] { Executor(many.parse()); }, {"2 of 3 nodes cannot run", "odd", "odd2"});

  for (std::int64_t opset : {5, 99}) {
    GraphBuilder o(opset);
    o.input("x", {k2}).output("y");
    o.node("Relu", {"x"}, {"y"});
    expect_error([&] { Executor(o.parse()); }, {"opset " + std::to_string(opset), "opsets 7 to 21"});
  }
}

TEST(OnnxExecutorBadInput, GraphStructure) {
  GraphBuilder cycle;
  cycle.input("x", {k2}).output("y");
  cycle.node("Add", {"x", "b"}, {"a"}, "first");
  cycle.node("Relu", {"a"}, {"b"}, "second");
  cycle.node("Relu", {"a"}, {"y"}, "third");
  expect_error([&] { Executor(cycle.parse()); }, {"cycle", "node 'first' (Add)", "node 'second' (Relu)"});
  GraphBuilder undefined = test::relu_graph();
  undefined.node("Add", {"x", "nowhere"}, {"z"}, "reader");
  expect_error([&] { Executor(undefined.parse()); }, {"node 'reader' (Add) reads 'nowhere'"});
  GraphBuilder twice = test::relu_graph();
  twice.node("Relu", {"x"}, {"y"}, "again");
  expect_error([&] { Executor(twice.parse()); }, {"value 'y' is written twice", "node 'relu'", "node 'again'"});
  GraphBuilder no_producer = test::relu_graph();
  no_producer.output("lost");
  expect_error([&] { Executor(no_producer.parse()); }, {"graph output 'lost' is not produced"});
  GraphBuilder shadow = test::relu_graph();
  shadow.node("Relu", {"y"}, {"x"}, "shadow");
  expect_error([&] { Executor(shadow.parse()); }, {"node 'shadow' (Relu) writes 'x'", "graph input"});
}

TEST(OnnxExecutorBadInput, ShapesANodeCannotTakeNameTheNode) {
  GraphBuilder b;
  b.input("a", {k2, k3}).input("b", {std::int64_t{4}, k2}).output("y");
  b.node("MatMul", {"a", "b"}, {"y"}, "mm");
  expect_error([&] { Executor(b.parse("mm.onnx")); },
               {"'mm.onnx'", "node 'mm' (MatMul), opset 17", "inner sizes differ"});
  GraphBuilder r;
  r.input("x", {k2, k3}).output("y");
  r.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  r.init_i64("s", {2}, {4, 2});
  expect_error([&] { Executor(r.parse()); }, {"node 'reshape' (Reshape)", "cannot reshape [2, 3]"});
  // A shape that must be known at load but is computed at run time.
  GraphBuilder dyn;
  dyn.input("x", {k2, k3}).input("s", {k2}, proto::TensorProto::INT64).output("y");
  dyn.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  expect_error([&] { Executor(dyn.parse()); },
               {"node 'reshape' (Reshape)", "input 1 ('s', the new shape) must be known at load"});
  // Integer arithmetic on run-time values.
  GraphBuilder ints;
  ints.input("i", {k2}, proto::TensorProto::INT64).output("y", proto::TensorProto::INT64);
  ints.node("Add", {"i", "i"}, {"y"}, "add");
  expect_error([&] { Executor(ints.parse()); }, {"node 'add' (Add)", "Add of int64 values", "computed at run time"});
}

TEST(OnnxExecutorBadInput, OptionsAndDevices) {
  ExecutorOptions o;
  o.float_dtype = DType::kF16;
  expect_error([&] { Executor(test::relu_graph().parse(), o); }, {"f16", "CPU computes in f32"});
  if (!cuda::available()) {
    ExecutorOptions gpu;
    gpu.device = Device::kCuda;
    expect_error([&] { Executor(test::relu_graph().parse(), gpu); }, {"'test.onnx'", "running on CUDA"});
  }
}

TEST(OnnxExecutorBadInput, TensorsOverTheSizeLimitAreRefusedBeforeAllocation) {
  GraphBuilder b;
  b.input("x", {k2}).output("y");
  b.init_i64("shape", {2}, {1LL << 20, 1LL << 20});  // 4 TiB of f32
  b.node("ConstantOfShape", {"shape"}, {"big"}, "fill");
  b.node("Add", {"x", "big"}, {"y"}, "add");
  ExecutorOptions o;
  o.max_value_bytes = 1 << 20;
  expect_error([&] { Executor(b.parse(), o); }, {"node 'fill' (ConstantOfShape)", "over the limit of 1048576 bytes"});
  GraphBuilder e;
  e.input("x", {k2, std::int64_t{1}}).output("y");
  e.init_i64("shape", {2}, {2, 1LL << 30});
  e.node("Expand", {"x", "shape"}, {"y"}, "expand");
  expect_error([&] { Executor(e.parse(), o); }, {"node 'expand' (Expand)", "over the limit"});
}

// Found by tests/fuzz/onnx_fuzz.cpp: dimensions from hostile values made
// shape arithmetic overflow int64 (undefined behaviour) before any check.
TEST(OnnxExecutorBadInput, HugeShapeValuesAreErrorsNotOverflows) {
  auto with = [](const std::string& op, const std::vector<std::int64_t>& v) {
    GraphBuilder b;
    b.input("x", {k2, k3}).output("y");
    b.init_i64("v", {static_cast<std::int64_t>(v.size())}, v);
    b.node(op, {"x", "v"}, {"y"}, "n");
    return b.parse();
  };
  const std::int64_t huge = std::int64_t{1} << 62;
  expect_error([&] { Executor(with("Pad", {0, 0, huge, huge})); }, {"node 'n' (Pad)", "a pad"});
  expect_error([&] { Executor(with("Tile", {huge, 2})); }, {"node 'n' (Tile)", "a repeat count"});
  expect_error([&] { Executor(with("Reshape", {huge, huge, 0})); }, {"node 'n' (Reshape)", "a shape entry"});
  expect_error([&] { Executor(with("Expand", {huge, 3})); }, {"node 'n' (Expand)", "dimension"});
  GraphBuilder conv;
  conv.input("x", {std::int64_t{1}, std::int64_t{1}, std::int64_t{4}}).output("y");
  conv.init("w", {1, 1, 1}, {1});
  test::set_attr(conv.node("Conv", {"x", "w"}, {"y"}, "c"), "strides", std::vector<std::int64_t>{huge});
  expect_error([&] { Executor(conv.parse()); }, {"node 'c' (Conv)", "window parameter"});
}

// Counts the bytes of live CPU tensors, and their peak.
class CountingAllocator final : public Allocator {
 public:
  explicit CountingAllocator(Allocator& inner) : inner_(inner) {}
  Device device() const override { return Device::kCpu; }
  void* allocate(std::size_t bytes) override {
    live_ += static_cast<long long>(bytes);
    peak_ = std::max(peak_.load(), live_.load());
    return inner_.allocate(bytes);
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    live_ -= static_cast<long long>(bytes);
    inner_.deallocate(p, bytes);
  }
  long long live() const { return live_; }
  long long peak() const { return peak_; }
  void reset_peak() { peak_ = live_.load(); }

 private:
  Allocator& inner_;
  std::atomic<long long> live_{0}, peak_{0};
};

TEST(OnnxExecutor, IntermediatesAreFreedAfterTheirLastUse) {
  // A chain of 20 Relu / Neg over 4 MB: peak memory stays a few tensors.
  constexpr std::int64_t n = 1 << 20;
  GraphBuilder b;
  b.input("x", {n}).output("y");
  std::string prev = "x";
  for (int i = 0; i < 20; ++i) {
    const std::string next = i == 19 ? "y" : "t" + std::to_string(i);
    b.node(i % 2 ? "Neg" : "Relu", {prev}, {next});
    prev = next;
  }
  Executor ex(b.parse());
  const Tensor x = iota({n});
  Allocator& plain = cpu_allocator();
  CountingAllocator counting(plain);
  set_allocator(Device::kCpu, &counting);
  long long peak = 0;
  {
    const auto out = ex.run({{"x", x}});
    peak = counting.peak();
  }
  set_allocator(Device::kCpu, &plain);
  const long long tensor = n * 4;
  EXPECT_GE(peak, tensor);
  EXPECT_LE(peak, 3 * tensor) << "peak " << peak / tensor << " tensors for a chain of 20";
}

TEST(OnnxExecutor, ProfileCountsEveryOpType) {
  GraphBuilder b;
  b.input("x", {k2, k3}).output("y");
  b.node("Relu", {"x"}, {"a"});
  b.node("Relu", {"a"}, {"c"});
  b.node("Sigmoid", {"c"}, {"y"});
  Executor ex(b.parse());
  ex.set_profiling(true);
  ex.run({{"x", iota({2, 3})}});
  ex.run({{"x", iota({2, 3})}});
  const std::vector<OpTime> p = ex.profile();
  ASSERT_EQ(p.size(), 2u);
  for (const OpTime& t : p) EXPECT_EQ(t.calls, t.op_type == "Relu" ? 4 : 2) << t.op_type;
  const std::string table = format_profile(p, "test");
  EXPECT_NE(table.find("== test, op by op"), std::string::npos) << table;
  EXPECT_NE(table.find("Relu"), std::string::npos) << table;
  ex.reset_profile();
  EXPECT_TRUE(ex.profile().empty());
}

TEST(OnnxExecutor, RunTimeErrorsNameTheNode) {
  // Token ids outside the table are an error from the embedding the Gather lowers to.
  GraphBuilder b;
  b.input("ids", {k2}, proto::TensorProto::INT64).output("y");
  b.init("table", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.node("Gather", {"table", "ids"}, {"y"}, "lookup");
  Executor ex(b.parse());
  EXPECT_EQ(ex.run({{"ids", Tensor::from_vector_i64({2}, std::vector<std::int64_t>{2, 0})}}).at("y").to_vector<float>(),
            (std::vector<float>{5, 6, 1, 2}));
  expect_error(
      [&] {
        ex.run({{"ids", Tensor::from_vector_i64({2}, std::vector<std::int64_t>{3, 0})}});
      },
      {"node 'lookup' (Gather)", "outside the table"});
}

// ---- rewrites ---------------------------------------------------------------------

GraphBuilder conv_bn(bool conv_output_read_twice) {
  GraphBuilder b;
  b.input("x", {std::int64_t{1}, k2, std::int64_t{4}, std::int64_t{4}}).output("y");
  b.init("w", {3, 2, 1, 1}, {0.5f, -1, 2, 0.25f, 1, 1});
  for (const char* p : {"s", "b", "m", "v"}) b.init(p, {3}, {1.5f, 0.5f, 2});
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  b.node("BatchNormalization", {"c", "s", "b", "m", "v"}, {"n"}, "bn");
  if (conv_output_read_twice) {
    b.node("Add", {"n", "c"}, {"y"}, "add");
  } else {
    b.node("Identity", {"n"}, {"y"}, "out");
  }
  return b;
}

TEST(OnnxRewrites, BatchNormFoldsIntoTheConvOnlyWhenItAloneReadsIt) {
  const Tensor x = iota({1, 2, 4, 4}, 0.1f, -1.0f);
  for (bool twice : {false, true}) {
    SCOPED_TRACE(twice ? "conv output read twice" : "conv -> bn");
    ExecutorOptions off;
    off.fuse_batchnorm = false;
    Executor plain(conv_bn(twice).parse(), off);
    Executor fused(conv_bn(twice).parse());
    EXPECT_EQ(fused.stats().fused_batchnorms, twice ? 0u : 1u);
    const Tensor want = plain.run({{"x", x}}).at("y");
    EXPECT_LT(engine::test::relative_l2(fused.run({{"x", x}}).at("y"), want), 1e-6);
  }
}

TEST(OnnxRewrites, MatMulAddFusesOnlyWithAConstantWeightAndBias) {
  GraphBuilder b;
  b.input("x", {k2, k3}).input("w_rt", {k3, k2}).output("y").output("z");
  b.init("w", {3, 2}, {1, 2, 3, 4, 5, 6});
  b.init("bias", {2}, {0.5f, -0.5f});
  b.node("MatMul", {"x", "w"}, {"m"});
  b.node("Add", {"bias", "m"}, {"y"});
  b.node("MatMul", {"x", "w_rt"}, {"m2"});  // weight given at run time: left alone
  b.node("Add", {"m2", "bias"}, {"z"});
  Executor ex(b.parse());
  EXPECT_EQ(ex.stats().fused_matmul_adds, 1u);
  const Tensor x = iota({2, 3}, 0.5f);
  const auto out = ex.run({{"x", x}, {"w_rt", iota({3, 2}, 1.0f, 1.0f)}});
  EXPECT_EQ(out.at("y").to_vector<float>(), out.at("z").to_vector<float>());
  EXPECT_EQ(out.at("y").to_vector<float>(), (std::vector<float>{7, 7.5f, 20.5f, 25.5f}));
}

TEST(OnnxRewrites, FoldingAndIdentityRemovalKeepOutputsAndDropDeadWeights) {
  GraphBuilder b;
  b.input("x", {k2}).output("y").output("i");
  b.init("a", {2}, {1, 2});
  b.init("big", {1000}, std::vector<float>(1000, 3.0f));
  b.node("Neg", {"a"}, {"na"});  // folds
  b.node("Identity", {"x"}, {"xi"});
  b.node("Add", {"xi", "na"}, {"y"});
  b.node("Identity", {"x"}, {"i"});  // a graph output: kept
  b.node("ReduceSum", {"big"}, {"unused"});
  Model m = b.parse();
  Executor ex(std::move(m));
  EXPECT_EQ(ex.stats().folded_at_load, 2u);
  EXPECT_EQ(ex.stats().removed_identities, 1u);
  EXPECT_EQ(ex.model().initializers.count("big"), 0u) << "an initializer nothing reads any more is dropped";
  const auto out = ex.run({{"x", Tensor::from_vector({2}, std::vector<float>{10, 20})}});
  EXPECT_EQ(out.at("y").to_vector<float>(), (std::vector<float>{9, 18}));
  EXPECT_EQ(out.at("i").to_vector<float>(), (std::vector<float>{10, 20}));
}

TEST(OnnxSupport, EveryOpHasAnEntryAndASource) {
  const std::vector<SupportedOp> ops = supported_ops();
  EXPECT_GT(ops.size(), 80u);
  for (const SupportedOp& o : ops) EXPECT_FALSE(o.lowering.empty()) << o.op_type;
  EXPECT_EQ(min_supported_opset(), 7);
  EXPECT_EQ(max_supported_opset(), 21);
}

}  // namespace
}  // namespace sc::engine::onnx
