// Ops by hand-computed values, by invariants, and by their refusals: every
// bad argument is an sc::Error that names the op and the shapes.
#include "engine/ops.h"

#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"

namespace sc::engine {
namespace {

Tensor random(const Shape& shape, std::uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(shape, v);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0.0;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(static_cast<double>(pa[i]) - pb[i]));
  return m;
}

using test::expect_error;

TEST(Ops, SmallHandComputedResults) {
  const Tensor a = Tensor::from_vector({2, 2}, std::vector<float>{1, 2, 3, 4});
  const Tensor b = Tensor::from_vector({2, 2}, std::vector<float>{5, 6, 7, 8});
  EXPECT_EQ(matmul(a, b).to_vector<float>(), (std::vector<float>{19, 22, 43, 50}));
  EXPECT_EQ(linear(a, b, Tensor::from_vector({2}, std::vector<float>{1, -1})).to_vector<float>(),
            (std::vector<float>{18, 22, 40, 52}));
  EXPECT_EQ(add(a, Tensor::from_vector({2}, std::vector<float>{10, 20})).to_vector<float>(),
            (std::vector<float>{11, 22, 13, 24}));
  EXPECT_EQ(softmax(Tensor::from_vector({2}, std::vector<float>{0, 0})).to_vector<float>(),
            (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(relu(Tensor::from_vector({3}, std::vector<float>{-1, 0, 2})).to_vector<float>(),
            (std::vector<float>{0, 0, 2}));
  EXPECT_EQ(transpose(a, 0, 1).to_vector<float>(), (std::vector<float>{1, 3, 2, 4}));
  EXPECT_EQ(slice(a.reshape({4}), 0, -3, -1).to_vector<float>(), (std::vector<float>{2, 3}));
  EXPECT_EQ(cumsum(a, 1).to_vector<float>(), (std::vector<float>{1, 3, 3, 7}));
  EXPECT_EQ(argmax(a, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1}));
  // 2x2 box filter over a 1x1x2x2 image: the mean.
  const Tensor img = a.reshape({1, 1, 2, 2});
  EXPECT_EQ(conv2d(img, Tensor::full({1, 1, 2, 2}, 0.25f)).to_vector<float>(), std::vector<float>{2.5f});
  EXPECT_EQ(avg_pool2d(img).to_vector<float>(), std::vector<float>{2.5f});
  EXPECT_EQ(max_pool2d(img).to_vector<float>(), std::vector<float>{4.0f});
}

TEST(Ops, TopkAndArgmaxOnTiesAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({6}, std::vector<float>{3, 1, 3, nan, 0, 1});
  const TopK top = topk(x, 3);
  EXPECT_TRUE(std::isnan(top.values.to_vector<float>()[0]));  // NaN ranks first, as in PyTorch
  EXPECT_EQ(top.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 0, 2}));
  const TopK low = topk(x, 2, -1, false);
  EXPECT_EQ(low.indices.to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 1}));
  EXPECT_EQ(argmax(x, 0).to_vector<std::int64_t>(), std::vector<std::int64_t>{3});
  EXPECT_EQ(argmax(Tensor::from_vector({4}, std::vector<float>{1, 5, 5, 2}), 0).to_vector<std::int64_t>(),
            std::vector<std::int64_t>{1});
  EXPECT_EQ(topk(x, 0).values.numel(), 0);
}

// Naive attention from other ops: scores materialised, plain softmax.
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  const std::int64_t sq = q.dim(2), sk = k.dim(2);
  Tensor s = scale(matmul(q, transpose(k, 2, 3)), 1.0f / std::sqrt(static_cast<float>(q.dim(3))));
  if (causal) {
    Tensor mask = Tensor::zeros({sq, sk});
    for (std::int64_t i = 0; i < sq; ++i) {
      for (std::int64_t j = i + (sk - sq) + 1; j < sk; ++j) {
        mask.data<float>()[i * sk + j] = -std::numeric_limits<float>::infinity();
      }
    }
    s = add(s, mask);
  }
  return matmul(softmax(s), v);
}

TEST(Attention, LongSequencesMatchTheNaiveForm) {
  // Several key blocks and query blocks, a ragged last block on both.
  const Tensor q = random({1, 2, 1500, 16}, 1), k = random({1, 2, 1500, 16}, 2), v = random({1, 2, 1500, 16}, 3);
  EXPECT_LT(max_abs_diff(attention(q, k, v), naive_attention(q, k, v, false)), 1e-5);
  AttentionOptions causal;
  causal.causal = true;
  EXPECT_LT(max_abs_diff(attention(q, k, v, causal), naive_attention(q, k, v, true)), 1e-5);
}

