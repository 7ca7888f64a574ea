// Layout, spatial, lookup and reduction ops on CUDA. Pure data movement works
// on element bytes whatever the dtype (concat and unit-step slices are 2D
// memcpys the copy engine does); arithmetic follows the CPU backend exactly.
#include <cmath>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"

namespace sc::engine::cuda {

namespace {

// Calls f with an unsigned integer tag of the element size.
template <typename F>
void dispatch_bytes(std::size_t size, F&& f) {
  switch (size) {
    case 1:
      f(std::uint8_t{});
      return;
    case 2:
      f(std::uint16_t{});
      return;
    case 4:
      f(std::uint32_t{});
      return;
    default:
      f(std::uint64_t{});
      return;
  }
}

void copy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width,
             std::size_t height) {
  if (width == 0 || height == 0) return;
  SC_CUDA_CHECK(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, cudaMemcpyDeviceToDevice, engine_stream()));
}

struct Dims {
  int rank = 0;
  std::int64_t d[kMaxDims]{};
  std::int64_t s[kMaxDims]{};  // input element strides for each output dim
};

// Idx: 32-bit index math when the tensors fit (64-bit division is slow).
template <typename T, typename Idx>
__global__ void strided_gather_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, Dims ix,
                                      std::int64_t base) {
  SC_GRID_STRIDE(i, n) {
    Idx rest = static_cast<Idx>(i), off = static_cast<Idx>(base);
    for (int k = ix.rank - 1; k >= 0; --k) {
      const Idx extent = static_cast<Idx>(ix.d[k]);
      off += (rest % extent) * static_cast<Idx>(ix.s[k]);
      rest /= extent;
    }
    y[i] = x[off];
  }
}

void gather(const Tensor& x, Tensor& out, const Dims& ix, std::int64_t base) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  dispatch_bytes(dtype_size(x.dtype()), [&](auto tag) {
    using T = decltype(tag);
    if (x.numel() < (1ll << 31)) {
      strided_gather_kernel<T, std::uint32_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, ix, base);
    } else {
      strided_gather_kernel<T, std::int64_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, ix, base);
    }
  });
  SC_CUDA_LAUNCH_CHECK();
}

std::vector<std::int64_t> contiguous_strides(const Shape& s) {
  std::vector<std::int64_t> st(static_cast<std::size_t>(s.rank()));
  std::int64_t acc = 1;
  for (int d = s.rank() - 1; d >= 0; --d) {
    st[static_cast<std::size_t>(d)] = acc;
    acc *= s[d];
  }
  return st;
}

// ---- pad ------------------------------------------------------------------------

struct PadIndex {
  int rank = 0;
  std::int64_t out[kMaxDims]{};
  std::int64_t in[kMaxDims]{};
  std::int64_t before[kMaxDims]{};
  std::int64_t stride[kMaxDims]{};
};

template <typename T>
__global__ void pad_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, PadIndex p, int mode,
                           float value) {
  SC_GRID_STRIDE(i, n) {
    std::int64_t rest = i, off = 0;
    bool inside = true;
    for (int d = p.rank - 1; d >= 0; --d) {
      std::int64_t c = rest % p.out[d] - p.before[d];
      rest /= p.out[d];
      const std::int64_t len = p.in[d];
      if (c < 0 || c >= len) {
        if (mode == static_cast<int>(PadMode::kConstant)) {
          inside = false;
        } else if (mode == static_cast<int>(PadMode::kReflect)) {
          c = c < 0 ? -c : 2 * (len - 1) - c;
        } else {
          c = c < 0 ? 0 : len - 1;
        }
      }
      off += c * p.stride[d];
    }
    y[i] = inside ? x[off] : from_float<T>(value);
  }
}

// ---- spatial ------------------------------------------------------------------------

template <typename T, typename Idx>
__global__ void upsample2x_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, std::int64_t h64,
                                  std::int64_t w64) {
  const Idx h = static_cast<Idx>(h64), w = static_cast<Idx>(w64);
  SC_GRID_STRIDE(i64, n) {
    const Idx i = static_cast<Idx>(i64);
    const Idx ox = i % (2 * w), oy = (i / (2 * w)) % (2 * h), plane = i / (4 * h * w);
    y[i] = x[(plane * h + oy / 2) * w + ox / 2];
  }
}

