// The CUDA backend against the CPU reference: every op of engine/ops.h on
// seeded random inputs at several shapes (odd sizes included) in f32, f16 and
// bf16, data movement bit for bit; tensors to and from the GPU; the caching
// allocator; CUDA graphs; and the errors mixing devices or dtypes gives.
// Skipped with a message where no GPU is usable (cuda_test_util.h);
// tests/device/run.sh runs them on a GPU machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "cuda_test_util.h"
#include "engine/cuda/cudnn_conv.h"
#include "engine/cuda/runtime.h"
#include "engine/graph.h"
#include "engine/models/weights.h"
#include "engine/ops.h"
#include "tests/common/expect_error.h"

namespace sc::engine {
namespace {

using test::bit_equal;
using test::download;
using test::expect_close;
using test::expect_exact;
using test::float_dtypes;
using test::gpu;
using test::randint;
using test::randn;
using test::randu;
using test::relative_l2;
using test::round_to;
using test::run_both;
using test::Tolerance;
using test::upload;
using Inputs = std::vector<Tensor>;

using CudaOps = test::CudaTest;
using CudaTensor = test::CudaRuntimeTest;
using CudaAllocator = test::CudaRuntimeTest;
using CudaGraph = test::CudaRuntimeTest;
using CudaTimer = test::CudaRuntimeTest;

constexpr DType kF32 = DType::kF32;
constexpr DType kF16 = DType::kF16;
constexpr DType kBF16 = DType::kBF16;
constexpr DType kI32 = DType::kI32;
constexpr DType kI64 = DType::kI64;
constexpr DType kU8 = DType::kU8;

std::string str(const Shape& s) { return s.to_string(); }

// ---- to_dtype ------------------------------------------------------------------

// f32 values at the corners of f16 / bf16 rounding (ties to even, overflow to
// infinity, subnormals, signed zero), then `n` random ones of mixed magnitude.
Tensor conversion_values(std::int64_t n, std::uint32_t seed) {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.0f,
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          65504.0f,  // f16 max
                          65519.0f,  // rounds down to f16 max
                          65520.0f,  // rounds to f16 infinity
                          -70000.0f,
                          1e-5f,  // f16 subnormal
                          6e-8f,  // about the smallest f16 subnormal
                          1e-8f,  // f16 underflow to zero
                          3e38f,
                          -3e38f,
                          1e-40f,                     // f32 subnormal
                          1.0f + 0x1p-11f,            // f16 tie: to even (1)
                          1.0f + 3 * 0x1p-11f,        // f16 tie: to even (up)
                          1.0f + 0x1p-8f,             // bf16 tie: to even (1)
                          1.0f + 3 * 0x1p-8f,         // bf16 tie: to even (up)
                          1.0f + 0x1p-8f + 0x1p-20f,  // just above a bf16 tie
                          -(1.0f + 0x1p-11f + 0x1p-20f),
                          0.1f,
                          1.0f / 3.0f};
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const float scale = i % 3 == 0 ? 1e3f : i % 3 == 1 ? 1.0f : 1e-3f;
    v.push_back(dist(rng) * scale);
  }
  return Tensor::from_vector({static_cast<std::int64_t>(v.size())}, v);
}

// Converts `src` (any dtype, CPU) on the GPU and compares with the CPU's conversion.
void check_conversion(const Tensor& src, DType to) {
  SCOPED_TRACE(std::string(to_string(src.dtype())) + " -> " + to_string(to) + " " + str(src.shape()));
  const Tensor want = to_dtype(src, to);
  const Tensor got = to_dtype(upload(src), to);
  EXPECT_EQ(got.device(), gpu());
  EXPECT_EQ(got.dtype(), to);
  EXPECT_TRUE(bit_equal(got.to(Device::kCpu), want));
}

TEST_F(CudaOps, ToDtypeBetweenFloatTypesIsBitExact) {
  const DType floats[] = {kF32, kF16, kBF16};
  const Tensor values = conversion_values(2000, 1);
  const Tensor big = randn({(1 << 20) + 7}, 2, 100.0f);
  for (DType from : floats) {
    for (DType to : floats) {
      check_conversion(to_dtype(values, from), to);
      check_conversion(to_dtype(big, from), to);
      check_conversion(to_dtype(values.slice(0, 0, 1), from), to);
      check_conversion(Tensor::empty({0}, from), to);
      check_conversion(Tensor::empty({2, 0, 3}, from), to);
    }
  }
}

TEST_F(CudaOps, ToDtypeKeepsNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({3}, std::vector<float>{nan, -nan, 1.0f});
  for (DType from : {kF32, kF16, kBF16}) {
    for (DType to : {kF32, kF16, kBF16}) {
      const Tensor back = download(to_dtype(upload(to_dtype(x, from)), to));
      const std::vector<float> v = back.to_vector<float>();
      EXPECT_TRUE(std::isnan(v[0]) && std::isnan(v[1])) << to_string(from) << " -> " << to_string(to);
      EXPECT_EQ(v[2], 1.0f);
    }
  }
}

TEST_F(CudaOps, ToDtypeWithIntegersIsBitExact) {
  // Floats to integers truncate toward zero (values in range).
  const Tensor wide = randn({1001}, 3, 1000.0f);
  const Tensor bytes = randu({1001}, 4, 0.0f, 250.0f);
  for (DType from : {kF32, kF16, kBF16}) {
    check_conversion(to_dtype(wide, from), kI32);
    check_conversion(to_dtype(wide, from), kI64);
    check_conversion(to_dtype(bytes, from), kU8);
  }
  // Integers to floats round to nearest even; f16 targets stay within its range.
  const Tensor small32 = randint({1001}, 5, -60000, 60000, kI32);
  const Tensor small64 = randint({1001}, 6, -60000, 60000, kI64);
  const Tensor u8 = randint({1001}, 7, 0, 255, kU8);
  const std::vector<std::int64_t> large = {0, -1, (1 << 24) + 1, -((1 << 24) + 3), (1LL << 40) + 1, -(1LL << 53) - 1};
  const Tensor large64 = Tensor::from_vector_i64({static_cast<std::int64_t>(large.size())}, large);
  const Tensor large32 = to_dtype(large64.slice(0, 0, 4), kI32);
  for (DType to : {kF32, kF16, kBF16}) {
    check_conversion(small32, to);
    check_conversion(small64, to);
    check_conversion(u8, to);
    if (to != kF16) {
      check_conversion(large32, to);
      check_conversion(large64, to);
    }
  }
  // Between integer types.
  check_conversion(small32, kI64);
  check_conversion(small64, kI32);
  check_conversion(u8, kI32);
  check_conversion(u8, kI64);
  check_conversion(randint({333}, 8, 0, 255, kI32), kU8);
  check_conversion(Tensor::empty({0}, kI32), kI64);
}

// ---- matrix products -----------------------------------------------------------

TEST_F(CudaOps, LinearMatchesCpu) {
  struct Case {
    Shape x;
    std::int64_t out;
    bool bias;
  };
  const Case cases[] = {
      {{1, 1}, 1, true},        {{3, 17}, 33, true},       {{3, 17}, 33, false},    {{127, 64}, 40, true},
      {{2, 77, 64}, 127, true}, {{2, 3, 5, 16}, 8, false}, {{64, 1024}, 64, false}, {{1, 320}, 1280, true},
      {{33, 3}, 5, true},       {{2, 1, 7}, 1, true},      {{0, 16}, 8, true},      {{300, 40}, 120, false},
  };
  std::uint32_t seed = 100;
  for (const Case& c : cases) {
    const std::int64_t in = c.x.dim(-1);
    const Tensor x = randn(c.x, seed++);
    const Tensor w = randn({c.out, in}, seed++, 1.0f / std::sqrt(static_cast<float>(in)));
    const Tensor b = c.bias ? randn({c.out}, seed++) : Tensor();
    for (DType dt : float_dtypes()) {
      expect_close(
          "linear x" + str(c.x) + " out " + std::to_string(c.out) + (c.bias ? " bias" : ""), dt, {x, w, b},
          [](const Inputs& in) { return linear(in[0], in[1], in[2]); }, test::kGemmTol);
    }
  }
}

TEST_F(CudaOps, MatmulMatchesCpu) {
  const std::pair<Shape, Shape> cases[] = {
      {{1, 1}, {1, 1}},
      {{5, 7}, {7, 3}},
      {{4, 33, 17}, {4, 17, 40}},
      {{2, 3, 13, 16}, {16, 9}},         // b shared by every batch
      {{13, 16}, {2, 3, 16, 9}},         // a shared
      {{1, 3, 8, 5}, {2, 1, 5, 7}},      // both broadcast
      {{2, 1, 4, 6}, {3, 6, 5}},         // ranks differ
      {{64, 1024}, {1024, 64}},          // a long reduction
      {{2, 8, 77, 40}, {2, 8, 40, 77}},  // attention scores
      {{3, 0}, {0, 4}},                  // an empty reduction: zeros
      {{2, 0, 5}, {2, 5, 3}},            // an empty result
  };
  std::uint32_t seed = 200;
  for (const auto& [sa, sb] : cases) {
    const Tensor a = randn(sa, seed++);
    const Tensor b = randn(sb, seed++, 1.0f / std::sqrt(static_cast<float>(std::max<std::int64_t>(sb.dim(-2), 1))));
    for (DType dt : float_dtypes()) {
      expect_close(
          "matmul " + str(sa) + " @ " + str(sb), dt, {a, b}, [](const Inputs& in) { return matmul(in[0], in[1]); },
          test::kGemmTol);
    }
  }
}

// ---- convolution ---------------------------------------------------------------

