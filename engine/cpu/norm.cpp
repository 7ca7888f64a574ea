// Normalisations accumulate statistics in double: a group of GroupNorm can
// hold hundreds of thousands of values, and f32 sums would drift past the
// golden tolerance there.
#include <cmath>
#include <vector>

#include "base/thread_pool.h"
#include "engine/cpu/kernels.h"
#include "engine/cpu/simd.h"

namespace sc::engine::cpu {

namespace {

struct Moments {
  double mean;
  double rstd;
};

Moments moments(const float* x, std::int64_t n, float eps) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = n ? sum / static_cast<double>(n) : 0.0;
  double sq = 0.0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    sq += d * d;
  }
  const double var = n ? sq / static_cast<double>(n) : 0.0;
  return {mean, 1.0 / std::sqrt(var + static_cast<double>(eps))};
}

}  // namespace

void group_norm(const Tensor& x, std::int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                Tensor& out) {
  const std::int64_t n = x.dim(0), c = x.dim(1);
  const std::int64_t spatial = c ? x.numel() / (n * c) : 0;
  const std::int64_t cg = c / groups;
  const float* px = x.data<float>();
  const float* pw = weight.defined() ? weight.data<float>() : nullptr;
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  float* py = out.data<float>();
  parallel_for(n * groups, 1, [&](std::int64_t g0, std::int64_t g1) {
    for (std::int64_t gi = g0; gi < g1; ++gi) {
      const float* xs = px + gi * cg * spatial;
      float* ys = py + gi * cg * spatial;
      const Moments mo = moments(xs, cg * spatial, eps);
      for (std::int64_t ci = 0; ci < cg; ++ci) {
        const std::int64_t channel = (gi % groups) * cg + ci;
        // Fold mean, rstd, weight and bias into one multiply-add per value.
        const double w = pw ? pw[channel] : 1.0;
        const double b = pb ? pb[channel] : 0.0;
        const float a = static_cast<float>(mo.rstd * w);
        const float s = static_cast<float>(b - mo.mean * mo.rstd * w);
        const float* xr = xs + ci * spatial;
        float* yr = ys + ci * spatial;
        for (std::int64_t i = 0; i < spatial; ++i) yr[i] = xr[i] * a + s;
        if (silu) simd::silu(yr, yr, spatial);
      }
    }
  });
}

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  const std::int64_t d = x.dim(-1);
  const std::int64_t rows = d ? x.numel() / d : 0;
  const float* px = x.data<float>();
  const float* pw = weight.defined() ? weight.data<float>() : nullptr;
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  float* py = out.data<float>();
  parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(d, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const float* xr = px + r * d;
                   float* yr = py + r * d;
                   const Moments mo = moments(xr, d, eps);
                   const float mean = static_cast<float>(mo.mean), rstd = static_cast<float>(mo.rstd);
                   for (std::int64_t i = 0; i < d; ++i) {
                     float v = (xr[i] - mean) * rstd;
                     if (pw) v *= pw[i];
                     if (pb) v += pb[i];
                     yr[i] = v;
                   }
                 }
               });
}

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const std::int64_t d = x.dim(-1);
  const std::int64_t rows = d ? x.numel() / d : 0;
  const float* px = x.data<float>();
  const float* pw = weight.defined() ? weight.data<float>() : nullptr;
  float* py = out.data<float>();
  parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(d, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const float* xr = px + r * d;
                   float* yr = py + r * d;
                   double sq = 0.0;
                   for (std::int64_t i = 0; i < d; ++i) sq += static_cast<double>(xr[i]) * xr[i];
                   const float rstd = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(d) + eps));
                   for (std::int64_t i = 0; i < d; ++i) yr[i] = pw ? xr[i] * rstd * pw[i] : xr[i] * rstd;
                 }
               });
}

void softmax(const Tensor& x, int dim, Tensor& out) {
  const AxisSplit s = split_at(x.shape(), dim);
  const float* px = x.data<float>();
  float* py = out.data<float>();
  if (s.size == 0) return;
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<std::int64_t>(1, 8192 / s.size), [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* xr = px + r * s.size;
        float* yr = py + r * s.size;
        std::copy(xr, xr + s.size, yr);
        const float m = simd::max(yr, s.size);
        const float sum = simd::exp_shift_sum(yr, s.size, m);
        simd::scale(yr, 1.0f / sum, s.size);
      }
    });
    return;
  }
  // Softmax across a strided axis: gather each line, reuse the row kernel.
  parallel_for(s.outer * s.inner, 64, [&](std::int64_t l0, std::int64_t l1) {
    std::vector<float> line(static_cast<std::size_t>(s.size));
    for (std::int64_t l = l0; l < l1; ++l) {
      const std::int64_t o = l / s.inner, i = l % s.inner;
      const float* xr = px + o * s.size * s.inner + i;
      float* yr = py + o * s.size * s.inner + i;
      for (std::int64_t j = 0; j < s.size; ++j) line[static_cast<std::size_t>(j)] = xr[j * s.inner];
      const float m = simd::max(line.data(), s.size);
      const float inv = 1.0f / simd::exp_shift_sum(line.data(), s.size, m);
      for (std::int64_t j = 0; j < s.size; ++j) yr[j * s.inner] = line[static_cast<std::size_t>(j)] * inv;
    }
  });
}

}  // namespace sc::engine::cpu