TEST(Attention, DecodingAgainstACacheAndGroupedHeads) {
  const Tensor k = random({1, 2, 37, 8}, 4), v = random({1, 2, 37, 8}, 5);
  const Tensor q_all = random({1, 4, 37, 8}, 6);
  AttentionOptions causal;
  causal.causal = true;
  const Tensor full = attention(q_all, k, v, causal);
  // The last query alone, causal against the whole cache, sees every key:
  // the same as the last row of the full causal pass.
  const Tensor last = attention(slice(q_all, 2, 36, 37), k, v, causal);
  EXPECT_LT(max_abs_diff(last, slice(full, 2, 36, 37)), 1e-6);
  // Grouped-query: 4 query heads on 2 KV heads = each KV head repeated twice.
  const Tensor k_rep = concat({slice(k, 1, 0, 1), slice(k, 1, 0, 1), slice(k, 1, 1, 2), slice(k, 1, 1, 2)}, 1);
  const Tensor v_rep = concat({slice(v, 1, 0, 1), slice(v, 1, 0, 1), slice(v, 1, 1, 2), slice(v, 1, 1, 2)}, 1);
  EXPECT_LT(max_abs_diff(full, attention(q_all, k_rep, v_rep, causal)), 1e-6);
}

TEST(Attention, FullyMaskedRowsGiveZerosNotNaN) {
  const Tensor q = random({1, 1, 3, 4}, 7), k = random({1, 1, 5, 4}, 8), v = random({1, 1, 5, 4}, 9);
  AttentionOptions o;
  o.mask = Tensor::full({1, 5}, -std::numeric_limits<float>::infinity());
  for (float x : attention(q, k, v, o).to_vector<float>()) EXPECT_EQ(x, 0.0f);
}

// Packed RGBA8 pixels from a list of {r, g, b, a} values, row-major.
Tensor rgba_pixels(std::int64_t h, std::int64_t w, const std::vector<std::uint8_t>& values) {
  Tensor t = Tensor::empty({h, w, 4}, DType::kU8);
  std::copy(values.begin(), values.end(), t.data<std::uint8_t>());
  return t;
}

TEST(Ops, Rgba8ToImageMapsAndResizesBilinearly) {
  // The same size: each channel is v / 127.5 - 1, alpha ignored.
  const Tensor same = rgba8_to_image(rgba_pixels(1, 2, {0, 255, 51, 7, 255, 0, 102, 9}), 1, 2);
  ASSERT_EQ(same.shape(), Shape({1, 3, 1, 2}));
  const float* v = same.data<float>();
  const float want_same[] = {-1.0f, 1.0f, 1.0f, -1.0f, 51 / 127.5f - 1, 102 / 127.5f - 1};
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(v[i], want_same[i]) << i;
  // Half the size: every output pixel centre lies between four inputs, so it
  // is their mean (torch's bilinear, align_corners=False).
  std::vector<std::uint8_t> px;
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) px.insert(px.end(), {static_cast<std::uint8_t>(10 * x + 40 * y), 0, 255, 255});
  }
  const Tensor half = rgba8_to_image(rgba_pixels(4, 4, px), 2, 2);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 2; ++x) {
      const float mean = (10 * (2 * x + 0.5f) + 40 * (2 * y + 0.5f));
      EXPECT_NEAR(half.data<float>()[y * 2 + x], mean / 127.5f - 1, 1e-6) << x << "," << y;
      EXPECT_FLOAT_EQ(half.data<float>()[4 + y * 2 + x], -1.0f);
      EXPECT_FLOAT_EQ(half.data<float>()[8 + y * 2 + x], 1.0f);
    }
  }
  // Twice the size along x: edges clamp, inner pixels blend 3:1.
  const Tensor twice = rgba8_to_image(rgba_pixels(1, 2, {0, 0, 0, 0, 200, 0, 0, 0}), 1, 4);
  const float want_twice[] = {0, 50, 150, 200};
  for (int x = 0; x < 4; ++x) EXPECT_NEAR(twice.data<float>()[x], want_twice[x] / 127.5f - 1, 1e-6) << x;
}