TEST_F(CudaOps, Conv2dMatchesCpu) {
  struct Case {
    Shape x;
    Shape w;
    Conv2dParams p;
    bool bias;
  };
  const Case cases[] = {
      {{1, 3, 17, 17}, {8, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
      {{2, 4, 16, 16}, {6, 4, 1, 1}, {}, false},                             // 1x1: the GEMM alone
      {{2, 4, 16, 16}, {6, 4, 1, 1}, {}, true},                              // 1x1 with bias
      {{1, 6, 9, 9}, {4, 6, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}, true},       // 1x1, stride 2
      {{1, 6, 9, 9}, {4, 6, 1, 1}, {{1, 1}, {1, 1}, {1, 1}, 1}, false},      // 1x1, padded
      {{2, 8, 15, 13}, {8, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 2}, true},     // groups 2, stride 2
      {{1, 8, 10, 10}, {8, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 8}, true},     // depthwise
      {{1, 5, 20, 20}, {7, 5, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 1}, false},    // dilation 2
      {{1, 3, 33, 31}, {16, 3, 3, 3}, {{2, 2}, {0, 0}, {1, 1}, 1}, true},    // stride 2, no padding
      {{1, 3, 12, 11}, {4, 3, 1, 3}, {{1, 2}, {0, 1}, {1, 1}, 1}, true},     // non-square kernel and stride
      {{2, 64, 16, 16}, {64, 64, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},  // a UNet-like layer
      {{1, 4, 1, 1}, {3, 4, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},       // a 1x1 image
      {{3, 2, 5, 5}, {2, 2, 5, 5}, {}, true},                                // kernel covers the image
  };
  std::uint32_t seed = 300;
  for (const Case& c : cases) {
    const float fan_in = static_cast<float>(c.w.dim(1) * c.w.dim(2) * c.w.dim(3));
    const Tensor x = randn(c.x, seed++);
    const Tensor w = randn(c.w, seed++, 1.0f / std::sqrt(fan_in));
    const Tensor b = c.bias ? randn({c.w.dim(0)}, seed++) : Tensor();
    const std::string name = "conv2d x" + str(c.x) + " w" + str(c.w) + " stride " + std::to_string(c.p.stride[0]) +
                             "," + std::to_string(c.p.stride[1]) + " pad " + std::to_string(c.p.padding[0]) + "," +
                             std::to_string(c.p.padding[1]) + " dil " + std::to_string(c.p.dilation[0]) + " groups " +
                             std::to_string(c.p.groups) + (c.bias ? " bias" : "");
    // Each implementation conv2d may choose, and the choice itself. (A forced
    // implementation that cannot take a shape falls back to im2col.)
    for (cuda::ConvImpl impl :
         {cuda::ConvImpl::kIm2col, cuda::ConvImpl::kCudnn, cuda::ConvImpl::kCudnnNhwc, cuda::ConvImpl::kAuto}) {
      cuda::force_conv_impl(impl);
      for (DType dt : float_dtypes()) {
        expect_close(
            name + " impl " + std::to_string(static_cast<int>(impl)), dt, {x, w, b},
            [&](const Inputs& in) { return conv2d(in[0], in[1], in[2], c.p); }, test::kGemmTol);
      }
    }
    cuda::force_conv_impl(cuda::ConvImpl::kAuto);
  }
}

TEST_F(CudaOps, Conv3dMatchesCpu) {
  struct Case {
    Shape x;
    Shape w;
    Conv3dParams p;
    bool bias;
  };
  const Case cases[] = {
      {{1, 3, 5, 9, 8}, {4, 3, 3, 3, 3}, {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1}, true},
      {{2, 4, 4, 6, 6}, {6, 4, 1, 1, 1}, {}, false},                                         // 1x1x1
      {{1, 8, 6, 7, 7}, {8, 4, 3, 3, 3}, {{2, 1, 2}, {1, 1, 1}, {1, 1, 1}, 2}, true},        // groups, strides
      {{1, 6, 5, 6, 6}, {6, 1, 3, 3, 3}, {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 6}, true},        // depthwise
      {{1, 3, 7, 6, 5}, {2, 3, 3, 2, 2}, {{1, 1, 1}, {2, 0, 1}, {2, 1, 1}, 1}, false},       // depth dilation
      {{1, 32, 16, 16, 16}, {32, 32, 3, 3, 3}, {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1}, true},  // warp-net-like
  };
  std::uint32_t seed = 360;
  for (const Case& c : cases) {
    const float fan_in = static_cast<float>(c.w.numel() / c.w.dim(0));
    const Tensor x = randn(c.x, seed++);
    const Tensor w = randn(c.w, seed++, 1.0f / std::sqrt(fan_in));
    const Tensor b = c.bias ? randn({c.w.dim(0)}, seed++) : Tensor();
    const std::string name = "conv3d x" + str(c.x) + " w" + str(c.w) + " groups " + std::to_string(c.p.groups);
    // cuDNN's 3-D kernels, then the fallback (one conv2d per depth tap).
    for (bool cudnn : {true, false}) {
      cuda::set_cudnn_enabled(cudnn);
      for (DType dt : float_dtypes()) {
        expect_close(
            name + (cudnn ? " cuDNN" : " per depth tap"), dt, {x, w, b},
            [&](const Inputs& in) { return conv3d(in[0], in[1], in[2], c.p); }, test::kGemmTol);
      }
    }
    cuda::set_cudnn_enabled(true);
  }
}

// ---- normalisation -------------------------------------------------------------

TEST_F(CudaOps, GroupNormMatchesCpu) {
  struct Case {
    Shape x;
    std::int64_t groups;
    bool affine;
    bool silu;
    float eps;
  };
  const Case cases[] = {
      {{2, 32, 8, 8}, 8, true, false, 1e-5f},    {{2, 32, 8, 8}, 8, true, true, 1e-5f},
      {{1, 6, 17}, 3, false, true, 1e-5f},       {{1, 6, 17}, 3, false, false, 1e-5f},
      {{3, 4, 1, 1}, 2, true, true, 1e-5f},      {{2, 6}, 3, true, false, 1e-5f},
      {{1, 64, 33, 33}, 32, true, true, 1e-5f},  {{2, 320, 8, 8}, 32, true, true, 1e-6f},
      {{1, 3, 5, 7}, 1, true, false, 1e-5f},     {{1, 8, 3, 3}, 8, false, true, 1e-5f},
      {{1, 320, 64, 64}, 32, true, true, 1e-5f},  // the UNet's first level: 16-byte vectors per channel
      {{2, 33000, 2}, 8, true, false, 1e-5f},     // more (image, channel) pairs than a grid's y: per group
  };
  std::uint32_t seed = 400;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++, 2.0f, 0.5f);
    const Tensor w = c.affine ? randn({c.x.dim(1)}, seed++, 0.5f, 1.0f) : Tensor();
    const Tensor b = c.affine ? randn({c.x.dim(1)}, seed++) : Tensor();
    const std::string name = "group_norm " + str(c.x) + " groups " + std::to_string(c.groups) +
                             (c.affine ? " affine" : "") + (c.silu ? " silu" : "");
    for (DType dt : float_dtypes()) {
      expect_close(
          name, dt, {x, w, b},
          [&](const Inputs& in) { return group_norm(in[0], c.groups, in[1], in[2], c.eps, c.silu); }, test::kNormTol);
    }
  }
}

TEST_F(CudaOps, FusedGroupNormSiluEqualsTheTwoOps) {
  const Tensor x = randn({2, 32, 9, 9}, 450, 1.5f);
  const Tensor w = randn({32}, 451), b = randn({32}, 452);
  for (DType dt : float_dtypes()) {
    const Tensor xd = upload(x, dt), wd = upload(w, dt), bd = upload(b, dt);
    const Tensor fused = download(group_norm(xd, 8, wd, bd, 1e-5f, true));
    const Tensor split = download(silu(group_norm(xd, 8, wd, bd, 1e-5f, false)));
    // The split version rounds once more in 16-bit storage.
    const double err = relative_l2(fused, split);
    EXPECT_LT(err, test::kNormTol(dt)) << to_string(dt);
    // And the fusion is not a no-op.
    EXPECT_GT(relative_l2(fused, download(group_norm(xd, 8, wd, bd, 1e-5f, false))), 0.1);
  }
}

TEST_F(CudaOps, NormsOfLargeMeanAreStable) {
  // Activations far from zero: a one-pass E[x^2] - E[x]^2 in f32 loses the
  // variance here; a two-pass or Welford reduction does not.
  const Tolerance tol{1e-4, 2e-3, 1e-2};
  const Tensor x = randn({2, 16, 16, 16}, 460, 1.0f, 30.0f);
  const Tensor w = randn({16}, 461), b = randn({16}, 462);
  const Tensor rows = randn({7, 768}, 463, 1.0f, 30.0f);
  const Tensor lw = randn({768}, 464), lb = randn({768}, 465);
  for (DType dt : float_dtypes()) {
    expect_close(
        "group_norm mean 30", dt, {x, w, b},
        [](const Inputs& in) { return group_norm(in[0], 4, in[1], in[2], 1e-5f, false); }, tol);
    expect_close(
        "layer_norm mean 30", dt, {rows, lw, lb}, [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
        tol);
  }
}

TEST_F(CudaOps, LayerNormMatchesCpu) {
  struct Case {
    Shape x;
    bool weight;
    bool bias;
  };
  const Case cases[] = {{{3, 17, 33}, true, true}, {{1, 1}, true, true},    {{77, 768}, true, true},
                        {{5, 1000}, false, false}, {{4, 127}, true, false}, {{2, 3, 40}, false, true},
                        {{2, 4096}, true, true},   {{0, 16}, true, true}};
  std::uint32_t seed = 500;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++, 3.0f, 1.0f);
    const Tensor w = c.weight ? randn({c.x.dim(-1)}, seed++, 0.5f, 1.0f) : Tensor();
    const Tensor b = c.bias ? randn({c.x.dim(-1)}, seed++) : Tensor();
    for (DType dt : float_dtypes()) {
      expect_close(
          "layer_norm " + str(c.x) + (c.weight ? " weight" : "") + (c.bias ? " bias" : ""), dt, {x, w, b},
          [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); }, test::kNormTol);
    }
  }
}

TEST_F(CudaOps, RmsNormMatchesCpu) {
  const Shape shapes[] = {{4, 127}, {2, 3, 64}, {1, 1}, {3, 4096}, {33, 896}};
  std::uint32_t seed = 600;
  for (const Shape& s : shapes) {
    const Tensor x = randn(s, seed++, 2.0f);
    const Tensor w = randn({s.dim(-1)}, seed++, 0.5f, 1.0f);
    for (DType dt : float_dtypes()) {
      expect_close(
          "rms_norm " + str(s), dt, {x, w}, [](const Inputs& in) { return rms_norm(in[0], in[1]); }, test::kNormTol);
      expect_close(
          "rms_norm eps 1e-2 " + str(s), dt, {x, w}, [](const Inputs& in) { return rms_norm(in[0], in[1], 1e-2f); },
          test::kNormTol);
    }
  }
}

TEST_F(CudaOps, SoftmaxMatchesCpu) {
  struct Case {
    Shape x;
    int dim;
    float scale;
  };
  const Case cases[] = {{{3, 17}, -1, 1.0f},    {{2, 4, 77, 300}, -1, 3.0f}, {{1, 1}, -1, 1.0f},
                        {{5, 1000}, -1, 20.0f}, {{2, 5000}, 1, 2.0f},        {{2, 33, 7}, 1, 2.0f},
                        {{17, 3}, 0, 1.0f},     {{4, 3, 2, 5}, 2, 5.0f},     {{9, 129}, -1, 0.1f}};
  std::uint32_t seed = 700;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++, c.scale);
    for (DType dt : float_dtypes()) {
      expect_close(
          "softmax " + str(c.x) + " dim " + std::to_string(c.dim), dt, {x},
          [&](const Inputs& in) { return softmax(in[0], c.dim); }, test::kElementwiseTol);
    }
  }
  // -inf entries (a mask) get probability zero; rows keep at least one finite entry.
  Tensor masked = randn({6, 40}, 750);
  float* p = masked.data<float>();
  for (int r = 0; r < 6; ++r) {
    for (int j = 0; j < 40; ++j) {
      if ((j * 7 + r) % 3 == 0 && j != r) p[r * 40 + j] = -std::numeric_limits<float>::infinity();
    }
  }
  for (DType dt : float_dtypes()) {
    expect_close(
        "softmax with -inf entries", dt, {masked}, [](const Inputs& in) { return softmax(in[0]); },
        test::kElementwiseTol);
    const Tensor got = download(softmax(upload(masked, dt)));
    for (int r = 0; r < 6; ++r) {
      for (int j = 0; j < 40; ++j) {
        if (std::isinf(p[r * 40 + j])) {
          EXPECT_EQ(got.data<float>()[r * 40 + j], 0.0f) << r << "," << j;
        }
      }
    }
  }
}

// ---- attention -----------------------------------------------------------------

enum class MaskKind {
  kNone,
  kSqSk,        // [Sq, Sk], random with -inf entries and one fully masked row
  kPadding,     // [B, 1, 1, Sk]: batch 0 loses its last keys, batch 1 every key
  kFullFinite,  // [B, H, Sq, Sk], finite
};

struct AttentionCase {
  std::string name;
  std::int64_t b, h, hk, sq, sk, d, dv;
  bool causal = false;
  MaskKind mask = MaskKind::kNone;
  std::optional<float> scale;
  float q_scale = 1.0f;
};