template <typename T, bool kMax>
__global__ void pool_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, std::int64_t h, std::int64_t w,
                            std::int64_t ho, std::int64_t wo, int kh, int kw, int sy, int sx, int py, int px) {
  SC_GRID_STRIDE(i, n) {
    const std::int64_t ox = i % wo, oy = (i / wo) % ho, plane = i / (wo * ho);
    const T* src = x + plane * h * w;
    const std::int64_t y0 = oy * sy - py, x0 = ox * sx - px;
    const std::int64_t ya = y0 > 0 ? y0 : 0, yb = y0 + kh < h ? y0 + kh : h;
    const std::int64_t xa = x0 > 0 ? x0 : 0, xb = x0 + kw < w ? x0 + kw : w;
    float acc = kMax ? -INFINITY : 0.0f;
    for (std::int64_t iy = ya; iy < yb; ++iy) {
      for (std::int64_t ix = xa; ix < xb; ++ix) {
        const float v = to_float(src[iy * w + ix]);
        if constexpr (kMax) {
          if (v > acc || isnan(v)) acc = v;
        } else {
          acc += v;
        }
      }
    }
    y[i] = from_float<T>(kMax ? acc : acc / static_cast<float>(kh * kw));
  }
}

// ---- lookup and position -------------------------------------------------------------

template <typename T, typename I>
__global__ void embedding_kernel(const I* __restrict__ ids, const T* __restrict__ weight, T* __restrict__ y,
                                 std::int64_t n, std::int64_t d, std::int64_t vocab, int* bad) {
  SC_GRID_STRIDE(i, n) {
    const std::int64_t row = i / d;
    const std::int64_t id = static_cast<std::int64_t>(ids[row]);
    if (id < 0 || id >= vocab) {
      *bad = 1;
      y[i] = from_float<T>(0.0f);
    } else {
      y[i] = weight[id * d + i % d];
    }
  }
}

template <typename T>
__global__ void rope_kernel(const T* __restrict__ x, T* __restrict__ y, const float* __restrict__ cos_t,
                            const float* __restrict__ sin_t, std::int64_t n, std::int64_t s, std::int64_t d,
                            std::int64_t rot, bool interleaved) {
  SC_GRID_STRIDE(i, n) {
    const std::int64_t col = i % d, row = i / d;
    if (col >= rot) {
      y[i] = x[i];
      continue;
    }
    const std::int64_t half = rot / 2;
    std::int64_t pair, a, b;
    if (interleaved) {
      pair = col / 2;
      a = 2 * pair;
      b = a + 1;
    } else {
      pair = col < half ? col : col - half;
      a = pair;
      b = pair + half;
    }
    const float c = cos_t[(row % s) * half + pair], sn = sin_t[(row % s) * half + pair];
    const float x1 = to_float(x[row * d + a]), x2 = to_float(x[row * d + b]);
    y[i] = from_float<T>(col == a ? x1 * c - x2 * sn : x2 * c + x1 * sn);
  }
}

// ---- reductions -----------------------------------------------------------------------

template <typename T>
__global__ void cumsum_float_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t lanes, std::int64_t size,
                                    std::int64_t inner) {
  SC_GRID_STRIDE(l, lanes) {
    const std::int64_t base = (l / inner) * size * inner + l % inner;
    double acc = 0.0;
    for (std::int64_t j = 0; j < size; ++j) {
      acc += to_float(x[base + j * inner]);
      y[base + j * inner] = from_float<T>(static_cast<float>(acc));
    }
  }
}

template <typename I>
__global__ void cumsum_int_kernel(const I* __restrict__ x, std::int64_t* __restrict__ y, std::int64_t lanes,
                                  std::int64_t size, std::int64_t inner) {
  SC_GRID_STRIDE(l, lanes) {
    const std::int64_t base = (l / inner) * size * inner + l % inner;
    std::int64_t acc = 0;
    for (std::int64_t j = 0; j < size; ++j) {
      acc += static_cast<std::int64_t>(x[base + j * inner]);
      y[base + j * inner] = acc;
    }
  }
}

template <typename T>
__global__ void argmax_kernel(const T* __restrict__ x, std::int64_t* __restrict__ y, std::int64_t lanes,
                              std::int64_t size, std::int64_t inner) {
  SC_GRID_STRIDE(l, lanes) {
    const T* xp = x + (l / inner) * size * inner + l % inner;
    std::int64_t best = 0;
    float m = to_float(xp[0]);
    for (std::int64_t j = 1; j < size && !isnan(m); ++j) {
      const float v = to_float(xp[j * inner]);
      if (v > m || isnan(v)) {
        m = v;
        best = j;
      }
    }
    y[l] = best;
  }
}

