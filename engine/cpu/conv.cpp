// conv2d and conv3d as GEMM: out[o, p] = W[o, (c, kz, ky, kx)] x
// col[(c, kz, ky, kx), p]. The column matrix is built one tile of output
// pixels at a time, in a per-task buffer, so memory stays O(C k^n x tile)
// instead of the whole image times the kernel volume, and the tiles are the
// units of parallel work. A 2-D convolution is the 3-D one with depth 1.
#include <algorithm>
#include <cstring>
#include <vector>

#include "base/thread_pool.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/kernels.h"

namespace sc::engine::cpu {

namespace {

struct ConvGeometry {
  std::int64_t n, c, d, h, w;  // input
  std::int64_t o, kd, kh, kw;  // weight
  std::int64_t dout, ho, wo;   // output
  std::int64_t sd, sh, sw, pd, ph, pw, dd, dh, dw, groups;
  std::int64_t cg() const { return c / groups; }
  std::int64_t og() const { return o / groups; }
  std::int64_t kdim() const { return cg() * kd * kh * kw; }
};

// First and one-past-last output column whose input column ox*sw - pw + off
// lies inside [0, w).
void valid_columns(const ConvGeometry& g, std::int64_t off, std::int64_t& lo, std::int64_t& hi) {
  // ox*sw >= pw - off  and  ox*sw <= w - 1 + pw - off
  const std::int64_t a = g.pw - off;
  lo = a <= 0 ? 0 : (a + g.sw - 1) / g.sw;
  const std::int64_t b = g.w - 1 + g.pw - off;
  hi = b < 0 ? 0 : b / g.sw + 1;
  lo = std::min(lo, g.wo);
  hi = std::clamp(hi, lo, g.wo);
}

// col[(c, kz, ki, kj), p - p0] for output pixels p in [p0, p1) of one
// image/group (p runs over depth, then rows, then columns).
void im2col_tile(const ConvGeometry& g, const float* x, std::int64_t p0, std::int64_t p1, float* col) {
  const std::int64_t len = p1 - p0;
  const std::int64_t slice = g.ho * g.wo;  // output pixels per output depth
  std::int64_t row = 0;
  for (std::int64_t c = 0; c < g.cg(); ++c) {
    for (std::int64_t kz = 0; kz < g.kd; ++kz) {
      for (std::int64_t ki = 0; ki < g.kh; ++ki) {
        for (std::int64_t kj = 0; kj < g.kw; ++kj, ++row) {
          float* dst = col + row * len;
          const std::int64_t xoff = kj * g.dw;
          std::int64_t lo, hi;
          valid_columns(g, xoff, lo, hi);
          std::int64_t p = p0;
          while (p < p1) {
            const std::int64_t oz = p / slice;
            const std::int64_t oy = (p - oz * slice) / g.wo;
            const std::int64_t ox0 = p - oz * slice - oy * g.wo;
            const std::int64_t ox1 = std::min(g.wo, ox0 + (p1 - p));
            float* d = dst + (p - p0);
            const std::int64_t iz = oz * g.sd - g.pd + kz * g.dd;
            const std::int64_t iy = oy * g.sh - g.ph + ki * g.dh;
            const float* plane = x + (c * g.d + iz) * g.h * g.w;
            if (iz < 0 || iz >= g.d || iy < 0 || iy >= g.h) {
              std::fill(d, d + (ox1 - ox0), 0.0f);
            } else {
              // Only in-range columns [a, b) are read, so base + ox * sw >= 0.
              const std::int64_t base = iy * g.w - g.pw + xoff;
              const std::int64_t a = std::clamp(lo, ox0, ox1);
              const std::int64_t b = std::clamp(hi, a, ox1);
              std::fill(d, d + (a - ox0), 0.0f);
              if (g.sw == 1) {
                std::memcpy(d + (a - ox0), plane + (base + a), static_cast<std::size_t>(b - a) * sizeof(float));
              } else {
                for (std::int64_t ox = a; ox < b; ++ox) d[ox - ox0] = plane[base + ox * g.sw];
              }
              std::fill(d + (b - ox0), d + (ox1 - ox0), 0.0f);
            }
            p += ox1 - ox0;
          }
        }
      }
    }
  }
}

void convolve(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const float* px = x.data<float>();
  const float* pw = weight.data<float>();
  const float* pb = bias.defined() ? bias.data<float>() : nullptr;
  float* py = out.data<float>();
  const std::int64_t pixels = g.dout * g.ho * g.wo;
  const std::int64_t in_pixels = g.d * g.h * g.w;
  if (out.numel() == 0) return;
  const std::int64_t kdim = g.kdim();
  const bool pointwise = g.kd == 1 && g.kh == 1 && g.kw == 1 && g.sd == 1 && g.sh == 1 && g.sw == 1 && g.pd == 0 &&
                         g.ph == 0 && g.pw == 0 && g.d == g.dout && g.h == g.ho && g.w == g.wo;

  // Tiles of ~2 MB of columns: large enough that GEMM amortises packing the
  // weights, small enough to stay in cache; at least two per thread.
  const std::int64_t threads = thread_pool().size();
  std::int64_t tile = std::clamp<std::int64_t>((std::int64_t{1} << 19) / std::max<std::int64_t>(kdim, 1), 64, 4096);
  const std::int64_t images = g.n * g.groups;
  while (tile > 64 && images * ((pixels + tile - 1) / tile) < 2 * threads) tile /= 2;
  tile = std::max<std::int64_t>(16, tile / 16 * 16);
  const std::int64_t tiles = (pixels + tile - 1) / tile;

  parallel_for(images * tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    std::vector<float> col;
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t image = t / tiles;
      const std::int64_t ni = image / g.groups, gi = image % g.groups;
      const std::int64_t p0 = (t % tiles) * tile;
      const std::int64_t p1 = std::min(pixels, p0 + tile);
      const float* xg = px + (ni * g.c + gi * g.cg()) * in_pixels;
      float* yg = py + (ni * g.o + gi * g.og()) * pixels;
      const float* wg = pw + gi * g.og() * kdim;
      float beta = 0.0f;
      if (pb) {
        for (std::int64_t o = 0; o < g.og(); ++o)
          std::fill(yg + o * pixels + p0, yg + o * pixels + p1, pb[gi * g.og() + o]);
        beta = 1.0f;
      }
      const float* b;
      std::int64_t ldb;
      if (pointwise) {
        b = xg + p0;  // the input already is the column matrix
        ldb = pixels;
      } else {
        col.resize(static_cast<std::size_t>(kdim * (p1 - p0)));
        im2col_tile(g, xg, p0, p1, col.data());
        b = col.data();
        ldb = p1 - p0;
      }
      gemm_serial({false, false, g.og(), p1 - p0, kdim, 1.0f, wg, kdim, b, ldb, beta, yg + p0, pixels});
    }
  });
}

}  // namespace

void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params, Tensor& out) {
  const ConvGeometry g{x.dim(0),
                       x.dim(1),
                       1,
                       x.dim(2),
                       x.dim(3),
                       weight.dim(0),
                       1,
                       weight.dim(2),
                       weight.dim(3),
                       1,
                       out.dim(2),
                       out.dim(3),
                       1,
                       params.stride[0],
                       params.stride[1],
                       0,
                       params.padding[0],
                       params.padding[1],
                       1,
                       params.dilation[0],
                       params.dilation[1],
                       params.groups};
  convolve(g, x, weight, bias, out);
}

void conv3d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv3dParams& params, Tensor& out) {
  const ConvGeometry g{x.dim(0),           x.dim(1),          x.dim(2),          x.dim(3),           x.dim(4),
                       weight.dim(0),      weight.dim(2),     weight.dim(3),     weight.dim(4),      out.dim(2),
                       out.dim(3),         out.dim(4),        params.stride[0],  params.stride[1],   params.stride[2],
                       params.padding[0],  params.padding[1], params.padding[2], params.dilation[0], params.dilation[1],
                       params.dilation[2], params.groups};
  convolve(g, x, weight, bias, out);
}

}  // namespace sc::engine::cpu
