// Tensor, storage and the device seam; f16/bf16 conversions exhaustively.
#include "engine/tensor.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "base/error.h"
#include "engine/cuda/runtime.h"
#include "engine/half.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

TEST(Shape, BasicsAndLimits) {
  const Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.dim(-1), 4);
  EXPECT_EQ(s.to_string(), "[2, 3, 4]");
  EXPECT_EQ(Shape{}.numel(), 1);  // a scalar
  EXPECT_NO_THROW((Shape{1, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_THROW((Shape{1, 1, 1, 1, 1, 1, 1, 1, 1}), Error);
  EXPECT_THROW((Shape{2, -1}), Error);
  EXPECT_THROW(s.dim(3), Error);
  EXPECT_THROW(s.dim(-4), Error);
}

TEST(Tensor, CreationAndTypedAccess) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  Tensor t = Tensor::from_vector({2, 3}, v);
  EXPECT_EQ(t.to_vector<float>(), v);
  EXPECT_EQ(t.dtype(), DType::kF32);
  EXPECT_EQ(t.device(), Device::kCpu);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.describe(), "f32[2, 3] on cpu");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
  EXPECT_THROW(t.data<std::int32_t>(), Error);
  EXPECT_THROW(Tensor::from_vector({4}, v), Error);
  EXPECT_EQ(Tensor::zeros({3}, DType::kI64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(Tensor::full({2}, 1.5f).to_vector<float>(), (std::vector<float>{1.5f, 1.5f}));
  EXPECT_FALSE(Tensor().defined());
  EXPECT_THROW(Tensor().raw_data(), Error);
}

TEST(Tensor, ReshapeAndSliceAreViews) {
  Tensor t = Tensor::from_vector({2, 3, 2}, std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const Tensor r = t.reshape({3, -1});
  EXPECT_EQ(r.shape(), (Shape{3, 4}));
  EXPECT_TRUE(r.shares_storage_with(t));
  EXPECT_THROW(t.reshape({5, -1}), Error);
  EXPECT_THROW(t.reshape({-1, -1}), Error);
  EXPECT_THROW(t.reshape(Shape{13}), Error);

  const Tensor s = t.slice(0, 1, 2);  // leading dim: contiguous
  EXPECT_EQ(s.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{6, 7, 8, 9, 10, 11}));
  EXPECT_TRUE(s.shares_storage_with(t));
  const Tensor s2 = s.slice(1, 1, 3);  // leading dims all 1: still contiguous
  EXPECT_EQ(s2.to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_THROW(t.slice(1, 0, 2), Error);  // would need strides: ops slice() copies
  EXPECT_THROW(t.slice(0, 1, 3), Error);
  EXPECT_EQ(t.select(1).shape(), (Shape{3, 2}));
  EXPECT_EQ(t.select(1).to_vector<float>()[0], 6.0f);

  // Writes through a view land in the shared storage; clone() detaches.
  Tensor c = t.clone();
  t.slice(0, 1, 2).data<float>()[0] = 100.0f;
  EXPECT_EQ(t.to_vector<float>()[6], 100.0f);
  EXPECT_EQ(c.to_vector<float>()[6], 6.0f);

  // Ops read views at their offset.
  const Tensor w = Tensor::from_vector({1, 2}, std::vector<float>{1, 1});
  EXPECT_EQ(linear(t.select(1), w).to_vector<float>(), (std::vector<float>{107, 17, 21}));
}

TEST(Tensor, WrapChecksBounds) {
  auto storage = std::make_shared<Storage>(cpu_allocator(), 16);
  EXPECT_NO_THROW(Tensor::wrap(storage, 8, {2}, DType::kF32));
  EXPECT_THROW(Tensor::wrap(storage, 12, {2}, DType::kF32), Error);
  EXPECT_THROW(Tensor::wrap(storage, 32, {0}, DType::kF32), Error);
}

// A stand-in CUDA allocator (host memory) shows the seam: tensors can live on
// another device, ops dispatch on it and say plainly that no kernel exists,
// and mixing devices is refused.
class FakeDeviceAllocator final : public Allocator {
 public:
  Device device() const override { return Device::kCuda; }
  void* allocate(std::size_t bytes) override { return std::malloc(bytes ? bytes : 1); }
  void deallocate(void* p, std::size_t) noexcept override { std::free(p); }
};

TEST(Tensor, DeviceSeam) {
  const Tensor host = Tensor::full({2}, 1.0f);
  if (!cuda::available()) {
    EXPECT_THROW(Tensor::empty({2}, DType::kF32, Device::kCuda), Error);
    EXPECT_THROW(host.to(Device::kCuda), Error);
  }
  FakeDeviceAllocator fake;
  set_allocator(Device::kCuda, &fake);
  {
    const Tensor dev = Tensor::empty({2}, DType::kF32, Device::kCuda);
    EXPECT_EQ(dev.device(), Device::kCuda);
    EXPECT_THROW(dev.data<float>(), Error);  // not host memory
    // Without a usable GPU (this machine) the op says why instead of running:
    // "silu: CUDA is not usable: ..." or, built without nvcc, "silu: no cuda
    // kernel in this build ...".
    if (!cuda::available()) {
      try {
        silu(dev);
        FAIL();
      } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_EQ(m.rfind("silu: ", 0), 0u) << m;
        EXPECT_TRUE(m.find("CUDA is not usable") != std::string::npos || m.find("no cuda kernel") != std::string::npos)
            << m;
      }
    }
    try {
      add(host, dev);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("different devices"), std::string::npos) << e.what();
    }
  }
  set_allocator(Device::kCuda, nullptr);
  EXPECT_THROW(set_allocator(Device::kCpu, nullptr), Error);
}

// ---- f16 / bf16 --------------------------------------------------------------

double f16_reference(std::uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0) {
    v = std::ldexp(mant, -24);
  } else if (exp == 31) {
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  } else {
    v = std::ldexp(1024 + mant, exp - 25);
  }
  return sign ? -v : v;
}