TEST(Ops, ImageToRgba8ClampsRoundsAndSetsAlpha) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Channel-planar [1, 3, 1, 4]: red -1, 1, 0, NaN; green 5, -5, 0.002, -0.002; blue all 0.5.
  const Tensor image =
      Tensor::from_vector({1, 3, 1, 4}, std::vector<float>{-1, 1, 0, nan, 5, -5, 0.002f, -0.002f, .5f, .5f, .5f, .5f});
  const Tensor px = image_to_rgba8(image);
  ASSERT_EQ(px.shape(), Shape({1, 4, 4}));
  ASSERT_EQ(px.dtype(), DType::kU8);
  const std::uint8_t want[] = {0, 255, 191, 255, 255, 0, 191, 255, 128, 128, 191, 255, 0, 127, 191, 255};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(px.data<std::uint8_t>()[i], want[i]) << i;
}

TEST(Ops, ChannelsLastConvAndUpsampleAreTheChannelsFirstOnesTransposed) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  auto random = [&](const Shape& s) {
    std::vector<float> v(static_cast<std::size_t>(s.numel()));
    for (float& f : v) f = dist(rng);
    return Tensor::from_vector(s, v);
  };
  const Tensor x = random({2, 3, 5, 4}), w = random({6, 3, 3, 3}), b = random({6});
  Conv2dParams p;
  p.stride = {2, 1};
  p.padding = {1, 1};
  const Tensor want = conv2d(x, w, b, p);
  const Tensor got = conv2d_nhwc(permute(x, {0, 2, 3, 1}), permute(w, {0, 2, 3, 1}), b, p);
  ASSERT_EQ(got.shape(), Shape({2, want.dim(2), want.dim(3), 6}));
  const Tensor back = permute(got, {0, 3, 1, 2});
  for (std::int64_t i = 0; i < want.numel(); ++i) EXPECT_FLOAT_EQ(back.data<float>()[i], want.data<float>()[i]);
  const Tensor up = upsample_nearest2x_nhwc(permute(x, {0, 2, 3, 1}));
  const Tensor up_want = upsample_nearest2x(x);
  const Tensor up_back = permute(up, {0, 3, 1, 2});
  for (std::int64_t i = 0; i < up_want.numel(); ++i) EXPECT_EQ(up_back.data<float>()[i], up_want.data<float>()[i]);
  // The channel count is the last dimension.
  expect_error(
      [&] {
        conv2d_nhwc(x, permute(w, {0, 2, 3, 1}), b, p);
      },
      {"conv2d_nhwc", "expects 3 input channels per group", "4 / 1 groups"});
}

