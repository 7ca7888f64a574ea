// Layout, spatial, lookup and reduction ops on CUDA. Pure data movement works
// on element bytes whatever the dtype (concat and unit-step slices are 2D
// memcpys the copy engine does); arithmetic follows the CPU backend exactly.
#include <cstdint>
#include <cmath>
#include <vector>

#include "engine/cuda/common.cuh"
#include "engine/cuda/kernels.h"
#include "engine/grid_sample_math.h"
#include "engine/image_math.h"
#include "engine/resize_math.h"

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

// A batch of 2D transposes: the output's last dim walks the input with
// stride s[rank-1], its second-to-last with stride 1. A 32x32 tile goes
// through shared memory so that both the reads and the writes are coalesced
// (the plain gather would read or write 2-byte elements 1 KiB apart).
constexpr int kTile = 32;
constexpr int kTileRows = 8;

template <typename T>
__global__ void batched_transpose_kernel(const T* __restrict__ x, T* __restrict__ y, Dims ix, std::int64_t base,
                                         std::int64_t batches) {
  __shared__ T tile[kTile][kTile + 1];
  const int r = ix.rank;
  const std::int64_t rows = ix.d[r - 2], cols = ix.d[r - 1], col_stride = ix.s[r - 1];
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.y) * kTile;
  const std::int64_t col0 = static_cast<std::int64_t>(blockIdx.x) * kTile;
  for (std::int64_t b = blockIdx.z; b < batches; b += gridDim.z) {
    std::int64_t rest = b, off = base;
    for (int k = r - 3; k >= 0; --k) {
      off += (rest % ix.d[k]) * ix.s[k];
      rest /= ix.d[k];
    }
    // Read: consecutive threads take consecutive output rows, which are
    // consecutive input elements.
    for (int j = threadIdx.y; j < kTile; j += kTileRows) {
      const std::int64_t row = row0 + threadIdx.x, col = col0 + j;
      if (row < rows && col < cols) tile[j][threadIdx.x] = x[off + row + col * col_stride];
    }
    __syncthreads();
    T* out = y + b * rows * cols;
    for (int i = threadIdx.y; i < kTile; i += kTileRows) {
      const std::int64_t row = row0 + i, col = col0 + threadIdx.x;
      if (row < rows && col < cols) out[row * cols + col] = tile[threadIdx.x][i];
    }
    __syncthreads();
  }
}

// The same index map with fewer, longer dims: size-1 dims dropped, and an
// output dim merged into the one before it where the input walks on
// contiguously ([B, S, H, D] -> [B, H, S, D] keeps D whole; a contiguous
// slice becomes one run).
Dims collapse(const Dims& ix) {
  Dims c;
  for (int k = 0; k < ix.rank; ++k) {
    if (ix.d[k] == 1) continue;
    if (c.rank > 0 && c.s[c.rank - 1] == ix.s[k] * ix.d[k]) {
      c.d[c.rank - 1] *= ix.d[k];
      c.s[c.rank - 1] = ix.s[k];
      continue;
    }
    c.d[c.rank] = ix.d[k];
    c.s[c.rank] = ix.s[k];
    ++c.rank;
  }
  if (c.rank == 0) {  // one element
    c.rank = 1;
    c.d[0] = 1;
    c.s[0] = 1;
  }
  return c;
}

// Bytes per moved unit for a gather whose inner dim is contiguous: the
// widest of 16, 8 or 4 that divides every run, stride, offset and address.
std::size_t vector_bytes(const Dims& c, std::int64_t base, std::size_t es, const void* x, const void* y) {
  if (c.s[c.rank - 1] != 1) return es;
  for (std::size_t v : {std::size_t{16}, std::size_t{8}, std::size_t{4}}) {
    if (v <= es) break;
    bool ok = (static_cast<std::size_t>(c.d[c.rank - 1]) * es) % v == 0 &&
              (static_cast<std::size_t>(base) * es) % v == 0 && reinterpret_cast<std::uintptr_t>(x) % v == 0 &&
              reinterpret_cast<std::uintptr_t>(y) % v == 0;
    for (int k = 0; ok && k + 1 < c.rank; ++k) ok = (static_cast<std::size_t>(c.s[k]) * es) % v == 0;
    if (ok) return v;
  }
  return es;
}

template <typename T>
void launch_gather(const void* x, void* y, std::int64_t n, const Dims& ix, std::int64_t base, bool small) {
  const T* src = static_cast<const T*>(x);
  T* dst = static_cast<T*>(y);
  if (small) {
    strided_gather_kernel<T, std::uint32_t><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(src, dst, n, ix, base);
  } else {
    strided_gather_kernel<T, std::int64_t><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(src, dst, n, ix, base);
  }
}

