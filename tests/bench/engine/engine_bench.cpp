// CPU op throughput at the shapes the issue names (SD-sized GEMMs, convs and
// attention). tests/bench/engine/compare_torch.py runs this next to the same
// ops in PyTorch and prints the ratio; SC_NUM_THREADS sets our thread count.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>

#include "base/thread_pool.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

Tensor random_tensor(const Shape& shape, std::uint32_t seed) {
  Tensor t = Tensor::empty(shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

void report(benchmark::State& state, double flops) {
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = num_threads();
}

// [m, k] @ [k, n]
void BM_Sgemm(benchmark::State& state) {
  const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  const Tensor a = random_tensor({m, k}, 1), b = random_tensor({k, n}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  report(state, 2.0 * m * n * k);
}
BENCHMARK(BM_Sgemm)->Args({1024, 1024, 1024})->Args({4096, 320, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();

// 3x3, stride 1, padding 1, batch 1: channels in = out, square image.
void BM_Conv2d3x3(benchmark::State& state) {
  const std::int64_t c = state.range(0), hw = state.range(1);
  const Tensor x = random_tensor({1, c, hw, hw}, 3), w = random_tensor({c, c, 3, 3}, 4), b = random_tensor({c}, 5);
  Conv2dParams p;
  p.padding = {1, 1};
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b, p));
  report(state, 2.0 * c * c * 9 * hw * hw);
}
BENCHMARK(BM_Conv2d3x3)->Args({64, 128})->Args({320, 64})->Unit(benchmark::kMillisecond)->UseRealTime();

// Self-attention, batch 1, no mask: [1, heads, seq, head_dim].
void BM_Attention(benchmark::State& state) {
  const std::int64_t seq = state.range(0), heads = state.range(1), dim = state.range(2);
  const Tensor q = random_tensor({1, heads, seq, dim}, 6), k = random_tensor({1, heads, seq, dim}, 7),
               v = random_tensor({1, heads, seq, dim}, 8);
  for (auto _ : state) benchmark::DoNotOptimize(attention(q, k, v));
  report(state, 4.0 * heads * seq * seq * dim);
}
BENCHMARK(BM_Attention)->Args({4096, 8, 64})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sc::engine

BENCHMARK_MAIN();
