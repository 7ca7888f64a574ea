// Position and reduction ops: rotary embedding, reduce (sum / mean / max /
// min), cumsum, argmax, top-k.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "base/thread_pool.h"
#include "engine/cpu/kernels.h"

namespace sc::engine::cpu {

RopeTables rope_tables(std::span<const std::int64_t> positions, std::int64_t rot, float theta) {
  const auto s = static_cast<std::int64_t>(positions.size());
  const std::int64_t half = rot / 2;
  // Angles in f32 exactly as transformers builds its cos/sin tables
  // (inv_freq = 1 / theta^(2i/rot), angle = pos * inv_freq), so models match
  // their reference at long positions too, where f32 angle rounding shows.
  RopeTables t;
  t.cos.resize(static_cast<std::size_t>(s * half));
  t.sin.resize(t.cos.size());
  for (std::int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(rot);
    const float inv_freq = 1.0f / std::pow(theta, exponent);
    for (std::int64_t p = 0; p < s; ++p) {
      const float angle = static_cast<float>(positions[static_cast<std::size_t>(p)]) * inv_freq;
      t.cos[static_cast<std::size_t>(p * half + i)] = std::cos(angle);
      t.sin[static_cast<std::size_t>(p * half + i)] = std::sin(angle);
    }
  }
  return t;
}

void rope(const Tensor& x, std::span<const std::int64_t> positions, const RopeOptions& options, Tensor& out) {
  const std::int64_t s = x.dim(-2), d = x.dim(-1);
  const std::int64_t rot = options.rotary_dim ? options.rotary_dim : d;
  const std::int64_t half = rot / 2;
  const RopeTables tables = rope_tables(positions, rot, options.theta);
  const std::vector<float>& cos_t = tables.cos;
  const std::vector<float>& sin_t = tables.sin;
  const float* px = x.data<float>();
  float* py = out.data<float>();
  const std::int64_t rows = x.numel() / std::max<std::int64_t>(d, 1);
  const bool interleaved = options.style == RopeStyle::kInterleaved;
  parallel_for(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(d, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t row = r0; row < r1; ++row) {
                   const float* xr = px + row * d;
                   float* yr = py + row * d;
                   const float* c = cos_t.data() + (row % s) * half;
                   const float* sn = sin_t.data() + (row % s) * half;
                   for (std::int64_t i = 0; i < half; ++i) {
                     const std::int64_t a = interleaved ? 2 * i : i;
                     const std::int64_t b = interleaved ? 2 * i + 1 : i + half;
                     const float x1 = xr[a], x2 = xr[b];
                     yr[a] = x1 * c[i] - x2 * sn[i];
                     yr[b] = x2 * c[i] + x1 * sn[i];
                   }
                   std::copy(xr + rot, xr + d, yr + rot);
                 }
               });
}

void reduce(ReduceOp op, const Tensor& x, int dim, Tensor& out) {
  const AxisSplit s = split_at(x.shape(), dim);
  const float* px = x.data<float>();
  float* py = out.data<float>();
  const bool is_sum = op == ReduceOp::kSum || op == ReduceOp::kMean;
  // Means divide the double sum once, so a mean of equal values is exact.
  const double divisor = op == ReduceOp::kMean ? static_cast<double>(s.size) : 1.0;
  auto pick = [op](float best, float v) {
    // NaN wins, as in torch.amax / amin.
    if (std::isnan(best)) return best;
    if (std::isnan(v)) return v;
    return op == ReduceOp::kMax ? (v > best ? v : best) : (v < best ? v : best);
  };
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(s.size, 1)),
                 [&](std::int64_t o0, std::int64_t o1) {
                   for (std::int64_t o = o0; o < o1; ++o) {
                     const float* xp = px + o * s.size;
                     if (is_sum) {
                       double acc = 0.0;
                       for (std::int64_t j = 0; j < s.size; ++j) acc += xp[j];
                       py[o] = static_cast<float>(acc / divisor);
                     } else {
                       float best = xp[0];
                       for (std::int64_t j = 1; j < s.size; ++j) best = pick(best, xp[j]);
                       py[o] = best;
                     }
                   }
                 });
    return;
  }
  // Reduced dim in the middle: walk rows of contiguous values so the reads
  // stay sequential, accumulating a chunk of one output row at a time
  // (chunks, so a single outer row still spreads over the pool).
  constexpr std::int64_t kChunk = 1024;
  const std::int64_t chunks = (s.inner + kChunk - 1) / kChunk;
  parallel_for(s.outer * chunks, 1, [&](std::int64_t t0, std::int64_t t1) {
    std::vector<double> acc(static_cast<std::size_t>(kChunk));
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t o = t / chunks, i0 = (t % chunks) * kChunk;
      const std::int64_t n = std::min(kChunk, s.inner - i0);
      const float* xp = px + o * s.size * s.inner + i0;
      float* yp = py + o * s.inner + i0;
      if (is_sum) {
        std::fill(acc.begin(), acc.begin() + n, 0.0);
        for (std::int64_t j = 0; j < s.size; ++j) {
          const float* row = xp + j * s.inner;
          for (std::int64_t i = 0; i < n; ++i) acc[static_cast<std::size_t>(i)] += row[i];
        }
        for (std::int64_t i = 0; i < n; ++i) yp[i] = static_cast<float>(acc[static_cast<std::size_t>(i)] / divisor);
      } else {
        std::copy(xp, xp + n, yp);
        for (std::int64_t j = 1; j < s.size; ++j) {
          const float* row = xp + j * s.inner;
          for (std::int64_t i = 0; i < n; ++i) yp[i] = pick(yp[i], row[i]);
        }
      }
    }
  });
}

