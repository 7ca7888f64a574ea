// Data movement: concat, slice, permute, pad, nearest upsampling, resizing,
// grid sampling, pooling, embedding lookup. Copies work on bytes, so the layout ops take any dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "engine/cpu/kernels.h"
#include "engine/image_math.h"
#include "engine/grid_sample_math.h"
#include "engine/resize_math.h"

namespace sc::engine::cpu {

namespace {

constexpr std::int64_t kCopyGrain = 1 << 15;  // bytes per task, roughly

std::byte* bytes(Tensor& t) { return static_cast<std::byte*>(t.raw_data()); }
const std::byte* bytes(const Tensor& t) { return static_cast<const std::byte*>(t.raw_data()); }

}  // namespace

void concat(std::span<const Tensor> tensors, int dim, Tensor& out) {
  const AxisSplit so = split_at(out.shape(), dim);
  const std::size_t es = dtype_size(out.dtype());
  std::byte* dst = bytes(out);
  const std::int64_t out_row = so.size * so.inner * static_cast<std::int64_t>(es);
  std::int64_t at = 0;  // byte offset of this input's slab within an output row
  for (const Tensor& t : tensors) {
    const std::int64_t slab = t.dim(dim) * so.inner * static_cast<std::int64_t>(es);
    const std::byte* src = bytes(t);
    if (slab > 0) {
      parallel_for(so.outer, std::max<std::int64_t>(1, kCopyGrain / slab), [&](std::int64_t o0, std::int64_t o1) {
        for (std::int64_t o = o0; o < o1; ++o)
          std::memcpy(dst + o * out_row + at, src + o * slab, static_cast<std::size_t>(slab));
      });
    }
    at += slab;
  }
}

void slice(const Tensor& x, int dim, std::int64_t start, std::int64_t step, Tensor& out) {
  const AxisSplit si = split_at(x.shape(), dim);
  const std::int64_t count = out.dim(dim);
  const std::int64_t es = static_cast<std::int64_t>(dtype_size(x.dtype()));
  const std::int64_t run = si.inner * es;
  const std::byte* src = bytes(x);
  std::byte* dst = bytes(out);
  parallel_for(si.outer * count, std::max<std::int64_t>(1, kCopyGrain / std::max<std::int64_t>(run, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const std::int64_t o = r / count, j = r % count;
                   std::memcpy(dst + r * run, src + (o * si.size + start + j * step) * run,
                               static_cast<std::size_t>(run));
                 }
               });
}

namespace {

// T is only a carrier of the element's size: permute moves bits, it never
// interprets them, so one instantiation per size covers every dtype.
template <typename T>
void permute_impl(const void* src_bytes, const Shape& in_shape, std::span<const int> perm, void* dst_bytes,
                  const Shape& out_shape) {
  const int r = in_shape.rank();
  // Input strides, listed in output dimension order.
  std::vector<std::int64_t> in_stride(static_cast<std::size_t>(r));
  {
    std::vector<std::int64_t> s(static_cast<std::size_t>(r));
    std::int64_t run = 1;
    for (int i = r - 1; i >= 0; --i) {
      s[static_cast<std::size_t>(i)] = run;
      run *= in_shape[i];
    }
    for (int i = 0; i < r; ++i) in_stride[static_cast<std::size_t>(i)] = s[static_cast<std::size_t>(perm[i])];
  }
  const T* src = static_cast<const T*>(src_bytes);
  T* dst = static_cast<T*>(dst_bytes);
  const std::int64_t inner = out_shape[r - 1];
  const std::int64_t inner_stride = in_stride[static_cast<std::size_t>(r - 1)];
  const std::int64_t rows = out_shape.numel() / inner;
  parallel_for(rows, std::max<std::int64_t>(1, 4096 / inner), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t row = r0; row < r1; ++row) {
      std::int64_t rem = row, off = 0;
      for (int d = r - 2; d >= 0; --d) {
        const std::int64_t c = rem % out_shape[d];
        rem /= out_shape[d];
        off += c * in_stride[static_cast<std::size_t>(d)];
      }
      T* y = dst + row * inner;
      const T* x = src + off;
      if (inner_stride == 1) {
        std::memcpy(y, x, static_cast<std::size_t>(inner) * sizeof(T));
      } else {
        for (std::int64_t i = 0; i < inner; ++i) y[i] = x[i * inner_stride];
      }
    }
  });
}

}  // namespace

