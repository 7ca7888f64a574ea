#include <algorithm>

#include "base/thread_pool.h"
#include "engine/cpu/blas.h"
#include "engine/cpu/kernels.h"

namespace sc::engine::cpu {

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const std::int64_t in = weight.dim(1);
  const std::int64_t n_out = weight.dim(0);
  const std::int64_t rows = in == 0 ? out.numel() / std::max<std::int64_t>(n_out, 1) : x.numel() / in;
  float* y = out.data<float>();
  float beta = 0.0f;
  if (bias.defined()) {
    // Seed C with the bias and let GEMM accumulate onto it (beta = 1).
    const float* bptr = bias.data<float>();
    parallel_for(rows, 256, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) std::copy(bptr, bptr + n_out, y + r * n_out);
    });
    beta = 1.0f;
  }
  GemmArgs g;
  g.trans_b = true;
  g.m = rows;
  g.n = n_out;
  g.k = in;
  g.a = x.data<float>();
  g.lda = std::max<std::int64_t>(in, 1);
  g.b = weight.data<float>();
  g.ldb = std::max<std::int64_t>(in, 1);
  g.beta = beta;
  g.c = y;
  g.ldc = std::max<std::int64_t>(n_out, 1);
  gemm(g);
}

void matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  const int ra = a.rank(), rb = b.rank(), ro = out.rank();
  const std::int64_t m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = out.data<float>();
  const std::int64_t batches = out.numel() / std::max<std::int64_t>(m * n, 1);
  if (m == 0 || n == 0) return;

  // With b shared across the batch and a contiguous, the batch folds into the
  // rows of a single large GEMM.
  const std::int64_t a_batches = a.numel() / std::max<std::int64_t>(m * k, 1);
  if (rb == 2 && a_batches == batches) {
    gemm({false, false, batches * m, n, k, 1.0f, pa, std::max<std::int64_t>(k, 1), pb, n, 0.0f, pc, n});
    return;
  }

  // Per-batch offsets of a and b under broadcasting: walk the output batch
  // index and map each coordinate (size-1 dims repeat).
  const int batch_rank = ro - 2;
  std::vector<std::int64_t> a_stride(static_cast<std::size_t>(batch_rank), 0);
  std::vector<std::int64_t> b_stride(static_cast<std::size_t>(batch_rank), 0);
  std::int64_t sa = m * k, sb = k * n;
  for (int i = batch_rank - 1; i >= 0; --i) {
    const int ia = i - (batch_rank - (ra - 2));
    const int ib = i - (batch_rank - (rb - 2));
    if (ia >= 0) {
      if (a.dim(ia) != 1) a_stride[static_cast<std::size_t>(i)] = sa;
      sa *= a.dim(ia);
    }
    if (ib >= 0) {
      if (b.dim(ib) != 1) b_stride[static_cast<std::size_t>(i)] = sb;
      sb *= b.dim(ib);
    }
  }
  auto offsets = [&](std::int64_t batch, std::int64_t& oa, std::int64_t& ob) {
    oa = ob = 0;
    for (int i = batch_rank - 1; i >= 0; --i) {
      const std::int64_t extent = out.dim(i);
      const std::int64_t c = batch % extent;
      batch /= extent;
      oa += c * a_stride[static_cast<std::size_t>(i)];
      ob += c * b_stride[static_cast<std::size_t>(i)];
    }
  };
  auto one = [&](std::int64_t batch, bool serial) {
    std::int64_t oa = 0, ob = 0;
    offsets(batch, oa, ob);
    GemmArgs g{false, false, m, n, k, 1.0f, pa + oa, std::max<std::int64_t>(k, 1), pb + ob, n, 0.0f, pc + batch * m * n,
               n};
    serial ? gemm_serial(g) : gemm(g);
  };
  // Many batches: one whole GEMM per task. Few batches: split each GEMM.
  if (batches >= thread_pool().size()) {
    parallel_for(batches, 1, [&](std::int64_t b0, std::int64_t b1) {
      for (std::int64_t i = b0; i < b1; ++i) one(i, true);
    });
  } else {
    for (std::int64_t i = 0; i < batches; ++i) one(i, false);
  }
}

}  // namespace sc::engine::cpu