// k passes per lane, each taking the best element after the previous pick in
// (value, index) order: sorted, and equal values keep index order.
template <typename T>
__global__ void topk_kernel(const T* __restrict__ x, T* __restrict__ values, std::int64_t* __restrict__ indices,
                            std::int64_t lanes, std::int64_t size, std::int64_t inner, std::int64_t k, bool largest) {
  SC_GRID_STRIDE(l, lanes) {
    const std::int64_t outer = l / inner, in = l % inner;
    const T* xp = x + outer * size * inner + in;
    float last_v = 0.0f;
    std::int64_t last_i = -1;
    for (std::int64_t r = 0; r < k; ++r) {
      std::int64_t best_i = -1;
      float best_v = 0.0f;
      for (std::int64_t j = 0; j < size; ++j) {
        const float v0 = to_float(xp[j * inner]);
        // NaN orders above everything (as argmax treats it), so every value
        // has a place in the order and no pass comes up empty.
        const float v = isnan(v0) ? INFINITY : (largest ? v0 : -v0);
        // Candidates come strictly after the last pick in (value desc, index asc) order.
        if (last_i >= 0 && !(v < last_v || (v == last_v && j > last_i))) continue;
        if (best_i < 0 || v > best_v) {
          best_v = v;
          best_i = j;
        }
      }
      if (best_i < 0) best_i = 0;  // unreachable with the order above; never index before the row
      last_v = best_v;
      last_i = best_i;
      const std::int64_t o = (outer * k + r) * inner + in;
      values[o] = xp[best_i * inner];
      indices[o] = best_i;
    }
  }
}

}  // namespace

void concat(std::span<const Tensor> tensors, int dim, Tensor& out) {
  const std::size_t es = dtype_size(out.dtype());
  const cpu::AxisSplit o = cpu::split_at(out.shape(), dim);
  std::int64_t at = 0;
  for (const Tensor& t : tensors) {
    const std::int64_t len = t.dim(dim);
    copy_2d(static_cast<std::byte*>(out.raw_data()) + static_cast<std::size_t>(at * o.inner) * es,
            static_cast<std::size_t>(o.size * o.inner) * es, t.raw_data(), static_cast<std::size_t>(len * o.inner) * es,
            static_cast<std::size_t>(len * o.inner) * es, static_cast<std::size_t>(o.outer));
    at += len;
  }
}

void slice(const Tensor& x, int dim, std::int64_t start, std::int64_t step, Tensor& out) {
  const std::size_t es = dtype_size(x.dtype());
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  const std::int64_t count = out.dim(dim);
  if (step == 1) {
    copy_2d(out.raw_data(), static_cast<std::size_t>(count * a.inner) * es,
            static_cast<const std::byte*>(x.raw_data()) + static_cast<std::size_t>(start * a.inner) * es,
            static_cast<std::size_t>(a.size * a.inner) * es, static_cast<std::size_t>(count * a.inner) * es,
            static_cast<std::size_t>(a.outer));
    return;
  }
  Dims ix;
  ix.rank = 3;
  ix.d[0] = a.outer;
  ix.d[1] = count;
  ix.d[2] = a.inner;
  ix.s[0] = a.size * a.inner;
  ix.s[1] = step * a.inner;
  ix.s[2] = 1;
  gather(x, out, ix, start * a.inner);
}

void permute(const Tensor& x, std::span<const int> dims, Tensor& out) {
  const std::vector<std::int64_t> st = contiguous_strides(x.shape());
  Dims ix;
  ix.rank = out.rank();
  for (int i = 0; i < out.rank(); ++i) {
    ix.d[i] = out.dim(i);
    ix.s[i] = st[static_cast<std::size_t>(dims[static_cast<std::size_t>(i)])];
  }
  gather(x, out, ix, 0);
}

void pad(const Tensor& x, std::span<const std::int64_t> pads, PadMode mode, float value, Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  PadIndex p;
  p.rank = x.rank();
  const std::vector<std::int64_t> st = contiguous_strides(x.shape());
  for (int d = 0; d < x.rank(); ++d) {
    p.out[d] = out.dim(d);
    p.in[d] = x.dim(d);
    p.stride[d] = st[static_cast<std::size_t>(d)];
  }
  for (std::size_t i = 0; i < pads.size() / 2; ++i) p.before[x.rank() - 1 - static_cast<int>(i)] = pads[2 * i];
  dispatch_float(x.dtype(), "pad", [&](auto tag) {
    using T = decltype(tag);
    pad_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, p,
                                                                       static_cast<int>(mode), value);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void upsample_nearest2x(const Tensor& x, Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  dispatch_bytes(dtype_size(x.dtype()), [&](auto tag) {
    using T = decltype(tag);
    if (n < (1ll << 31)) {
      upsample2x_kernel<T, std::uint32_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, x.dim(2), x.dim(3));
    } else {
      upsample2x_kernel<T, std::int64_t>
          <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, x.dim(2), x.dim(3));
    }
  });
  SC_CUDA_LAUNCH_CHECK();
}