void gather(const Tensor& x, Tensor& out, const Dims& ix, std::int64_t base) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const std::size_t es = dtype_size(x.dtype());
  Dims c = collapse(ix);
  const int r = c.rank;
  if (r >= 2 && c.s[r - 2] == 1 && c.s[r - 1] != 1) {
    std::int64_t batches = 1;
    for (int k = 0; k < r - 2; ++k) batches *= c.d[k];
    const dim3 grid(static_cast<unsigned>((c.d[r - 1] + kTile - 1) / kTile),
                    static_cast<unsigned>((c.d[r - 2] + kTile - 1) / kTile),
                    static_cast<unsigned>(std::min<std::int64_t>(batches, 65535)));
    if (grid.y <= 65535) {
      dispatch_bytes(es, [&](auto tag) {
        using T = decltype(tag);
        batched_transpose_kernel<T>
            <<<grid, dim3(kTile, kTileRows), 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), c, base, batches);
      });
      SC_CUDA_LAUNCH_CHECK();
      return;
    }
  }
  const bool small = x.numel() < (1ll << 31);
  const std::size_t v = vector_bytes(c, base, es, x.raw_data(), out.raw_data());
  if (v != es) {
    const auto per = static_cast<std::int64_t>(v / es);
    c.d[r - 1] /= per;
    for (int k = 0; k + 1 < r; ++k) c.s[k] /= per;
    base /= per;
    const std::int64_t units = n / per;
    if (v == 16) {
      launch_gather<uint4>(x.raw_data(), out.raw_data(), units, c, base, small);
    } else {
      dispatch_bytes(
          v, [&](auto tag) { launch_gather<decltype(tag)>(x.raw_data(), out.raw_data(), units, c, base, small); });
    }
  } else {
    dispatch_bytes(es,
                   [&](auto tag) { launch_gather<decltype(tag)>(x.raw_data(), out.raw_data(), n, c, base, small); });
  }
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

template <typename T>
__global__ void resize2d_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n, std::int64_t h,
                                std::int64_t w, std::int64_t oh, std::int64_t ow, Resize2dParams p, float sy,
                                float sx) {
  SC_GRID_STRIDE(i, n) {
    const std::int64_t ox = i % ow, oy = (i / ow) % oh, plane = i / (ow * oh);
    const T* src = x + plane * h * w;
    if (p.mode == ResizeMode::kNearest) {
      y[i] = src[resize_math::nearest(p, oy, oh, h, sy) * w + resize_math::nearest(p, ox, ow, w, sx)];
      continue;
    }
    const resize_math::Tap ty = resize_math::linear(p, oy, oh, h, sy);
    const resize_math::Tap tx = resize_math::linear(p, ox, ow, w, sx);
    const T* top = src + ty.lo * w;
    const T* bottom = src + ty.hi * w;
    const float a = to_float(top[tx.lo]) + (to_float(top[tx.hi]) - to_float(top[tx.lo])) * tx.w;
    const float b = to_float(bottom[tx.lo]) + (to_float(bottom[tx.hi]) - to_float(bottom[tx.lo])) * tx.w;
    y[i] = from_float<T>(a + (b - a) * ty.w);
  }
}

