#pragma once
// Shared by the CUDA tests (cuda_ops_test.cpp, cuda_models_test.cpp): the
// fixtures that skip without a GPU, seeded random inputs, moving tensors to
// the GPU in a chosen dtype and back, and the comparisons against the CPU
// reference backend.
//
// How a cross-backend check works: inputs are made as f32 on the CPU and first
// rounded to the dtype under test (so both backends see the same values); the
// CPU computes in f32 from those, the GPU from the same values stored in that
// dtype, converted on the host so the op under test is the only GPU work. The
// GPU result comes back, is widened to f32 on the host and compared.
//
// SC_CUDA_TEST_ON_CPU=1 on a machine without a GPU runs the cross-backend
// tests with the CPU standing in for the GPU, f32 only (f16 / bf16 cases are
// left out): every CPU reference, shape and argument of the tests is then
// exercised, so a mistake in a test shows up before it reaches a GPU machine.
// It checks the tests, not a backend. Runtime tests (allocator, graphs,
// copies) still skip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cuda/runtime.h"
#include "engine/half.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "model_test_util.h"

namespace sc::engine::test {

// The CPU stands in for the GPU (see above).
inline bool cpu_stand_in() {
  static const bool on = [] {
    const char* v = std::getenv("SC_CUDA_TEST_ON_CPU");
    return v && std::string(v) == "1" && !cuda::available();
  }();
  return on;
}

// Where the "GPU" side of a check runs: CUDA, or the CPU when standing in.
inline Device gpu() { return cpu_stand_in() ? Device::kCpu : Device::kCuda; }

// Cross-backend tests: skipped without a GPU (unless the CPU stands in).
class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda::available() && !cpu_stand_in()) {
      GTEST_SKIP() << "no usable CUDA GPU: " << cuda::unavailable_reason();
    }
  }
};

// Tests of the CUDA runtime itself (copies, allocator, graphs): a real GPU only.
class CudaRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda::available()) GTEST_SKIP() << "no usable CUDA GPU: " << cuda::unavailable_reason();
  }
};

// The float dtypes a test runs in: all of `want` on a GPU, f32 alone when the
// CPU stands in.
inline std::vector<DType> float_dtypes(std::initializer_list<DType> want = {DType::kF32, DType::kF16, DType::kBF16}) {
  std::vector<DType> out;
  for (DType d : want) {
    if (!cpu_stand_in() || d == DType::kF32) out.push_back(d);
  }
  return out;
}

// ---- inputs ------------------------------------------------------------------

// Seeded normal values, f32 on the CPU.
inline Tensor randn(const Shape& shape, std::uint32_t seed, float stddev = 1.0f, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(static_cast<std::size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(shape, v);
}

// Seeded uniform values in [lo, hi), f32 on the CPU.
inline Tensor randu(const Shape& shape, std::uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(shape, v);
}

// Seeded integers in [lo, hi], stored as `dtype` (i32, i64, or a float type
// holding whole numbers: many ties, for argmax / topk).
inline Tensor randint(const Shape& shape, std::uint32_t seed, std::int64_t lo, std::int64_t hi, DType dtype) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(lo, hi);
  std::vector<std::int64_t> v(static_cast<std::size_t>(shape.numel()));
  for (std::int64_t& x : v) x = dist(rng);
  return to_dtype(Tensor::from_vector_i64(shape, v), dtype);
}

// The values `dtype` can hold, kept in f32 (an f32 CPU tensor).
inline Tensor round_to(const Tensor& x, DType dtype) {
  if (!x.defined() || x.dtype() != DType::kF32 || dtype == DType::kF32) return x;
  return to_dtype(to_dtype(x, dtype), DType::kF32);
}

// A CPU tensor on the GPU; f32 data stored as `dtype` (converted on the host).
inline Tensor upload(const Tensor& x, DType dtype = DType::kF32) {
  if (!x.defined()) return x;
  const Tensor h = x.dtype() == DType::kF32 ? to_dtype(x, dtype) : x;
  if (cpu_stand_in()) return h.clone();  // never alias the reference's input
  return h.to(Device::kCuda);
}

// A GPU tensor back on the CPU; f16 / bf16 widened to f32 (on the host).
inline Tensor download(const Tensor& x) {
  const Tensor h = x.to(Device::kCpu);
  return h.dtype() == DType::kF16 || h.dtype() == DType::kBF16 ? to_dtype(h, DType::kF32) : h;
}

// ---- comparisons -------------------------------------------------------------

inline std::string element_string(const Tensor& t, std::int64_t i) {
  const auto* p = static_cast<const std::byte*>(t.raw_data()) + static_cast<std::size_t>(i) * dtype_size(t.dtype());
  std::ostringstream s;
  switch (t.dtype()) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, p, 4);
      s << v;
      break;
    }
    case DType::kF16:
    case DType::kBF16: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      s << (t.dtype() == DType::kF16 ? f16_to_f32(v) : bf16_to_f32(v)) << " (0x" << std::hex << v << ")";
      break;
    }
    case DType::kI32: {
      std::int32_t v;
      std::memcpy(&v, p, 4);
      s << v;
      break;
    }
    case DType::kI64: {
      std::int64_t v;
      std::memcpy(&v, p, 8);
      s << v;
      break;
    }
    case DType::kU8:
      s << static_cast<int>(static_cast<std::uint8_t>(*p));
      break;
  }
  return s.str();
}