void permute(const Tensor& x, std::span<const int> dims, Tensor& out) {
  if (out.numel() == 0) return;
  if (x.rank() == 0) {
    std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
    return;
  }
  const void* src = x.raw_data();
  void* dst = out.raw_data();
  switch (dtype_size(x.dtype())) {
    case 1:
      return permute_impl<std::uint8_t>(src, x.shape(), dims, dst, out.shape());
    case 2:
      return permute_impl<std::uint16_t>(src, x.shape(), dims, dst, out.shape());
    case 4:
      return permute_impl<std::uint32_t>(src, x.shape(), dims, dst, out.shape());
    default:
      return permute_impl<std::uint64_t>(src, x.shape(), dims, dst, out.shape());
  }
}

void pad(const Tensor& x, std::span<const std::int64_t> pads, PadMode mode, float value, Tensor& out) {
  const int r = x.rank();
  if (out.numel() == 0) return;
  // For each dimension, the source index of every output index (-1: the
  // constant). Negative constant pads crop, as in PyTorch.
  std::vector<std::vector<std::int64_t>> source(static_cast<std::size_t>(r));
  for (int d = 0; d < r; ++d) {
    const std::size_t pair = static_cast<std::size_t>(r - 1 - d);
    const std::int64_t before = 2 * pair < pads.size() ? pads[2 * pair] : 0;
    const std::int64_t n = x.dim(d);
    auto& map = source[static_cast<std::size_t>(d)];
    map.resize(static_cast<std::size_t>(out.dim(d)));
    for (std::int64_t o = 0; o < out.dim(d); ++o) {
      std::int64_t i = o - before;
      if (i < 0 || i >= n) {
        switch (mode) {
          case PadMode::kConstant:
            i = -1;
            break;
          case PadMode::kReflect:
            i = i < 0 ? -i : 2 * (n - 1) - i;
            break;
          case PadMode::kReplicate:
            i = std::clamp<std::int64_t>(i, 0, n - 1);
            break;
        }
      }
      map[static_cast<std::size_t>(o)] = i;
    }
  }
  const float* px = x.data<float>();
  float* py = out.data<float>();
  const std::int64_t inner = out.dim(r - 1);
  const std::int64_t rows = out.numel() / inner;
  const auto& last = source[static_cast<std::size_t>(r - 1)];
  parallel_for(rows, std::max<std::int64_t>(1, 8192 / inner), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t row = r0; row < r1; ++row) {
      std::int64_t rem = row, off = 0, stride = x.dim(r - 1);
      bool fill = false;
      for (int d = r - 2; d >= 0; --d) {
        const std::int64_t c = rem % out.dim(d);
        rem /= out.dim(d);
        const std::int64_t i = source[static_cast<std::size_t>(d)][static_cast<std::size_t>(c)];
        if (i < 0) {
          fill = true;
          break;
        }
        off += i * stride;
        stride *= x.dim(d);
      }
      float* y = py + row * inner;
      if (fill) {
        std::fill(y, y + inner, value);
        continue;
      }
      const float* xr = px + off;
      for (std::int64_t o = 0; o < inner; ++o) {
        const std::int64_t i = last[static_cast<std::size_t>(o)];
        y[o] = i < 0 ? value : xr[i];
      }
    }
  });
}