// One thread per output value (n, c, point): the taps are recomputed per
// channel, which costs less than the gathers, and the writes coalesce along
// the points. Sums in f32 whatever T.
template <typename T>
__global__ void grid_sample_kernel(const T* __restrict__ x, const T* __restrict__ grid, T* __restrict__ y,
                                   std::int64_t c, std::int64_t d, std::int64_t h, std::int64_t w, std::int64_t points,
                                   bool volume, GridSampleParams p, std::int64_t total) {
  namespace gs = grid_sample_math;
  SC_GRID_STRIDE(i, total) {
    const std::int64_t pt = i % points;
    const std::int64_t ch = (i / points) % c;
    const std::int64_t n = i / (points * c);
    const int k = volume ? 3 : 2;
    const T* g = grid + (n * points + pt) * k;
    const float fx = gs::source(to_float(g[0]), w, p), fy = gs::source(to_float(g[1]), h, p);
    const float fz = volume ? gs::source(to_float(g[2]), d, p) : 0.0f;
    const T* src = x + (n * c + ch) * d * h * w;
    if (p.mode == GridSampleMode::kNearest) {
      const std::int64_t ix = gs::nearest(fx), iy = gs::nearest(fy), iz = volume ? gs::nearest(fz) : 0;
      y[i] = gs::inside(ix, w) && gs::inside(iy, h) && gs::inside(iz, d) ? src[(iz * h + iy) * w + ix]
                                                                         : from_float<T>(0.0f);
      continue;
    }
    const gs::Taps tx = gs::linear(fx), ty = gs::linear(fy);
    const gs::Taps tz = volume ? gs::linear(fz) : gs::Taps{0, 0.0f};
    float acc = 0.0f;
    for (int dz = 0; dz < (volume ? 2 : 1); ++dz) {
      const std::int64_t iz = tz.lo + dz;
      if (!gs::inside(iz, d)) continue;
      const float wz = volume ? (dz ? tz.w : 1.0f - tz.w) : 1.0f;
      for (int dy = 0; dy < 2; ++dy) {
        const std::int64_t iy = ty.lo + dy;
        if (!gs::inside(iy, h)) continue;
        const float wy = dy ? ty.w : 1.0f - ty.w;
        for (int dx = 0; dx < 2; ++dx) {
          const std::int64_t ix = tx.lo + dx;
          if (!gs::inside(ix, w)) continue;
          acc += to_float(src[(iz * h + iy) * w + ix]) * ((dx ? tx.w : 1.0f - tx.w) * wy * wz);
        }
      }
    }
    y[i] = from_float<T>(acc);
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

__device__ __forceinline__ float reduce_pick(ReduceOp op, float best, float v) {
  if (isnan(best)) return best;
  if (isnan(v)) return v;
  return op == ReduceOp::kMax ? (v > best ? v : best) : (v < best ? v : best);
}

// One thread per output: lanes walk the reduced dim `inner` apart, so a
// warp's reads of one step are contiguous.
template <typename T>
__global__ void reduce_strided_kernel(ReduceOp op, const T* __restrict__ x, T* __restrict__ y, std::int64_t lanes,
                                      std::int64_t size, std::int64_t inner) {
  SC_GRID_STRIDE(l, lanes) {
    const T* xp = x + (l / inner) * size * inner + l % inner;
    const bool is_sum = op == ReduceOp::kSum || op == ReduceOp::kMean;
    float acc = is_sum ? 0.0f : to_float(xp[0]);
    for (std::int64_t j = is_sum ? 0 : 1; j < size; ++j) {
      const float v = to_float(xp[j * inner]);
      acc = is_sum ? acc + v : reduce_pick(op, acc, v);
    }
    y[l] = from_float<T>(op == ReduceOp::kMean ? acc / static_cast<float>(size) : acc);
  }
}

// Contiguous rows (inner == 1): one warp per row, shuffles to combine.
template <typename T>
__global__ void reduce_rows_kernel(ReduceOp op, const T* __restrict__ x, T* __restrict__ y, std::int64_t rows,
                                   std::int64_t size) {
  const int lane = threadIdx.x % 32;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * (blockDim.x / 32);
  const bool is_sum = op == ReduceOp::kSum || op == ReduceOp::kMean;
  for (std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x / 32) + threadIdx.x / 32; r < rows;
       r += warps) {
    const T* xp = x + r * size;
    float acc = is_sum ? 0.0f : to_float(xp[0]);
    for (std::int64_t j = lane; j < size; j += 32) {
      const float v = to_float(xp[j]);
      acc = is_sum ? acc + v : reduce_pick(op, acc, v);
    }
    for (int off = 16; off > 0; off /= 2) {
      const float o = __shfl_down_sync(0xffffffffu, acc, off);
      acc = is_sum ? acc + o : reduce_pick(op, acc, o);
    }
    if (lane == 0) y[r] = from_float<T>(op == ReduceOp::kMean ? acc / static_cast<float>(size) : acc);
  }
}

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

void upsample_nearest2x_nhwc(const Tensor& x, Tensor& out) {
  // out viewed as [N, H, 2, W, 2, C] reads x with strides [H W C, W C, 0, C, 0, 1]:
  // a gather whose C-long runs move as 16-byte vectors.
  const std::int64_t h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Dims ix;
  ix.rank = 6;
  const std::int64_t d[6] = {x.dim(0), h, 2, w, 2, c}, st[6] = {h * w * c, w * c, 0, c, 0, 1};
  for (int k = 0; k < 6; ++k) {
    ix.d[k] = d[k];
    ix.s[k] = st[k];
  }
  gather(x, out, ix, 0);
}

namespace {

template <typename T>
__global__ void rgba8_to_image_kernel(const std::uint8_t* __restrict__ x, T* __restrict__ y, int in_h, int in_w, int h,
                                      int w) {
  const std::int64_t n = static_cast<std::int64_t>(h) * w;
  SC_GRID_STRIDE(i, n) {
    const int oy = static_cast<int>(i / w), ox = static_cast<int>(i % w);
    const image_math::Taps ty = image_math::taps(oy, h, in_h);
    const image_math::Taps tx = image_math::taps(ox, w, in_w);
    const std::uint8_t* r0 = x + static_cast<std::int64_t>(ty.lo) * in_w * 4;
    const std::uint8_t* r1 = x + static_cast<std::int64_t>(ty.hi) * in_w * 4;
    for (int c = 0; c < 3; ++c) y[c * n + i] = from_float<T>(image_math::sample_rgba8(r0, r1, tx, ty.w, c));
  }
}

template <typename T>
__global__ void image_to_rgba8_kernel(const T* __restrict__ x, uchar4* __restrict__ y, std::int64_t n) {
  SC_GRID_STRIDE(i, n) {
    y[i] = make_uchar4(image_math::to_u8(to_float(x[i])), image_math::to_u8(to_float(x[n + i])),
                       image_math::to_u8(to_float(x[2 * n + i])), 255);
  }
}

}  // namespace

void rgba8_to_image(const Tensor& rgba, Tensor& out) {
  const auto h = static_cast<int>(out.dim(2)), w = static_cast<int>(out.dim(3));
  const std::int64_t n = static_cast<std::int64_t>(h) * w;
  dispatch_float(out.dtype(), "rgba8_to_image", [&](auto tag) {
    using T = decltype(tag);
    rgba8_to_image_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<std::uint8_t>(rgba), ptr<T>(out), static_cast<int>(rgba.dim(0)), static_cast<int>(rgba.dim(1)), h, w);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void image_to_rgba8(const Tensor& image, Tensor& out) {
  const std::int64_t n = image.dim(2) * image.dim(3);
  dispatch_float(image.dtype(), "image_to_rgba8", [&](auto tag) {
    using T = decltype(tag);
    image_to_rgba8_kernel<T><<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<T>(image), reinterpret_cast<uchar4*>(out.raw_data()), n);
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

void resize2d(const Tensor& x, const Resize2dParams& p, Tensor& out) {
  const std::int64_t n = out.numel();
  if (n == 0) return;
  const std::int64_t h = x.dim(-2), w = x.dim(-1), oh = out.dim(-2), ow = out.dim(-1);
  const float sy = resize_math::effective_scale(p.scale[0], oh, h);
  const float sx = resize_math::effective_scale(p.scale[1], ow, w);
  dispatch_float(x.dtype(), "resize2d", [&](auto tag) {
    using T = decltype(tag);
    resize2d_kernel<T>
        <<<grid_for(n, kBlock), kBlock, 0, engine_stream()>>>(ptr<T>(x), ptr<T>(out), n, h, w, oh, ow, p, sy, sx);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void grid_sample(const Tensor& x, const Tensor& grid, const GridSampleParams& p, Tensor& out) {
  const std::int64_t total = out.numel();
  if (total == 0) return;
  const bool volume = x.rank() == 5;
  const std::int64_t c = x.dim(1), d = volume ? x.dim(2) : 1, h = x.dim(-2), w = x.dim(-1);
  const std::int64_t points = total / (x.dim(0) * c);
  dispatch_float(x.dtype(), "grid_sample", [&](auto tag) {
    using T = decltype(tag);
    grid_sample_kernel<T><<<grid_for(total, kBlock), kBlock, 0, engine_stream()>>>(
        ptr<T>(x), ptr<T>(grid), ptr<T>(out), c, d, h, w, points, volume, p, total);
  });
  SC_CUDA_LAUNCH_CHECK();
}

void reduce(ReduceOp op, const Tensor& x, int dim, Tensor& out) {
  const cpu::AxisSplit a = cpu::split_at(x.shape(), dim);
  const std::int64_t lanes = a.outer * a.inner;
  if (lanes == 0) return;
  dispatch_float(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    if (a.inner == 1 && a.size >= 64) {
      constexpr int kWarps = kBlock / 32;
      reduce_rows_kernel<T>
          <<<grid_for(lanes, kWarps), kBlock, 0, engine_stream()>>>(op, ptr<T>(x), ptr<T>(out), lanes, a.size);
    } else {
      reduce_strided_kernel<T>
          <<<grid_for(lanes, kBlock), kBlock, 0, engine_stream()>>>(op, ptr<T>(x), ptr<T>(out), lanes, a.size, a.inner);
    }
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