constexpr std::int64_t kMaskedRow = 3;

Tensor make_mask(const AttentionCase& c, std::uint32_t seed) {
  const float ninf = -std::numeric_limits<float>::infinity();
  switch (c.mask) {
    case MaskKind::kNone:
      return Tensor();
    case MaskKind::kSqSk: {
      Tensor m = randn({c.sq, c.sk}, seed);
      float* p = m.data<float>();
      for (std::int64_t i = 0; i < c.sq; ++i) {
        for (std::int64_t j = 0; j < c.sk; ++j) {
          if (i == kMaskedRow || ((i * 5 + j * 3) % 7 == 0 && j != 0)) p[i * c.sk + j] = ninf;
        }
      }
      return m;
    }
    case MaskKind::kPadding: {
      Tensor m = Tensor::zeros({c.b, 1, 1, c.sk});
      float* p = m.data<float>();
      for (std::int64_t j = c.sk - 5; j < c.sk; ++j) p[j] = ninf;
      for (std::int64_t bi = 1; bi < c.b; ++bi) {
        for (std::int64_t j = 0; j < c.sk; ++j) p[bi * c.sk + j] = ninf;
      }
      return m;
    }
    case MaskKind::kFullFinite:
      return randn({c.b, c.h, c.sq, c.sk}, seed, 2.0f);
  }
  return Tensor();
}

// Whether query row i of batch bi sees no key at all (its output must be zeros).
bool fully_masked(const AttentionCase& c, std::int64_t bi, std::int64_t i) {
  if (c.sk == 0) return true;
  if (c.causal && i + (c.sk - c.sq) < 0) return true;
  if (c.mask == MaskKind::kSqSk && i == kMaskedRow) return true;
  if (c.mask == MaskKind::kPadding && bi >= 1) return true;
  return false;
}

std::vector<AttentionCase> attention_cases() {
  std::vector<AttentionCase> cases = {
      {"self d64", 2, 4, 4, 17, 17, 64, 64, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"Sq 77 Sk 300 d40", 1, 2, 2, 77, 300, 40, 40, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"Sq 77 Sk 300 d40 causal", 1, 2, 2, 77, 300, 40, 40, true, MaskKind::kNone, std::nullopt, 1.0f},
      {"GQA H8 Hk2 d80 causal", 2, 8, 2, 33, 33, 80, 80, true, MaskKind::kNone, std::nullopt, 1.0f},
      {"decode Sq 1 d128 causal", 1, 4, 1, 1, 129, 128, 128, true, MaskKind::kNone, std::nullopt, 1.0f},
      {"d128 Sq 50", 1, 2, 2, 50, 70, 128, 128, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"d160 (SD 1.5 deep blocks)", 2, 2, 2, 64, 64, 160, 160, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"Sq 40 > Sk 17 causal: first rows see nothing", 1, 2, 2, 40, 17, 64, 64, true, MaskKind::kNone, std::nullopt,
       1.0f},
      {"mask [Sq, Sk] with -inf", 2, 2, 2, 33, 47, 64, 64, false, MaskKind::kSqSk, std::nullopt, 1.0f},
      {"mask [B, 1, 1, Sk] padding", 2, 4, 4, 20, 50, 64, 64, false, MaskKind::kPadding, std::nullopt, 1.0f},
      {"mask [B, H, Sq, Sk] + causal", 1, 2, 2, 33, 33, 40, 40, true, MaskKind::kFullFinite, std::nullopt, 1.0f},
      {"GQA + mask [Sq, Sk] + causal", 1, 4, 2, 24, 24, 64, 64, true, MaskKind::kSqSk, std::nullopt, 1.0f},
      {"scale 0.3", 1, 3, 3, 19, 23, 64, 64, false, MaskKind::kNone, 0.3f, 1.0f},
      {"Dv 32 != D 64", 1, 2, 2, 16, 24, 64, 32, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"long Sk 1024, sharp scores", 1, 2, 2, 128, 1024, 64, 64, false, MaskKind::kNone, std::nullopt, 3.0f},
      {"UNet self-attention d40", 2, 8, 8, 256, 256, 40, 40, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"UNet cross-attention Sk 77 d40", 2, 8, 8, 256, 77, 40, 40, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"one key", 1, 1, 1, 5, 1, 64, 64, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"no keys: zeros", 1, 2, 2, 5, 0, 64, 64, false, MaskKind::kNone, std::nullopt, 1.0f},
      // Head sizes off the multiples of 8 (no 16-byte rows) and between the tile sizes.
      {"d8", 2, 2, 2, 70, 70, 8, 8, true, MaskKind::kNone, std::nullopt, 1.0f},
      {"d20", 1, 3, 3, 65, 65, 20, 20, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"d33", 1, 2, 2, 31, 66, 33, 33, true, MaskKind::kSqSk, std::nullopt, 1.0f},
      {"d72", 1, 2, 1, 40, 129, 72, 72, false, MaskKind::kNone, std::nullopt, 1.0f},
      {"d96", 1, 2, 2, 64, 64, 96, 96, true, MaskKind::kNone, std::nullopt, 1.0f},
      {"d100", 1, 2, 2, 17, 200, 100, 100, false, MaskKind::kPadding, std::nullopt, 1.0f},
      {"d256", 1, 1, 1, 9, 33, 256, 256, false, MaskKind::kNone, std::nullopt, 1.0f},
      // A VAE mid-block: one head as wide as the channels (two GEMMs and a softmax on CUDA).
      {"VAE d512 single head", 1, 1, 1, 256, 256, 512, 512, false, MaskKind::kNone, std::nullopt, 1.0f},
  };
  return cases;
}

TEST_F(CudaOps, AttentionMatchesCpu) {
  std::uint32_t seed = 800;
  for (const AttentionCase& c : attention_cases()) {
    const Tensor q = randn({c.b, c.h, c.sq, c.d}, seed++, c.q_scale);
    const Tensor k = randn({c.b, c.hk, c.sk, c.d}, seed++);
    const Tensor v = randn({c.b, c.hk, c.sk, c.dv}, seed++);
    const Tensor mask = make_mask(c, seed++);
    auto op = [&](const Inputs& in) {
      AttentionOptions o;
      o.causal = c.causal;
      o.mask = in[3];
      o.scale = c.scale;
      return attention(in[0], in[1], in[2], o);
    };
    for (DType dt : float_dtypes()) {
      SCOPED_TRACE("attention " + c.name + " in " + to_string(dt));
      // The mask goes in the same dtype as q, k and v here (f16 / bf16 hold -inf).
      const test::BothResults r = run_both(dt, {q, k, v, mask}, op);
      const double err = relative_l2(r.gpu, r.cpu);
      test::report("attention " + c.name, dt, err, test::kAttentionTol(dt));
      EXPECT_LT(err, test::kAttentionTol(dt));
      // Rows that see no key are exactly zero (not NaN, not leftovers).
      const float* g = r.gpu.data<float>();
      std::int64_t bad = 0;
      for (std::int64_t bi = 0; bi < c.b; ++bi) {
        for (std::int64_t hi = 0; hi < c.h; ++hi) {
          for (std::int64_t i = 0; i < c.sq; ++i) {
            if (!fully_masked(c, bi, i)) continue;
            for (std::int64_t e = 0; e < c.dv; ++e) {
              if (g[((bi * c.h + hi) * c.sq + i) * c.dv + e] != 0.0f) ++bad;
            }
          }
        }
      }
      EXPECT_EQ(bad, 0) << "elements of fully masked rows that are not zero";
    }
  }
}

TEST_F(CudaOps, AttentionTakesAnF32MaskWithHalfData) {
  // A mask kept in f32 while q, k, v are f16 / bf16 (the mask's dtype is its own).
  const AttentionCase c{"f32 mask", 2, 2, 2, 33, 47, 64, 64, false, MaskKind::kSqSk, std::nullopt, 1.0f};
  const Tensor q = randn({2, 2, 33, 64}, 880), k = randn({2, 2, 47, 64}, 881), v = randn({2, 2, 47, 64}, 882);
  const Tensor mask = make_mask(c, 883);
  for (DType dt : float_dtypes({kF16, kBF16})) {
    AttentionOptions o;
    o.mask = mask;
    const Tensor want = attention(round_to(q, dt), round_to(k, dt), round_to(v, dt), o);
    o.mask = upload(mask);  // f32
    const Tensor got = attention(upload(q, dt), upload(k, dt), upload(v, dt), o);
    EXPECT_EQ(got.dtype(), dt);
    EXPECT_LT(relative_l2(download(got), want), test::kAttentionTol(dt)) << to_string(dt);
  }
}

TEST_F(CudaOps, AttentionOfRepeatedKvHeadsEqualsGqa) {
  // GQA reads KV head h / (H / Hk): the same as repeating each KV head.
  const Tensor q = randn({1, 8, 20, 64}, 890), k = randn({1, 2, 30, 64}, 891), v = randn({1, 2, 30, 64}, 892);
  auto repeat = [](const Tensor& t) {
    std::vector<Tensor> heads;
    for (std::int64_t h = 0; h < 2; ++h) {
      for (int r = 0; r < 4; ++r) heads.push_back(slice(t, 1, h, h + 1));
    }
    return concat(heads, 1);
  };
  for (DType dt : float_dtypes()) {
    const Tensor a = download(attention(upload(q, dt), upload(k, dt), upload(v, dt)));
    const Tensor b = download(attention(upload(q, dt), upload(repeat(k), dt), upload(repeat(v), dt)));
    EXPECT_LT(relative_l2(a, b), test::kAttentionTol(dt)) << to_string(dt);
  }
}

// ---- elementwise ---------------------------------------------------------------

using UnaryFn = std::function<Tensor(const Tensor&)>;

std::vector<std::pair<std::string, UnaryFn>> unary_ops() {
  return {
      {"silu", [](const Tensor& x) { return silu(x); }},
      {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"gelu tanh", [](const Tensor& x) { return gelu(x, GeluApprox::kTanh); }},
      {"quick_gelu", [](const Tensor& x) { return quick_gelu(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"scale 2.5", [](const Tensor& x) { return scale(x, 2.5f); }},
      {"scale -0.125", [](const Tensor& x) { return scale(x, -0.125f); }},
      {"add_scalar 1", [](const Tensor& x) { return add_scalar(x, 1.0f); }},
      {"add_scalar -3.25", [](const Tensor& x) { return add_scalar(x, -3.25f); }},
      {"exp", [](const Tensor& x) { return exp(scale(x, 0.25f)); }},  // kept below f16's overflow
      {"abs", [](const Tensor& x) { return abs(x); }},
      {"erf", [](const Tensor& x) { return erf(x); }},
      {"sin", [](const Tensor& x) { return sin(x); }},
      {"cos", [](const Tensor& x) { return cos(x); }},
      {"leaky_relu 0.2", [](const Tensor& x) { return leaky_relu(x, 0.2f); }},
      {"clamp -1 1.5", [](const Tensor& x) { return clamp(x, -1.0f, 1.5f); }},
      {"pow_scalar 2", [](const Tensor& x) { return pow_scalar(x, 2.0f); }},
  };
}

// Functions of positive values only (NaN elsewhere): inputs in [0.5, 4].
TEST_F(CudaOps, PositiveDomainFunctionsMatchCpu) {
  const std::pair<std::string, UnaryFn> ops[] = {
      {"log", [](const Tensor& x) { return log(x); }},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }},
      {"pow_scalar 0.7", [](const Tensor& x) { return pow_scalar(x, 0.7f); }},
  };
  std::uint32_t seed = 950;
  for (const Shape& s : {Shape{1}, Shape{3, 17}, Shape{(1 << 16) + 5}}) {
    const Tensor x = randu(s, seed++, 0.5f, 4.0f);
    const Tensor y = randu(s, seed++, -2.0f, 2.0f);
    for (const auto& [name, fn] : ops) {
      for (DType dt : float_dtypes()) {
        expect_close(
            name + " " + str(s), dt, {x}, [&](const Inputs& in) { return fn(in[0]); }, test::kElementwiseTol);
      }
    }
    for (DType dt : float_dtypes()) {
      expect_close(
          "pow " + str(s), dt, {x, y}, [](const Inputs& in) { return pow(in[0], in[1]); }, test::kElementwiseTol);
    }
  }
}

