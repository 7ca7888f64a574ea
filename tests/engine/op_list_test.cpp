// engine/op_list.inc as the engine reports it: supports() / has_kernel() per
// device, answered from the list whether or not a GPU is present.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "engine/cuda/runtime.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

// The list read again here, as text, so the test checks supports() against
// what each line says rather than against the engine's own table.
struct ListedOp {
  Op op;
  std::string_view kernel, cpu, cuda;
};
constexpr ListedOp kListed[] = {
#define SC_OP(Enum, kernel, cpu, cuda, params) {Op::Enum, #kernel, #cpu, #cuda},
#include "engine/op_list.inc"
};

TEST(OpList, EveryEntryIsAnOpWithItsKernelsName) {
  ASSERT_EQ(std::size(kListed), std::size(kAllOps));
  std::set<std::string> names;
  for (std::size_t i = 0; i < std::size(kListed); ++i) {
    EXPECT_EQ(kAllOps[i], kListed[i].op);
    EXPECT_EQ(op_name(kListed[i].op), kListed[i].kernel);
    EXPECT_TRUE(names.insert(op_name(kListed[i].op)).second) << "twice in the list: " << op_name(kListed[i].op);
  }
  EXPECT_STREQ(op_name(Op::kConv2dNhwc), "conv2d_nhwc");
  EXPECT_STREQ(op_name(Op::kUnary), "unary");
}

TEST(OpList, TheCpuReferenceRunsEveryOp) {
  for (const ListedOp& e : kListed) {
    EXPECT_TRUE(supports(Device::kCpu, e.op)) << e.kernel;
    EXPECT_EQ(has_kernel(Device::kCpu, e.op), e.cpu == "KERNEL") << e.kernel;
    EXPECT_NE(e.cpu, "NONE") << e.kernel << ": the CPU is the reference; every op runs there";
  }
  // Composed from other ops on the CPU, so supported without a kernel.
  EXPECT_FALSE(has_kernel(Device::kCpu, Op::kGeglu));
  EXPECT_FALSE(has_kernel(Device::kCpu, Op::kConv2dNhwc));
  EXPECT_TRUE(has_kernel(Device::kCpu, Op::kAttention));
}

TEST(OpList, CudaAnswersFromTheListWithOrWithoutAGpu) {
  // This machine may have no GPU: the answer is about the build.
  for (const ListedOp& e : kListed) {
    if (cuda::compiled()) {
      EXPECT_EQ(supports(Device::kCuda, e.op), e.cuda != "NONE") << e.kernel;
      EXPECT_EQ(has_kernel(Device::kCuda, e.op), e.cuda == "KERNEL") << e.kernel;
    } else {
      EXPECT_FALSE(supports(Device::kCuda, e.op)) << e.kernel << ": built without CUDA";
      EXPECT_FALSE(has_kernel(Device::kCuda, e.op)) << e.kernel;
    }
  }
  EXPECT_EQ(has_kernel(Device::kCuda, Op::kGeglu), cuda::compiled());
  EXPECT_EQ(has_kernel(Device::kCuda, Op::kConv2dNhwc), cuda::compiled());
  EXPECT_EQ(supports(Device::kCuda, Op::kMatmul), cuda::compiled());
}

TEST(OpList, OpsComposedOnTheCpuRunThere) {
  const Tensor x = Tensor::full({1, 2, 2, 4}, 0.5f);
  EXPECT_EQ(geglu(x).shape(), Shape({1, 2, 2, 2}));
  const Tensor w = Tensor::full({3, 1, 1, 4}, 0.25f);
  EXPECT_EQ(conv2d_nhwc(x, w).shape(), Shape({1, 2, 2, 3}));
}

}  // namespace
}  // namespace sc::engine
