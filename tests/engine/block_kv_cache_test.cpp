// The block KV cache: with every row read it gives what the contiguous
// KvCache gives, bit for bit, however the rows are cut into blocks and
// chunks; blocks moved to host memory or the spill file and back (or read
// from there) keep their values exactly; gathers in any order, selections
// with a tail, truncation, and every refusal.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/error.h"
#include "engine/llm/block_kv_cache.h"
#include "engine/llm/kv_cache.h"
#include "engine/models/qwen2/qwen2.h"
#include "engine/safetensors.h"
#include "model_test_util.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

constexpr std::int64_t kLayers = 2, kHeads = 3, kDim = 4;

Tensor random_rows(std::int64_t s, std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<float> v(static_cast<std::size_t>(kHeads * s * kDim));
  for (float& x : v) x = n(rng);
  return Tensor::from_vector({1, kHeads, s, kDim}, v);
}

bool identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Appends chunks of the given sizes to both caches, checking every append's
// rows; returns every layer's K and V as written (for later comparisons).
void fill(BlockKvCache& blocks, KvCache* flat, const std::vector<std::int64_t>& chunks, std::mt19937& rng) {
  for (std::int64_t s : chunks) {
    for (std::int64_t l = 0; l < kLayers; ++l) {
      const Tensor k = random_rows(s, rng), v = random_rows(s, rng);
      const KvCache::Rows got = blocks.append(l, k, v);
      if (flat) {
        const KvCache::Rows want = flat->append(l, k, v);
        EXPECT_TRUE(identical(got.keys, want.keys)) << "layer " << l << " after " << blocks.length();
        EXPECT_TRUE(identical(got.values, want.values));
      }
    }
    blocks.advance(s);
    if (flat) flat->advance(s);
  }
}

TEST(BlockKvCache, EveryRowReadIsTheContiguousCacheBitForBit) {
  for (std::int64_t block : {1, 3, 4, 64}) {
    std::mt19937 rng(7);
    BlockKvCache blocks(kLayers, kHeads, kDim, {block, {}});
    KvCache flat(kLayers, kHeads, kDim, 64);
    fill(blocks, &flat, {3, 5, 1, 7, 4, 1}, rng);
    EXPECT_EQ(blocks.length(), 21);
    EXPECT_EQ(blocks.blocks(), (21 + block - 1) / block);
    for (std::int64_t l = 0; l < kLayers; ++l) {
      EXPECT_TRUE(identical(blocks.rows(l, 0, 21).keys, flat.keys(l)));
      EXPECT_TRUE(identical(blocks.rows(l, 0, 21).values, flat.values(l)));
    }
  }
}

TEST(BlockKvCache, BlocksMovedToHostAndFileKeepTheirValues) {
  std::mt19937 rng(11);
  BlockKvCache blocks(kLayers, kHeads, kDim, {4, {}});
  KvCache flat(kLayers, kHeads, kDim, 64);
  fill(blocks, &flat, {10, 6}, rng);  // 4 blocks
  blocks.move(0, BlockHome::kFile);
  blocks.move(1, BlockHome::kHost);
  blocks.move(2, BlockHome::kFile);
  EXPECT_EQ(blocks.home(0), BlockHome::kFile);
  EXPECT_EQ(blocks.home(1), BlockHome::kHost);
  EXPECT_EQ(blocks.home(3), BlockHome::kDevice);
  BlockKvCache::Usage u = blocks.usage();
  EXPECT_EQ(u.file_blocks, 2);
  EXPECT_EQ(u.host_blocks, 1);
  EXPECT_EQ(u.device_blocks, 1);
  EXPECT_EQ(u.file_bytes, 2 * blocks.block_bytes());
  EXPECT_EQ(blocks.block_bytes(), static_cast<std::size_t>(2 * kLayers * kHeads * 4 * kDim) * sizeof(float));
  // Read where they are: the same values, and the loads are counted.
  for (std::int64_t l = 0; l < kLayers; ++l) EXPECT_TRUE(identical(blocks.rows(l, 0, 16).keys, flat.keys(l)));
  u = blocks.usage();
  EXPECT_EQ(u.loads_from_file, 2 * kLayers);
  EXPECT_EQ(u.loads_from_host, kLayers);
  // Back again, and a freed file slot is reused.
  blocks.move(0, BlockHome::kDevice);
  blocks.move(3, BlockHome::kFile);
  blocks.move(2, BlockHome::kHost);
  for (std::int64_t l = 0; l < kLayers; ++l) EXPECT_TRUE(identical(blocks.rows(l, 0, 16).values, flat.values(l)));
  EXPECT_EQ(blocks.usage().file_blocks, 1);
  // Appending into a partly filled tail block that was moved away brings it
  // back first.
  blocks.truncate(14);
  flat.truncate(14);
  blocks.move(3, BlockHome::kFile);
  fill(blocks, &flat, {3}, rng);
  EXPECT_EQ(blocks.home(3), BlockHome::kDevice);
  for (std::int64_t l = 0; l < kLayers; ++l) EXPECT_TRUE(identical(blocks.rows(l, 0, 17).keys, flat.keys(l)));
}