TEST_F(CudaOps, UnaryOpsMatchCpu) {
  struct Case {
    Shape shape;
    float stddev;
  };
  const Case cases[] = {{{1}, 1.0f},        {{3, 17}, 2.0f}, {{33, 127}, 3.0f}, {{(1 << 20) + 3}, 2.0f},
                        {{2, 1001}, 15.0f},  // saturated tails: exp overflow must not give NaN
                        {{0}, 1.0f}};
  std::uint32_t seed = 900;
  for (const Case& c : cases) {
    const Tensor x = randn(c.shape, seed++, c.stddev);
    for (const auto& [name, fn] : unary_ops()) {
      for (DType dt : float_dtypes()) {
        expect_close(
            name + " " + str(c.shape) + " sd " + std::to_string(c.stddev), dt, {x},
            [&](const Inputs& in) { return fn(in[0]); }, test::kElementwiseTol);
      }
    }
  }
}

TEST_F(CudaOps, BinaryOpsBroadcastLikeCpu) {
  const std::pair<Shape, Shape> cases[] = {
      {{3, 17}, {3, 17}},
      {{2, 3, 4, 5}, {5}},
      {{5}, {2, 3, 4, 5}},  // broadcast on the left (order matters for sub / div)
      {{2, 3, 4, 5}, {3, 1, 1}},
      {{4, 1}, {1, 6}},  // both sides broadcast
      {{1}, {33, 127}},
      {{2, 1, 3, 1, 5, 1}, {4, 1, 6}},   // six dimensions
      {{2, 320, 8, 8}, {2, 320, 1, 1}},  // a UNet time embedding
      {{(1 << 20) + 1}, {(1 << 20) + 1}},
      {{0, 3}, {3}},
  };
  using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);
  const std::pair<const char*, BinaryFn> ops[] = {{"add", add}, {"sub", sub},         {"mul", mul},
                                                  {"div", div}, {"maximum", maximum}, {"minimum", minimum}};
  std::uint32_t seed = 1000;
  for (const auto& [sa, sb] : cases) {
    const Tensor a = randn(sa, seed++, 2.0f);
    // Denominators away from zero: |b| in [0.5, 2], either sign.
    Tensor b = randu(sb, seed++, 0.5f, 2.0f);
    float* pb = b.data<float>();
    for (std::int64_t i = 0; i < b.numel(); i += 2) pb[i] = -pb[i];
    for (const auto& [name, fn] : ops) {
      for (DType dt : float_dtypes()) {
        expect_close(
            std::string(name) + " " + str(sa) + " " + str(sb), dt, {a, b},
            [&](const Inputs& in) { return fn(in[0], in[1]); }, test::kElementwiseTol);
      }
    }
  }
}

TEST_F(CudaOps, GegluMatchesCpu) {
  const Shape shapes[] = {{1, 2}, {2, 5, 34}, {3, 640}, {2, 64, 2560}, {7, 2 * 17}};
  std::uint32_t seed = 1100;
  for (const Shape& s : shapes) {
    const Tensor x = randn(s, seed++, 2.0f);
    for (DType dt : float_dtypes()) {
      expect_close(
          "geglu " + str(s), dt, {x}, [](const Inputs& in) { return geglu(in[0]); }, test::kElementwiseTol);
    }
  }
}

TEST_F(CudaOps, OpsReadViewsAtOddOffsets) {
  // A leading-dimension view starts one element in (2 or 4 bytes): kernels
  // that assume 16-byte aligned rows must cope.
  auto view = [](const Tensor& t, std::int64_t rows, std::int64_t cols) {
    return t.slice(0, 1, 1 + rows * cols).reshape({rows, cols});
  };
  const Tensor a = randn({1 + 33 * 17}, 1200, 2.0f);
  const Tensor b = randn({1 + 33 * 17}, 1201, 2.0f);
  const Tensor w = randn({24, 17}, 1202, 0.25f);
  const Tensor bias = randn({24}, 1203);
  for (DType dt : float_dtypes()) {
    expect_close(
        "silu of a view", dt, {a}, [&](const Inputs& in) { return silu(view(in[0], 33, 17)); }, test::kElementwiseTol);
    expect_close(
        "add of views", dt, {a, b}, [&](const Inputs& in) { return add(view(in[0], 33, 17), view(in[1], 33, 17)); },
        test::kElementwiseTol);
    expect_close(
        "softmax of a view", dt, {a}, [&](const Inputs& in) { return softmax(view(in[0], 33, 17)); },
        test::kElementwiseTol);
    expect_close(
        "layer_norm of a view", dt, {a},
        [&](const Inputs& in) { return layer_norm(view(in[0], 33, 17), Tensor(), Tensor()); }, test::kNormTol);
    expect_close(
        "linear of a view", dt, {a, w, bias},
        [&](const Inputs& in) { return linear(view(in[0], 33, 17), in[1], in[2]); }, test::kGemmTol);
    expect_close(
        "matmul of a view", dt, {a, w},
        [&](const Inputs& in) { return matmul(view(in[0], 33, 17), transpose(in[1], 0, 1)); }, test::kGemmTol);
    // q, k, v at a 2-byte offset: head rows that are multiples of 8 but not 16-byte aligned.
    expect_close(
        "attention of views", dt, {a, b},
        [&](const Inputs& in) {
          const Tensor q = in[0].slice(0, 1, 1 + 2 * 33 * 8).reshape({1, 2, 33, 8});
          const Tensor kv = in[1].slice(0, 1, 1 + 2 * 33 * 8).reshape({1, 2, 33, 8});
          return attention(q, kv, kv);
        },
        test::kAttentionTol);
    expect_exact("transpose of a view", dt, {a},
                 [&](const Inputs& in) { return transpose(view(in[0], 33, 17), 0, 1); });
    expect_exact("to_dtype of a view", dt, {a},
                 [&](const Inputs& in) { return to_dtype(to_dtype(view(in[0], 33, 17), kF32), in[0].dtype()); });
  }
}

// ---- layout: bit for bit -------------------------------------------------------

// Inputs for a layout op: floats go through run_both's rounding; integer
// dtypes are made directly.
Tensor layout_input(const Shape& shape, std::uint32_t seed, DType dtype) {
  if (is_floating(dtype)) return randn(shape, seed);
  return randint(shape, seed, dtype == kU8 ? 0 : -1000000, dtype == kU8 ? 255 : 1000000, dtype);
}

std::vector<DType> layout_dtypes() {
  std::vector<DType> d = float_dtypes();
  d.push_back(kI32);
  d.push_back(kI64);
  d.push_back(kU8);
  return d;
}

TEST_F(CudaOps, ConcatIsBitExact) {
  struct Case {
    std::vector<Shape> parts;
    int dim;
  };
  const Case cases[] = {
      {{{2, 3, 4, 5}, {1, 3, 4, 5}, {3, 3, 4, 5}}, 0},
      {{{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 7, 4, 5}}, 1},
      {{{2, 3, 4, 5}, {2, 3, 4, 1}, {2, 3, 4, 17}}, -1},
      {{{2, 3, 4, 5}, {2, 0, 4, 5}, {2, 2, 4, 5}}, 1},  // an empty piece
      {{{3, 7}}, 0},                                    // one piece
      {{{1, 3}, {1, 3}, {1, 3}, {1, 3}, {1, 3}}, 0},
      {{{2, 77, 40}, {2, 77, 40}}, 2},
  };
  std::uint32_t seed = 1300;
  for (const Case& c : cases) {
    for (DType dt : layout_dtypes()) {
      Inputs parts;
      for (const Shape& s : c.parts) parts.push_back(layout_input(s, seed++, dt));
      expect_exact("concat dim " + std::to_string(c.dim) + " of " + std::to_string(parts.size()), dt, parts,
                   [&](const Inputs& in) { return concat(std::span<const Tensor>(in), c.dim); });
    }
  }
}

TEST_F(CudaOps, SliceIsBitExact) {
  struct Case {
    Shape x;
    int dim;
    std::int64_t start, end, step;
  };
  const Case cases[] = {
      {{7, 9, 11}, 0, 1, 6, 1},     {{7, 9, 11}, 1, 0, 9, 2},       {{7, 9, 11}, -1, -8, -1, 3},
      {{7, 9, 11}, 2, 5, 5, 1},     {{7, 9, 11}, 1, 3, 100, 1},     {{1000003}, 0, 3, 1000003, 7},
      {{2, 4, 77, 8}, 2, 1, 77, 1}, {{4, 2 * 320}, 1, 320, 640, 1},
  };
  std::uint32_t seed = 1400;
  for (const Case& c : cases) {
    for (DType dt : layout_dtypes()) {
      expect_exact("slice " + str(c.x) + " dim " + std::to_string(c.dim) + " " + std::to_string(c.start) + ":" +
                       std::to_string(c.end) + ":" + std::to_string(c.step),
                   dt, {layout_input(c.x, seed++, dt)},
                   [&](const Inputs& in) { return slice(in[0], c.dim, c.start, c.end, c.step); });
    }
  }
}

TEST_F(CudaOps, PermuteAndTransposeAreBitExact) {
  struct Case {
    Shape x;
    std::vector<int> perm;
  };
  const Case cases[] = {
      {{2, 3, 4, 5}, {0, 2, 1, 3}},
      {{2, 3, 4, 5}, {3, 2, 1, 0}},
      {{2, 3, 4, 5}, {0, 1, 3, 2}},
      {{2, 3, 4, 5}, {0, 1, 2, 3}},
      {{17, 33}, {1, 0}},
      {{1, 77, 8, 40}, {0, 2, 1, 3}},
      {{33, 17, 3}, {2, 0, 1}},
      {{2, 3, 2, 3, 2, 3}, {5, 3, 1, 4, 2, 0}},
      {{64, 1, 128}, {2, 1, 0}},
      {{257, 129}, {1, 0}},
      // The fast paths: whole 16-byte runs (attention heads), narrower runs,
      // tiled transposes (NCHW <-> NHWC) and more batches than a grid's z.
      {{2, 77, 8, 64}, {0, 2, 1, 3}},
      {{3, 5, 6}, {1, 0, 2}},
      {{1, 320, 64, 64}, {0, 2, 3, 1}},
      {{2, 4096, 320}, {0, 2, 1}},
      {{70000, 2, 3}, {0, 2, 1}},
      {{5, 1, 7, 1, 9}, {4, 1, 2, 3, 0}},
  };
  std::uint32_t seed = 1500;
  for (const Case& c : cases) {
    for (DType dt : layout_dtypes()) {
      expect_exact("permute " + str(c.x), dt, {layout_input(c.x, seed++, dt)},
                   [&](const Inputs& in) { return permute(in[0], std::span<const int>(c.perm)); });
    }
  }
  for (DType dt : layout_dtypes()) {
    const Tensor x = layout_input({2, 5, 7, 3}, seed++, dt);
    expect_exact("transpose 1 2", dt, {x}, [](const Inputs& in) { return transpose(in[0], 1, 2); });
    expect_exact("transpose -1 -2", dt, {x}, [](const Inputs& in) { return transpose(in[0], -1, -2); });
  }
}

