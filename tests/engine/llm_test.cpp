// engine/llm: the contiguous KV cache (rows land where they should, the
// length moves only on advance, truncate, every refusal) and the greedy
// decode loop over a stand-in model whose next token is known (stop ids,
// cancellation, the token limit, a full cache).
#include <gtest/gtest.h>

#include "tests/common/expect_error.h"

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/llm/decode.h"
#include "engine/llm/kv_cache.h"
#include "engine/ops.h"

namespace sc::engine {
namespace {

std::string message_of(const std::function<void()>& fn) { return sc::test::error_message(fn); }

// [1, heads, s, d] with value base + h * 1000 + row * 10 + col.
Tensor rows(std::int64_t heads, std::int64_t s, std::int64_t d, float base) {
  std::vector<float> v;
  for (std::int64_t h = 0; h < heads; ++h) {
    for (std::int64_t r = 0; r < s; ++r) {
      for (std::int64_t c = 0; c < d; ++c) v.push_back(base + static_cast<float>(h * 1000 + r * 10 + c));
    }
  }
  return Tensor::from_vector({1, heads, s, d}, v);
}

TEST(KvCache, AppendedRowsFollowTheLength) {
  KvCache cache(2, 2, 3, 8);
  EXPECT_EQ(cache.bytes(), 2u * 2 * (2 * 8 * 3) * sizeof(float));
  const Tensor k1 = rows(2, 3, 3, 0.0f), v1 = rows(2, 3, 3, 0.5f);
  for (std::int64_t l = 0; l < 2; ++l) {
    const KvCache::Rows r = cache.append(l, k1, v1);
    EXPECT_EQ(r.keys.to_vector<float>(), k1.to_vector<float>());
    EXPECT_EQ(r.values.to_vector<float>(), v1.to_vector<float>());
  }
  EXPECT_EQ(cache.length(), 0);  // until advance
  cache.advance(3);
  EXPECT_EQ(cache.length(), 3);
  EXPECT_EQ(cache.free(), 5);
  const Tensor k2 = rows(2, 2, 3, 100.0f), v2 = rows(2, 2, 3, 200.0f);
  const KvCache::Rows r = cache.append(1, k2, v2);
  EXPECT_EQ(r.keys.to_vector<float>(), concat({k1, k2}, 2).to_vector<float>());
  EXPECT_EQ(r.values.to_vector<float>(), concat({v1, v2}, 2).to_vector<float>());
  EXPECT_EQ(cache.keys(1).shape(), Shape({1, 2, 3, 3}));  // not advanced: 3 rows stored
  cache.truncate(1);
  EXPECT_EQ(cache.keys(0).to_vector<float>(), slice(k1, 2, 0, 1).to_vector<float>());
  // Rows past the length are overwritten by the next append.
  const KvCache::Rows again = cache.append(0, k2, v2);
  EXPECT_EQ(again.keys.to_vector<float>(), concat({slice(k1, 2, 0, 1), k2}, 2).to_vector<float>());
  cache.clear();
  EXPECT_EQ(cache.length(), 0);
}

TEST(KvCache, RefusesWhatDoesNotFit) {
  KvCache cache(1, 2, 3, 4);
  std::string m = message_of([&] { cache.append(0, rows(2, 5, 3, 0), rows(2, 5, 3, 0)); });
  EXPECT_NE(m.find("5 new tokens after 0 do not fit its capacity of 4"), std::string::npos) << m;
  m = message_of([&] { cache.append(0, rows(1, 2, 3, 0), rows(1, 2, 3, 0)); });
  EXPECT_NE(m.find("holds f32[1, 2, S, 3]"), std::string::npos) << m;
  m = message_of([&] { cache.append(0, rows(2, 2, 3, 0), rows(2, 1, 3, 0)); });
  EXPECT_NE(m.find("layer 0"), std::string::npos) << m;
  m = message_of([&] { cache.append(1, rows(2, 2, 3, 0), rows(2, 2, 3, 0)); });
  EXPECT_NE(m.find("layer 1 of 1"), std::string::npos) << m;
  EXPECT_THROW(cache.advance(5), Error);
  EXPECT_THROW(cache.truncate(1), Error);
  EXPECT_THROW(KvCache(1, 0, 3, 4), Error);
  EXPECT_THROW(KvCache(1, 1, 3, 4, DType::kI64), Error);
}

// A stand-in model over a vocabulary of 10: the next token after id t is
// (t + 1) % 10, as one-hot logits [1, 1, 10]; it advances the cache as a
// model does and counts the tokens fed.
struct Counter {
  std::int64_t fed = 0;
  CausalLmStep step() {
    return [this](const Tensor& ids, KvStore& cache) {
      const std::vector<std::int64_t> v = ids.to_vector<std::int64_t>();
      fed += static_cast<std::int64_t>(v.size());
      cache.advance(static_cast<std::int64_t>(v.size()));
      std::vector<float> logits(10, 0.0f);
      logits[static_cast<std::size_t>((v.back() + 1) % 10)] = 1.0f;
      return Tensor::from_vector({1, 1, 10}, logits);
    };
  }
};

TEST(DecodeGreedy, StopsAtTheTokenLimit) {
  Counter model;
  KvCache cache(1, 1, 2, 32);
  std::vector<std::int64_t> seen;
  GreedyOptions o;
  o.max_new_tokens = 5;
  const std::vector<std::int64_t> prompt{3, 4};
  const GreedyResult r = generate_greedy(model.step(), cache, prompt, o, [&](std::int64_t id) {
    seen.push_back(id);
    return true;
  });
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(seen, r.ids);
  EXPECT_EQ(r.reason, StopReason::kMaxTokens);
  // The last id is never fed back.
  EXPECT_EQ(cache.length(), 2 + 4);
  EXPECT_EQ(model.fed, 6);
}

TEST(DecodeGreedy, AStopIdEndsTheAnswerWithoutBeingPartOfIt) {
  Counter model;
  KvCache cache(1, 1, 2, 32);
  GreedyOptions o;
  o.max_new_tokens = 20;
  o.stop_ids = {2, 8};
  std::vector<std::int64_t> seen;
  const std::vector<std::int64_t> prompt{5};
  const GreedyResult r = generate_greedy(model.step(), cache, prompt, o, [&](std::int64_t id) {
    seen.push_back(id);
    return true;
  });
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{6, 7}));
  EXPECT_EQ(seen, r.ids);
  EXPECT_EQ(r.reason, StopReason::kStopToken);
  EXPECT_EQ(r.stop_id, 8);
  EXPECT_STREQ(to_string(r.reason), "stop token");
}