TEST(BlockKvCache, GathersInAnyOrder) {
  std::mt19937 rng(3);
  BlockKvCache blocks(kLayers, kHeads, kDim, {4, {}});
  KvCache flat(kLayers, kHeads, kDim, 64);
  fill(blocks, &flat, {14}, rng);  // blocks 0..3, the last with 2 rows
  blocks.move(1, BlockHome::kFile);
  const std::vector<std::int64_t> order{3, 1, 1, 0};
  const KvCache::Rows got = blocks.gather(1, order);
  const Tensor k = flat.keys(1);
  const Tensor want = concat({slice(k, 2, 12, 14), slice(k, 2, 4, 8), slice(k, 2, 4, 8), slice(k, 2, 0, 4)}, 2);
  EXPECT_TRUE(identical(got.keys, want));
  EXPECT_EQ(got.keys.dim(2), 2 + 4 + 4 + 4);
}

TEST(BlockKvCache, ASelectionIsReadThenTheRowsWrittenSince) {
  std::mt19937 rng(5);
  BlockKvCache blocks(kLayers, kHeads, kDim, {4, {}});
  KvCache flat(kLayers, kHeads, kDim, 64);
  fill(blocks, &flat, {12}, rng);  // blocks 0, 1, 2 full
  blocks.select({2, 0});
  ASSERT_TRUE(blocks.selection().has_value());
  const Tensor k = random_rows(3, rng), v = random_rows(3, rng);
  const KvCache::Rows got = blocks.append(0, k, v);
  const Tensor all = flat.keys(0);
  const Tensor want = concat({slice(all, 2, 8, 12), slice(all, 2, 0, 4), k}, 2);
  EXPECT_TRUE(identical(got.keys, want));
  // A partly filled block selected, then two appends: its rows written after
  // the selection are read once, as the tail, not again with the block.
  BlockKvCache part(kLayers, kHeads, kDim, {4, {}});
  KvCache ref(kLayers, kHeads, kDim, 64);
  fill(part, &ref, {6}, rng);  // block 1 holds rows 4, 5
  part.select({1});
  std::vector<Tensor> tail;
  for (int step = 0; step < 2; ++step) {
    const Tensor nk = random_rows(2, rng), nv = random_rows(2, rng);
    tail.push_back(nk);
    std::vector<Tensor> want_parts{slice(ref.keys(0), 2, 4, 6)};
    want_parts.insert(want_parts.end(), tail.begin(), tail.end());
    EXPECT_TRUE(identical(part.append(0, nk, nv).keys, concat(std::span<const Tensor>(want_parts), 2)))
        << "append " << step;
    part.append(1, random_rows(2, rng), random_rows(2, rng));
    part.advance(2);
  }
  // Every row again.
  blocks.select_all();
  EXPECT_FALSE(blocks.selection().has_value());
  EXPECT_EQ(blocks.append(0, k, v).keys.dim(2), 15);
}