TEST_F(CudaOps, PadIsBitExact) {
  struct Case {
    Shape x;
    std::vector<std::int64_t> pads;
    PadMode mode;
    float value;
  };
  const Case cases[] = {
      {{1, 3, 17, 17}, {1, 2, 3, 4}, PadMode::kConstant, 0.5f},
      {{1, 3, 17, 17}, {0, 1, 0, 1}, PadMode::kConstant, 0.0f},  // diffusers' Downsample2D
      {{2, 3, 9, 8}, {2, 2, 1, 1}, PadMode::kReflect, 0.0f},
      {{2, 3, 9, 8}, {3, 0, 0, 2}, PadMode::kReplicate, 0.0f},
      {{2, 3, 9, 8}, {-1, -2}, PadMode::kConstant, 0.0f},          // crop
      {{2, 3, 9, 8}, {2, -3, -1, 1}, PadMode::kConstant, -1.25f},  // pad and crop
      {{4, 5, 6}, {1, 1, 2, 0, 1, 3}, PadMode::kConstant, 2.0f},   // three dimensions
      {{4, 5, 6}, {5, 5}, PadMode::kReflect, 0.0f},
      {{3, 1}, {2, 3}, PadMode::kReplicate, 0.0f},
  };
  std::uint32_t seed = 1600;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    for (DType dt : float_dtypes()) {
      expect_exact(
          "pad " + str(c.x) + " mode " + std::to_string(static_cast<int>(c.mode)), dt, {x},
          [&](const Inputs& in) { return pad(in[0], std::span<const std::int64_t>(c.pads), c.mode, c.value); });
    }
  }
}

TEST_F(CudaOps, ChannelsLastConvAndUpsampleMatchCpu) {
  struct Case {
    Shape x;  // [N, H, W, C]
    std::int64_t out, k, stride;
    bool bias;
  };
  // TAESD's shapes (64 channels, stride 2, 3 -> 64, 64 -> 3 / 4) and a 1x1.
  const Case cases[] = {{{1, 32, 32, 64}, 64, 3, 1, true}, {{2, 17, 15, 64}, 64, 3, 2, false},
                        {{1, 24, 24, 3}, 64, 3, 1, true},  {{1, 16, 16, 64}, 3, 3, 1, true},
                        {{1, 9, 9, 64}, 4, 3, 1, true},    {{2, 8, 8, 32}, 48, 1, 1, false}};
  std::uint32_t seed = 1720;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    const Tensor w = randn({c.out, c.k, c.k, c.x[3]}, seed++, 0.2f);
    const Tensor b = c.bias ? randn({c.out}, seed++) : Tensor();
    Conv2dParams p;
    p.stride = {c.stride, c.stride};
    p.padding = {c.k / 2, c.k / 2};
    for (DType dt : float_dtypes()) {
      expect_close(
          "conv2d_nhwc " + str(c.x) + " -> " + std::to_string(c.out), dt, {x, w, b},
          [&](const Inputs& in) { return conv2d_nhwc(in[0], in[1], in[2], p); }, test::kGemmTol);
    }
  }
  for (const Shape& s : {Shape{1, 8, 8, 64}, Shape{2, 5, 3, 7}}) {
    const Tensor x = randn(s, seed++);
    for (DType dt : float_dtypes()) {
      expect_exact("upsample_nearest2x_nhwc " + str(s), dt, {x},
                   [](const Inputs& in) { return upsample_nearest2x_nhwc(in[0]); });
    }
  }
}

TEST_F(CudaOps, FramePixelOpsMatchCpu) {
  // Frame -> model: same size, a webcam frame down to 512, an odd upscale.
  struct Case {
    std::int64_t in_h, in_w, h, w;
  };
  const Case cases[] = {{64, 48, 64, 48}, {720, 1280, 512, 512}, {7, 5, 24, 16}, {1, 1, 8, 8}};
  std::uint32_t seed = 1650;
  for (const Case& c : cases) {
    const Tensor px = to_dtype(randint({c.in_h, c.in_w, 4}, seed++, 0, 255, DType::kI32), DType::kU8);
    for (DType dt : float_dtypes()) {
      expect_close(
          "rgba8_to_image " + str(px.shape()) + " to " + std::to_string(c.h) + "x" + std::to_string(c.w), dt, {px},
          [&](const Inputs& in) {
            return rgba8_to_image(in[0], c.h, c.w, in[0].device() == Device::kCpu ? DType::kF32 : dt);
          },
          test::kElementwiseTol);
    }
  }
  // Model -> display: the range, past it on both sides, and NaN.
  Tensor x = randu({1, 3, 96, 80}, seed++, -1.3f, 1.3f);
  x.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  for (DType dt : float_dtypes()) {
    expect_exact("image_to_rgba8", dt, {x}, [](const Inputs& in) { return image_to_rgba8(in[0]); });
  }
}

TEST_F(CudaOps, UpsampleAndPoolingMatchCpu) {
  const Shape shapes[] = {{2, 3, 17, 9}, {1, 1, 1, 1}, {1, 64, 32, 32}, {2, 5, 16, 15}};
  std::uint32_t seed = 1700;
  for (const Shape& s : shapes) {
    const Tensor x = randn(s, seed++, 2.0f, -1.0f);  // mostly negative: padding must not win a max
    for (DType dt : float_dtypes()) {
      expect_exact("upsample_nearest2x " + str(s), dt, {x}, [](const Inputs& in) { return upsample_nearest2x(in[0]); });
    }
  }
  const Pool2dParams pools[] = {{{2, 2}, {2, 2}, {0, 0}},
                                {{3, 3}, {2, 2}, {1, 1}},
                                {{3, 3}, {1, 1}, {1, 1}},
                                {{2, 3}, {1, 2}, {1, 1}},
                                {{1, 1}, {1, 1}, {0, 0}}};
  const Shape pooled[] = {{2, 3, 17, 17}, {1, 4, 8, 9}, {1, 64, 32, 32}};
  for (const Shape& s : pooled) {
    const Tensor x = randn(s, seed++, 2.0f, -1.0f);
    for (const Pool2dParams& p : pools) {
      const std::string params = " kernel " + std::to_string(p.kernel[0]) + "x" + std::to_string(p.kernel[1]) +
                                 " stride " + std::to_string(p.stride[0]) + "x" + std::to_string(p.stride[1]) +
                                 " pad " + std::to_string(p.padding[0]) + "x" + std::to_string(p.padding[1]);
      for (DType dt : float_dtypes()) {
        expect_exact("max_pool2d " + str(s) + params, dt, {x}, [&](const Inputs& in) { return max_pool2d(in[0], p); });
        expect_close(
            "avg_pool2d " + str(s) + params, dt, {x}, [&](const Inputs& in) { return avg_pool2d(in[0], p); },
            test::kElementwiseTol);
      }
    }
  }
}

TEST_F(CudaOps, Resize2dMatchesCpu) {
  struct Case {
    Shape x;
    std::int64_t oh, ow;
    ResizeMode mode;
    ResizeCoords coords;
    ResizeRounding rounding;
    std::array<float, 2> scale;
  };
  const Case cases[] = {
      {{2, 3, 17, 9}, 34, 18, ResizeMode::kLinear, ResizeCoords::kHalfPixel, ResizeRounding::kFloor, {0, 0}},
      {{1, 4, 16, 16}, 7, 5, ResizeMode::kLinear, ResizeCoords::kAlignCorners, ResizeRounding::kFloor, {0, 0}},
      {{1, 2, 9, 13}, 22, 32, ResizeMode::kLinear, ResizeCoords::kAsymmetric, ResizeRounding::kFloor, {2.5f, 2.5f}},
      {{1, 2, 9, 13}, 1, 1, ResizeMode::kLinear, ResizeCoords::kPytorchHalfPixel, ResizeRounding::kFloor, {0, 0}},
      {{2, 5, 15, 16}, 30, 32, ResizeMode::kNearest, ResizeCoords::kAsymmetric, ResizeRounding::kFloor, {0, 0}},
      {{1, 3, 16, 15}, 8, 7, ResizeMode::kNearest, ResizeCoords::kHalfPixel, ResizeRounding::kRoundPreferFloor, {0, 0}},
      {{1, 3, 16, 15}, 8, 7, ResizeMode::kNearest, ResizeCoords::kHalfPixel, ResizeRounding::kRoundPreferCeil, {0, 0}},
      {{3, 16, 15}, 24, 40, ResizeMode::kNearest, ResizeCoords::kAlignCorners, ResizeRounding::kCeil, {0, 0}},
  };
  std::uint32_t seed = 1750;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++, 2.0f);
    Resize2dParams p;
    p.out_h = c.oh;
    p.out_w = c.ow;
    p.mode = c.mode;
    p.coords = c.coords;
    p.rounding = c.rounding;
    p.scale = c.scale;
    const std::string what = "resize2d " + str(c.x) + " to " + std::to_string(c.oh) + "x" + std::to_string(c.ow);
    for (DType dt : float_dtypes()) {
      if (c.mode == ResizeMode::kNearest) {
        expect_exact(what, dt, {x}, [&](const Inputs& in) { return resize2d(in[0], p); });
      } else {
        expect_close(
            what, dt, {x}, [&](const Inputs& in) { return resize2d(in[0], p); }, test::kElementwiseTol);
      }
    }
  }
}

TEST_F(CudaOps, GridSampleMatchesCpu) {
  struct Case {
    Shape x, grid;
  };
  const Case cases[] = {
      {{2, 3, 9, 11}, {2, 7, 5, 2}}, {{1, 5, 4, 6, 7}, {1, 3, 5, 4, 3}}, {{1, 32, 16, 32, 32}, {1, 16, 32, 32, 3}}};
  std::uint32_t seed = 1760;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    // Points in [-1.25, 1.25]: inside, on and past the border.
    Tensor grid = randn(c.grid, seed++, 0.7f);
    for (float& v : std::span(grid.data<float>(), static_cast<std::size_t>(grid.numel())))
      v = std::clamp(v, -1.25f, 1.25f);
    for (GridSampleMode mode : {GridSampleMode::kLinear, GridSampleMode::kNearest}) {
      for (GridSamplePadding pad :
           {GridSamplePadding::kZeros, GridSamplePadding::kBorder, GridSamplePadding::kReflection}) {
        for (bool ac : {false, true}) {
          const GridSampleParams p{mode, pad, ac};
          const std::string what = "grid_sample " + str(c.x) + " mode " + std::to_string(static_cast<int>(mode)) +
                                   " padding " + std::to_string(static_cast<int>(pad)) + (ac ? " align" : "");
          for (DType dt : float_dtypes()) {
            if (mode == GridSampleMode::kNearest) {
              expect_exact(what, dt, {x, grid}, [&](const Inputs& in) { return grid_sample(in[0], in[1], p); });
            } else {
              expect_close(
                  what, dt, {x, grid}, [&](const Inputs& in) { return grid_sample(in[0], in[1], p); },
                  test::kElementwiseTol);
            }
          }
        }
      }
    }
  }
}

// ---- lookup and position -------------------------------------------------------