TEST(Half, F16WideningIsExactForEveryValue) {
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    const float got = f16_to_f32(static_cast<std::uint16_t>(h));
    const double want = f16_reference(static_cast<std::uint16_t>(h));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << "f16 bits " << h;
      ASSERT_EQ(std::signbit(got), (h >> 15) != 0) << h;
    }
  }
}

TEST(Half, F16NarrowingRoundsToNearestEven) {
  // Every finite f16 value survives a round trip; every midpoint between two
  // neighbours goes to the even one; anything off the midpoint goes nearest.
  for (std::uint32_t h = 0; h < 0x7c00; ++h) {
    const auto a = static_cast<std::uint16_t>(h);
    const float fa = f16_to_f32(a);
    ASSERT_EQ(f32_to_f16(fa), a) << h;
    ASSERT_EQ(f32_to_f16(-fa), static_cast<std::uint16_t>(a | 0x8000)) << h;
    if (h == 0x7bff) break;  // no finite neighbour above
    const float fb = f16_to_f32(static_cast<std::uint16_t>(a + 1));
    const float mid = static_cast<float>((static_cast<double>(fa) + fb) / 2);  // exact in f32
    const std::uint16_t even = (a & 1) ? static_cast<std::uint16_t>(a + 1) : a;
    ASSERT_EQ(f32_to_f16(mid), even) << "midpoint above " << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, 0.0f)), a) << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, 1e9f)), static_cast<std::uint16_t>(a + 1)) << h;
  }
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // rounds down to the largest finite
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // the tie goes to even: infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(f32_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::quiet_NaN()) & 0x7fff, 0x7e00);
}

TEST(Half, Bf16RoundTripsAndRoundsToNearestEven) {
  for (std::uint32_t b = 0; b < 0x7f80; ++b) {
    const auto a = static_cast<std::uint16_t>(b);
    const float fa = bf16_to_f32(a);
    ASSERT_EQ(f32_to_bf16(fa), a) << b;
    const std::uint32_t mid_bits = (static_cast<std::uint32_t>(b) << 16) | 0x8000u;
    const std::uint16_t even = (a & 1) ? static_cast<std::uint16_t>(a + 1) : a;
    ASSERT_EQ(f32_to_bf16(std::bit_cast<float>(mid_bits)), even) << b;
    ASSERT_EQ(f32_to_bf16(std::bit_cast<float>(mid_bits + 1)), static_cast<std::uint16_t>(a + 1)) << b;
  }
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()), 0x7fc0);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds up to infinity
}

TEST(ToDtype, IntegersAndSaturation) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = Tensor::from_vector(
      {6}, std::vector<float>{1.9f, -1.9f, std::numeric_limits<float>::quiet_NaN(), 1e20f, -inf, 300.0f});
  EXPECT_EQ(to_dtype(x, DType::kI32).to_vector<std::int32_t>(),
            (std::vector<std::int32_t>{1, -1, 0, std::numeric_limits<std::int32_t>::max(),
                                       std::numeric_limits<std::int32_t>::min(), 300}));
  EXPECT_EQ(to_dtype(x, DType::kU8).to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{1, 0, 0, 255, 0, 255}));
  const Tensor ids = Tensor::from_vector_i64({3}, std::vector<std::int64_t>{-5, 0, 1 << 20});
  EXPECT_EQ(to_dtype(ids, DType::kF32).to_vector<float>(), (std::vector<float>{-5.0f, 0.0f, 1048576.0f}));
  EXPECT_EQ(to_dtype(ids, DType::kI32).to_vector<std::int32_t>(), (std::vector<std::int32_t>{-5, 0, 1 << 20}));
  const Tensor back = to_dtype(to_dtype(x.slice(0, 0, 2), DType::kBF16), DType::kF32);
  EXPECT_EQ(back.to_vector<float>(), (std::vector<float>{1.8984375f, -1.8984375f}));
}

}  // namespace
}  // namespace sc::engine
