#pragma once
// Row-major single-precision GEMM over OpenBLAS:
//   C[m x n] = alpha * op(A) * op(B) + beta * C
// OpenBLAS runs single-threaded (set once, before its first use); gemm()
// splits C into blocks over the engine's thread pool instead, so BLAS and our
// own kernels share one set of threads and never oversubscribe the cores.
#include <cstdint>

namespace sc::engine::cpu {

struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  std::int64_t ldc = 0;
};

// Spreads over the pool (or runs inline when already inside a pool task).
void gemm(const GemmArgs& args);
// Always in the calling thread: for kernels that parallelise at a coarser
// level and call GEMM from inside their own tasks.
void gemm_serial(const GemmArgs& args);

}  // namespace sc::engine::cpu
