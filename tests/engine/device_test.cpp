#include "engine/device.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "sc/version.h"

namespace sc::engine {
namespace {

TEST(CudaProbe, NeverThrowsAndIsConsistent) {
  CudaReport r;
  ASSERT_NO_THROW(r = probe_cuda());
  EXPECT_EQ(r.compiled, kBuiltWithCuda);
  if (r.usable) {
    EXPECT_FALSE(r.devices.empty());
  } else {
    EXPECT_TRUE(r.devices.empty());
    EXPECT_FALSE(r.error.empty()) << "an unusable CUDA must say why";
  }
}

TEST(CudaProbe, RepeatedProbesAgree) {
  CudaReport a = probe_cuda(), b = probe_cuda();
  EXPECT_EQ(a.usable, b.usable);
  EXPECT_EQ(a.devices.size(), b.devices.size());
  EXPECT_EQ(a.error, b.error);
}

TEST(CudaProbe, NoMemoryReportWithoutAGpu) {
  if (probe_cuda().usable) GTEST_SKIP() << "this machine has a GPU";
  std::uint64_t f = 1, t = 1;
  EXPECT_FALSE(cuda_memory(&f, &t));
}

TEST(ComputePath, ForcedCpuWins) {
  setenv("SC_FORCE_CPU", "1", 1);
  EXPECT_EQ(compute_path(), ComputePath::kCpu);
  EXPECT_STREQ(to_string(compute_path()), "cpu");
}

}  // namespace
}  // namespace sc::engine