void cumsum(const Tensor& x, int dim, Tensor& out) {
  const AxisSplit s = split_at(x.shape(), dim);
  const bool is_float = x.dtype() == DType::kF32;
  const float* xf = is_float ? x.data<float>() : nullptr;
  float* yf = is_float ? out.data<float>() : nullptr;
  const std::int64_t* x64 = x.dtype() == DType::kI64 ? x.data<std::int64_t>() : nullptr;
  const std::int32_t* x32 = x.dtype() == DType::kI32 ? x.data<std::int32_t>() : nullptr;
  std::int64_t* y64 = is_float ? nullptr : out.data<std::int64_t>();
  parallel_for(s.outer * s.inner, 256, [&](std::int64_t l0, std::int64_t l1) {
    for (std::int64_t l = l0; l < l1; ++l) {
      const std::int64_t base = (l / s.inner) * s.size * s.inner + l % s.inner;
      if (is_float) {
        // Double accumulation, as PyTorch's CPU cumsum does for f32.
        const float* xp = xf + base;
        float* yp = yf + base;
        double acc = 0.0;
        for (std::int64_t j = 0; j < s.size; ++j) {
          acc += xp[j * s.inner];
          yp[j * s.inner] = static_cast<float>(acc);
        }
      } else {
        std::int64_t* yp = y64 + base;
        std::int64_t acc = 0;
        for (std::int64_t j = 0; j < s.size; ++j) {
          const std::int64_t at = base + j * s.inner;
          const std::int64_t v = x64 ? x64[at] : x32[at];
          acc = static_cast<std::int64_t>(static_cast<std::uint64_t>(acc) + static_cast<std::uint64_t>(v));
          yp[j * s.inner] = acc;
        }
      }
    }
  });
}

void argmax(const Tensor& x, int dim, Tensor& out) {
  const AxisSplit s = split_at(x.shape(), dim);
  const float* px = x.data<float>();
  std::int64_t* py = out.data<std::int64_t>();
  parallel_for(s.outer * s.inner, 256, [&](std::int64_t l0, std::int64_t l1) {
    for (std::int64_t l = l0; l < l1; ++l) {
      const float* xp = px + (l / s.inner) * s.size * s.inner + l % s.inner;
      std::int64_t best = 0;
      float m = xp[0];
      for (std::int64_t j = 1; j < s.size && !std::isnan(m); ++j) {
        const float v = xp[j * s.inner];
        if (v > m || std::isnan(v)) {
          m = v;
          best = j;
        }
      }
      py[l] = best;
    }
  });
}

void topk(const Tensor& x, std::int64_t k, int dim, bool largest, Tensor& values, Tensor& indices) {
  const AxisSplit s = split_at(x.shape(), dim);
  const float* px = x.data<float>();
  float* pv = values.data<float>();
  std::int64_t* pi = indices.data<std::int64_t>();
  parallel_for(s.outer * s.inner, 16, [&](std::int64_t l0, std::int64_t l1) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(s.size));
    for (std::int64_t l = l0; l < l1; ++l) {
      const std::int64_t o = l / s.inner, in = l % s.inner;
      const float* xp = px + o * s.size * s.inner + in;
      std::iota(order.begin(), order.end(), 0);
      // NaN ranks above everything (PyTorch's order); equal values keep
      // ascending index order so results are deterministic.
      auto before = [&](std::int64_t a, std::int64_t b) {
        const float va = xp[a * s.inner], vb = xp[b * s.inner];
        const bool na = std::isnan(va), nb = std::isnan(vb);
        if (na || nb) {
          if (na && nb) return a < b;
          return largest ? na : nb;
        }
        if (va != vb) return largest ? va > vb : va < vb;
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (std::int64_t j = 0; j < k; ++j) {
        const std::int64_t src = order[static_cast<std::size_t>(j)];
        pv[o * k * s.inner + j * s.inner + in] = xp[src * s.inner];
        pi[o * k * s.inner + j * s.inner + in] = src;
      }
    }
  });
}

}  // namespace sc::engine::cpu