namespace {
template <bool kMax>
void pool(const Tensor& x, const Pool2dParams& p, Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  dispatch_float(x.dtype(), kMax ? "max_pool2d" : "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    pool_kernel<T, kMax><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<T>(x), ptr<T>(out), n, x.dim(2), x.dim(3), out.dim(2), out.dim(3), static_cast<int>(p.kernel[0]),
        static_cast<int>(p.kernel[1]), static_cast<int>(p.stride[0]), static_cast<int>(p.stride[1]),
        static_cast<int>(p.padding[0]), static_cast<int>(p.padding[1]));
  });
  SC_CUDA_LAUNCH_CHECK();
}
}  // namespace

void avg_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out) { pool<false>(x, params, out); }
void max_pool2d(const Tensor& x, const Pool2dParams& params, Tensor& out) { pool<true>(x, params, out); }

void embedding(const Tensor& ids, const Tensor& weight, Tensor& out) {
  const std::int64_t n = out.numel(), d = weight.dim(1), vocab = weight.dim(0);
  if (n == 0) return;
  Tensor bad = Tensor::zeros({1}, DType::kI32, Device::kCuda);
  dispatch_float(weight.dtype(), "embedding", [&](auto tag) {
    using T = decltype(tag);
    if (ids.dtype() == DType::kI64) {
      embedding_kernel<T, std::int64_t><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
          ptr<std::int64_t>(ids), ptr<T>(weight), ptr<T>(out), n, d, vocab, ptr<int>(bad));
    } else {
      embedding_kernel<T, std::int32_t><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
          ptr<std::int32_t>(ids), ptr<T>(weight), ptr<T>(out), n, d, vocab, ptr<int>(bad));
    }
  });
  SC_CUDA_LAUNCH_CHECK();
  // Checking the ids needs the GPU to finish; inside a graph capture the rows
  // of bad ids are zeros instead.
  if (!capturing() && bad.to(Device::kCpu).data<std::int32_t>()[0] != 0) {
    fail(cat("embedding: an id of ", ids.describe(), " is outside the table of ", vocab, " rows"));
  }
}

void rope(const Tensor& x, std::span<const std::int64_t> positions, const RopeOptions& options, Tensor& out) {
  const std::int64_t s = x.dim(-2), d = x.dim(-1);
  const std::int64_t rot = options.rotary_dim ? options.rotary_dim : d;
  const std::int64_t n = x.numel();
  if (n == 0) return;
  // The CPU backend's own tables: both backends rotate identically.
  const cpu::RopeTables tables = cpu::rope_tables(positions.first(static_cast<std::size_t>(s)), rot, options.theta);
  const Shape table_shape{static_cast<std::int64_t>(tables.cos.size())};
  const Tensor ct = Tensor::from_vector(table_shape, std::span<const float>(tables.cos)).to(Device::kCuda);
  const Tensor st = Tensor::from_vector(table_shape, std::span<const float>(tables.sin)).to(Device::kCuda);
  dispatch_float(x.dtype(), "rope", [&](auto tag) {
    using T = decltype(tag);
    rope_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<T>(x), ptr<T>(out), ptr<float>(ct), ptr<float>(st), n, s, d, rot, options.style == RopeStyle::kInterleaved);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void cumsum(const Tensor& x, int dim, Tensor& out) {
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  const std::int64_t lanes = a.outer * a.inner;
  if (x.numel() == 0) return;
  if (is_floating(x.dtype())) {
    dispatch_float(x.dtype(), "cumsum", [&](auto tag) {
      using T = decltype(tag);
      cumsum_float_kernel<T>
          <<<grid_for(lanes, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), lanes, a.size, a.inner);
    });
  } else if (x.dtype() == DType::kI64) {
    cumsum_int_kernel<std::int64_t><<<grid_for(lanes, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<std::int64_t>(x), ptr<std::int64_t>(out), lanes, a.size, a.inner);
  } else {
    cumsum_int_kernel<std::int32_t><<<grid_for(lanes, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<std::int32_t>(x), ptr<std::int64_t>(out), lanes, a.size, a.inner);
  }
  SC_CUDA_LAUNCH_CHECK();
}

void argmax(const Tensor& x, int dim, Tensor& out) {
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  const std::int64_t lanes = a.outer * a.inner;
  if (lanes == 0) return;
  dispatch_float(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    argmax_kernel<T><<<grid_for(lanes, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<std::int64_t>(out), lanes,
                                                                              a.size, a.inner);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void topk(const Tensor& x, std::int64_t k, int dim, bool largest, Tensor& values, Tensor& indices) {
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  const std::int64_t lanes = a.outer * a.inner;
  if (lanes == 0) return;
  dispatch_float(x.dtype(), "topk", [&](auto tag) {
    using T = decltype(tag);
    topk_kernel<T><<<grid_for(lanes, 128), 128, 0, engine_stream()>>>(
        ptr<T>(x), ptr<T>(values), ptr<std::int64_t>(indices), lanes, a.size, a.inner, k, largest);
  });
  SC_CUDA_LAUNCH_CHECK();
}

}  // namespace sc::engine::cuda
