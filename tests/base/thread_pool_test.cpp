// The process-wide pool: complete coverage, errors, nesting, concurrency.
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sc {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  for (std::int64_t n : {0, 1, 2, 7, 64, 1000, 100003}) {
    for (std::int64_t grain : {1, 3, 64, 100000}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      pool.parallel_for(n, grain, [&](std::int64_t b, std::int64_t e) {
        ASSERT_LE(0, b);
        ASSERT_LT(b, e);
        ASSERT_LE(e, n);
        for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
      });
      for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << n << " " << grain;
    }
  }
}

TEST(ThreadPool, ExceptionsReachTheCallerAndThePoolGoesOn) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(100, 1,
                                 [](std::int64_t b, std::int64_t) {
                                   if (b >= 50) throw std::runtime_error("task failed");
                                 }),
               std::runtime_error);
  std::atomic<std::int64_t> sum{0};
  pool.parallel_for(100, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.parallel_for(8, 1, [&](std::int64_t b, std::int64_t e) {
    EXPECT_TRUE(ThreadPool::in_parallel_region());
    for (std::int64_t i = b; i < e; ++i) {
      pool.parallel_for(10, 1, [&](std::int64_t ib, std::int64_t ie) { inner += static_cast<int>(ie - ib); });
    }
  });
  EXPECT_EQ(inner.load(), 80);
  EXPECT_FALSE(ThreadPool::in_parallel_region());
}

TEST(ThreadPool, ConcurrentCallersTakeTurns) {
  ThreadPool pool(2);
  std::atomic<std::int64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) {
        pool.parallel_for(1000, 10, [&](std::int64_t b, std::int64_t e) { total += e - b; });
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(total.load(), 4 * 50 * 1000);
}

TEST(ThreadPool, ProcessPoolCanBeResized) {
  const int saved = num_threads();
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  set_num_threads(1);
  std::int64_t n = 0;
  parallel_for(10, 1, [&](std::int64_t b, std::int64_t e) { n += e - b; });  // inline: no race
  EXPECT_EQ(n, 10);
  set_num_threads(saved);
  EXPECT_THROW(ThreadPool(0), std::exception);
}

}  // namespace
}  // namespace sc