void upsample_nearest2x(const Tensor& x, Tensor& out) {
  const std::int64_t h = x.dim(2), w = x.dim(3);
  const std::int64_t planes = x.dim(0) * x.dim(1);
  const float* px = x.data<float>();
  float* py = out.data<float>();
  parallel_for(planes * 2 * h, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(w, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t row = r0; row < r1; ++row) {
                   const std::int64_t plane = row / (2 * h), oy = row % (2 * h);
                   const float* src = px + (plane * h + oy / 2) * w;
                   float* dst = py + row * 2 * w;
                   for (std::int64_t ix = 0; ix < w; ++ix) dst[2 * ix] = dst[2 * ix + 1] = src[ix];
                 }
               });
}

void upsample_nearest2x_nhwc(const Tensor& x, Tensor& out) {
  const std::int64_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const float* px = x.data<float>();
  float* py = out.data<float>();
  parallel_for(x.dim(0) * 2 * h, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(w * c, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t row = r0; row < r1; ++row) {
                   const std::int64_t n = row / (2 * h), oy = row % (2 * h);
                   const float* src = px + (n * h + oy / 2) * w * c;
                   float* dst = py + row * 2 * w * c;
                   for (std::int64_t ix = 0; ix < 2 * w; ++ix)
                     std::memcpy(dst + ix * c, src + ix / 2 * c, c * sizeof(float));
                 }
               });
}

void resize2d(const Tensor& x, const Resize2dParams& p, Tensor& out) {
  const std::int64_t h = x.dim(-2), w = x.dim(-1), oh = out.dim(-2), ow = out.dim(-1);
  const std::int64_t planes = x.numel() / (h * w);  // h, w >= 1: ops.cpp refuses empty images
  const float sy = resize_math::effective_scale(p.scale[0], oh, h);
  const float sx = resize_math::effective_scale(p.scale[1], ow, w);
  // One table per axis: every row and column reads the same taps.
  std::vector<resize_math::Tap> ty(static_cast<std::size_t>(oh)), tx(static_cast<std::size_t>(ow));
  const bool linear = p.mode == ResizeMode::kLinear;
  for (std::int64_t o = 0; o < oh; ++o) {
    ty[static_cast<std::size_t>(o)] = linear ? resize_math::linear(p, o, oh, h, sy)
                                             : resize_math::Tap{resize_math::nearest(p, o, oh, h, sy), 0, 0.0f};
  }
  for (std::int64_t o = 0; o < ow; ++o) {
    tx[static_cast<std::size_t>(o)] = linear ? resize_math::linear(p, o, ow, w, sx)
                                             : resize_math::Tap{resize_math::nearest(p, o, ow, w, sx), 0, 0.0f};
  }
  const float* px = x.data<float>();
  float* py = out.data<float>();
  parallel_for(planes * oh, std::max<std::int64_t>(1, 4096 / ow), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t row = r0; row < r1; ++row) {
      const std::int64_t plane = row / oh;
      const resize_math::Tap& y = ty[static_cast<std::size_t>(row % oh)];
      const float* src = px + plane * h * w;
      float* dst = py + row * ow;
      if (!linear) {
        const float* line = src + y.lo * w;
        for (std::int64_t o = 0; o < ow; ++o) dst[o] = line[tx[static_cast<std::size_t>(o)].lo];
        continue;
      }
      const float* top = src + y.lo * w;
      const float* bottom = src + y.hi * w;
      for (std::int64_t o = 0; o < ow; ++o) {
        const resize_math::Tap& t = tx[static_cast<std::size_t>(o)];
        const float a = top[t.lo] + (top[t.hi] - top[t.lo]) * t.w;
        const float b = bottom[t.lo] + (bottom[t.hi] - bottom[t.lo]) * t.w;
        dst[o] = a + (b - a) * y.w;
      }
    }
  });
}

