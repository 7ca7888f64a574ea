#include "engine/cpu/blas.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "base/error.h"
#include "base/thread_pool.h"

namespace sc::engine::cpu {

namespace {

void ensure_blas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

blasint to_blas(std::int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) throw Error("matrix {} = {} is beyond what OpenBLAS (32-bit indices) can take", what, v);
  return static_cast<blasint>(v);
}

}  // namespace

void gemm_serial(const GemmArgs& g) {
  if (g.m == 0 || g.n == 0) return;
  ensure_blas_single_threaded();
  if (g.k == 0) {
    // BLAS would still scale C by beta; do the same without calling it.
    for (std::int64_t i = 0; i < g.m; ++i) {
      for (std::int64_t j = 0; j < g.n; ++j) g.c[i * g.ldc + j] = g.beta == 0.0f ? 0.0f : g.beta * g.c[i * g.ldc + j];
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
              to_blas(g.m, "rows"), to_blas(g.n, "columns"), to_blas(g.k, "inner size"), g.alpha, g.a,
              to_blas(g.lda, "lda"), g.b, to_blas(g.ldb, "ldb"), g.beta, g.c, to_blas(g.ldc, "ldc"));
}

void gemm(const GemmArgs& g) {
  const int threads = thread_pool().size();
  const double flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  // Below ~1 MFLOP waking the pool costs more than it saves.
  if (threads == 1 || ThreadPool::in_parallel_region() || flops < 1.0e6) {
    gemm_serial(g);
    return;
  }
  // One block of C per thread, cut along the longer side so each block keeps
  // a GEMM shape BLAS handles well; block edges on multiples of 16 keep the
  // micro-kernels on full tiles.
  const bool split_rows = g.m >= g.n;
  const std::int64_t extent = split_rows ? g.m : g.n;
  std::int64_t block = (extent + threads - 1) / threads;
  block = std::max<std::int64_t>(16, (block + 15) / 16 * 16);
  const std::int64_t parts = (extent + block - 1) / block;
  parallel_for(parts, 1, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int64_t begin = p * block;
      const std::int64_t len = std::min(block, extent - begin);
      GemmArgs part = g;
      if (split_rows) {
        part.m = len;
        part.a = g.trans_a ? g.a + begin : g.a + begin * g.lda;
        part.c = g.c + begin * g.ldc;
      } else {
        part.n = len;
        part.b = g.trans_b ? g.b + begin * g.ldb : g.b + begin;
        part.c = g.c + begin;
      }
      gemm_serial(part);
    }
  });
}

}  // namespace sc::engine::cpu