// Same dtype, shape and bytes (CPU tensors); says where they differ.
inline ::testing::AssertionResult bit_equal(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype() || !(got.shape() == want.shape())) {
    return ::testing::AssertionFailure() << "got " << got.describe() << ", want " << want.describe();
  }
  const std::size_t es = dtype_size(got.dtype());
  const auto* g = static_cast<const std::byte*>(got.raw_data());
  const auto* w = static_cast<const std::byte*>(want.raw_data());
  std::int64_t bad = 0, first = -1;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    if (std::memcmp(g + static_cast<std::size_t>(i) * es, w + static_cast<std::size_t>(i) * es, es) != 0) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.numel() << " elements of " << got.describe()
                                       << " differ; the first at flat index " << first << ": got "
                                       << element_string(got, first) << ", want " << element_string(want, first);
}

// Relative L2 tolerances by kind of op and dtype. f32 sits well above the
// rounding of a different summation order and well below TF32 (~5e-4); f16 /
// bf16 well above the rounding of the output (~2e-4 / ~1.6e-3 RMS) and below
// what 16-bit accumulation gives.
struct Tolerance {
  double f32, f16, bf16;
  double operator()(DType dtype) const { return dtype == DType::kF16 ? f16 : dtype == DType::kBF16 ? bf16 : f32; }
};
inline constexpr Tolerance kElementwiseTol{1e-5, 1e-3, 8e-3};
inline constexpr Tolerance kNormTol{1e-5, 2e-3, 1e-2};
inline constexpr Tolerance kGemmTol{2e-5, 2e-3, 1e-2};
inline constexpr Tolerance kAttentionTol{2e-5, 4e-3, 2e-2};
inline constexpr Tolerance kScanTol{1e-5, 2e-3, 1e-2};

// SC_CUDA_TEST_VERBOSE=1 prints every measured error (to size tolerances on a GPU).
inline void report(const std::string& what, DType dtype, double err, double tol) {
  static const bool verbose = [] {
    const char* v = std::getenv("SC_CUDA_TEST_VERBOSE");
    return v && std::string(v) == "1";
  }();
  if (verbose) std::printf("[rel-l2] %-60s %-4s %.3g (tolerance %.3g)\n", what.c_str(), to_string(dtype), err, tol);
}

struct BothResults {
  Tensor cpu;  // f32 (or integer) on the CPU
  Tensor gpu;  // downloaded and widened to f32 (integers as they are)
};

// Runs `op` on the CPU reference and on the GPU. Float inputs (f32 CPU
// tensors) are rounded to `dtype` for both; integer and undefined inputs pass
// as they are. Checks that the GPU result stays on the GPU in the expected
// dtype (floats in `dtype`, integers unchanged).
template <typename Op>
BothResults run_both(DType dtype, const std::vector<Tensor>& inputs, Op&& op) {
  std::vector<Tensor> host, dev;
  for (const Tensor& t : inputs) {
    host.push_back(round_to(t, dtype));
    dev.push_back(t.defined() && t.dtype() == DType::kF32 ? upload(t, dtype) : upload(t));
  }
  const Tensor want = op(host);
  const Tensor got = op(dev);
  EXPECT_EQ(got.device(), gpu()) << "the result of a GPU op must stay on the GPU";
  EXPECT_EQ(got.dtype(), want.dtype() == DType::kF32 ? dtype : want.dtype());
  return {want, download(got)};
}

// The GPU result within `tol` relative L2 of the CPU's.
template <typename Op>
void expect_close(const std::string& what, DType dtype, const std::vector<Tensor>& inputs, Op&& op,
                  const Tolerance& tol) {
  SCOPED_TRACE(what + " in " + to_string(dtype));
  const BothResults r = run_both(dtype, inputs, op);
  const double err = relative_l2(r.gpu, r.cpu);
  report(what, dtype, err, tol(dtype));
  EXPECT_LT(err, tol(dtype)) << what << " in " << to_string(dtype);
}

// The GPU result bit for bit the CPU's (rounded to `dtype` where the op
// writes floats): data movement, selection, integer arithmetic.
template <typename Op>
void expect_exact(const std::string& what, DType dtype, const std::vector<Tensor>& inputs, Op&& op) {
  SCOPED_TRACE(what + " in " + to_string(dtype));
  const BothResults r = run_both(dtype, inputs, op);
  EXPECT_TRUE(bit_equal(r.gpu, round_to(r.cpu, dtype))) << what << " in " << to_string(dtype);
}

}  // namespace sc::engine::test