void grid_sample(const Tensor& x, const Tensor& grid, const GridSampleParams& p, Tensor& out) {
  namespace gs = grid_sample_math;
  const bool volume = x.rank() == 5;
  const std::int64_t n = x.dim(0), c = x.dim(1);
  const std::int64_t d = volume ? x.dim(2) : 1, h = x.dim(-2), w = x.dim(-1);
  const std::int64_t plane = d * h * w;
  const std::int64_t points = c == 0 ? 0 : out.numel() / (n * c);  // Do * Ho * Wo
  const std::int64_t k = volume ? 3 : 2;
  const float* px = x.data<float>();
  const float* pg = grid.data<float>();
  float* py = out.data<float>();
  if (points == 0 || c == 0) return;
  parallel_for(n * points, std::max<std::int64_t>(1, 2048 / c), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t ni = i / points, pt = i % points;
      const float* g = pg + i * k;
      const float fx = gs::source(g[0], w, p), fy = gs::source(g[1], h, p);
      const float fz = volume ? gs::source(g[2], d, p) : 0.0f;
      const float* src = px + ni * c * plane;
      float* dst = py + ni * c * points + pt;
      if (p.mode == GridSampleMode::kNearest) {
        const std::int64_t ix = gs::nearest(fx), iy = gs::nearest(fy), iz = volume ? gs::nearest(fz) : 0;
        if (!gs::inside(ix, w) || !gs::inside(iy, h) || !gs::inside(iz, d)) {
          for (std::int64_t ch = 0; ch < c; ++ch) dst[ch * points] = 0.0f;
          continue;
        }
        const std::int64_t off = (iz * h + iy) * w + ix;
        for (std::int64_t ch = 0; ch < c; ++ch) dst[ch * points] = src[ch * plane + off];
        continue;
      }
      // Up to 8 corners in PyTorch's order (x fastest, then y, then z); the
      // ones outside the input read zero, so they are left out.
      const gs::Taps tx = gs::linear(fx), ty = gs::linear(fy);
      const gs::Taps tz = volume ? gs::linear(fz) : gs::Taps{0, 0.0f};
      std::int64_t offs[8];
      float wts[8];
      int corners = 0;
      for (int dz = 0; dz < (volume ? 2 : 1); ++dz) {
        const std::int64_t iz = tz.lo + dz;
        const float wz = volume ? (dz ? tz.w : 1.0f - tz.w) : 1.0f;
        if (!gs::inside(iz, d)) continue;
        for (int dy = 0; dy < 2; ++dy) {
          const std::int64_t iy = ty.lo + dy;
          const float wy = dy ? ty.w : 1.0f - ty.w;
          if (!gs::inside(iy, h)) continue;
          for (int dx = 0; dx < 2; ++dx) {
            const std::int64_t ix = tx.lo + dx;
            if (!gs::inside(ix, w)) continue;
            offs[corners] = (iz * h + iy) * w + ix;
            wts[corners] = (dx ? tx.w : 1.0f - tx.w) * wy * wz;
            ++corners;
          }
        }
      }
      for (std::int64_t ch = 0; ch < c; ++ch) {
        const float* s = src + ch * plane;
        float acc = 0.0f;
        for (int q = 0; q < corners; ++q) acc += s[offs[q]] * wts[q];
        dst[ch * points] = acc;
      }
    }
  });
}

void rgba8_to_image(const Tensor& rgba, Tensor& out) {
  const int in_h = static_cast<int>(rgba.dim(0)), in_w = static_cast<int>(rgba.dim(1));
  const int h = static_cast<int>(out.dim(2)), w = static_cast<int>(out.dim(3));
  const std::uint8_t* px = rgba.data<std::uint8_t>();
  float* py = out.data<float>();
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  const std::size_t pitch = static_cast<std::size_t>(in_w) * 4;
  parallel_for(h, std::max(1, 4096 / w), [&](std::int64_t y0, std::int64_t y1) {
    for (auto y = static_cast<int>(y0); y < y1; ++y) {
      const image_math::Taps ty = image_math::taps(y, h, in_h);
      const std::uint8_t* r0 = px + static_cast<std::size_t>(ty.lo) * pitch;
      const std::uint8_t* r1 = px + static_cast<std::size_t>(ty.hi) * pitch;
      float* row = py + static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
      for (int x = 0; x < w; ++x) {
        const image_math::Taps tx = image_math::taps(x, w, in_w);
        for (int c = 0; c < 3; ++c)
          row[c * plane + static_cast<std::size_t>(x)] = image_math::sample_rgba8(r0, r1, tx, ty.w, c);
      }
    }
  });
}