// conv3d against the definition, summed in double: every output is the sum
// over channels of the group and the kernel volume, zeros outside.
TEST(Ops, Conv3dIsTheDirectSum) {
  struct Case {
    Shape x, w;
    Conv3dParams p;
  };
  const Case cases[] = {
      {{1, 2, 4, 5, 6}, {3, 2, 3, 3, 3}, {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1}},
      {{2, 4, 5, 4, 7}, {6, 2, 2, 3, 1}, {{2, 1, 3}, {0, 1, 0}, {1, 1, 1}, 2}},
      {{1, 3, 6, 6, 5}, {3, 1, 3, 2, 3}, {{1, 2, 1}, {2, 1, 1}, {2, 1, 2}, 3}},
  };
  std::uint32_t seed = 70;
  for (const Case& c : cases) {
    const Tensor x = random(c.x, seed++), w = random(c.w, seed++), b = random({c.w.dim(0)}, seed++);
    const Tensor y = conv3d(x, w, b, c.p);
    const std::int64_t groups = c.p.groups, cg = c.x.dim(1) / groups, og = c.w.dim(0) / groups;
    ASSERT_EQ(y.rank(), 5);
    const float* px = x.data<float>();
    const float* pw = w.data<float>();
    const float* py = y.data<float>();
    double worst = 0.0;
    for (std::int64_t n = 0; n < y.dim(0); ++n)
      for (std::int64_t o = 0; o < y.dim(1); ++o)
        for (std::int64_t z = 0; z < y.dim(2); ++z)
          for (std::int64_t yy = 0; yy < y.dim(3); ++yy)
            for (std::int64_t xx = 0; xx < y.dim(4); ++xx) {
              double acc = b.data<float>()[o];
              const std::int64_t g = o / og;
              for (std::int64_t ci = 0; ci < cg; ++ci)
                for (std::int64_t kz = 0; kz < c.w.dim(2); ++kz)
                  for (std::int64_t ky = 0; ky < c.w.dim(3); ++ky)
                    for (std::int64_t kx = 0; kx < c.w.dim(4); ++kx) {
                      const std::int64_t iz = z * c.p.stride[0] - c.p.padding[0] + kz * c.p.dilation[0];
                      const std::int64_t iy = yy * c.p.stride[1] - c.p.padding[1] + ky * c.p.dilation[1];
                      const std::int64_t ix = xx * c.p.stride[2] - c.p.padding[2] + kx * c.p.dilation[2];
                      if (iz < 0 || iz >= c.x.dim(2) || iy < 0 || iy >= c.x.dim(3) || ix < 0 || ix >= c.x.dim(4))
                        continue;
                      const std::int64_t ch = g * cg + ci;
                      acc += static_cast<double>(
                                 px[(((n * c.x.dim(1) + ch) * c.x.dim(2) + iz) * c.x.dim(3) + iy) * c.x.dim(4) + ix]) *
                             pw[(((o * cg + ci) * c.w.dim(2) + kz) * c.w.dim(3) + ky) * c.w.dim(4) + kx];
                    }
              const double got = py[(((n * y.dim(1) + o) * y.dim(2) + z) * y.dim(3) + yy) * y.dim(4) + xx];
              worst = std::max(worst, std::fabs(got - acc));
            }
    EXPECT_LT(worst, 1e-4) << "conv3d x" << c.x.to_string() << " w" << c.w.to_string();
  }
  // Depth 1 with a depth-1 kernel is conv2d.
  const Tensor x = random({2, 3, 1, 7, 6}, 90), w = random({4, 3, 1, 3, 3}, 91), b = random({4}, 92);
  const Tensor y3 = conv3d(x, w, b, {{1, 2, 1}, {0, 1, 1}, {1, 1, 1}, 1});
  const Tensor y2 = conv2d(x.reshape({2, 3, 7, 6}), w.reshape({4, 3, 3, 3}), b, {{2, 1}, {1, 1}, {1, 1}, 1});
  EXPECT_EQ(max_abs_diff(y3.reshape(y2.shape()), y2), 0.0);
}

