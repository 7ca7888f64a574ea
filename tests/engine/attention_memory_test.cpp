// Attention's memory stays O(sequence x head size): a 60 000-token
// self-attention would need 14 GB for its score matrix if it were ever
// materialised; the blocked kernel must get through with a few MB more than
// its inputs. Label `slow` (about a second of compute on two cores).
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/ops.h"

namespace sc::engine {
namespace {

long peak_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

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
  const long before = peak_rss_kb();
  AttentionOptions causal;
  causal.causal = true;
  const Tensor out = attention(q, k, v, causal);
  const long grown_mb = (peak_rss_kb() - before) / 1024;
  EXPECT_LT(grown_mb, 64) << "peak memory grew by " << grown_mb << " MB";
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