void image_to_rgba8(const Tensor& image, Tensor& out) {
  const std::int64_t h = image.dim(2), w = image.dim(3);
  const float* px = image.data<float>();
  std::uint8_t* py = out.data<std::uint8_t>();
  const std::int64_t plane = h * w;
  parallel_for(h, std::max<std::int64_t>(1, 4096 / w), [&](std::int64_t y0, std::int64_t y1) {
    for (std::int64_t i = y0 * w; i < y1 * w; ++i) {
      for (int c = 0; c < 3; ++c) py[i * 4 + c] = image_math::to_u8(px[c * plane + i]);
      py[i * 4 + 3] = 255;
    }
  });
}

namespace {

template <bool kMax>
void pool2d(const Tensor& x, const Pool2dParams& p, Tensor& out) {
  const std::int64_t h = x.dim(2), w = x.dim(3), ho = out.dim(2), wo = out.dim(3);
  const std::int64_t kh = p.kernel[0], kw = p.kernel[1];
  const float* px = x.data<float>();
  float* py = out.data<float>();
  const float divisor = static_cast<float>(kh * kw);
  parallel_for(x.dim(0) * x.dim(1) * ho, std::max<std::int64_t>(1, 1024 / std::max<std::int64_t>(wo * kh * kw, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t row = r0; row < r1; ++row) {
                   const std::int64_t plane = row / ho, oy = row % ho;
                   const float* src = px + plane * h * w;
                   float* dst = py + row * wo;
                   const std::int64_t y0 = oy * p.stride[0] - p.padding[0];
                   const std::int64_t ya = std::max<std::int64_t>(y0, 0), yb = std::min(y0 + kh, h);
                   for (std::int64_t ox = 0; ox < wo; ++ox) {
                     const std::int64_t x0 = ox * p.stride[1] - p.padding[1];
                     const std::int64_t xa = std::max<std::int64_t>(x0, 0), xb = std::min(x0 + kw, w);
                     if constexpr (kMax) {
                       float m = -std::numeric_limits<float>::infinity();
                       for (std::int64_t iy = ya; iy < yb; ++iy) {
                         for (std::int64_t ix = xa; ix < xb; ++ix) {
                           const float v = src[iy * w + ix];
                           if (v > m || std::isnan(v)) m = v;  // NaN wins and stays, as in PyTorch
                         }
                       }
                       dst[ox] = m;
                     } else {
                       float s = 0.0f;
                       for (std::int64_t iy = ya; iy < yb; ++iy) {
                         for (std::int64_t ix = xa; ix < xb; ++ix) s += src[iy * w + ix];
                       }
                       dst[ox] = s / divisor;
                     }
                   }
                 }
               });
}

}  // namespace

void avg_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out) { pool2d<false>(x, params, out); }
void max_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out) { pool2d<true>(x, params, out); }

void embedding(const Tensor& ids, const Tensor& weight, Tensor& out) {
  const std::int64_t vocab = weight.dim(0), d = weight.dim(1);
  const std::int64_t n = ids.numel();
  std::vector<std::int64_t> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t id = ids.dtype() == DType::kI64 ? ids.data<std::int64_t>()[i] : ids.data<std::int32_t>()[i];
    if (id < 0 || id >= vocab) {
      throw Error("embedding: id {} at position {} is outside the table of {} rows", id, i, vocab);
    }
    rows[static_cast<std::size_t>(i)] = id;
  }
  const float* pw = weight.data<float>();
  float* py = out.data<float>();
  parallel_for(n, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(d, 1)),
               [&](std::int64_t i0, std::int64_t i1) {
                 for (std::int64_t i = i0; i < i1; ++i)
                   std::memcpy(py + i * d, pw + rows[static_cast<std::size_t>(i)] * d,
                               static_cast<std::size_t>(d) * sizeof(float));
               });
}

}  // namespace sc::engine::cpu