TEST_F(CudaOps, EmbeddingIsBitExact) {
  struct Case {
    Shape ids;
    std::int64_t vocab, dim;
  };
  const Case cases[] = {{{2, 77}, 1000, 64}, {{5}, 49, 3}, {{1}, 1, 1}, {{3, 4, 5}, 300, 33}, {{0}, 10, 8}};
  std::uint32_t seed = 1800;
  for (const Case& c : cases) {
    const Tensor w = randn({c.vocab, c.dim}, seed++);
    for (DType id_type : {kI32, kI64}) {
      Tensor ids = randint(c.ids, seed++, 0, c.vocab - 1, kI64);
      if (ids.numel() >= 2) {  // both ends of the table
        ids.data<std::int64_t>()[0] = 0;
        ids.data<std::int64_t>()[1] = c.vocab - 1;
      }
      ids = to_dtype(ids, id_type);
      for (DType dt : float_dtypes()) {
        expect_exact("embedding " + str(c.ids) + " " + to_string(id_type) + " table " + std::to_string(c.vocab), dt,
                     {ids, w}, [](const Inputs& in) { return embedding(in[0], in[1]); });
      }
    }
  }
}

TEST_F(CudaOps, EmbeddingIdOutsideTheTableIsAnError) {
  // The kernel never reads outside the table: it flags a bad id and writes
  // zeros, and the op throws once the flag is read; the context stays usable.
  const Tensor w = upload(randn({10, 4}, 1850));
  for (const std::vector<std::int64_t>& bad : {std::vector<std::int64_t>{1, 10, 2}, std::vector<std::int64_t>{-1}}) {
    const Tensor ids = upload(Tensor::from_vector_i64({static_cast<std::int64_t>(bad.size())}, bad));
    try {
      (void)download(embedding(ids, w));
      ADD_FAILURE() << "no error for an id outside the table";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("embedding"), std::string::npos) << e.what();
    }
  }
  const Tensor ok = download(embedding(upload(Tensor::from_vector_i64({1}, std::vector<std::int64_t>{3})), w));
  EXPECT_EQ(ok.numel(), 4);
}

TEST_F(CudaOps, RopeMatchesCpu) {
  struct Case {
    Shape x;
    RopeOptions o;
    std::int64_t start;
  };
  const Case cases[] = {
      {{2, 4, 17, 64}, {10000.0f, RopeStyle::kHalf, 0}, 0},
      {{2, 4, 17, 64}, {10000.0f, RopeStyle::kInterleaved, 0}, 0},
      {{1, 2, 9, 64}, {10000.0f, RopeStyle::kHalf, 32}, 5},  // partial rotary_dim
      {{1, 2, 9, 64}, {10000.0f, RopeStyle::kInterleaved, 32}, 5},
      {{3, 80}, {1000000.0f, RopeStyle::kHalf, 40}, 100},
      {{1, 14, 1, 64}, {1000000.0f, RopeStyle::kHalf, 0}, 1234},  // one decode step
      {{1, 1, 5, 2}, {10000.0f, RopeStyle::kInterleaved, 0}, 0},
  };
  std::uint32_t seed = 1900;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    for (DType dt : float_dtypes()) {
      expect_close(
          "rope " + str(c.x) + (c.o.style == RopeStyle::kHalf ? " half" : " interleaved") + " rot " +
              std::to_string(c.o.rotary_dim) + " start " + std::to_string(c.start),
          dt, {x}, [&](const Inputs& in) { return rope(in[0], c.start, c.o); }, test::kElementwiseTol);
    }
  }
  // Arbitrary positions, as a GPU tensor (i32 and i64), up to 4095: the
  // angles are large, so a fast approximate sin / cos shows here.
  const Tolerance long_tol{5e-5, 2e-3, 1e-2};
  const std::vector<std::int64_t> pos = {5, 1000, 3, 4095, 0, 77, 2048, 1};
  const Tensor positions = Tensor::from_vector_i64({8}, pos);
  const Tensor x = randn({2, 3, 8, 64}, seed++);
  for (RopeStyle style : {RopeStyle::kHalf, RopeStyle::kInterleaved}) {
    for (DType pos_type : {kI32, kI64}) {
      const Tensor p = to_dtype(positions, pos_type);
      for (DType dt : float_dtypes()) {
        expect_close(
            std::string("rope positions ") + to_string(pos_type) +
                (style == RopeStyle::kHalf ? " half" : " interleaved"),
            dt, {x, p},
            [&](const Inputs& in) {
              RopeOptions o;
              o.style = style;
              return rope(in[0], in[1], o);
            },
            long_tol);
      }
    }
  }
}

// ---- reductions ----------------------------------------------------------------

TEST_F(CudaOps, CumsumMatchesCpu) {
  const std::pair<Shape, int> cases[] = {{{3, 17}, 1},    {{1000}, 0}, {{5, 4, 33}, 1},
                                         {{2, 5000}, -1}, {{7, 3}, 0}, {{1}, 0}};
  std::uint32_t seed = 2000;
  for (const auto& [s, dim] : cases) {
    const Tensor x = randn(s, seed++);
    for (DType dt : float_dtypes()) {
      expect_close(
          "cumsum " + str(s) + " dim " + std::to_string(dim), dt, {x},
          [&](const Inputs& in) { return cumsum(in[0], dim); }, test::kScanTol);
    }
    // Integers sum exactly, into i64.
    for (DType it : {kI64, kI32}) {
      expect_exact("cumsum " + str(s) + " " + to_string(it), kF32, {randint(s, seed++, -1000000, 1000000, it)},
                   [&](const Inputs& in) { return cumsum(in[0], dim); });
    }
  }
}

TEST_F(CudaOps, ReductionsMatchCpu) {
  struct Case {
    Shape x;
    std::vector<int> dims;
  };
  const Case cases[] = {{{3, 17}, {1}},         {{2, 5000}, {-1}},    {{5, 4, 33}, {1}}, {{2, 3, 8, 9}, {2, 3}},
                        {{2, 3, 8, 9}, {0, 2}}, {{1, 64, 7, 7}, {1}}, {{7}, {0}},        {{4, 1, 3}, {1}}};
  std::uint32_t seed = 2050;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++, 2.0f);
    const std::string what = str(c.x) + " dims " + std::to_string(c.dims.front()) + (c.dims.size() > 1 ? "..." : "");
    for (DType dt : float_dtypes()) {
      expect_close(
          "sum " + what, dt, {x}, [&](const Inputs& in) { return sum(in[0], c.dims); }, test::kScanTol);
      expect_close(
          "mean " + what, dt, {x}, [&](const Inputs& in) { return mean(in[0], c.dims, true); }, test::kScanTol);
      // The largest or smallest value is one of the inputs: exact.
      expect_exact("amax " + what, dt, {x}, [&](const Inputs& in) { return amax(in[0], c.dims); });
      expect_exact("amin " + what, dt, {x}, [&](const Inputs& in) { return amin(in[0], c.dims); });
    }
  }
}

TEST_F(CudaOps, ArgmaxIsExact) {
  struct Case {
    Shape x;
    int dim;
    bool keepdim;
  };
  const Case cases[] = {
      {{3, 17}, 1, false}, {{33, 127}, 0, false}, {{2, 5, 7}, 1, true}, {{4, 49408}, -1, false}, {{1}, 0, false}};
  std::uint32_t seed = 2100;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    const Tensor ties = randint(c.x, seed++, -3, 3, kF32);  // first of equal maxima
    for (DType dt : float_dtypes()) {
      for (const Tensor& in : {x, ties}) {
        expect_exact("argmax " + str(c.x) + " dim " + std::to_string(c.dim), dt, {in},
                     [&](const Inputs& i) { return argmax(i[0], c.dim, c.keepdim); });
      }
    }
  }
}

TEST_F(CudaOps, TopkIsExact) {
  struct Case {
    Shape x;
    std::int64_t k;
    int dim;
  };
  const Case cases[] = {{{3, 17}, 5, -1},   {{2, 1000}, 10, -1},  {{33, 4}, 33, 0}, {{5, 7}, 1, 1},
                        {{2, 3, 50}, 7, 2}, {{1, 49408}, 50, -1}, {{4, 6}, 0, -1}};
  std::uint32_t seed = 2200;
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, seed++);
    const Tensor ties = randint(c.x, seed++, -2, 2, kF32);  // equal values keep index order
    for (bool largest : {true, false}) {
      for (DType dt : float_dtypes()) {
        for (const Tensor& in : {x, ties}) {
          const std::string name =
              "topk " + str(c.x) + " k " + std::to_string(c.k) + (largest ? " largest" : " smallest");
          expect_exact(name + " values", dt, {in},
                       [&](const Inputs& i) { return topk(i[0], c.k, c.dim, largest).values; });
          expect_exact(name + " indices", dt, {in},
                       [&](const Inputs& i) { return topk(i[0], c.k, c.dim, largest).indices; });
        }
      }
    }
  }
}

// ---- tensors on the GPU --------------------------------------------------------

TEST_F(CudaTensor, RoundTripIsBitExact) {
  // Sizes: empty, one element, odd, across the 8 MiB staging chunks, and 10M elements.
  const std::pair<std::int64_t, DType> cases[] = {
      {0, kF32},          {1, kF32}, {3, kF16}, {17, kBF16}, {33, kI32}, {127, kI64}, {1001, kU8}, {(8 << 20) + 3, kU8},
      {10'000'000, kF32},
  };
  std::uint64_t seed = 2300;
  for (const auto& [n, dt] : cases) {
    SCOPED_TRACE(std::to_string(n) + " x " + to_string(dt));
    Tensor host = Tensor::empty({n}, dt);
    // Every byte pattern (NaNs and all): xorshift, cheap enough for 40 MB.
    std::uint64_t state = 0x9e3779b97f4a7c15ull * ++seed;
    auto* p = static_cast<std::uint8_t*>(host.raw_data());
    for (std::size_t i = 0; i < host.nbytes(); i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      std::memcpy(p + i, &state, std::min<std::size_t>(8, host.nbytes() - i));
    }
    const Tensor dev = host.to(Device::kCuda);
    EXPECT_EQ(dev.device(), Device::kCuda);
    EXPECT_EQ(dev.dtype(), dt);
    EXPECT_EQ(dev.shape(), host.shape());
    EXPECT_TRUE(dev.to(Device::kCuda).shares_storage_with(dev)) << "to() the same device is the tensor itself";
    const Tensor back = dev.to(Device::kCpu);
    EXPECT_EQ(back.device(), Device::kCpu);
    EXPECT_TRUE(bit_equal(back, host));
  }
}

TEST_F(CudaTensor, ViewsOfGpuTensorsCopyTheirOwnElements) {
  const Tensor host = randn({5, 7, 3}, 2400);
  const Tensor dev = host.to(Device::kCuda);
  EXPECT_TRUE(bit_equal(dev.select(2).to(Device::kCpu), host.select(2).clone()));
  EXPECT_TRUE(bit_equal(dev.slice(0, 1, 4).to(Device::kCpu), host.slice(0, 1, 4).clone()));
  EXPECT_TRUE(bit_equal(dev.reshape({35, 3}).to(Device::kCpu), host.reshape({35, 3})));
  const Tensor r = reshape(dev, {3, -1});  // the op: a view on the GPU too
  EXPECT_EQ(r.device(), Device::kCuda);
  EXPECT_TRUE(r.shares_storage_with(dev));
  EXPECT_TRUE(bit_equal(r.to(Device::kCpu), host.reshape({3, 35})));
  EXPECT_FLOAT_EQ(dev.select(4).select(6).slice(0, 2, 3).item(), host.data<float>()[4 * 21 + 6 * 3 + 2]);
}

