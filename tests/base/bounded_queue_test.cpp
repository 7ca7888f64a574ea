#include "base/bounded_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace sc {
namespace {

TEST(BoundedQueue, LatestWinsDropsTheOldest) {
  BoundedQueue<int> q(2, QueuePolicy::kLatestWins);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(q.push(i));
  EXPECT_EQ(q.dropped(), 3u);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(*q.pop(), 3);
  EXPECT_EQ(*q.pop(), 4);
}

TEST(BoundedQueue, BlockingKeepsEverythingInOrder) {
  BoundedQueue<int> q(2, QueuePolicy::kBlocking);
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) q.push(i);
    q.close();
  });
  int expected = 0;
  while (auto v = q.pop()) EXPECT_EQ(*v, expected++);
  producer.join();
  EXPECT_EQ(expected, 1000);
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(BoundedQueue, CloseWakesABlockedProducer) {
  BoundedQueue<int> q(1, QueuePolicy::kBlocking);
  q.push(1);
  bool result = true;
  std::thread producer([&] { result = q.push(2); });
  q.close();
  producer.join();
  EXPECT_FALSE(result);
  EXPECT_EQ(*q.pop(), 1);  // what was queued before close still drains
  EXPECT_FALSE(q.pop().has_value());
}

}  // namespace
}  // namespace sc