TEST(Ops, GridSampleByHand) {
  // 2x3 image, one channel: values 0..5.
  const Tensor x = Tensor::from_vector({1, 1, 2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5});
  auto sample = [&](float gx, float gy, GridSampleParams p) {
    return grid_sample(x, Tensor::from_vector({1, 1, 1, 2}, std::vector<float>{gx, gy}), p).item();
  };
  GridSampleParams ac{GridSampleMode::kLinear, GridSamplePadding::kZeros, true};
  // align_corners: -1 and 1 are the centres of the corner pixels.
  EXPECT_FLOAT_EQ(sample(-1, -1, ac), 0.0f);
  EXPECT_FLOAT_EQ(sample(1, 1, ac), 5.0f);
  EXPECT_FLOAT_EQ(sample(0, 0, ac), 2.5f);  // between 1 and 4
  EXPECT_FLOAT_EQ(sample(-0.5f, -1, ac), 0.5f);
  // Without: -1 and 1 are the outer edges; the corner's centre is at -1 + 1 / size.
  GridSampleParams edge{GridSampleMode::kLinear, GridSamplePadding::kZeros, false};
  EXPECT_NEAR(sample(-1.0f + 1.0f / 3.0f, -0.5f, edge), 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(sample(-1, -0.5f, edge), 0.0f);  // half of pixel 0 (value 0), half of zero padding
  EXPECT_FLOAT_EQ(sample(1, 0.5f, edge), 2.5f);    // half of pixel 5, half of zeros
  GridSampleParams border{GridSampleMode::kLinear, GridSamplePadding::kBorder, false};
  EXPECT_FLOAT_EQ(sample(1, 0.5f, border), 5.0f);
  EXPECT_FLOAT_EQ(sample(3, -7, border), 2.0f);  // clamped to the top-right corner
  GridSampleParams reflect{GridSampleMode::kLinear, GridSamplePadding::kReflection, true};
  EXPECT_FLOAT_EQ(sample(1.5f, -1, reflect), 1.5f);  // x = 2.5, past the last centre (2): mirrored to 1.5
  GridSampleParams near{GridSampleMode::kNearest, GridSamplePadding::kZeros, true};
  EXPECT_FLOAT_EQ(sample(0.4f, 1, near), 4.0f);   // x 1.4 -> 1
  EXPECT_FLOAT_EQ(sample(0.0f, 0, near), 1.0f);   // y 0.5 rounds half to even: 0
  EXPECT_FLOAT_EQ(sample(1.2f, -1, near), 2.0f);  // x 2.2 -> 2
  EXPECT_FLOAT_EQ(sample(1.6f, -1, near), 0.0f);  // x 2.6 -> 3: outside, zeros
  // An identity grid (align_corners) reproduces a volume exactly, channel by channel.
  const Tensor v = random({1, 2, 3, 4, 5}, 95);
  std::vector<float> g;
  for (int z = 0; z < 3; ++z)
    for (int y = 0; y < 4; ++y)
      for (int xx = 0; xx < 5; ++xx) {
        g.push_back(-1.0f + 2.0f * static_cast<float>(xx) / 4.0f);
        g.push_back(-1.0f + 2.0f * static_cast<float>(y) / 3.0f);
        g.push_back(-1.0f + 2.0f * static_cast<float>(z) / 2.0f);
      }
  const Tensor same = grid_sample(v, Tensor::from_vector({1, 3, 4, 5, 3}, g), ac);
  EXPECT_LT(max_abs_diff(same, v), 1e-6);
  expect_error([&] { grid_sample(v, Tensor::zeros({1, 3, 4, 5, 2})); }, {"grid_sample", "must be [1, ..., 3]"});
  expect_error(
      [&] {
        grid_sample(Tensor::zeros({2, 3}), Tensor::zeros({2, 1, 1, 2}));
      },
      {"grid_sample", "[N, C, H, W] or [N, C, D, H, W]"});
  expect_error(
      [&] {
        conv3d(Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({1, 2, 1, 1, 1}));
      },
      {"conv3d", "x [N, C, D, H, W]"});
}

TEST(OpsBadInput, ShapesDtypesAndRanges) {
  const Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  expect_error([&] { matmul(a, b); }, {"matmul", "f32[2, 3]", "f32[4, 5]", "inner sizes differ"});
  expect_error([&] { linear(a, b); }, {"linear", "input size"});
  expect_error([&] { add(a, b); }, {"add", "do not broadcast"});
  expect_error([&] { silu(to_dtype(a, DType::kF16)); }, {"silu", "f16", "computes in f32"});
  expect_error(
      [&] {
        conv2d(Tensor::zeros({1, 6, 8, 8}), Tensor::zeros({4, 4, 3, 3}), Tensor(), {{1, 1}, {0, 0}, {1, 1}, 4});
      },
      {"conv2d", "groups 4 must divide"});
  expect_error(
      [&] {
        conv2d(Tensor::zeros({1, 3, 2, 2}), Tensor::zeros({4, 3, 3, 3}));
      },
      {"conv2d", "smaller than the kernel"});
  expect_error([&] { group_norm(Tensor::zeros({1, 6, 4}), 4, Tensor(), Tensor()); }, {"group_norm", "4 groups"});
  expect_error(
      [&] {
        rgba8_to_image(Tensor::zeros({4, 4, 3}), 2, 2);
      },
      {"rgba8_to_image", "u8 [H, W, 4]", "f32[4, 4, 3]"});
  expect_error([&] { rgba8_to_image(Tensor::empty({4, 4, 4}, DType::kU8), 0, 2); }, {"rgba8_to_image", "sizes"});
  expect_error(
      [&] {
        rgba8_to_image(Tensor::empty({4, 4, 4}, DType::kU8), 2, 2, DType::kF16);
      },
      {"rgba8_to_image", "f16", "use f32"});
  expect_error([&] { image_to_rgba8(Tensor::zeros({1, 4, 2, 2})); }, {"image_to_rgba8", "[1, 3, H, W]"});
  expect_error([&] { layer_norm(a, Tensor::zeros({2}), Tensor()); }, {"layer_norm", "weight", "[3]"});
  expect_error(
      [&] {
        attention(Tensor::zeros({1, 3, 4, 8}), Tensor::zeros({1, 2, 4, 8}), Tensor::zeros({1, 2, 4, 8}));
      },
      {"attention", "3 query heads"});
  expect_error(
      [&] {
        AttentionOptions o;
        o.mask = Tensor::zeros({3, 5});
        attention(Tensor::zeros({1, 1, 4, 8}), Tensor::zeros({1, 1, 5, 8}), Tensor::zeros({1, 1, 5, 8}), o);
      },
      {"attention", "mask", "does not broadcast"});
  const Tensor table = Tensor::zeros({10, 4});
  expect_error(
      [&] {
        embedding(Tensor::from_vector_i64({2}, std::vector<std::int64_t>{3, 10}), table);
      },
      {"embedding", "id 10", "10 rows"});
  expect_error([&] { embedding(Tensor::from_vector_i32({1}, std::vector<std::int32_t>{-1}), table); },
               {"embedding", "id -1"});
  expect_error([&] { pad(Tensor::zeros({1, 3}), {3, 0}, PadMode::kReflect); }, {"pad", "reflect"});
  expect_error([&] { permute(a, {0, 0}); }, {"permute", "twice"});
  expect_error([&] { concat({a, b}, 0); }, {"concat", "does not match"});
  expect_error([&] { topk(a, 4); }, {"topk", "k = 4"});
  expect_error(
      [&] {
        rope(Tensor::zeros({1, 2, 6}), 0, RopeOptions{10000.0f, RopeStyle::kHalf, 3});
      },
      {"rope", "rotary_dim 3"});
  expect_error([&] { max_pool2d(Tensor::zeros({1, 1, 4, 4}), {{2, 2}, {2, 2}, {2, 2}}); }, {"max_pool2d", "padding"});
  expect_error([&] { matmul(Tensor(), a); }, {"matmul", "undefined"});
}

TEST(Ops, EmptyTensorsPassThrough) {
  const Tensor e = Tensor::zeros({0, 4});
  EXPECT_EQ(linear(e, Tensor::zeros({3, 4})).shape(), (Shape{0, 3}));
  EXPECT_EQ(matmul(e, Tensor::zeros({4, 2})).shape(), (Shape{0, 2}));
  EXPECT_EQ(matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})).to_vector<float>(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(softmax(e).numel(), 0);
  EXPECT_EQ(softmax(Tensor::zeros({3, 0})).numel(), 0);
  EXPECT_EQ(layer_norm(e, Tensor(), Tensor()).numel(), 0);
  EXPECT_EQ(silu(e).numel(), 0);
  EXPECT_EQ(add(e, Tensor::zeros({4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(concat({e, Tensor::zeros({2, 4})}, 0).shape(), (Shape{2, 4}));
  EXPECT_EQ(permute(e, {1, 0}).shape(), (Shape{4, 0}));
  EXPECT_EQ(slice(e, 1, 1, 3).shape(), (Shape{0, 2}));
  EXPECT_EQ(cumsum(e, 0).numel(), 0);
  EXPECT_EQ(conv2d(Tensor::zeros({0, 2, 5, 5}), Tensor::zeros({3, 2, 3, 3})).shape(), (Shape{0, 3, 3, 3}));
  EXPECT_EQ(attention(Tensor::zeros({1, 2, 0, 8}), Tensor::zeros({1, 2, 5, 8}), Tensor::zeros({1, 2, 5, 8})).numel(),
            0);
  EXPECT_EQ(embedding(Tensor::zeros({0}, DType::kI64), Tensor::zeros({5, 3})).shape(), (Shape{0, 3}));
  EXPECT_EQ(to_dtype(e, DType::kF16).numel(), 0);
}

TEST(Ops, PadModesAndCropping) {
  const Tensor x = Tensor::from_vector({1, 3}, std::vector<float>{1, 2, 3});
  EXPECT_EQ(pad(x, {2, 1}, PadMode::kReflect).to_vector<float>(), (std::vector<float>{3, 2, 1, 2, 3, 2}));
  EXPECT_EQ(pad(x, {2, 1}, PadMode::kReplicate).to_vector<float>(), (std::vector<float>{1, 1, 1, 2, 3, 3}));
  EXPECT_EQ(pad(x, {-1, 1}, PadMode::kConstant, 9).to_vector<float>(), (std::vector<float>{2, 3, 9}));
  EXPECT_EQ(pad(x, {0, 0, 1, 0}, PadMode::kConstant, 7).to_vector<float>(), (std::vector<float>{7, 7, 7, 1, 2, 3}));
}

TEST(Ops, MathFunctionsAndBinaryExtremes) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({4}, std::vector<float>{-2, 0, 1, 4});
  EXPECT_EQ(abs(x).to_vector<float>(), (std::vector<float>{2, 0, 1, 4}));
  EXPECT_EQ(reciprocal(x).to_vector<float>(), (std::vector<float>{-0.5f, inf, 1, 0.25f}));
  EXPECT_EQ(leaky_relu(x, 0.5f).to_vector<float>(), (std::vector<float>{-1, 0, 1, 4}));
  EXPECT_EQ(pow_scalar(x, 2.0f).to_vector<float>(), (std::vector<float>{4, 0, 1, 16}));
  EXPECT_EQ(clamp(x, -1.0f, 2.0f).to_vector<float>(), (std::vector<float>{-1, 0, 1, 2}));
  EXPECT_EQ(clamp(x, -inf, 0.5f).to_vector<float>(), (std::vector<float>{-2, 0, 0.5f, 0.5f}));
  EXPECT_FALSE(clamp(x, -inf, inf).shares_storage_with(x));
  const std::vector<float> s = sqrt(x).to_vector<float>();
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_EQ(s[3], 2.0f);
  const std::vector<float> l = log(x).to_vector<float>();
  EXPECT_TRUE(std::isnan(l[0]));
  EXPECT_EQ(l[1], -inf);
  EXPECT_EQ(l[2], 0.0f);
  EXPECT_EQ(exp(Tensor::from_vector({2}, std::vector<float>{0, -inf})).to_vector<float>(), (std::vector<float>{1, 0}));
  EXPECT_EQ(erf(Tensor::from_vector({2}, std::vector<float>{0, inf})).to_vector<float>(), (std::vector<float>{0, 1}));
  EXPECT_EQ(sin(Tensor::zeros({1})).to_vector<float>(), std::vector<float>{0});
  EXPECT_EQ(cos(Tensor::zeros({1})).to_vector<float>(), std::vector<float>{1});
  EXPECT_TRUE(std::isnan(clamp(Tensor::full({1}, nan), 0.0f, 1.0f).item()));

  const Tensor a = Tensor::from_vector({3}, std::vector<float>{1, nan, 3});
  const Tensor b = Tensor::from_vector({3}, std::vector<float>{2, 0, nan});
  const std::vector<float> mx = maximum(a, b).to_vector<float>(), mn = minimum(a, b).to_vector<float>();
  EXPECT_EQ(mx[0], 2.0f);
  EXPECT_EQ(mn[0], 1.0f);
  for (int i = 1; i < 3; ++i) EXPECT_TRUE(std::isnan(mx[i]) && std::isnan(mn[i])) << i;
  EXPECT_EQ(
      pow(Tensor::from_vector({2, 1}, std::vector<float>{2, 3}), Tensor::from_vector({2}, std::vector<float>{2, 0.5f}))
          .to_vector<float>(),
      (std::vector<float>{4, std::sqrt(2.0f), 9, std::sqrt(3.0f)}));
  expect_error([&] { clamp(x, 2.0f, 1.0f); }, {"clamp", "above"});
  expect_error([&] { exp(to_dtype(x, DType::kI64)); }, {"exp", "floating-point"});
}

TEST(Ops, ReductionsOverOneOrSeveralDims) {
  // [2, 3, 2]: value = 6 i + 2 j + k.
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const Tensor x = Tensor::from_vector({2, 3, 2}, v);
  const int last[] = {-1}, mid[] = {1}, outer[] = {0, 2}, all[] = {0, 1, 2}, none[] = {0};
  EXPECT_EQ(sum(x, last).to_vector<float>(), (std::vector<float>{1, 5, 9, 13, 17, 21}));
  EXPECT_EQ(mean(x, mid).to_vector<float>(), (std::vector<float>{2, 3, 8, 9}));
  EXPECT_EQ(mean(x, mid, true).shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(amax(x, outer).to_vector<float>(), (std::vector<float>{7, 9, 11}));
  EXPECT_EQ(amin(x, outer, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(amin(x, outer).to_vector<float>(), (std::vector<float>{0, 2, 4}));
  EXPECT_EQ(sum(x, all).to_vector<float>(), std::vector<float>{66});
  EXPECT_EQ(sum(x, all).rank(), 0);
  EXPECT_EQ(sum(x, std::span<const int>()).to_vector<float>(), v);  // nothing reduced: a copy
  // A wide middle reduction crosses the CPU kernel's chunks.
  const Tensor wide = Tensor::full({1, 3, 2500}, 2.0f);
  EXPECT_EQ(mean(wide, mid).to_vector<float>(), std::vector<float>(2500, 2.0f));
  EXPECT_EQ(sum(Tensor::zeros({2, 0}), last).to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_TRUE(std::isnan(mean(Tensor::zeros({1, 0}), last).item()));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(amax(Tensor::from_vector({3}, std::vector<float>{1, nan, 2}), none).item()));
  expect_error([&] { amax(Tensor::zeros({2, 0}), last); }, {"amax", "empty dimension"});
  const int twice[] = {1, -2};
  expect_error([&] { sum(x, twice); }, {"sum", "twice"});
  const int bad[] = {3};
  expect_error([&] { mean(x, bad); }, {"mean", "out of range"});
}

TEST(Ops, Resize2dCoordinateModes) {
  const Tensor x = Tensor::from_vector({1, 1, 1, 4}, std::vector<float>{0, 10, 20, 30});
  auto run = [&](ResizeMode mode, ResizeCoords coords, std::int64_t w, ResizeRounding r = ResizeRounding::kFloor,
                 float scale = 0.0f) {
    Resize2dParams p;
    p.out_h = 1;
    p.out_w = w;
    p.mode = mode;
    p.coords = coords;
    p.rounding = r;
    p.scale = {0.0f, scale};
    return resize2d(x, p).to_vector<float>();
  };
  // Half-pixel linear upsampling by 2: taps at -0.25 (clamped), 0.25, 0.75, ...
  EXPECT_EQ(run(ResizeMode::kLinear, ResizeCoords::kHalfPixel, 8),
            (std::vector<float>{0, 2.5f, 7.5f, 12.5f, 17.5f, 22.5f, 27.5f, 30}));
  EXPECT_EQ(run(ResizeMode::kLinear, ResizeCoords::kAlignCorners, 7), (std::vector<float>{0, 5, 10, 15, 20, 25, 30}));
  EXPECT_EQ(run(ResizeMode::kLinear, ResizeCoords::kAsymmetric, 8), (std::vector<float>{0, 5, 10, 15, 20, 25, 30, 30}));
  EXPECT_EQ(run(ResizeMode::kNearest, ResizeCoords::kAsymmetric, 8),
            (std::vector<float>{0, 0, 10, 10, 20, 20, 30, 30}));
  // Downsampling by 2, half-pixel: sources at 0.5 and 2.5, ties.
  EXPECT_EQ(run(ResizeMode::kNearest, ResizeCoords::kHalfPixel, 2, ResizeRounding::kRoundPreferFloor),
            (std::vector<float>{0, 20}));
  EXPECT_EQ(run(ResizeMode::kNearest, ResizeCoords::kHalfPixel, 2, ResizeRounding::kRoundPreferCeil),
            (std::vector<float>{10, 30}));
  EXPECT_EQ(run(ResizeMode::kNearest, ResizeCoords::kHalfPixel, 2, ResizeRounding::kCeil),
            (std::vector<float>{10, 30}));
  EXPECT_EQ(run(ResizeMode::kLinear, ResizeCoords::kPytorchHalfPixel, 1), std::vector<float>{0});
  // A given scale drives the coordinates, not the size ratio: 3 outputs at
  // scale 0.8 read 0, 1.25, 2.5 (asymmetric).
  EXPECT_EQ(run(ResizeMode::kLinear, ResizeCoords::kAsymmetric, 3, ResizeRounding::kFloor, 0.8f),
            (std::vector<float>{0, 12.5f, 25}));
  // Both axes, and planes kept apart: [2, 2, 2] nearest 2x is upsample_nearest2x.
  const Tensor img = random({2, 2, 3, 5}, 7);
  Resize2dParams p;
  p.out_h = 6;
  p.out_w = 10;
  p.coords = ResizeCoords::kAsymmetric;
  p.rounding = ResizeRounding::kFloor;
  EXPECT_EQ(max_abs_diff(resize2d(img, p), upsample_nearest2x(img)), 0.0);
  p.out_h = 0;
  expect_error([&] { resize2d(img, p); }, {"resize2d", "output size"});
  p.out_h = 2;
  p.scale = {-1.0f, 0.0f};
  expect_error([&] { resize2d(img, p); }, {"resize2d", "scale"});
  expect_error([&] { resize2d(Tensor::zeros({3}), Resize2dParams{}); }, {"resize2d", "[..., H, W]"});
}

}  // namespace
}  // namespace sc::engine
