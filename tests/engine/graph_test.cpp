// engine/graph.h on the CPU (the GPU side is in cuda_ops_test.cpp's
// CudaGraph tests): what a pipeline sees when its models sit on the host.
#include "engine/graph.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/ops.h"
#include "tests/common/expect_error.h"

namespace sc::engine {
namespace {

using test::expect_error;

TEST(Graph, OnlyCudaBuildsRecord) {
  EXPECT_FALSE(Graph::supported(Device::kCpu));
  EXPECT_EQ(Graph::supported(Device::kCuda), cuda::compiled());
}

TEST(Graph, TheCpuRefusesToCaptureAndSaysToRunEagerly) {
  Graph graph(Device::kCpu);
  bool ran = false;
  expect_error([&] { graph.capture([&] { ran = true; }); }, {"graph capture", "cpu", "eagerly"});
  EXPECT_FALSE(ran);
  EXPECT_FALSE(graph.captured());
  EXPECT_EQ(graph.nodes(), 0u);
  expect_error([&] { graph.replay(); }, {"graph replay", "nothing was captured"});
}

TEST(StageTimer, WallClockOnTheCpuCollectedOnce) {
  StageTimer timer(Device::kCpu);
  double total = 0;
  timer.collect(&total);  // nothing timed yet
  EXPECT_EQ(total, 0.0);
  timer.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  timer.stop();
  timer.collect(&total);
  EXPECT_GE(total, 0.015);
  EXPECT_LT(total, 5.0);
  const double once = total;
  timer.collect(&total);  // already collected
  EXPECT_EQ(total, once);
  StageTimer moved = std::move(timer);
  moved.start();
  moved.stop();
  moved.collect(&total);
  EXPECT_GE(total, once);
}

TEST(CopyInto, WritesIntoTheTargetsOwnStorage) {
  Tensor dst = Tensor::zeros({2, 3});
  const Tensor alias = dst;  // shares dst's storage, as a captured graph's input would
  const Tensor src = Tensor::from_vector({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  copy_into(dst, src);
  EXPECT_TRUE(dst.shares_storage_with(alias));
  EXPECT_EQ(alias.data<float>()[5], 6.0f);
  copy_into(dst, dst);  // onto itself: nothing to do
  EXPECT_EQ(dst.data<float>()[0], 1.0f);
  Tensor empty = Tensor::zeros({0, 3});
  copy_into(empty, Tensor::zeros({0, 3}));
}

TEST(CopyInto, RefusesOtherShapesAndDtypesNamingBoth) {
  Tensor dst = Tensor::zeros({2, 3});
  expect_error([&] { copy_into(dst, Tensor::zeros({3, 2})); }, {"copy_into", "[2, 3]", "[3, 2]"});
  expect_error([&] { copy_into(dst, to_dtype(Tensor::zeros({2, 3}), DType::kI64)); }, {"copy_into", "i64"});
  Tensor undefined;
  expect_error([&] { copy_into(undefined, dst); }, {"copy_into", "undefined"});
}

}  // namespace
}  // namespace sc::engine
