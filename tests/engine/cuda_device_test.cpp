// GPU tests: skipped with a message on machines without a usable CUDA device;
// tests/device/run.sh runs them on a GPU machine where they must pass.
#include <gtest/gtest.h>

#include "engine/device.h"

namespace sc::engine {
namespace {

TEST(CudaDevice, ReportsARealDevice) {
  CudaReport r = probe_cuda();
  if (!r.usable) GTEST_SKIP() << "no usable CUDA device: " << r.error;
  ASSERT_FALSE(r.devices.empty());
  const GpuDevice& d = r.devices.front();
  EXPECT_FALSE(d.name.empty());
  EXPECT_GE(d.compute_major, 7) << "CUDA 13 supports sm_75 and newer only";
  EXPECT_GT(d.memory_bytes, 1ull << 30);
  EXPECT_GT(d.multiprocessors, 0);
  EXPECT_GT(r.driver_version, 0);
}

TEST(CudaDevice, ComputePathIsCuda) {
  CudaReport r = probe_cuda();
  if (!r.usable) GTEST_SKIP() << "no usable CUDA device: " << r.error;
  EXPECT_EQ(compute_path(), ComputePath::kCuda);
}

}  // namespace
}  // namespace sc::engine

namespace sc::engine {
namespace {

TEST(CudaDevice, ReportsMemoryInUse) {
  CudaReport r = probe_cuda();
  if (!r.usable) GTEST_SKIP() << "no usable CUDA device: " << r.error;
  std::uint64_t free_bytes = 0, total_bytes = 0;
  ASSERT_TRUE(cuda_memory(&free_bytes, &total_bytes));
  EXPECT_GT(total_bytes, 1ull << 30);
  EXPECT_LE(free_bytes, total_bytes);
}

}  // namespace
}  // namespace sc::engine
