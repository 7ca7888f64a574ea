// Attention's memory stays O(sequence x head size): a 60 000-token
// self-attention would need 14 GB for its score matrix if it were ever
// materialised; the blocked kernel must get through with a few MB more than
// its inputs. Label `slow` (about a second of compute on two cores).
//
// What is measured is what the op allocates, not the process's RSS (which
// under a sanitizer holds shadow memory and a quarantine of freed blocks):
// tensors through a counting CPU allocator, kernels' scratch through this
// binary's own operator new. Both count into one peak.
#include <malloc.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "engine/ops.h"
#include "engine/storage.h"

namespace {

std::atomic<long long> g_bytes{0}, g_peak{0};

void count(long long delta) {
  const long long now = g_bytes.fetch_add(delta) + delta;
  long long peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}

void* counted_alloc(std::size_t bytes, std::size_t align) {
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (bytes + align - 1) / align * align)
                                              : std::malloc(bytes ? bytes : 1);
  if (!p) throw std::bad_alloc();
  count(static_cast<long long>(malloc_usable_size(p)));
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  count(-static_cast<long long>(malloc_usable_size(p)));
  std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 0); }
void* operator new[](std::size_t n) { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

namespace sc::engine {
namespace {

// Tensors: the engine's CPU allocator, counted.
class CountingAllocator final : public Allocator {
 public:
  explicit CountingAllocator(Allocator& inner) : inner_(inner) {}
  Device device() const override { return Device::kCpu; }
  void* allocate(std::size_t bytes) override {
    void* p = inner_.allocate(bytes);
    count(static_cast<long long>(bytes));
    return p;
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    count(-static_cast<long long>(bytes));
    inner_.deallocate(p, bytes);
  }

 private:
  Allocator& inner_;
};

TEST(AttentionMemory, LongSequenceNeverMaterialisesScores) {
  constexpr std::int64_t kSeq = 60000, kDim = 4;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  auto make = [&] {
    std::vector<float> v(static_cast<std::size_t>(kSeq * kDim));
    for (float& x : v) x = dist(rng);
    return Tensor::from_vector({1, 1, kSeq, kDim}, v);
  };
  const Tensor q = make(), k = make(), v = make();
  Allocator& plain = cpu_allocator();
  CountingAllocator counting(plain);
  set_allocator(Device::kCpu, &counting);
  const long long before = g_bytes.load();
  g_peak = before;
  AttentionOptions causal;
  causal.causal = true;
  const Tensor out = attention(q, k, v, causal);  // freed before `counting` goes (declared after it)
  set_allocator(Device::kCpu, &plain);
  const long long grown_mb = (g_peak.load() - before) >> 20;
  const long long output_mb = static_cast<long long>(out.nbytes()) >> 20;
  EXPECT_GT(g_peak.load() - before, static_cast<long long>(out.nbytes())) << "the counting hooks saw nothing";
  EXPECT_LT(grown_mb, 64) << "peak memory grew by " << grown_mb << " MB (output " << output_mb << " MB)";

  // Each output row is a convex combination of rows of v.
  const std::vector<float> vv = v.to_vector<float>();
  const float lo = *std::min_element(vv.begin(), vv.end()), hi = *std::max_element(vv.begin(), vv.end());
  for (float x : out.to_vector<float>()) {
    ASSERT_TRUE(std::isfinite(x));
    ASSERT_GE(x, lo - 1e-4f);
    ASSERT_LE(x, hi + 1e-4f);
  }
  // Causal: the first query sees only the first key.
  for (std::int64_t d = 0; d < kDim; ++d) EXPECT_FLOAT_EQ(out.data<float>()[d], vv[static_cast<std::size_t>(d)]);
}

}  // namespace
}  // namespace sc::engine