TEST_F(CudaTensor, ZerosOnTheGpuAreZero) {
  for (DType dt : {kF32, kF16, kBF16, kI32, kI64, kU8}) {
    for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1000003}}) {
      SCOPED_TRACE(std::to_string(n) + " x " + to_string(dt));
      {
        // Dirty a block of that size first: the cache hands it out again.
        Tensor junk = Tensor::empty({n}, dt);
        std::memset(junk.raw_data(), 0x5a, junk.nbytes());
        const Tensor dirty = junk.to(Device::kCuda);
        cuda::synchronize();
      }
      const Tensor z = Tensor::zeros({n}, dt, Device::kCuda);
      EXPECT_EQ(z.device(), Device::kCuda);
      EXPECT_EQ(z.dtype(), dt);
      EXPECT_TRUE(bit_equal(z.to(Device::kCpu), Tensor::zeros({n}, dt)));
    }
  }
}

TEST_F(CudaTensor, CloneOnTheGpuIsAnIndependentCopy) {
  const Tensor host = randn({4, 33}, 2500);
  const Tensor dev = host.to(Device::kCuda);
  const Tensor copy = dev.clone();
  EXPECT_EQ(copy.device(), Device::kCuda);
  EXPECT_FALSE(copy.shares_storage_with(dev));
  EXPECT_TRUE(bit_equal(copy.to(Device::kCpu), host));
  // Overwrite the original; the clone keeps its values.
  const Tensor other = randn({4, 33}, 2501);
  Tensor target = dev;
  cuda::copy_host_to_device(target.raw_data(), other.raw_data(), other.nbytes());
  EXPECT_TRUE(bit_equal(dev.to(Device::kCpu), other));
  EXPECT_TRUE(bit_equal(copy.to(Device::kCpu), host));
  // A clone of a view holds the view's elements only.
  const Tensor part = dev.slice(0, 1, 3).clone();
  EXPECT_EQ(part.shape(), Shape({2, 33}));
  EXPECT_EQ(part.nbytes(), part.storage()->bytes());
  EXPECT_TRUE(bit_equal(part.to(Device::kCpu), other.slice(0, 1, 3).clone()));
  // f16 too (no conversion on the way).
  const Tensor h16 = to_dtype(host, kF16);
  EXPECT_TRUE(bit_equal(h16.to(Device::kCuda).clone().to(Device::kCpu), h16));
}

TEST_F(CudaTensor, RawCopiesAndFillsTouchTheBytesAsked) {
  const Tensor src = randn({64}, 2550), start = randn({64}, 2551);
  Tensor a = src.to(Device::kCuda), b = start.to(Device::kCuda);
  // b[8:24] = a[0:16]; b[40:48] = 0.
  cuda::copy_device_to_device(static_cast<float*>(b.raw_data()) + 8, a.raw_data(), 16 * sizeof(float));
  cuda::fill_zero(static_cast<float*>(b.raw_data()) + 40, 8 * sizeof(float));
  std::vector<float> want = start.to_vector<float>();
  for (int i = 0; i < 16; ++i) want[8 + static_cast<std::size_t>(i)] = src.data<float>()[i];
  for (int i = 40; i < 48; ++i) want[static_cast<std::size_t>(i)] = 0.0f;
  std::vector<float> got(64);
  cuda::copy_device_to_host(got.data(), b.raw_data(), 64 * sizeof(float));
  EXPECT_EQ(got, want);
}

// ---- errors --------------------------------------------------------------------

TEST_F(CudaOps, MixingDevicesInOneOpIsAnError) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "needs two devices";
  const Tensor h = randn({4, 8}, 2600), w = randn({3, 8}, 2601);
  const Tensor d = h.to(Device::kCuda), wd = w.to(Device::kCuda);
  using sc::test::expect_error;
  expect_error([&] { add(h, d); }, {"add", "different devices"});
  expect_error([&] { add(d, h); }, {"add", "different devices"});
  expect_error([&] { linear(d, w); }, {"linear", "different devices"});
  expect_error([&] { linear(d, wd, randn({3}, 2602)); }, {"linear", "different devices"});
  expect_error([&] { matmul(h, transpose(wd, 0, 1)); }, {"matmul", "different devices"});
  expect_error([&] { concat({h, d}, 0); }, {"concat"});
  expect_error([&] { embedding(Tensor::from_vector_i64({1}, std::vector<std::int64_t>{0}), wd); },
               {"embedding", "different devices"});
  const Tensor q = randn({1, 1, 4, 8}, 2603).to(Device::kCuda);
  AttentionOptions o;
  o.mask = Tensor::zeros({4, 4});  // on the CPU
  expect_error([&] { attention(q, q, q, o); }, {"attention", "different devices"});
  expect_error(
      [&] {
        group_norm(d.reshape({1, 4, 8}), 2, randn({4}, 2604), Tensor());
      },
      {"group_norm", "different devices"});
}

TEST_F(CudaOps, MismatchedDtypesOnTheGpuAreAnError) {
  if (test::cpu_stand_in()) GTEST_SKIP() << "needs f16 on the GPU";
  using sc::test::expect_error;
  const Tensor a16 = upload(randn({4, 8}, 2700), kF16), a32 = upload(randn({4, 8}, 2701));
  const Tensor b16 = upload(randn({4, 8}, 2702), kBF16);
  expect_error([&] { add(a16, a32); }, {"add", "different dtypes"});
  expect_error([&] { mul(a16, b16); }, {"mul", "different dtypes"});
  expect_error([&] { linear(a16, upload(randn({3, 8}, 2703))); }, {"linear", "different dtypes"});
  expect_error(
      [&] {
        linear(a16, upload(randn({3, 8}, 2704), kF16), upload(randn({3}, 2705)));
      },
      {"linear", "different dtypes"});
  expect_error([&] { matmul(a32, transpose(a16, 0, 1)); }, {"matmul", "different dtypes"});
  expect_error([&] { layer_norm(a16, upload(randn({8}, 2706)), Tensor()); }, {"layer_norm", "different dtypes"});
  const Tensor q16 = upload(randn({1, 1, 4, 8}, 2707), kF16), k32 = upload(randn({1, 1, 4, 8}, 2708));
  expect_error([&] { attention(q16, k32, k32); }, {"attention", "different dtypes"});
  expect_error([&] { concat({a16, a32}, 0); }, {"concat"});
  // Integer data into float ops.
  const Tensor i32 = upload(randint({4, 8}, 2709, -5, 5, kI32));
  expect_error([&] { silu(i32); }, {"silu", "floating-point"});
  expect_error([&] { add(i32, i32); }, {"add", "floating-point"});
}

// CPU-side: these run (and must pass) with or without a GPU.

TEST(CudaOpsOnCpu, HalfPrecisionCpuTensorsAreRefused) {
  using sc::test::expect_error;
  for (DType dt : {kF16, kBF16}) {
    const Tensor x = to_dtype(randn({2, 4, 8}, 2800), dt);
    const Tensor w = to_dtype(randn({3, 8}, 2801), dt);
    const Tensor q = to_dtype(randn({1, 2, 4, 8}, 2802), dt);
    const Tensor img = to_dtype(randn({1, 4, 5, 5}, 2803), dt);
    const Tensor cw = to_dtype(randn({2, 4, 3, 3}, 2804), dt);
    const std::vector<std::string> cpu_f32 = {"CPU backend computes in f32"};
    expect_error([&] { add(x, x); }, cpu_f32);
    expect_error([&] { silu(x); }, cpu_f32);
    expect_error([&] { add_scalar(x, 1.0f); }, cpu_f32);
    expect_error([&] { geglu(x); }, cpu_f32);
    expect_error([&] { linear(x, w); }, cpu_f32);
    expect_error([&] { matmul(x, transpose(x, 1, 2)); }, cpu_f32);
    expect_error([&] { softmax(x); }, cpu_f32);
    expect_error([&] { layer_norm(x, Tensor(), Tensor()); }, cpu_f32);
    expect_error([&] { group_norm(x, 2, Tensor(), Tensor(), 1e-5f, true); }, cpu_f32);
    expect_error([&] { attention(q, q, q); }, cpu_f32);
    expect_error([&] { conv2d(img, cw); }, cpu_f32);
    expect_error([&] { upsample_nearest2x(img); }, cpu_f32);
  }
}

TEST(CudaOpsOnCpu, MismatchedDtypesOnTheCpuAreAnError) {
  using sc::test::expect_error;
  const Tensor f = randn({4, 8}, 2900);
  const Tensor i = randint({4, 8}, 2901, -3, 3, kI32);
  const Tensor h = to_dtype(f, kF16);
  expect_error([&] { add(f, i); }, {"add", "floating-point"});
  expect_error([&] { add(f, h); }, {"add", "f16"});
  expect_error([&] { linear(f, to_dtype(randn({3, 8}, 2902), kI64)); }, {"linear"});
  expect_error([&] { matmul(f, to_dtype(transpose(f, 0, 1), kBF16)); }, {"matmul"});
  expect_error([&] { concat({f, h}, 0); }, {"concat"});
}

TEST(CudaOpsOnCpu, WeightPlacementRefusesWhatTheCpuCannotRun) {
  using sc::test::expect_error;
  WeightSource w = WeightSource::from_manifest({{"a", "F32", {2}}}, "test manifest");
  expect_error([&] { w.set_placement(Device::kCpu, kF16); }, {"test manifest", "f16"});
  expect_error([&] { w.set_placement(Device::kCpu, kBF16); }, {"test manifest", "bf16"});
  expect_error([&] { w.set_placement(Device::kCuda, kI32); }, {"test manifest", "i32"});
  EXPECT_EQ(w.device(), Device::kCpu);
  EXPECT_EQ(w.dtype(), kF32);
  w.set_placement(Device::kCuda, kF16);  // allowed whether or not a GPU is here; loads need one
  EXPECT_EQ(w.device(), Device::kCuda);
  EXPECT_EQ(w.dtype(), kF16);
}

TEST(CudaOpsOnCpu, AskingForTheGpuWithoutOneIsAClearError) {
  // Runs everywhere: without a GPU every way onto it says why; with one the
  // same calls work.
  const Tensor h = randn({3}, 3000);
  if (cuda::available()) {
    EXPECT_TRUE(cuda::unavailable_reason().empty());
    EXPECT_NO_THROW(cuda::require_available("test"));
    EXPECT_EQ(h.to(Device::kCuda).device(), Device::kCuda);
    EXPECT_EQ(Tensor::zeros({3}, kF16, Device::kCuda).device(), Device::kCuda);
    return;
  }
  const std::string why = cuda::unavailable_reason();
  EXPECT_FALSE(why.empty());
  using sc::test::expect_error;
  expect_error([&] { h.to(Device::kCuda); }, {why});
  expect_error([&] { Tensor::empty({3}, kF32, Device::kCuda); }, {why});
  expect_error([&] { Tensor::zeros({3}, kF16, Device::kCuda); }, {why});
  expect_error([&] { cuda::require_available("the test"); }, {"the test", why});
  expect_error(
      [] {
        cuda::Graph g;
        g.capture([] {});
      },
      {why});
  EXPECT_NO_THROW(cuda::synchronize());  // nothing to wait for
  EXPECT_EQ(cuda::memory_stats().cuda_malloc_calls, 0u);
}

// ---- the caching allocator -----------------------------------------------------