TEST(DecodeGreedy, TheCallbackCancels) {
  Counter model;
  KvCache cache(1, 1, 2, 32);
  GreedyOptions o;
  o.max_new_tokens = 20;
  int calls = 0;
  const std::vector<std::int64_t> prompt{0};
  const GreedyResult r = generate_greedy(model.step(), cache, prompt, o, [&](std::int64_t) { return ++calls < 3; });
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(r.reason, StopReason::kCancelled);
  EXPECT_EQ(model.fed, 3);  // the prompt and two ids
}

TEST(DecodeGreedy, AFullCacheEndsTheAnswer) {
  Counter model;
  KvCache cache(1, 1, 2, 4);
  GreedyOptions o;
  o.max_new_tokens = 20;
  const std::vector<std::int64_t> prompt{0, 1};
  const GreedyResult r = generate_greedy(model.step(), cache, prompt, o);
  // 2 prompt rows + 2 fed ids fill 4 rows; the third id is chosen from the
  // last logits and then there is no room to feed it.
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(r.reason, StopReason::kCacheFull);
  EXPECT_EQ(cache.length(), 4);
}

TEST(DecodeGreedy, StartsFromLogitsOfAPrefillDoneElsewhere) {
  // A VLM prefills with embeddings itself and hands over the last logits.
  Counter model;
  KvCache cache(1, 1, 2, 8);
  cache.advance(3);
  std::vector<float> logits(10, 0.0f);
  logits[7] = 2.0f;
  GreedyOptions o;
  o.max_new_tokens = 3;
  const GreedyResult r = decode_greedy(model.step(), cache, Tensor::from_vector({1, 10}, logits), o);
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{7, 8, 9}));
  EXPECT_EQ(cache.length(), 5);
  o.max_new_tokens = 0;
  EXPECT_TRUE(decode_greedy(model.step(), cache, Tensor::from_vector({1, 10}, logits), o).ids.empty());
}

TEST(DecodeGreedy, RefusesBadInputs) {
  Counter model;
  KvCache cache(1, 1, 2, 2);
  std::string m = message_of([&] { generate_greedy(model.step(), cache, std::vector<std::int64_t>{}); });
  EXPECT_NE(m.find("empty"), std::string::npos) << m;
  m = message_of([&] { generate_greedy(model.step(), cache, std::vector<std::int64_t>{1, 2, 3}); });
  EXPECT_NE(m.find("does not fit the KV cache"), std::string::npos) << m;
  // A step that forgets to advance the cache is a bug caught at once.
  const CausalLmStep lazy = [](const Tensor&, KvStore&) { return Tensor::zeros({1, 10}); };
  m = message_of([&] { generate_greedy(lazy, cache, std::vector<std::int64_t>{1}); });
  EXPECT_NE(m.find("moved the cache"), std::string::npos) << m;
}

}  // namespace
}  // namespace sc::engine