TEST(BlockKvCache, TruncateFreesBlocksAndPrunesTheSelection) {
  std::mt19937 rng(9);
  BlockKvCache blocks(kLayers, kHeads, kDim, {4, {}});
  fill(blocks, nullptr, {16}, rng);
  blocks.move(3, BlockHome::kFile);
  blocks.select({3, 1});
  blocks.truncate(6);
  EXPECT_EQ(blocks.length(), 6);
  EXPECT_EQ(blocks.blocks(), 2);
  EXPECT_EQ(*blocks.selection(), std::vector<std::int64_t>{1});
  EXPECT_EQ(blocks.usage().file_blocks, 0);
  EXPECT_THROW(blocks.home(2), Error);
}

// Qwen2 on the golden fixture through blocks of 3 tokens, some moved to the
// file and host memory between steps: the same logits as the contiguous
// cache, bit for bit, and the same as transformers'.
TEST(BlockKvCache, Qwen2DecodesThroughMovedBlocksExactly) {
  const Qwen2Model model = Qwen2Model::load(test::fixture_dir("qwen2_tiny"));
  const SafetensorsFile io = SafetensorsFile::open(test::fixture_dir("qwen2_tiny") / "io.safetensors");
  const std::vector<std::int64_t> ids = to_dtype(io.load("ids"), DType::kI64).to_vector<std::int64_t>();
  KvCache flat = model.make_cache(32);
  BlockKvCache blocks = model.make_block_cache({3, {}, 0});
  const auto run = [&](KvStore& cache, std::int64_t first, std::int64_t last) {
    return model.forward(Tensor::from_vector_i64({last - first}, std::span(ids).subspan(first, last - first)), cache);
  };
  EXPECT_TRUE(identical(run(blocks, 0, 7), run(flat, 0, 7)));
  std::vector<Tensor> steps;
  for (std::int64_t i = 7; i < 12; ++i) {
    if (i == 9) blocks.move(0, BlockHome::kFile);
    if (i == 10) blocks.move(1, BlockHome::kHost);
    const Tensor got = run(blocks, i, i + 1);
    EXPECT_TRUE(identical(got, run(flat, i, i + 1))) << "step " << i;
    steps.push_back(got);
  }
  EXPECT_EQ(blocks.length(), 12);
  EXPECT_EQ(blocks.blocks(), 4);
  EXPECT_GT(blocks.usage().loads_from_file, 0);
  // The last step's logits are transformers' last row.
  const Tensor want = slice(io.load("logits"), 1, 11, 12);
  EXPECT_LE(test::relative_l2(steps.back(), want), 1e-5);
}

TEST(BlockKvCache, BadCallsAreRefused) {
  std::mt19937 rng(1);
  EXPECT_THROW(BlockKvCache(0, kHeads, kDim, {4, {}}), Error);
  EXPECT_THROW(BlockKvCache(kLayers, kHeads, kDim, {0, {}}), Error);
  EXPECT_THROW(BlockKvCache(kLayers, kHeads, kDim, {4, {}}, DType::kI32), Error);
  BlockKvCache blocks(kLayers, kHeads, kDim, {4, {}});
  fill(blocks, nullptr, {5}, rng);
  EXPECT_THROW(blocks.move(2, BlockHome::kHost), Error);  // 2 blocks
  EXPECT_THROW(blocks.select({0, 7}), Error);
  EXPECT_THROW(blocks.append(2, random_rows(1, rng), random_rows(1, rng)), Error);
  EXPECT_THROW(blocks.append(0, random_rows(2, rng), random_rows(1, rng)), Error);
  EXPECT_THROW(blocks.advance(100), Error);
  EXPECT_THROW(blocks.truncate(6), Error);
  EXPECT_THROW(blocks.rows(0, 3, 100), Error);
  BlockKvCache limited(kLayers, kHeads, kDim, {4, {}, 6});
  EXPECT_EQ(limited.free(), 6);
  fill(limited, nullptr, {5}, rng);
  EXPECT_THROW(limited.append(0, random_rows(2, rng), random_rows(2, rng)), Error);
  BlockKvCache nowhere(kLayers, kHeads, kDim, {4, "/nonexistent/spill"});
  fill(nowhere, nullptr, {4}, rng);
  try {
    nowhere.move(0, BlockHome::kFile);
    FAIL() << "a spill folder that does not exist was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/spill"), std::string::npos) << e.what();
  }
  EXPECT_EQ(nowhere.home(0), BlockHome::kDevice);  // nothing lost
}

}  // namespace
}  // namespace sc::engine