// A fixed-shape frame's worth of ops, f16, from an upload to a download.
struct Frame {
  Tensor w1, b1, cw, cb, gw, gb, w2;
  explicit Frame(DType dt)
      : w1(upload(randn({64, 64}, 3100, 0.125f), dt)),
        b1(upload(randn({64}, 3101), dt)),
        cw(upload(randn({16, 16, 3, 3}, 3102, 0.1f), dt)),
        cb(upload(randn({16}, 3103), dt)),
        gw(upload(randn({16}, 3104), dt)),
        gb(upload(randn({16}, 3105), dt)),
        w2(upload(randn({64, 256}, 3106, 0.06f), dt)) {}

  Tensor run(const Tensor& host, DType dt) const {
    const Tensor x = upload(host, dt);  // [2, 16, 16, 16]
    Conv2dParams p;
    p.padding = {1, 1};
    Tensor h = conv2d(x, cw, cb, p);
    h = group_norm(h, 4, gw, gb, 1e-5f, true);
    h = upsample_nearest2x(avg_pool2d(h));
    Tensor seq = permute(h, {0, 2, 3, 1}).reshape({2, 256, 16});  // [B, S, C]
    seq = concat({seq, seq, seq, seq}, 2);                        // C 64
    const Tensor proj = linear(seq, w1, b1);
    const Tensor q = permute(proj.reshape({2, 256, 4, 16}), {0, 2, 1, 3});
    const Tensor a = attention(q, q, q);
    seq = add(seq, permute(a, {0, 2, 1, 3}).reshape({2, 256, 64}));
    seq = layer_norm(geglu(matmul(seq, w2)), Tensor(), Tensor());  // [2, 256, 128]
    const Tensor s = softmax(scale(seq, 0.5f));
    return download(slice(s, 1, 0, 256, 3));
  }
};

TEST_F(CudaAllocator, SteadyStateMakesNoCudaMalloc) {
  const Frame frame(kF16);
  const Tensor input = randn({2, 16, 16, 16}, 3110);
  const Tensor first = frame.run(input, kF16);  // the warm-up
  cuda::synchronize();
  const cuda::MemoryStats before = cuda::memory_stats();
  EXPECT_GT(before.cuda_malloc_calls, 0u);
  EXPECT_GT(before.bytes_cached, 0u) << "the frame's temporaries went back to the cache";
  for (int i = 0; i < 10; ++i) {
    const Tensor out = frame.run(randn({2, 16, 16, 16}, 3111 + static_cast<std::uint32_t>(i)), kF16);
    ASSERT_EQ(out.shape(), first.shape());
  }
  cuda::synchronize();
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.cuda_malloc_calls, before.cuda_malloc_calls) << "cudaMalloc after the first frame";
  EXPECT_EQ(after.cuda_free_calls, before.cuda_free_calls) << "cudaFree after the first frame";
  EXPECT_EQ(after.bytes_in_use, before.bytes_in_use) << "a frame leaked GPU memory";
  EXPECT_GE(after.peak_bytes_in_use, after.bytes_in_use);
  // Same input, same output: reused blocks carry no stale data into a result.
  EXPECT_TRUE(bit_equal(frame.run(input, kF16), first));
}

TEST_F(CudaAllocator, StatsCountTensorsInUse) {
  cuda::synchronize();
  const cuda::MemoryStats base = cuda::memory_stats();
  {
    const Tensor t = Tensor::empty({3 << 20}, DType::kU8, Device::kCuda);  // 3 MiB
    const cuda::MemoryStats with = cuda::memory_stats();
    EXPECT_GE(with.bytes_in_use, base.bytes_in_use + (3u << 20));
    EXPECT_LE(with.bytes_in_use, base.bytes_in_use + (5u << 20)) << "rounding costs at most 2 MiB";
    EXPECT_GE(with.peak_bytes_in_use, with.bytes_in_use);
  }
  const cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_EQ(after.bytes_in_use, base.bytes_in_use);
  EXPECT_GE(after.bytes_cached, 3u << 20) << "a freed block stays cached";
  // release_cached_memory gives cached blocks back to the driver.
  cuda::release_cached_memory();
  const cuda::MemoryStats released = cuda::memory_stats();
  EXPECT_EQ(released.bytes_cached, 0u);
  EXPECT_GT(released.cuda_free_calls, after.cuda_free_calls);
}

TEST_F(CudaAllocator, OutOfMemoryIsAClearError) {
  using sc::test::expect_error;
  // 1e15 bytes: no GPU has that.
  expect_error([] { Tensor::empty({250'000'000'000'000LL}, kF32, Device::kCuda); }, {"out of memory", "MiB"});
  // Nothing is left half-done: the GPU still computes.
  const Tensor x = randn({3, 5}, 3200);
  EXPECT_LT(relative_l2(download(add(upload(x), upload(x))), scale(x, 2.0f)), 1e-7);
}

// ---- CUDA graphs ---------------------------------------------------------------

// linear -> group_norm + silu -> attention -> add, on fixed shapes.
struct SmallBlock {
  Tensor w1, b1, gw, gb, wk, wv;
  explicit SmallBlock(DType dt)
      : w1(upload(randn({64, 64}, 3300, 0.125f), dt)),
        b1(upload(randn({64}, 3301), dt)),
        gw(upload(randn({16}, 3302, 0.5f, 1.0f), dt)),
        gb(upload(randn({16}, 3303), dt)),
        wk(upload(randn({64, 64}, 3304, 0.125f), dt)),
        wv(upload(randn({64, 64}, 3305, 0.125f), dt)) {}

  // x [2, 16, 64]: 16 channels of 64 for group_norm, 16 tokens of 4 heads x 16 for attention.
  Tensor operator()(const Tensor& x) const {
    const Tensor h = linear(x, w1, b1);
    const Tensor g = group_norm(h, 4, gw, gb, 1e-5f, true);
    auto heads = [](const Tensor& t) { return permute(t.reshape({2, 16, 4, 16}), {0, 2, 1, 3}); };
    const Tensor a = attention(heads(g), heads(linear(x, wk)), heads(linear(x, wv)));
    return add(x, permute(a, {0, 2, 1, 3}).reshape({2, 16, 64}));
  }
};

TEST_F(CudaGraph, ReplayEqualsEagerAndFollowsNewInputs) {
  for (DType dt : {kF16, kF32}) {
    SCOPED_TRACE(to_string(dt));
    const SmallBlock block(dt);
    const Tensor first = randn({2, 16, 64}, 3310), second = randn({2, 16, 64}, 3311);
    Tensor x = upload(first, dt);  // the graph's static input
    const Tensor eager_first = download(block(x));
    cuda::synchronize();

    cuda::Graph graph;
    EXPECT_FALSE(graph.captured());
    Tensor out;
    graph.capture([&] {
      EXPECT_TRUE(cuda::capturing());
      out = block(x);
    });
    EXPECT_FALSE(cuda::capturing());
    ASSERT_TRUE(graph.captured());
    EXPECT_GT(graph.nodes(), 0u);
    ASSERT_TRUE(out.defined());
    EXPECT_EQ(out.device(), Device::kCuda);
    EXPECT_EQ(out.dtype(), dt);

    graph.replay();
    cuda::synchronize();
    EXPECT_TRUE(bit_equal(download(out), eager_first)) << "replay vs eager";

    // New values into the same buffer, then replay again.
    const Tensor second_dt = to_dtype(second, dt);
    cuda::copy_host_to_device(x.raw_data(), second_dt.raw_data(), second_dt.nbytes());
    const cuda::MemoryStats before = cuda::memory_stats();
    graph.replay();
    cuda::synchronize();
    const Tensor replayed = download(out);
    EXPECT_EQ(cuda::memory_stats().cuda_malloc_calls, before.cuda_malloc_calls) << "replay allocated";
    const Tensor eager_second = download(block(upload(second, dt)));
    EXPECT_TRUE(bit_equal(replayed, eager_second)) << "replay on new input vs eager";
    EXPECT_GT(relative_l2(replayed, eager_first), 0.05) << "the replay ignored the new input";
    for (int i = 0; i < 20; ++i) graph.replay();
    cuda::synchronize();
    EXPECT_TRUE(bit_equal(download(out), eager_second)) << "after 20 more replays";
  }
}

TEST_F(CudaGraph, CapturedBlockMatchesTheCpu) {
  // The graph computes what the CPU does (not only what eager CUDA does).
  const SmallBlock gpu_block(kF32);
  const Tensor input = randn({2, 16, 64}, 3320);
  Tensor x = upload(input);
  cuda::Graph graph;
  Tensor out;
  graph.capture([&] { out = gpu_block(x); });
  graph.replay();
  // The same weights on the CPU.
  SmallBlock cpu_block(kF32);
  for (Tensor* t : {&cpu_block.w1, &cpu_block.b1, &cpu_block.gw, &cpu_block.gb, &cpu_block.wk, &cpu_block.wv}) {
    *t = t->to(Device::kCpu);
  }
  EXPECT_LT(relative_l2(download(out), cpu_block(input)), test::kAttentionTol(kF32));
}

TEST_F(CudaGraph, HostCopiesInsideCaptureAreAnError) {
  using sc::test::expect_error;
  const Tensor host = randn({4, 4}, 3400);
  const Tensor dev = upload(host);
  {
    cuda::Graph graph;
    expect_error([&] { graph.capture([&] { (void)host.to(Device::kCuda); }); }, {"capture"});
    EXPECT_FALSE(graph.captured());
    EXPECT_FALSE(cuda::capturing());
  }
  {
    cuda::Graph graph;
    expect_error([&] { graph.capture([&] { (void)add(dev, dev).to(Device::kCpu); }); }, {"capture"});
    EXPECT_FALSE(graph.captured());
  }
  {
    cuda::Graph graph;
    expect_error([&] { graph.replay(); }, {"captured"});
  }
  // The stream still works after the failed captures.
  EXPECT_LT(relative_l2(download(add(dev, dev)), scale(host, 2.0f)), 1e-7);
  cuda::Graph graph;
  Tensor out;
  graph.capture([&] { out = scale(dev, 3.0f); });
  graph.replay();
  EXPECT_LT(relative_l2(download(out), scale(host, 3.0f)), 1e-7);
}

TEST_F(CudaGraph, TheDeviceNeutralFacadeRecordsAndReplays) {
  // engine/graph.h as a pipeline uses it: capture once, copy_into new input
  // values (from the GPU and from the host), replay, time the replay.
  const Tensor host = randn({4, 8}, 3450);
  Tensor x = upload(host);
  ASSERT_TRUE(Graph::supported(Device::kCuda));
  Graph graph(Device::kCuda);
  Tensor out;
  graph.capture([&] { out = scale(x, 2.0f); });
  EXPECT_TRUE(graph.captured());
  EXPECT_GT(graph.nodes(), 0u);
  const Tensor next = randn({4, 8}, 3451);
  copy_into(x, upload(next));
  graph.replay();
  EXPECT_LT(relative_l2(download(out), scale(next, 2.0f)), 1e-7);
  copy_into(x, host);
  StageTimer timer(Device::kCuda);
  timer.start();
  graph.replay();
  timer.stop();
  Tensor back = Tensor::zeros({4, 8});
  copy_into(back, out);
  EXPECT_LT(relative_l2(back, scale(host, 2.0f)), 1e-7);
  double total_s = 0;
  timer.collect(&total_s);
  EXPECT_GT(total_s, 0.0);
}

TEST_F(CudaTimer, MeasuresGpuWork) {
  const Tensor a = upload(randn({512, 512}, 3500), kF16);
  (void)matmul(a, a);  // plans the GEMM outside the timed region
  cuda::Timer timer;
  timer.start();
  for (int i = 0; i < 10; ++i) (void)matmul(a, a);
  timer.stop();
  const float ms = timer.milliseconds();
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 10000.0f);
}

}  // namespace
}  // namespace sc::engine
